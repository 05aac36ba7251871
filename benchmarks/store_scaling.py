"""How the node's store lookups grow with a collection, stock FerretDB against patched.

    .venv/bin/python benchmarks/store_scaling.py [--sizes 1000,20000,100000]

Starts the released FerretDB 1.24.2 and the node's build of it (patches/ferretdb/ applied)
side by side on their own SQLite stores, grows the same `transactions` collection in both
(documents keyed the way the node keys them, `_id = id`, about 600 bytes each) and, at each
size, times in both the lookups that matter:

- `_id` hit: every committed record, asset, metadata, spent output, rule index entry and
  commit position a validation or an API read looks up;
- `_id` miss: the duplicate check every new transaction makes (nothing found);
- `_id` update: a write that finds its document by `_id` (rule index `$push`, chain head);
- `id` (a field with a MongoDB index): what upstream BigchainDB would ask, for reference;
  FerretDB pushes no other filter down to SQLite, so this scans on both binaries.

Times are medians of REPEAT runs in milliseconds; the figure to read is the ratio of stock
to patched in the same run. Results are appended to benchmarks/results/store_scaling.jsonl.
"""
import argparse
import functools
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import pymongo

import record
from validation import start_store

NAME = "store_scaling"
REPEAT = 5
median_ms = functools.partial(record.median_ms, repeat=REPEAT)
BATCH = 2000


def lookups(collection, size):
    probe = digest(size // 2)
    return {
        "id_hit_ms": median_ms(lambda: collection.find_one({"_id": probe})),
        "id_miss_ms": median_ms(lambda: collection.find_one({"_id": digest(-1)})),
        "id_update_ms": median_ms(lambda: collection.update_one({"_id": probe}, {"$inc": {"seen": 1}})),
        "unindexed_field_ms": median_ms(lambda: collection.find_one({"id": probe})),
    }


def grow(collection, size):
    have = collection.estimated_document_count()
    for start in range(have, size, BATCH):
        collection.insert_many([
            {"_id": digest(n), "id": digest(n), "operation": "TRANSFER", "pad": "x" * 400,
             "inputs": [{"fulfills": {"transaction_id": digest(n - 1), "output_index": 0}}]}
            for n in range(start, min(size, start + BATCH))])


def main(argv=None):
    from bigchaindb_resonate.binaries import ensure_ferretdb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000,100000")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    builds = {"stock": ensure_ferretdb(patched=False), "patched": ensure_ferretdb()}
    rows = []
    with tempfile.TemporaryDirectory() as home:
        stores = {name: start_store(Path(home, name), binary) for name, binary in builds.items()}
        try:
            collections = {}
            for name, (_, port) in stores.items():
                collection = pymongo.MongoClient("127.0.0.1", port)["scaling"]["transactions"]
                collection.create_index("id", unique=True)
                collections[name] = collection
            for size in sizes:
                row = {"documents": size}
                for name, collection in collections.items():
                    grow(collection, size)
                    row[name] = lookups(collection, size)
                row["stock_over_patched"] = {
                    key: round(row["stock"][key] / row["patched"][key], 1) for key in row["stock"]}
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            for process, _ in stores.values():
                process.terminate()
                process.wait()
    record.append(NAME, {"store": "FerretDB 1.24.2 SQLite, stock and patched",
                         "binaries": {name: str(path) for name, path in builds.items()},
                         "rows": rows}, argv)
    return 0


def digest(n):
    return hashlib.sha3_256(str(n).encode()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
