"""What every fault drill asserts once the network is whole again: one app hash at every
height on every node, and every transaction a node acknowledged (a commit-mode 202)
committed everywhere; and a steady load that records what was acknowledged."""
import threading
import time

import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import ClientError

RPC_PAGE = 20  # the most block metas Tendermint's /blockchain answers at once


def chain_state(node):
    info = requests.get(f"{node.rpc_url}/status", timeout=5).json()["result"]["sync_info"]
    return int(info["latest_block_height"]), info["latest_app_hash"]


def app_hashes(node, last):
    """Height -> the app hash in that block's header, for heights 1 to `last`."""
    hashes = {}
    for low in range(1, last + 1, RPC_PAGE):
        high = min(low + RPC_PAGE - 1, last)
        metas = requests.get(f"{node.rpc_url}/blockchain",
                             params={"minHeight": low, "maxHeight": high},
                             timeout=10).json()["result"]["block_metas"]
        hashes.update({int(meta["header"]["height"]): meta["header"]["app_hash"]
                       for meta in metas})
    return hashes


def assert_one_history(testnet, timeout=120):
    """Wait until every node is at the same height and app hash, then check that they
    had one app hash at every height before it too."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            states = {node.name: chain_state(node) for node in testnet.nodes}
        except (requests.RequestException, KeyError, ValueError):
            states = {}
        if states and len(set(states.values())) == 1:
            break
        assert time.monotonic() < deadline, f"the nodes do not agree after {timeout}s: {states}"
        time.sleep(0.5)
    height = next(iter(states.values()))[0]
    histories = {node.name: app_hashes(node, height) for node in testnet.nodes}
    first = histories[testnet.nodes[0].name]
    assert sorted(first) == list(range(1, height + 1))
    for name, history in histories.items():
        differing = [h for h in first if history.get(h) != first[h]]
        assert not differing, f"{name} differs from {testnet.nodes[0].name} at heights {differing}"
    return height


def assert_none_lost(clients, txids, timeout=120):
    """Every transaction in `txids` is committed on every node."""
    deadline = time.monotonic() + timeout
    missing = list(txids)
    while missing:
        missing = [txid for txid in missing if not all(c.is_committed(txid) for c in clients)]
        assert time.monotonic() < deadline or not missing, (
            f"{len(missing)} acknowledged transactions are not on every node, e.g. {missing[:3]}")
        time.sleep(0.5)


def new_create(note="drill"):
    keypair = generate_key_pair()
    return Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                              asset={"drill": note, "at": time.time_ns()}).sign(
        [keypair.private_key]).to_dict()


class Load:
    """CREATEs posted in commit mode by one thread per client until stopped; `acknowledged`
    holds the ids the nodes answered 202 for, `failed` counts the other answers (a node
    whose process was killed refuses or drops the connection: not acknowledged)."""

    def __init__(self, clients):
        self.clients = clients
        self.acknowledged = []
        self.failed = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post, args=(client,), daemon=True)
                         for client in clients]

    def _post(self, client):
        while not self._stop.is_set():
            tx = new_create()
            try:
                client.submit(tx, mode="commit")
                self.acknowledged.append(tx["id"])
            except (ClientError, requests.RequestException):
                self.failed += 1
                time.sleep(0.2)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
