"""Vouchers verified and stored durably per second on one core, next to bare Ed25519
verification measured in the same run (goal: at least 0.7 of it).

Bare: libsodium's verification (`crypto_sign_open`) of the same signatures over the same
signed bytes, already decoded: the floor any voucher check pays. Receiver: the receiver's
whole accept path (`Receiver.accept`: parse the request body, decode and verify the
signature, check the channel, sequence, play number, price, total, deposit and licence,
reserve, and store in a synced SQLite commit before answering), every listener's next
voucher in flight at once, so commits group as they do under load. Ledger facts
(channels, tracks, licences, play counts) are answered from the receiver's cache, as they
are once a channel has been seen: a stub ledger answers the first read of each. Two
receivers run side by side: one given a voucher per call (`accept`, as a player's request
arrives), one given 100 per call (`accept_many`, as a POST of a JSON list arrives from a
streaming front end that gathers its players' vouchers). HTTP itself is not included
(receiver_load.py measures latency over HTTP).

    .venv/bin/python benchmarks/vouchers.py --listeners 1000 --plays 10

Rates are per CPU-second of the process (all its threads, pinned to one core) and per
wall-clock second; the machine may be shared, so the ratio is the figure to read.
"""
import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import rapidjson
from nacl.bindings import crypto_sign_open

from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.receiver import checks, tune_collector
from bigchaindb_resonate.receiver.service import Receiver
from bigchaindb_resonate.receiver.store import Store
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.validators.terms import COUNTRY_CODES
from bigchaindb_resonate.vouchers import make_voucher, signed_bytes

import record

RECEIVER, PLATFORM = generate_key_pair(), generate_key_pair()
TRACKS = [f"{index:064x}" for index in range(1, 11)]
RIGHT = "f" * 64
BATCH = 100  # vouchers per request on the batched path


class CachedLedger:
    """Answers the receiver's first read of each fact; afterwards it reads its cache."""

    def __init__(self, channels):
        self.channels = channels
        self.clients = []

    def network(self):
        return {"parameters": {"platform_key": PLATFORM.public_key,
                               "receiver_keys": [RECEIVER.public_key],
                               "channel_settle_delay_s": 86_400}, "credit": None}

    def channel(self, channel_id):
        return self.channels.get(channel_id)

    def plays(self, listener, track):
        return 0

    def track(self, track_id):
        return checks.Track(track_id, None, "e" * 64)

    def licence(self, right_id):
        return checks.Licence(frozenset([PLATFORM.public_key]), frozenset(["on_demand_stream"]),
                              frozenset(COUNTRY_CODES), {"validFrom": "2020-01-01"}, None)


def make_vouchers(listeners, plays):
    """Per listener, a channel and `plays` vouchers of one track (stream to own: 2, 4, …
    tokens); the first read of each lane is warmed up before timing, as for a listener
    already playing."""
    channels, streams = {}, []
    for index in range(listeners):
        listener = generate_key_pair()
        channel_id = f"{index + 1:064x}"
        channels[channel_id] = checks.Channel(channel_id, listener.public_key, RECEIVER.public_key,
                                              10_000, "open")
        total, stream = 0, []
        track = TRACKS[index % len(TRACKS)]
        for sequence in range(1, plays + 1):
            play = sequence - 1
            total += price(play)
            stream.append(make_voucher(
                listener.private_key, channel=channel_id, listener=listener.public_key,
                sequence=sequence, track=track, play=play,
                price=price(play), total=total, territory="GB", right=RIGHT))
        streams.append(stream)
    return channels, streams


def prepared(vouchers):
    """What bare verification is given: signature and signed bytes, and the key, decoded."""
    return [(checks.b58decode(v["signature"], 64) + signed_bytes(v),
             checks.b58decode(v["listener"], 32)) for v in vouchers]


