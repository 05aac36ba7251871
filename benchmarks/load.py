"""Committed throughput and commit latency on the local testnet, workload against workload.

    .venv/bin/python benchmarks/load.py [--dir DIR] [--count 200] [--workers 8] [--workloads create,transfer,party,registry,play]
                                        [--tendermint timeout_commit=500ms recheck=false …]

Without a testnet in `--dir` (or the default testnet directory), it starts its own 4-node
network with the given Tendermint settings and deletes it afterwards.

Every transaction is built and signed before the clock starts. Workers post them
round-robin to all nodes with `mode=sync` (answered once CheckTx accepts); the commit time
of each comes from the first node's valid-transactions event stream. Latency is post to
commit; throughput is committed transactions over the time from the first post to the
last commit. A REGISTRY workload posts `--count` transactions as chains Party → Work →
Manifestation → Copyright → Right, each chain in order to one node, each link once CheckTx
has accepted the one before (CheckTx sees the node's mempool, so links may share a block);
the chains run concurrently. A PLAY workload first registers a licensed, split recording through the
API, buys credits for `--count` listeners in one treasury TRANSFER (keys from
`<testnet>/keys/`), then posts each listener's first play. Each workload runs in the same
invocation, so their ratios compare like with like on this machine. The results, with the
machine and settings, are appended to benchmarks/results/load.jsonl.
"""
import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

import record
from validation import Catalogue

from bigchaindb_resonate import host
from bigchaindb_resonate.testnet import Testnet
from bigchaindb_resonate.testnet.config import node_dir
from bigchaindb_resonate.client import Client
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.play import Play
from bigchaindb_resonate.validators.royalties import price

NAME = "load"
EVENTS = "/api/v1/streams/valid_transactions"


def creates(count):
    keypair = generate_key_pair()
    return [Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                               asset={"n": n, "bench": time.time_ns()}).sign([keypair.private_key]).to_dict()
            for n in range(count)], keypair


def parties(count):
    keypair = generate_key_pair()
    return [Party.build([keypair.public_key], {"@type": "MusicGroup", "name": f"Band {n} {time.time_ns()}"})
            .sign([keypair.private_key]).to_dict() for n in range(count)]


def transfers_of(created, owner):
    """One TRANSFER spending each CREATE: the same count, each independent of the others."""
    receiver = generate_key_pair()
    return [Transaction.transfer(Transaction.from_dict(tx).to_inputs(), [([receiver.public_key], 1)],
                                 asset_id=tx["id"]).sign([owner.private_key]).to_dict()
            for tx in created]


