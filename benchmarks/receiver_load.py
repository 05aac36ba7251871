"""Accept latency at the receiver over HTTP under many concurrent listeners, without the
network: the receiver's service (its HTTP server, checks and durable store) in a process
of its own pinned to one CPU, the load generator on the other.

    .venv/bin/python benchmarks/receiver_load.py --listeners 1000 --plays 10 --rate 500

Each listener keeps one keep-alive connection open and sends its first half of vouchers
paced (`--rate` vouchers a second in all: latency at a steady load), then the rest as fast
as it is answered (latency at saturation, and the rate the receiver sustains). Each
channel's first voucher (its checks read the ledger once) is counted apart. The ledger
is vouchers.py's stub, answering the first read of each channel, track and licence; the
receiver caches them, as it does when reading a real network (channels.py measures the
same against the 4-node network, with settlement). Run it on a quiet machine for figures
to quote: the load generator and the receiver share the machine with everything else.
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
from pathlib import Path

import record
from channels import percentiles, stream
from vouchers import RECEIVER, CachedLedger, make_vouchers

from bigchaindb_resonate.receiver.service import Receiver
from bigchaindb_resonate.receiver.store import Store


def serve(channels, store, cpu, address):
    os.sched_setaffinity(0, {cpu})
    receiver = Receiver(Store(store), CachedLedger(channels), RECEIVER, settle_every=10 ** 6,
                        settle_after=10 ** 9)
    receiver.start_settling()
    asyncio.run(receiver.run("127.0.0.1", 0, ready=lambda bound: address.put(bound[1])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=1000, help="concurrent listeners")
    parser.add_argument("--plays", type=int, default=10, help="vouchers per listener (2 to 10)")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="vouchers a second in all while paced")
    args = parser.parse_args()
    channels, streams = make_vouchers(args.listeners, args.plays)
    cpus = sorted(os.sched_getaffinity(0))
    address = multiprocessing.Queue()
    with tempfile.TemporaryDirectory() as scratch:
        server = multiprocessing.Process(target=serve, args=(channels, Path(scratch) / "store",
                                                             cpus[-1], address))
        server.start()
        try:
            port = address.get(timeout=60)
            os.sched_setaffinity(0, {cpus[0]})
            cold, paced, flat, flat_seconds, _ = asyncio.run(
                stream(f"http://127.0.0.1:{port}", streams, args.plays // 2, args.rate))
        finally:
            server.terminate()
            server.join()
    report = {"listeners": args.listeners, "plays_each": args.plays,
              "paced_rate_per_s": args.rate, "first_of_channel": percentiles(cold),
              "paced": percentiles(paced),
              "flat_out": percentiles(flat),
              "flat_out_accepted_per_s": round(len(flat) / flat_seconds, 1),
              "receiver_cpus": 1, "load_average": [round(value, 2) for value in os.getloadavg()]}
    print(json.dumps(record.append("receiver_load", report), indent=1))


if __name__ == "__main__":
    main()
