"""Plays through payment channels against direct PLAYs, end to end on the local 4-node
network, in one run: accept latency at a real receiver under many concurrent listeners,
effective plays per second with every voucher settled and paid, and the validators' work
per settled voucher against a direct PLAY's.

    flock /tmp/resonate-network.lock .venv/bin/python benchmarks/channels.py --listeners 1000 --plays 10

Without a testnet in `--dir` it starts its own 4-node network (load.py's `network_for`),
its genesis setting rule version 3 (batched settlements, docs/spec/rule_versions.md) so
that the receiver settles in CHANNEL_SETTLE_BATCH transactions, and deletes it afterwards.
A network given in `--dir` runs the version in force there: below 3 the receiver settles
one CHANNEL_SETTLE per channel, and the report says which (`rules_version`). In order:

1. Direct PLAYs: `--direct` listeners' first PLAY each, posted round-robin to the nodes
   (load.py's PLAY workload): committed per second.
2. Setup (not timed): a licensed recording with a 70/30 split, credits for every listener
   (treasury TRANSFERs of 150 outputs), a CHANNEL_OPEN per listener towards the platform
   key (deposit 1,022: ten plays of one track), and every voucher signed beforehand.
3. A receiver (`resonate receiver serve`, reading through all four nodes) pinned to one CPU;
   the load generator on the other, one keep-alive connection per listener, all open at once.
   Paced: each listener sends its first half of plays at `--rate` vouchers a second in all
   (latency at a steady load; each channel's first voucher, whose checks read the ledger,
   counted apart). Flat out: each sends the rest as fast as it is answered
   (throughput, latency at saturation). The receiver settles every `--settle-every` seconds
   or `--settle-after` vouchers, all due channels at once in CHANNEL_SETTLE_BATCH
   transactions (docs/receiver.md; one CHANNEL_SETTLE per channel below rule version 3).
4. Settled: until the receiver has seen every settlement commit (asked of the receiver, so
   that waiting costs the network nothing), then every channel is read on the ledger to be
   settled through its last voucher (1,000 channels a request, outside the timed window);
   the artist's, co-writer's and co-op's balances are then checked to have grown by exactly
   what the same PLAYs pay. Settled plays a second are given end to end (first voucher to
   all settled) and for settlement alone (last voucher accepted to all settled: what the
   network pays out per second once the receiver holds them; with `--settle-after` the
   number of vouchers, one settlement round starts as the last is accepted).

Validators' work is CPU time (user + system) of every process of the network (Tendermint,
BigchainDB, FerretDB, of all four nodes), read from /proc: during the direct PLAYs per PLAY
committed, and from the first voucher until all are settled (the receiver's reads, the
settlements, their validation and commit) per voucher settled. The idle network's CPU rate,
measured first, is subtracted from both.
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bigchaindb.common.crypto import generate_key_pair

import record
from load import (
    LISTENERS_PER_PURCHASE, CommitWatcher, buy_credits, network_for, plays, post_all, role_keypair,
)
from validation import Catalogue

from bigchaindb_resonate import host
from bigchaindb_resonate.client import Client, ReceiverClient
from bigchaindb_resonate.operations.channel_open import open_channel
from bigchaindb_resonate.receiver.process import ReceiverProcess
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.validators.royalties import payouts, price
from bigchaindb_resonate.vouchers import make_voucher

NAME = "channels"
TICKS = os.sysconf("SC_CLK_TCK")


def network_cpu_seconds(testnet):
    """CPU seconds used so far by every process under the network's supervisor."""
    return sum(network_cpu_by_program(testnet).values())


def network_cpu_by_program(testnet):
    """network_cpu_seconds per program (tendermint, bigchaindb, ferretdb, …)."""
    supervisor = int((Path(testnet.directory) / "supervisor.pid").read_text().split()[0])
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            children.setdefault(int(fields[1]), []).append(
                (int(entry.name), _program(entry, head.split("(", 1)[1]),
                 sum(int(value) for value in fields[11:15])))  # utime stime cutime cstime
    totals, pending = {}, [supervisor]
    while pending:
        for pid, program, ticks in children.get(pending.pop(), []):
            totals[program] = totals.get(program, 0) + ticks / TICKS
            pending.append(pid)
    return totals


