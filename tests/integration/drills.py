"""What every fault drill asserts once the network is whole again: one app hash at every
height on every node, and every transaction a node acknowledged (a commit-mode 202)
committed everywhere; and a steady load that records what was acknowledged."""
import threading
import time

import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import ClientError, TransactionPending

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
    had one app hash at every height before it too. A node that is behind is waited for
    while the heights still move: it fails once no node has gained a block for `timeout`
    seconds (a node stuck, not one still catching up), naming each node's height and the
    state of the processes of those behind."""
    deadline = time.monotonic() + timeout
    highest = {}
    while True:
        try:
            states = {node.name: chain_state(node) for node in testnet.nodes}
        except (requests.RequestException, KeyError, ValueError) as exc:
            states, unreadable = {}, exc
        if states and len(set(states.values())) == 1:
            break
        heights = {name: height for name, (height, _) in states.items()}
        if any(height > highest.get(name, -1) for name, height in heights.items()):
            highest.update(heights)
            deadline = time.monotonic() + timeout
        assert time.monotonic() < deadline, (
            f"no node gained a block for {timeout}s and they do not agree: "
            f"{_describe_states(testnet, states) if states else unreadable}")
        time.sleep(0.5)
    height = next(iter(states.values()))[0]
    histories = {node.name: app_hashes(node, height) for node in testnet.nodes}
    first = histories[testnet.nodes[0].name]
    assert sorted(first) == list(range(1, height + 1))
    for name, history in histories.items():
        differing = [h for h in first if history.get(h) != first[h]]
        assert not differing, f"{name} differs from {testnet.nodes[0].name} at heights {differing}"
    return height


def _describe_states(testnet, states):
    """Each node's height and app hash; for the nodes behind the highest, the state,
    pid and restarts of each of their processes as the supervisor records them."""
    from bigchaindb_resonate.testnet import supervisor

    top = max(height for height, _ in states.values())
    processes = supervisor.read_state(testnet.directory).get("nodes", {})
    lines = []
    for name, (height, app_hash) in states.items():
        line = f"{name} at {height} (app hash {app_hash[:12]})"
        if height < top:
            line += " behind; " + ", ".join(
                f"{process} {entry['state']} pid {entry['pid']} restarts {entry['restarts']}"
                for process, entry in processes.get(name, {}).items())
        lines.append(line)
    return "; ".join(lines)


def assert_none_lost(clients, txids, timeout=120):
    """Every transaction in `txids` is committed on every node; else which node lacks
    which. Run it after assert_one_history, which waits for nodes catching up: a
    transaction missing then is missing on a node that agrees with the others."""
    deadline = time.monotonic() + timeout
    missing = list(txids)
    while missing:
        missing = [txid for txid in missing if not all(c.is_committed(txid) for c in clients)]
        if missing and time.monotonic() >= deadline:
            lacking = {client.api_url: [txid for txid in missing if not client.is_committed(txid)]
                       for client in clients}
            raise AssertionError(
                f"{len(missing)} of {len(txids)} acknowledged transactions are not on every "
                f"node: " + "; ".join(f"{url} lacks {len(ids)}, e.g. {ids[:3]}"
                                      for url, ids in lacking.items() if ids))
        time.sleep(0.5)


def new_create(note="drill"):
    keypair = generate_key_pair()
    return Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                              asset={"drill": note, "at": time.time_ns()}).sign(
        [keypair.private_key]).to_dict()


class Load:
    """CREATEs posted in commit mode by one thread per client until stopped; `acknowledged`
    holds the ids the nodes answered 202 for, `pending` those accepted into the mempool
    that did not commit within the node's wait (the network could not commit), `failed`
    counts the other answers (a node whose process was killed refuses or drops the
    connection: not acknowledged)."""

    def __init__(self, clients):
        self.clients = clients
        self.acknowledged = []
        self.pending = []
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
            except TransactionPending:
                self.pending.append(tx["id"])
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


class Links:
    """A TCP proxy for every ordered pair of nodes: node i dials node j's P2P port through
    proxy (i, j), so that a test can cut the links between two groups and heal them
    without touching the host's firewall. `route(testnet)` points each node's persistent
    peers at its proxies, restarting the nodes one at a time so that every connection
    made afterwards goes through a proxy."""

    def __init__(self, testnet):
        import socket

        self.testnet = testnet
        self.names = [node.name for node in testnet.nodes]
        self.cut = set()  # (dialler, dialled) pairs whose proxy refuses and drops
        self.connections = {}  # pair -> sockets open through it
        self.listeners = {}
        self.lock = threading.Lock()
        self.closed = threading.Event()
        for dialler in self.names:
            for dialled in self.names:
                if dialler != dialled:
                    listener = socket.create_server(("127.0.0.1", 0))
                    self.listeners[dialler, dialled] = listener
                    threading.Thread(target=self._accept, args=((dialler, dialled), listener),
                                     daemon=True).start()

    def port(self, dialler, dialled):
        return self.listeners[dialler, dialled].getsockname()[1]

    def _accept(self, pair, listener):
        import socket

        target = self.testnet.network.node(pair[1])
        while not self.closed.is_set():
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                if pair in self.cut:
                    inbound.close()
                    continue
            try:
                outbound = socket.create_connection(("127.0.0.1", target.ports.p2p), timeout=5)
            except OSError:
                inbound.close()
                continue
            with self.lock:
                self.connections.setdefault(pair, []).extend([inbound, outbound])
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.close()
            except OSError:
                pass

    def route(self, progress=lambda line: None):
        import re

        from bigchaindb_resonate.testnet.config import node_dir

        for node in self.testnet.nodes:
            self.testnet.stop_node(node.name)
            config = node_dir(self.testnet.directory, node).tendermint_config
            ports = {peer.ports.p2p: self.port(node.name, peer.name)
                     for peer in self.testnet.nodes if peer.name != node.name}
            config.write_text(re.sub(
                r"@127\.0\.0\.1:(\d+)", lambda m: f"@127.0.0.1:{ports[int(m.group(1))]}",
                config.read_text()))
            self.testnet.start_node(node.name, progress=progress)

    def partition(self, *groups):
        """Cut every link between nodes of different groups, open connections included."""
        side = {name: index for index, group in enumerate(groups) for name in group}
        with self.lock:
            self.cut = {pair for pair in self.listeners if side[pair[0]] != side[pair[1]]}
            for pair in self.cut:
                for end in self.connections.pop(pair, []):
                    try:
                        end.shutdown(2)
                        end.close()
                    except OSError:
                        pass

    def heal(self):
        with self.lock:
            self.cut = set()

    def close(self):
        self.closed.set()
        self.partition(self.names)  # drop what is open
        for listener in self.listeners.values():
            listener.close()
