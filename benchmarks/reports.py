"""How a usage and royalty report's time and memory grow with the number of plays, on the
local store (FerretDB 1.24, SQLite), next to a bare scan of the same transactions.

    .venv/bin/python benchmarks/reports.py [--sizes 10000,100000,1000000] [--per-block 100]

The store is seeded directly with documents in BigchainDB's stored form (PLAY
transactions without asset and metadata, their metadata, blocks of ids, block times, the
tracks and network parameters), growing to each size in turn. At each size two fresh
processes run against it: one computes the network report and writes it as JSON to
/dev/null (StoreLedger + report_lines + formats.render), the other only reads every PLAY
transaction and its metadata (the two finds the report cannot do without). Each reports
its wall time and peak RSS (ru_maxrss). FerretDB scans for every filter, so the bare scan
is the floor; the ratio should stay flat and both should grow linearly, while peak memory
stays flat. Results are appended to benchmarks/results/reports.jsonl with the command.
"""
import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo

import record
from validation import start_store

NAME = "reports"

DATABASE = "bench_reports"
TRACKS = 200
LISTENERS = 5000
T0 = 1_700_000_000
KEY = "4K9H6zjvzMQfyHJhsJDQZdgsZFGsJpBrvSUnAwpXyN9G"
INSERT_BATCH = 5000


def digest(*parts):
    return hashlib.sha3_256(":".join(map(str, parts)).encode()).hexdigest()


def seed_static(database):
    database["abci_chains"].insert_one({"height": 0, "chain_id": "bench", "is_synced": True})
    database["network_parameters"].insert_one(
        {"chain_id": "bench", "treasury_keys": [KEY], "platform_key": "platform",
         "coop_share_bp": 3000})
    tracks = [digest("track", n) for n in range(TRACKS)]
    database["assets"].insert_many([
        {"id": track, "data": {"@type": "MusicRecording", "isrcCode": f"GBAYE69{n:05d}"}}
        for n, track in enumerate(tracks)])
    database["transactions"].insert_many([
        {"id": track, "operation": "MANIFESTATION", "version": "2.0", "inputs": [], "outputs": []}
        for track in tracks])


def play_documents(n, per_block):
    """The n-th play: its transaction and metadata as stored."""
    number = (n // 1000) % 12  # a mix of paid and free plays
    price = 2 ** (number + 1) if number < 9 else 0
    coop = price * 3000 // 10000
    txid = digest("play", n)
    outputs = [{"public_keys": [f"payee{n % 3}"], "amount": str(price - coop)},
               {"public_keys": ["platform"], "amount": str(coop)},
               {"public_keys": [f"listener{n % LISTENERS}"], "amount": "4000"}] if price else [
                  {"public_keys": [f"listener{n % LISTENERS}"], "amount": "4000"}]
    tx = {"id": txid, "operation": "PLAY", "version": "2.0", "asset": {"id": digest("credit")},
          "inputs": [{"owners_before": [f"listener{n % LISTENERS}"], "fulfillment": "x" * 100,
                      "fulfills": {"transaction_id": digest("play", n - 1), "output_index": 2}}],
          "outputs": outputs}
    metadata = {"id": txid, "metadata": {
        "@type": "Play", "track": digest("track", n % TRACKS), "listener": f"listener{n % LISTENERS}",
        "playNumber": number, "territory": ("GB", "IE", "US", "DE")[n % 4], "price": price,
        "right": digest("right"), **({"split": digest("split", n % TRACKS)} if price else {})}}
    return tx, metadata


def grow(database, have, size, per_block):
    for start in range(have, size, INSERT_BATCH):
        end = min(size, start + INSERT_BATCH)
        documents = [play_documents(n, per_block) for n in range(start, end)]
        database["transactions"].insert_many([tx for tx, _ in documents])
        database["metadata"].insert_many([metadata for _, metadata in documents])
        first, last = start // per_block + 1, (end - 1) // per_block + 1
        database["blocks"].insert_many([
            {"height": height, "app_hash": digest("app", height),
             "transactions": [digest("play", n) for n in range((height - 1) * per_block,
                                                               min(height * per_block, size))]}
            for height in range(first, last + 1) if (height - 1) * per_block >= start])
        database["block_times"].insert_many([
            {"height": height, "time": T0 + height * 5}
            for height in range(first, last + 1) if (height - 1) * per_block >= start])


def measure(port, what, database=DATABASE):
    """Run in a fresh process: the report or the bare scan; print seconds and peak RSS."""
    from types import SimpleNamespace

    from bigchaindb.backend import connect

    conn = connect(backend="localmongodb", host="127.0.0.1", port=port, name=database)
    started = time.perf_counter()
    if what == "report":
        from bigchaindb_resonate.reports.compute import Period, Scope, StoreLedger, report_lines
        from bigchaindb_resonate.reports.formats import render

        with open("/dev/null", "w") as out:
            lines = report_lines(StoreLedger(SimpleNamespace(connection=conn)),
                                 Scope.parse("network"), Period())
            out.writelines(render(lines, "json"))
    else:
        for collection, match in (("transactions", {"operation": "PLAY"}),
                                  ("metadata", {"metadata.@type": "Play"})):
            for _ in conn.run(conn.collection(collection).find(match, {"_id": False})):
                pass
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}))


def timed_process(port, what, database=DATABASE):
    output = subprocess.run([sys.executable, __file__, "--measure", what, "--port", str(port),
                             "--database", database],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--per-block", type=int, default=100, help="plays per block")
    parser.add_argument("--measure", choices=["report", "scan"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", default=DATABASE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args.port, args.measure, args.database)
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            database = pymongo.MongoClient("127.0.0.1", port)[DATABASE]
            seed_static(database)
            have = 0
            for size in sizes:
                started = time.perf_counter()
                grow(database, have, size, args.per_block)
                have = size
                seeded = time.perf_counter() - started
                report, scan = timed_process(port, "report"), timed_process(port, "scan")
                row = {"plays": size, "blocks": -(-size // args.per_block),
                       "seed_seconds": round(seeded, 1), "report": report, "scan": scan,
                       "time_ratio": round(report["seconds"] / scan["seconds"], 2),
                       "report_us_per_play": round(report["seconds"] / size * 1e6, 1)}
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            process.terminate()
            process.wait()
    result = {"store": "FerretDB 1.24.2 SQLite", "cpus": len(os.sched_getaffinity(0)),
              "rows": rows}
    record.append(NAME, result, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