def registry_chains(count):
    """`count` transactions (rounded down to whole chains) as independent chains of records,
    each to be posted in order."""
    catalogue = Catalogue()
    return [[tx.to_dict() for tx in catalogue.chain(catalogue.records)]
            for _ in range(count // len(catalogue.records))]


def role_keypair(testnet, role):
    from bigchaindb.common.crypto import CryptoKeypair

    document = json.loads((testnet.directory / "keys" / f"{role}.json").read_text())
    return CryptoKeypair(document["private_key"], document["public_key"])


# A purchase pays every listener in one transaction: this many stay within 64 KiB.
LISTENERS_PER_PURCHASE = 150


def plays(count, testnet):
    """Each of `count` listeners' first PLAY of one recording, independent of each other;
    everything they depend on is committed first through the API (the credit purchases
    `LISTENERS_PER_PURCHASE` listeners at a time)."""
    client = Client(testnet.nodes[0].api_url)
    treasury, platform = role_keypair(testnet, "treasury"), role_keypair(testnet, "platform")
    network = client.network()
    if network["credit"] is None:
        client.issue_credit_token(treasury)
        network = client.network()
    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    for tx in links:
        client.submit(tx)
    track, right, split = links[2], links[4], links[5]
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]
    cost = price(0)
    signed = []
    while len(signed) < count:
        listeners = [generate_key_pair() for _ in range(min(LISTENERS_PER_PURCHASE, count - len(signed)))]
        bought = Transaction.from_dict(buy_credits(client, treasury, listeners, cost, network["credit"]))
        signed += [Play.pay([(bought, index)], listener.public_key, {
            "track": track.id, "territory": "GB", "right": right.id, "playNumber": 0,
            "split": split.id}, payees, network["parameters"]).sign([listener.private_key]).to_dict()
            for index, listener in enumerate(listeners)]
    return signed


def buy_credits(client, treasury, listeners, amount, credit_id):
    """One committed treasury TRANSFER of `amount` credits to each of `listeners` (at most
    LISTENERS_PER_PURCHASE), from the treasury's largest output; as a dict."""
    held = [entry for entry in client.balance(treasury.public_key)["outputs"]
            if entry["public_keys"] == [treasury.public_key]]
    source = max(held, key=lambda entry: entry["amount"])
    holding = Transaction.from_dict(client.get_transaction(source["transaction_id"]))
    return client.submit(Transaction.transfer(
        holding.to_inputs([source["output_index"]]),
        [([listener.public_key], amount) for listener in listeners]
        + [([treasury.public_key], source["amount"] - amount * len(listeners))],
        asset_id=credit_id).sign([treasury.private_key]))


class CommitWatcher:
    """Records when each transaction commits, from a node's valid-transactions event stream."""

    def __init__(self, ws_url):
        self.committed = {}
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete,
                                        args=(self._listen(ws_url),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"cannot subscribe to {ws_url}{EVENTS}")

    async def _listen(self, ws_url):
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{ws_url}{EVENTS}") as socket:
                self._ready.set()
                async for message in socket:
                    event = json.loads(message.data)
                    self.committed.setdefault(event["transaction_id"], time.perf_counter())

    def wait_for(self, txids, timeout):
        deadline = time.perf_counter() + timeout
        while not all(txid in self.committed for txid in txids) and time.perf_counter() < deadline:
            time.sleep(0.05)


def post_all(sequences, nodes, workers, watcher):
    """Post with mode=sync (answered after CheckTx) as fast as the workers can: the
    sequences round-robin to the nodes, each one's transactions in order to its node, so a
    transaction may depend on the one before it. The commit time of each transaction comes
    from the event stream."""
    sessions = [requests.Session() for _ in nodes]
    posted, statuses = {}, {}

    def post(indexed):
        index, sequence = indexed
        which = index % len(nodes)
        for tx in sequence:
            posted[tx["id"]] = time.perf_counter()
            response = sessions[which].post(f"{nodes[which].api_url}/api/v1/transactions",
                                            params={"mode": "sync"}, json=tx, timeout=60)
            statuses[tx["id"]] = response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(post, enumerate(sequences)))
    transactions = [tx for sequence in sequences for tx in sequence]
    accepted = [tx["id"] for tx in transactions if statuses[tx["id"]] == 202]
    watcher.wait_for(accepted, timeout=120)
    commits = [watcher.committed[txid] for txid in accepted if txid in watcher.committed]
    latencies = sorted(watcher.committed[txid] - posted[txid] for txid in accepted
                       if txid in watcher.committed)
    wall = (max(commits) - started) if commits else None
    return {
        "count": len(transactions), "refused": len(transactions) - len(accepted),
        "committed": len(commits), "seconds": round(wall, 3) if wall else None,
        "committed_per_second": round(len(commits) / wall, 2) if wall else 0,
        "latency_median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
    }


@contextlib.contextmanager
def network_for(directory, settings=(), progress=print, genesis=None):
    """The testnet in `directory` if one is there; otherwise a fresh 4-node network in a
    temporary directory with the given Tendermint `settings` (`name=value`) and `genesis`
    parameters, stopped and deleted afterwards. Run the benchmark under
    /tmp/resonate-network.lock."""
    from bigchaindb_resonate.testnet.config import TendermintSettings, save_genesis_parameters
    from bigchaindb_resonate.testnet.description import free_base_port

    testnet = Testnet(directory)
    if directory and testnet.exists:
        if settings:
            sys.exit("error: --tendermint applies to a network the benchmark starts; "
                     "leave out --dir")
        yield testnet, TendermintSettings.load(testnet.directory)
        return
    try:
        chosen = TendermintSettings.parse(settings)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory(prefix="resonate-bench-") as home:
        testnet = Testnet(Path(home) / "net")
        if genesis:
            save_genesis_parameters(testnet.directory, genesis)
        base_port = free_base_port(4, start=31000)
        if base_port is None:
            sys.exit("error: no free block of ports for a 4-node network from 31000")
        progress(f"starting a 4-node network in {testnet.directory} with {chosen}")
        testnet.up(nodes=4, base_port=base_port, settings=chosen, progress=lambda line: None)
        try:
            yield testnet, chosen
        finally:
            testnet.down(purge=True, progress=lambda line: None)


# Tendermint 0.31.5's log lines that mark a height's steps (consensus:info, state:info).
STEP_LINES = re.compile(
    r"^I\[(?P<when>\d{4}-\d\d-\d\d\|\d\d:\d\d:\d\d\.\d{3})\] (?:"
    r"enterNewRound\((?P<new_round>\d+)/0\)|enterPropose\((?P<propose>\d+)/0\)|"
    r"Finalizing commit of block with \d+ txs .*height=(?P<finalize>\d+)|"
    r"Executed block .*height=(?P<executed>\d+)|Committed state .*height=(?P<committed>\d+))")
PHASES = (("timeout_commit", "new_round"), ("waiting_for_transactions", "propose"),
          ("propose_and_vote", "finalize"), ("deliver_txs", "executed"),
          ("commit_and_recheck", "committed"))