def _program(entry, comm):
    """A process's program: its command's first word that names one of the network's."""
    try:
        words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        words = []
    for word in words:
        for name in ("tendermint", "ferretdb", "bigchaindb"):
            if name in word.rsplit("/", 1)[-1]:
                return name
    return comm


def cpu_difference(after, before):
    return {program: round(seconds - before.get(program, 0), 2) for program, seconds in after.items()}


def release(client, platform):
    """A recording, its Copyright, the platform's streaming licence and a 70/30 split."""
    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    for tx in links:
        client.submit(tx)
    return links[2].id, links[4].id, catalogue.payees


def open_channels(client, testnet, count, deposit, watcher):
    """`count` listeners, each with credits and a committed channel of `deposit` tokens
    towards the platform key: [(listener, channel id)]."""
    treasury, platform = role_keypair(testnet, "treasury"), role_keypair(testnet, "platform")
    network = client.network()
    listeners, opens = [], []
    while len(listeners) < count:
        batch = [generate_key_pair() for _ in range(min(LISTENERS_PER_PURCHASE, count - len(listeners)))]
        bought = buy_credits(client, treasury, batch, deposit + 1, network["credit"])
        for index, listener in enumerate(batch):
            opened = open_channel([(bought, index)], listener.public_key, platform.public_key, deposit)
            opens.append(Client.fulfill(opened.to_dict(), [listener.private_key]))
        listeners += batch
    result = post_all([[tx] for tx in opens], testnet.nodes, 16, watcher)
    if result["committed"] != count:
        sys.exit(f"error: {result['committed']} of {count} channels opened: {result}")
    return [(listener, tx["id"]) for listener, tx in zip(listeners, opens)]


def own_balance(client, key):
    """Tokens the key holds alone (the platform key is also a side of every channel; its
    deposits are not in the balance)."""
    return client.balance(key)["balance"]


def vouchers_for(listener, channel_id, track, right, plays_each):
    total, signed = 0, []
    for number in range(plays_each):
        total += price(number)
        signed.append(make_voucher(listener.private_key, channel=channel_id,
                                   listener=listener.public_key, sequence=number + 1, track=track,
                                   play=number, price=price(number), total=total,
                                   territory="GB", right=right))
    return signed


async def stream(url, streams, paced, rate):
    """Send each listener's vouchers on its own keep-alive connection, all listeners at
    once: the first `paced` of each at `rate` a second in all, the rest as fast as they are
    answered. (latencies of each channel's first voucher, whose checks read the ledger;
    of the other paced ones; flat out; seconds flat out; the first send time)."""
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    period = len(streams) / rate  # each listener's time between paced vouchers
    latencies = {"first": [], "paced": [], "flat": []}
    gate = asyncio.Event()
    flat_started = []
    ready = []

    async def listener(index, session, vouchers):
        await asyncio.sleep(period * index / len(streams))  # spread the listeners evenly
        start = time.perf_counter()
        for number, voucher in enumerate(vouchers):
            if number == paced:
                ready.append(1)
                if len(ready) == len(streams):
                    flat_started.append(time.perf_counter())
                    gate.set()
                await gate.wait()
            elif number < paced:
                await asyncio.sleep(max(0.0, start + number * period - time.perf_counter()))
            sent = time.perf_counter()
            async with session.post(f"{url}/vouchers", json=voucher) as response:
                answer = await response.json()
            if answer.get("status") != "accepted":
                raise RuntimeError(f"refused: {answer}")
            phase = "first" if number == 0 else "paced" if number < paced else "flat"
            latencies[phase].append(time.perf_counter() - sent)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        first = time.perf_counter()
        await asyncio.gather(*(listener(index, session, vouchers)
                               for index, vouchers in enumerate(streams)))
        finished = time.perf_counter()
    flat_seconds = finished - flat_started[0] if flat_started else None
    return latencies["first"], latencies["paced"], latencies["flat"], flat_seconds, first


