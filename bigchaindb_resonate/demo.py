"""The main job, run by `resonate demo` on a running local testnet.

It walks the co-op's whole story through the HTTP API, spreading the writes over the nodes:
an artist registers a band, a work, its recording and its copyright, licenses streaming to
the co-op and sets a royalty split; the treasury creates the credit token and sells credits;
a listener streams the track ten times, paying 2, 4, …, 512 tokens and then owning it; the
artist and the co-op are paid as each play commits; another listener streams the track
through a payment channel, each play accepted off the ledger by a receiver in milliseconds
and settled by it, paying the same; a node computes the usage report and every node audits
it. Refusals along the way show their codes.
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import requests
from bigchaindb.common.crypto import CryptoKeypair, generate_key_pair

from bigchaindb_resonate.client import Client, NotFoundError, TransactionRefused
from bigchaindb_resonate.reports.audit import audit
from bigchaindb_resonate.reports.formats import read_lines
from bigchaindb_resonate.testnet import Testnet
from bigchaindb_resonate.testnet.config import role_key_path

LICENCE = {"uri": "https://resonate.coop/licences/stream-v1.pdf", "hash": "5e" * 32}


def say(text):
    print(text, flush=True)


def run(directory=None):
    from bigchaindb_resonate import host

    host.apply()
    testnet = Testnet(directory)
    if not testnet.exists:
        print(f"error: no local testnet in {testnet.directory}; start one with "
              f"`resonate testnet up`", file=sys.stderr)
        return 1
    clients = [Client(node.api_url) for node in testnet.nodes]
    if clients[0].network()["parameters"] is None:
        print(f"error: the testnet in {testnet.directory} was created before networks carried "
              "their parameters (treasury, platform key) in the genesis; recreate it with "
              "`resonate testnet down --purge` and `resonate testnet up`", file=sys.stderr)
        return 1

    def node(step):
        """Writes and reads go to every node in turn."""
        return clients[step % len(clients)]

    treasury, platform = (_role_keypair(testnet, role) for role in ("treasury", "platform"))
    artist, listener = generate_key_pair(), generate_key_pair()
    stamp = time.strftime("%H:%M:%S")  # only names the demo's records, never validated

    say("1. The artist registers a band, a work, a recording and its copyright")
    band = node(0).register_party(artist, {"@type": "MusicGroup", "name": f"Kokoroko {stamp}",
                                           "roles": ["artist"]})
    work = node(1).register_work(artist, {"@type": "MusicComposition", "name": "Abusey Junction",
                                          "composer": [band["id"]]})
    track = node(2).register_manifestation(artist, {
        "@type": "MusicRecording", "name": "Abusey Junction", "recordingOf": work["id"],
        "byArtist": [band["id"]]})
    copyright = node(3).register_copyright(artist, {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]}, "validFrom": "2018-01-19"})
    _settled(clients, copyright)
    for label, tx in (("party", band), ("work", work), ("recording", track), ("copyright", copyright)):
        say(f"   {label:<10} {tx['id'][:16]}…")

    say("2. Someone else claiming the recording's copyright is refused, with a code, by any node")
    try:
        node(1).register_copyright(generate_key_pair(), {
            "rightsOf": track["id"], "territory": {"include": ["GB"]}, "validFrom": "2024-01-01"})
        say("   error: the network accepted it")
        return 1
    except TransactionRefused as refusal:
        say(f"   {refusal}")

    say("3. The artist licenses streaming to the co-op and splits royalties 70/30 with the band's label")
    label = generate_key_pair()
    right = node(0).derive_right(artist, {
        "source": copyright["id"], "usageType": ["on_demand_stream"],
        "territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01", "exclusive": False,
        "license": LICENCE}, licensees=[(platform.public_key, 100)])
    _settled(clients, node(1).set_split(artist, track["id"],
                                        [(artist.public_key, 7000), (label.public_key, 3000)]))
    say(f"   licence {right['id'][:16]}… held by the co-op's platform key")

    say("4. The treasury creates the credit token (once) and sells the listener 1.5 credits")
    if node(2).network()["credit"] is None:
        _settled(clients, node(2).issue_credit_token(treasury))
    _settled(clients, node(3).buy_credits(treasury, listener.public_key, 1500))
    say(f"   listener balance: {_balance(node(0), listener)} tokens")

    say("5. Ten plays: each costs twice the one before; after the ninth the track is owned")
    payees = (artist, label, platform)
    direct_paid = [0, 0, 0]
    for number in range(10):
        before = [_balance(node(number), who) for who in payees]
        node(number).play(listener, track["id"], right["id"], "GB")
        _wait_everywhere(clients, number + 1, listener, track)
        paid = [_balance(node(number + 1), who) - was for who, was in zip(payees, before)]
        direct_paid = [total + gain for total, gain in zip(direct_paid, paid)]
        owns = node(number + 2).owns(listener.public_key, track["id"])
        say(f"   play {number + 1:>2}: artist +{paid[0]:<3} label +{paid[1]:<3} co-op +{paid[2]:<3} "
            f"{'(owned)' if owns['owned'] else ''}")
    say(f"   listener balance: {_balance(node(0), listener)} tokens (1500 - 1022)")

    say("6. Another listener streams the track through a payment channel: each play is accepted "
        "off the ledger in milliseconds, and the receiver settles them on its own")
    if _stream_through_channel(testnet, clients, treasury, platform, (artist, label), track,
                               right) != direct_paid:
        say("   error: the channel's plays did not pay what the direct plays paid")
        return 1

    say("7. Node 2 computes the usage report (direct and channel plays alike); every node audits it")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "report.json"
        path.write_text("".join(clients[1 % len(clients)].report(f"track:{track['id']}")))
        lines = list(read_lines(path.read_text().splitlines(True), "json"))
        summary = next((line for line in lines if line.get("kind") == "totals"), {})
        say(f"   {len(lines)} report lines; totals "
            + json.dumps({name: value for name, value in summary.items() if name != "kind"}))

        with path.open() as text:
            result = audit(text, [node.api_url for node in testnet.nodes])
        say(f"   audit against {len(testnet.nodes)} nodes: "
            + ("matches" if result.ok else "DIFFERS: " + "; ".join(result.findings[:3])))
        if not result.ok:
            return 1

    say("8. Every node at the same height with the same app hash")
    agreed = _agreement(testnet)
    if agreed is None:
        say("   error: the nodes did not agree; see `resonate testnet status`")
        return 1
    say(f"   height {agreed[0]}, app hash {agreed[1]}")
    say("8. The band's dashboard, served by every node (docs/dashboard.md):")
    say(f"   {testnet.nodes[0].api_url}/api/v1/resonate/dashboard/?party={band['id']}")
    say("Done.")
    return 0


def _stream_through_channel(testnet, clients, treasury, platform, payees, track, right):
    """A listener opens a channel towards the co-op's receiver, plays ten times through it
    and closes it; what each payee (artist, label, co-op) gained."""
    from bigchaindb_resonate.client import ChannelPlayer, ReceiverClient
    from bigchaindb_resonate.receiver.process import ReceiverProcess

    listener = generate_key_pair()
    _settled(clients, clients[0].buy_credits(treasury, listener.public_key, 1500))
    opened = _settled(clients, clients[1].open_channel(listener, platform.public_key, 1100))
    say(f"   channel {opened['id'][:16]}…: 1100 tokens locked towards the co-op's receiver")
    before = [_balance(clients[2], who) for who in (*payees, platform)]
    with tempfile.TemporaryDirectory() as scratch, ReceiverProcess(
            role_key_path(testnet.directory, "platform"), Path(scratch) / "store",
            [node.api_url for node in testnet.nodes], settle_every=3) as receiver:
        say(f"   receiver {receiver.url} (resonate receiver serve, settling every 3 s)")
        player = ChannelPlayer(ReceiverClient(receiver.url), listener, opened["id"])
        took = []
        for _ in range(10):
            started = time.perf_counter()
            player.play(track["id"], right["id"], "GB")
            took.append((time.perf_counter() - started) * 1000)
        say(f"   10 plays accepted in {min(took):.0f}–{max(took):.0f} ms each "
            f"(a direct PLAY waits for its block)")
        state = _channel_settled(clients, opened["id"], 10)
        paid = [_balance(clients[3], who) - was for who, was in zip((*payees, platform), before)]
        say(f"   settled by the receiver: sequence {state['sequence']}, {state['settled']} tokens; "
            f"artist +{paid[0]} label +{paid[1]} co-op +{paid[2]} (what the ten direct plays paid)")
    closing = _settled(clients, clients[0].close_channel(listener, opened["id"]))
    state = clients[1].channel(opened["id"])
    say(f"   the listener closes it ({closing['id'][:16]}…): {state['status']}; the remaining "
        f"{state['deposit'] - state['settled']} tokens return after the settle delay "
        f"(`resonate channel refund`)")
    return paid


def _channel_settled(clients, channel_id, sequence, timeout=60):
    deadline = time.monotonic() + timeout
    while any(client.channel(channel_id)["sequence"] < sequence for client in clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"channel {channel_id} not settled through {sequence} after {timeout}s")
        time.sleep(0.3)
    return clients[0].channel(channel_id)


def _role_keypair(testnet, role):
    document = json.loads(role_key_path(testnet.directory, role).read_text())
    return CryptoKeypair(document["private_key"], document["public_key"])


def _balance(client, keypair):
    try:
        return client.balance(keypair.public_key)["balance"]
    except NotFoundError:  # no credit token yet
        return 0


def _settled(clients, tx, timeout=30):
    """A commit answer means one node committed it; each node stores a block as it commits
    it. Reads that follow go to other nodes, so wait until every node has it."""
    deadline = time.monotonic() + timeout
    while not all(client.is_committed(tx["id"]) for client in clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tx['id']} is not on every node after {timeout}s")
        time.sleep(0.2)
    return tx


def _wait_everywhere(clients, plays, listener, track, timeout=30):
    """Each node stores a block as it commits it: wait until all have this play."""
    deadline = time.monotonic() + timeout
    while any(client.owns(listener.public_key, track["id"])["plays"] < plays for client in clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"play {plays} is not on every node after {timeout}s")
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
