"""The main job, run by `resonate demo` on a running local testnet.

It exercises the whole path a co-op integrator uses: register parties on one node and read
them back from every other, see a refusal with its code, move a plain asset, and check
that every node ends at the same height with the same app hash.
"""
import time

import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import Client, TransactionRefused
from bigchaindb_resonate.testnet import Testnet

PARTIES = [
    {"@type": "MusicGroup", "name": "Kokoroko", "roles": ["artist"], "isni": "ISNI 0000 0001 2103 2683"},
    {"@type": "Organization", "name": "Brownswood Recordings", "roles": ["label"]},
    {"@type": "Person", "givenName": "Sheila", "familyName": "Maurice-Grey", "roles": ["composer"],
     "ipiNameNumber": "IPI 000.141.073.38"},
]


def say(text):
    print(text, flush=True)


def run(directory=None):
    from bigchaindb_resonate import host

    host.apply()
    testnet = Testnet(directory)
    if not testnet.exists:
        say("error: no local testnet here; start one with `resonate testnet up`")
        return 1
    nodes = testnet.nodes
    clients = [Client(node.api_url) for node in nodes]
    first, others = clients[0], clients[1:]

    say(f"1. Registering {len(PARTIES)} parties through {nodes[0].name}")
    keypair = generate_key_pair()
    ids = []
    for data in PARTIES:
        tx = first.register_party(keypair, data)
        ids.append(tx["id"])
        say(f"   {data['@type']:<12} {data.get('name') or data['givenName']:<24} committed as {tx['id'][:16]}…")

    say(f"2. Reading them back from {', '.join(node.name for node in nodes[1:]) or 'the same node'}")
    for node, client in zip(nodes[1:], others):
        for txid in ids:
            _wait_for(client, txid, node.name)
    say("   every node returns every party")

    say("3. A party with a wrong ISNI check character is refused with a code")
    bad = {"@type": "MusicGroup", "name": "Typo Band", "isni": "0000000121032684"}
    try:
        (others[0] if others else first).submit(_signed_without_normalising(keypair, bad))
        say("   error: the network accepted it")
        return 1
    except TransactionRefused as refusal:
        say(f"   {refusal}")

    say("4. A plain CREATE and TRANSFER, posted to different nodes")
    alice, bob = generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 10)],
                                asset={"demo": "plain asset"}).sign([alice.private_key])
    clients[0].submit(create)
    transfer = Transaction.transfer(create.to_inputs(), [([bob.public_key], 10)],
                                    asset_id=create.id).sign([alice.private_key])
    clients[-1].submit(transfer)
    say(f"   {create.id[:16]}… then {transfer.id[:16]}… committed")

    say("5. Every node at the same height with the same app hash")
    agreed = _agreement(testnet)
    if agreed is None:
        say("   error: the nodes did not agree; see `resonate testnet status`")
        return 1
    say(f"   height {agreed[0]}, app hash {agreed[1]}")
    say("Done.")
    return 0


def _signed_without_normalising(keypair, data):
    from bigchaindb_resonate.schemas import COALAIP_CONTEXT
    from bigchaindb_resonate.types.party import Party

    tx = Party.create([keypair.public_key], [([keypair.public_key], 1)],
                      asset={"@context": COALAIP_CONTEXT, **data})
    return tx.sign([keypair.private_key]).to_dict()


def _wait_for(client, txid, name, timeout=30):
    deadline = time.monotonic() + timeout
    while client.get_transaction(txid) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} does not have {txid} after {timeout}s")
        time.sleep(0.2)


def _agreement(testnet, timeout=30):
    """(height, app hash) once every node reports the same latest block, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = set()
        for node in testnet.nodes:
            info = requests.get(f"{node.rpc_url}/status", timeout=5).json()["result"]["sync_info"]
            # BigchainDB's app hash is a hex digest that Tendermint shows hex-encoded again.
            seen.add((int(info["latest_block_height"]), bytes.fromhex(info["latest_app_hash"]).decode()))
        if len(seen) == 1:
            return seen.pop()
        time.sleep(0.5)
    return None