def block_phases(log_path, since, until):
    """Where a node's block time went, from its Tendermint log, over the blocks committed
    between the wall-clock times `since` and `until`: mean ms per block from the previous
    commit to the next round (timeout_commit), to proposing (waiting for transactions),
    to finalising (proposal and votes; a proposer first waits for the mempool's recheck),
    through DeliverTx to the executed block, and through the app's Commit (which first
    waits for the mempool's recheck) to the committed state."""
    marks = {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        found = STEP_LINES.match(line)
        if not found:
            continue
        when = datetime.datetime.strptime(found["when"], "%Y-%m-%d|%H:%M:%S.%f").timestamp()
        for step in ("new_round", "propose", "finalize", "executed", "committed"):
            if found[step]:
                marks.setdefault(int(found[step]), {}).setdefault(step, when)
    totals = {phase: 0.0 for phase, _ in PHASES}
    blocks = 0
    for height, steps in marks.items():
        previous = marks.get(height - 1, {}).get("committed")
        if previous is None or not since <= steps.get("committed", 0) <= until:
            continue
        times = [previous, *(steps.get(step) for _, step in PHASES)]
        if None in times:
            continue
        blocks += 1
        for (phase, _), start, end in zip(PHASES, times, times[1:]):
            totals[phase] += end - start
    if not blocks:
        return None
    block_ms = sum(totals.values()) / blocks * 1000
    return {"blocks": blocks, "block_ms": round(block_ms, 1),
            **{f"{phase}_ms": round(total / blocks * 1000, 1) for phase, total in totals.items()}}


def machine():
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="the testnet's directory")
    parser.add_argument("--count", type=int, default=200, help="transactions per workload")
    parser.add_argument("--workers", type=int, default=8, help="concurrent posting threads")
    parser.add_argument("--workloads", default="create,transfer,party,registry,play")
    parser.add_argument("--tendermint", nargs="*", default=[], metavar="NAME=VALUE",
                        help="Tendermint settings of the network the benchmark starts when "
                             "--dir holds none (testnet.config.TendermintSettings)")
    args = parser.parse_args(argv)
    host.apply()
    with network_for(args.dir, args.tendermint) as (testnet, settings):
        report = measure(testnet, args)
        report["tendermint"] = dataclasses.asdict(settings)
    record.append(NAME, report, argv)
    print(json.dumps(report["throughput_vs_create"]))
    if "throughput_vs_transfer" in report:
        print(json.dumps(report["throughput_vs_transfer"]))
    return 0


def measure(testnet, args):
    nodes = testnet.nodes
    watcher = CommitWatcher(nodes[0].ws_url)
    wanted = args.workloads.split(",")
    print(f"building and signing {args.count} transactions per workload…", flush=True)
    created, owner = creates(args.count)
    # TRANSFERs need committed CREATEs to spend, so the CREATE workload always runs first.
    # Each workload is a list of sequences to post in order; independent transactions are
    # sequences of one.
    prepared = {"create": [[tx] for tx in created]}
    if "party" in wanted:
        prepared["party"] = [[tx] for tx in parties(args.count)]
    if "registry" in wanted:
        prepared["registry"] = registry_chains(args.count)
    report = {"machine": machine(), "nodes": len(nodes), "workers": args.workers, "workloads": {}}
    for name in ["create", *[w for w in wanted if w != "create"]]:
        if name == "transfer":
            prepared["transfer"] = [[tx] for tx in transfers_of(created, owner)]
        if name == "play":
            prepared["play"] = [[tx] for tx in plays(args.count, testnet)]
        count = sum(map(len, prepared[name]))
        print(f"posting {name.upper()} × {count} round-robin to {len(nodes)} nodes…", flush=True)
        since = time.time()
        report["workloads"][name] = post_all(prepared[name], nodes, args.workers, watcher)
        report["workloads"][name]["block_phases"] = block_phases(
            node_dir(testnet.directory, nodes[0]).log("tendermint"), since, time.time())
        print(f"  {report['workloads'][name]}", flush=True)
    base = report["workloads"]["create"]["committed_per_second"]
    report["throughput_vs_create"] = {name: round(result["committed_per_second"] / base, 3)
                                      for name, result in report["workloads"].items()}
    if "transfer" in report["workloads"]:
        transfers = report["workloads"]["transfer"]["committed_per_second"]
        report["throughput_vs_transfer"] = {name: round(result["committed_per_second"] / transfers, 3)
                                            for name, result in report["workloads"].items()}
        report["p95_latency_vs_transfer"] = {
            name: round(result["latency_p95_ms"] / report["workloads"]["transfer"]["latency_p95_ms"], 3)
            for name, result in report["workloads"].items() if result["latency_p95_ms"]}
    return report


if __name__ == "__main__":
    sys.exit(main())
