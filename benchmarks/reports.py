"""How a usage and royalty report's time and memory grow with the number of plays, on the
local store (FerretDB 1.24, SQLite), next to a bare scan of the same transactions, and
what summaries from the totals kept at commit (reports/totals.py) cost.

    .venv/bin/python benchmarks/reports.py [--sizes 10000,100000,1000000] [--per-block 100]

The store is seeded directly with documents in BigchainDB's stored form (PLAY
transactions without asset and metadata, their metadata, blocks of ids, block times, the
tracks and network parameters), growing to each size in turn. At each size:

- upkeep: the report rows and totals writes of SAMPLE_BLOCKS blocks of plays, as a node
  makes them at commit (totals.fold_block), timed per play; then `totals.rebuild`
  recomputes the rows and totals of every seeded play from the store's blocks and
  transactions (what `bigchaindb-resonate rebuild-totals` runs);
- fresh processes, each timed with its peak RSS (VmHWM): `report` computes the
  network report and writes it as JSON to /dev/null (StoreLedger + report_lines +
  formats.render; it reads the report rows); `dsr` the same report rendered as a DDEX
  DSR (reports/dsr.py: plays grouped per track, territory and price step through an
  SQLite spool); `scan` only reads every PLAY transaction
  and its metadata (a bare read of the same transactions, through FerretDB); `summary`
  answers the network summary with 31 days, a track's and a payee's from the stored
  totals; `file` reads and parses the same transactions and metadata straight from the
  SQLite file under FerretDB (what the store itself costs without FerretDB's decoding).

The report/scan ratio should stay flat (goal: at most 2), the dsr/report ratio too, the
summary's time should not
grow with plays, and peak memory should stay flat. Results are appended to
benchmarks/results/reports.jsonl with the command.
"""
import argparse
import hashlib
import json
import os
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
SAMPLE_BLOCKS = 20


def digest(*parts):
    return hashlib.sha3_256(":".join(map(str, parts)).encode()).hexdigest()


def seed_static(database):
    # As `bigchaindb init` does on a node (host declares them): FerretDB stalled creating
    # a collection under a batch of upserts.
    for collection in ("report_totals", "report_rows"):
        database.create_collection(collection)
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