def percentiles(values):
    if not values:
        return {}
    ordered = sorted(values)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "count": len(ordered)}


def wait_receiver_settled(receiver, timeout):
    """Until the receiver has seen every channel it holds settled (its settlements
    committed): asked of the receiver, so that waiting costs the network nothing."""
    deadline = time.monotonic() + timeout
    while receiver.status()["unsettled_channels"]:
        if time.monotonic() > deadline:
            sys.exit(f"error: channels not settled after {timeout}s: {receiver.status()}")
        time.sleep(0.2)


def wait_settled(clients, channels, plays_each, timeout):
    """Seconds until every channel is settled through `plays_each` on the ledger."""
    deadline = time.monotonic() + timeout
    pending = [channel_id for _, channel_id in channels]
    while pending:
        states = [state for start in range(0, len(pending), 1000)
                  for state in clients[0].channels(pending[start:start + 1000])]
        pending = [state["channel"] for state in states if state["sequence"] < plays_each]
        if pending and time.monotonic() > deadline:
            sys.exit(f"error: {len(pending)} channels not settled after {timeout}s")
        if pending:
            time.sleep(0.5)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="the testnet's directory")
    parser.add_argument("--listeners", type=int, default=1000, help="listeners with a channel")
    parser.add_argument("--plays", type=int, default=10, help="plays per listener (at most 10)")
    parser.add_argument("--direct", type=int, default=150, help="direct PLAYs to time")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="vouchers a second in all while paced")
    parser.add_argument("--settle-every", type=float, default=10.0,
                        help="the receiver's settlement period, seconds")
    parser.add_argument("--settle-after", type=int, default=10 ** 9,
                        help="the receiver also settles once this many vouchers are unsettled")
    args = parser.parse_args(argv)
    if not 2 <= args.plays <= 10:
        sys.exit("error: --plays is 2 to 10 (a deposit of 1,022 pays ten plays of a track)")
    host.apply()
    with network_for(args.dir, genesis={"rules_version": BATCHED_SETTLEMENTS}) as (testnet, _):
        report = measure(testnet, args)
    report["load_average"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(record.append(NAME, report, argv), indent=1))
    return 0