def timed(work):
    """(wall seconds, CPU seconds of this process's threads) that `work()` took."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


async def compare(receivers, streams):
    """Vouchers per wall and per CPU second for each receiver and for bare verification of
    the same vouchers, in alternating slices (every listener's next voucher at once to
    each receiver, then the same vouchers verified bare), so that all meet the same load
    from other processes. `receivers`: one taking a voucher per request, one taking
    BATCH per request."""
    bodies = [[json.dumps(v).encode() for v in stream] for stream in streams]
    single, batched = receivers

    async def one_per_request(step):
        return await asyncio.gather(*(single.accept(stream[step]) for stream in bodies))

    async def batches(step):
        vouchers = [stream[step] for stream in streams]
        answers = await asyncio.gather(*(batched.accept_many(vouchers[start:start + BATCH])
                                         for start in range(0, len(vouchers), BATCH)))
        return [answer for part in answers for answer in part]

    async def accept_all(step, name):
        answers = await {"receiver": one_per_request, "batched": batches}[name](step)
        assert all(answer["status"] == "accepted" for answer in answers), answers[:3]

    totals = {"receiver": [0.0, 0.0], "batched": [0.0, 0.0], "bare": [0.0, 0.0]}
    for name in ("receiver", "batched"):  # the first vouchers warm the caches
        await accept_all(0, name)
    for step in range(1, len(bodies[0])):
        for name in ("receiver", "batched"):
            wall, cpu = time.perf_counter(), time.process_time()
            await accept_all(step, name)
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += time.process_time() - cpu
        batch = prepared([stream[step] for stream in streams])
        for index, spent in enumerate(timed(lambda: [crypto_sign_open(signed, key)
                                                     for signed, key in batch])):
            totals["bare"][index] += spent
    count = len(bodies) * (len(bodies[0]) - 1)
    return {name: (count / wall, count / cpu) for name, (wall, cpu) in totals.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=1000,
                        help="channels, each with a voucher in flight (default 1000)")
    parser.add_argument("--plays", type=int, default=10, help="vouchers per listener (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--store", type=Path, default=None,
                        help="directory for the stores (default: a temporary one)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    runs = []
    with tempfile.TemporaryDirectory(dir=args.store) as scratch:
        for round_ in range(args.rounds):
            channels, streams = make_vouchers(args.listeners, args.plays)
            receivers = [Receiver(Store(Path(scratch) / f"round{round_}-{mode}"),
                                  CachedLedger(channels), RECEIVER) for mode in ("one", "batch")]
            for receiver in receivers:
                receiver.start_settling()
            tune_collector()  # as `resonate receiver serve` does once its receiver is open
            runs.append(asyncio.run(compare(receivers, streams)))
            for receiver in receivers:
                receiver.store.close()
            print(f"round {round_ + 1}: " + ", ".join(
                f"{name} {wall:,.0f}/s wall, {cpu:,.0f}/CPU-s" for name, (wall, cpu) in runs[-1].items()),
                flush=True)

    def median(values):
        return sorted(values)[len(values) // 2]

    report = {"bare_ed25519_per_cpu_s": round(median([run["bare"][1] for run in runs])),
              "receiver_per_cpu_s": round(median([run["receiver"][1] for run in runs])),
              "ratio_cpu": round(median([run["receiver"][1] / run["bare"][1] for run in runs]), 3),
              "bare_ed25519_per_s_wall": round(median([run["bare"][0] for run in runs])),
              "receiver_per_s_wall": round(median([run["receiver"][0] for run in runs])),
              "ratio_wall": round(median([run["receiver"][0] / run["bare"][0] for run in runs]), 3),
              "batched_per_cpu_s": round(median([run["batched"][1] for run in runs])),
              "batched_ratio_cpu": round(median([run["batched"][1] / run["bare"][1] for run in runs]), 3),
              "batch": BATCH,
              "listeners": args.listeners, "plays": args.plays, "cores": 1,
              "durable": "SQLite WAL, synchronous=FULL, group commit",
              "load_average": round(os.getloadavg()[0], 2)}
    print(json.dumps(record.append("vouchers", report)))


if __name__ == "__main__":
    main()
