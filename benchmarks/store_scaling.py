"""How a lookup by `id` grows with the collection on the local store (FerretDB, SQLite).

    .venv/bin/python benchmarks/store_scaling.py [--sizes 1000,5000,20000]

Every validation asks the store whether a transaction id is committed, and a TRANSFER
also asks who spent an output. This measures those two lookups at growing collection
sizes, next to a lookup by `_id` (the only filter FerretDB 1.24 pushes down to SQLite), in
the same run. A ratio of time to size that stays flat means the lookup is a scan.
Results are appended to benchmarks/results/store_scaling.jsonl.
"""
import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import pymongo

import record
from validation import start_store

NAME = "store_scaling"

REPEAT = 5


def timed(collection, query):
    started = time.perf_counter()
    for _ in range(REPEAT):
        list(collection.find(query))
    return (time.perf_counter() - started) / REPEAT * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            collection = pymongo.MongoClient("127.0.0.1", port)["scaling"]["transactions"]
            collection.create_index("id", unique=True)
            collection.create_index([("inputs.fulfills.transaction_id", 1)])
            for size in sizes:
                have = collection.count_documents({})
                collection.insert_many([
                    {"_id": digest(n), "id": digest(n), "pad": "x" * 400,
                     "inputs": [{"fulfills": {"transaction_id": digest(n - 1), "output_index": 0}}]}
                    for n in range(have, size)])
                probe = digest(size // 2)
                row = {"documents": size,
                       "by_id_ms": round(timed(collection, {"id": probe}), 2),
                       "by__id_ms": round(timed(collection, {"_id": probe}), 2),
                       "spent_by_ms": round(timed(collection, {"inputs.fulfills.transaction_id": probe}), 2)}
                print(row, flush=True)
                rows.append(row)
        finally:
            process.terminate()
            process.wait()
    report = {"store": "FerretDB 1.24.2 SQLite", "rows": rows,
              "by_id_ms_per_1000_documents": [round(row["by_id_ms"] / row["documents"] * 1000, 2)
                                              for row in rows]}
    record.append(NAME, report, argv)
    print(json.dumps(report["by_id_ms_per_1000_documents"]))
    return 0


def digest(n):
    return hashlib.sha3_256(str(n).encode()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