def measure(testnet, args):
    clients = [Client(node.api_url) for node in testnet.nodes]
    in_force = clients[0].network()["parameters"]  # what payouts follow
    print(f"rules version {in_force['rules_version']} in force: the receiver settles "
          f"{'in batches' if in_force['rules_version'] >= BATCHED_SETTLEMENTS else 'a CHANNEL_SETTLE per channel'}",
          flush=True)
    watcher = CommitWatcher(testnet.nodes[0].ws_url)
    cpu_before, idle_started = network_cpu_seconds(testnet), time.perf_counter()
    time.sleep(5)
    idle_rate = (network_cpu_seconds(testnet) - cpu_before) / (time.perf_counter() - idle_started)

    print(f"direct PLAYs: {args.direct} listeners' first play…", flush=True)
    direct = [[tx] for tx in plays(args.direct, testnet)]
    cpu_before, started = network_cpu_seconds(testnet), time.perf_counter()
    direct_result = post_all(direct, testnet.nodes, 8, watcher)
    direct_cpu = network_cpu_seconds(testnet) - cpu_before - idle_rate * (time.perf_counter() - started)
    print(f"  {direct_result}", flush=True)

    platform = role_keypair(testnet, "platform")
    track, right, payees = release(clients[0], platform)
    print(f"opening {args.listeners} channels…", flush=True)
    channels = open_channels(clients[0], testnet, args.listeners, 1022, watcher)
    streams = [vouchers_for(listener, channel_id, track, right, args.plays)
               for listener, channel_id in channels]
    before = [own_balance(clients[1], key) for key, _ in payees + [(platform.public_key, 0)]]

    store = Path(tempfile.mkdtemp(prefix="resonate-receiver-")) / "store"
    receiver = ReceiverProcess(Path(testnet.directory) / "keys" / "platform.json", store,
                               [node.api_url for node in testnet.nodes],
                               settle_every=args.settle_every, settle_after=args.settle_after, cpu=1)
    url = receiver.start()
    os.sched_setaffinity(0, {0})
    try:
        print(f"{args.listeners} listeners × {args.plays} plays through {url}…", flush=True)
        programs_before = network_cpu_by_program(testnet)
        cpu_before = sum(programs_before.values())
        cold, paced, flat, flat_seconds, first = asyncio.run(
            stream(url, streams, args.plays // 2, args.rate))
        accepted_at = time.perf_counter()
        programs_accepted = network_cpu_by_program(testnet)
        wait_receiver_settled(ReceiverClient(url), timeout=600)
        settled_at = time.perf_counter()
        programs_settled = network_cpu_by_program(testnet)
        channel_cpu = sum(programs_settled.values()) - cpu_before - idle_rate * (settled_at - first)
        settling_cpu = sum(programs_settled.values()) - sum(programs_accepted.values()) \
            - idle_rate * (settled_at - accepted_at)
        receiver_status = ReceiverClient(url).status()
        wait_settled(clients, channels, args.plays, timeout=120)  # the ledger agrees
    finally:
        receiver.stop()
        os.sched_setaffinity(0, set(range(os.cpu_count())))

    vouchers = args.listeners * args.plays
    expected = list(before)
    for number in range(args.plays):
        paid, coop = payouts(price(number), payees, in_force)
        for index, (key, _) in enumerate(payees):
            expected[index] += dict(paid)[key] * args.listeners
        expected[-1] += coop * args.listeners
    after = [own_balance(clients[2], key) for key, _ in payees + [(platform.public_key, 0)]]
    if after != expected:
        sys.exit(f"error: balances {after}, expected {expected}")

    direct_rate = direct_result["committed_per_second"]
    accept_rate = len(flat) / flat_seconds
    effective = vouchers / (settled_at - first)
    settling = vouchers / (settled_at - accepted_at)
    direct_cost = direct_cpu / direct_result["committed"]
    voucher_cost = channel_cpu / vouchers
    report = {
        "listeners": args.listeners, "plays_each": args.plays, "vouchers": vouchers,
        "rules_version": in_force["rules_version"],
        "direct_play": {**direct_result, "network_cpu_ms_per_play": round(direct_cost * 1000, 2)},
        "receiver": {"paced_rate_per_s": args.rate, "first_of_channel": percentiles(cold),
                     "paced": percentiles(paced),
                     "flat_out": percentiles(flat), "flat_out_accepted_per_s": round(accept_rate, 1),
                     "settle_every_s": args.settle_every, "settle_after": args.settle_after,
                     "cpus": 1, "settlement_transactions": receiver_status["settlements"],
                     "settlement_refusals": receiver_status["settlement_refusals"]},
        "seconds_first_voucher_to_last_accepted": round(accepted_at - first, 2),
        "seconds_first_voucher_to_all_settled": round(settled_at - first, 2),
        "effective_plays_per_s_settled": round(effective, 1),
        "settlement_only_plays_per_s": round(settling, 1),
        "network_cpu_ms_per_settled_voucher": round(voucher_cost * 1000, 3),
        # From the last voucher accepted to all settled: the settlement round alone.
        "network_cpu_ms_per_voucher_settling_only": round(settling_cpu / vouchers * 1000, 3),
        "network_cpu_s_by_program": {
            "accepting": cpu_difference(programs_accepted, programs_before),
            "settling": cpu_difference(programs_settled, programs_accepted)},
        "idle_network_cpu_per_s": round(idle_rate, 3),
        "ratios": {"settled_plays_per_s_vs_direct": round(effective / direct_rate, 1),
                   "settlement_only_plays_per_s_vs_direct": round(settling / direct_rate, 1),
                   "accepted_plays_per_s_vs_direct": round(accept_rate / direct_rate, 1),
                   "validator_cost_per_voucher_vs_play": round(voucher_cost / direct_cost, 4),
                   "settling_only_cost_per_voucher_vs_play": round(settling_cpu / vouchers / direct_cost, 4)},
        "balances_checked": True,
    }
    return report


if __name__ == "__main__":
    sys.exit(main())