def keep_totals(port, size, per_block):
    """Time the totals' upkeep over SAMPLE_BLOCKS blocks of plays folded above the tip, as
    commits would, then rebuild them from the store (which drops the sample again)."""
    from types import SimpleNamespace

    from bigchaindb.backend import connect

    from bigchaindb_resonate.reports import totals

    # A node allows a query 5 s (BigchainDB's connection_timeout); here the upkeep is
    # timed, however long it takes on this store.
    conn = connect(backend="localmongodb", host="127.0.0.1", port=port, name=DATABASE,
                   connection_timeout=600_000)
    tip = -(-size // per_block)
    started = time.perf_counter()
    for block in range(SAMPLE_BLOCKS):
        plays = [play_documents(n, per_block) for n in range(block * per_block, (block + 1) * per_block)]
        totals.fold_block(conn, tip + 1 + block, T0 + (tip + 1 + block) * 5,
                          [{"id": tx["id"], "operation": "PLAY", "metadata": metadata["metadata"],
                            "outputs": tx["outputs"]} for tx, metadata in plays], "platform")
    upkeep = time.perf_counter() - started
    started = time.perf_counter()
    _, documents = totals.rebuild(SimpleNamespace(connection=conn))
    return {"upkeep_us_per_play": round(upkeep / (SAMPLE_BLOCKS * per_block) * 1e6, 1),
            "rebuild_seconds": round(time.perf_counter() - started, 2),
            "totals_documents": documents}


def summaries(conn):
    from bigchaindb_resonate.reports import totals

    def lookup(keys):
        return totals.read(conn, keys)

    day = totals.date_of(T0)
    days = totals.dates_between(day, totals.date_of(T0 + 30 * totals.DAY))
    network = totals.summary(lookup, "network", None, days)
    totals.summary(lookup, "track", [digest("track", 0)], days)
    totals.summary(lookup, "payee", ["payee0"])
    return network["totals"]["paid_plays"] + network["totals"]["free_plays"]


def read_file(path):
    """Every transaction and metadata row straight from FerretDB's SQLite file, parsed."""
    import sqlite3

    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = [name for (name,) in database.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")
        if name.startswith(("transactions_", "metadata_"))]
    for table in tables:
        for (text,) in database.execute(f'SELECT _ferretdb_sjson FROM "{table}"'):
            json.loads(text)


def measure(port, what, database=DATABASE):
    """Run in a fresh process: the report, the bare scan or the summaries; print seconds
    and peak RSS."""
    from types import SimpleNamespace

    from bigchaindb.backend import connect

    from bigchaindb_resonate import host

    host.apply()
    conn = None if what == "file" else connect(backend="localmongodb", host="127.0.0.1",
                                               port=int(port), name=database)
    started = time.perf_counter()
    if what == "summary":
        plays = summaries(conn)
    elif what == "file":
        read_file(port)
    elif what in ("report", "dsr"):
        from bigchaindb_resonate.reports.compute import Period, Scope, StoreLedger, report_lines
        from bigchaindb_resonate.reports.formats import render

        with open("/dev/null", "w") as out:
            lines = report_lines(StoreLedger(SimpleNamespace(connection=conn)),
                                 Scope.parse("network"), Period())
            out.writelines(render(lines, "json" if what == "report" else "dsr"))
    else:
        for collection, match in (("transactions", {"operation": "PLAY"}),
                                  ("metadata", {"metadata.@type": "Play"})):
            for _ in conn.run(conn.collection(collection).find(match, {"_id": False})):
                pass
    seconds = time.perf_counter() - started
    # VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak over.
    peak_kib = int(next(line.split()[1] for line in open("/proc/self/status")
                        if line.startswith("VmHWM:")))
    print(json.dumps({"seconds": round(seconds, 4), "peak_rss_mib": round(peak_kib / 1024, 1),
                      **({"plays": plays} if what == "summary" else {})}))


def timed_process(port, what, database=DATABASE):
    output = subprocess.run([sys.executable, __file__, "--measure", what, "--port", str(port),
                             "--database", database],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--per-block", type=int, default=100, help="plays per block")
    parser.add_argument("--measure", choices=["report", "dsr", "scan", "summary", "file"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--port", help=argparse.SUPPRESS)  # or the SQLite file, for `file`
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
                kept = keep_totals(port, size, args.per_block)
                scan, report = timed_process(port, "scan"), timed_process(port, "report")
                as_dsr = timed_process(port, "dsr")
                summary = timed_process(port, "summary")
                from_file = timed_process(Path(home) / "store" / f"{DATABASE}.sqlite", "file")
                assert summary.pop("plays") == size, "the totals miss plays"
                row = {"plays": size, "blocks": -(-size // args.per_block),
                       "seed_seconds": round(seeded, 1), "report": report, "scan": scan,
                       "summary": summary, "file": from_file, "dsr": as_dsr, **kept,
                       "dsr_to_report_ratio": round(as_dsr["seconds"] / report["seconds"], 2),
                       "time_ratio": round(report["seconds"] / scan["seconds"], 2),
                       "report_to_file_ratio": round(report["seconds"] / from_file["seconds"], 2),
                       "summary_ms": round(summary["seconds"] * 1000, 1),
                       "report_us_per_play": round(report["seconds"] / size * 1e6, 1)}
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            process.terminate()
            process.wait()
    result = {"store": "FerretDB 1.24.2 SQLite", "cpus": len(os.sched_getaffinity(0)),
              "load_average": os.getloadavg(), "rows": rows}
    record.append(NAME, result, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
