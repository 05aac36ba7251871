"""Validation cost per transaction, our types (PARTY, PLAY) next to BigchainDB's CREATE and TRANSFER.

    .venv/bin/python benchmarks/validation.py [--rounds 200] [--seed 500]

Starts its own FerretDB (SQLite) on a free loopback port, commits `--seed` CREATEs so that
lookups run against a non-empty store, then times, for each type, what a node does in
CheckTx: strict decoding and admission, parsing with schema checks, and `validate`
against the store (and, separately, the parse alone). Types are timed round-robin in the same loop, so each sees the same
store and the same machine load; the figure that matters is the ratio to CREATE and to
TRANSFER. Each PLAY is one listener's first play of a recording whose Copyright, streaming
licence, split and credit purchase are committed in one block, under genesis parameters. Results are appended to benchmarks/results/validation.jsonl.
"""
import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bigchaindb.common.crypto import generate_key_pair

import record

NAME = "validation"



def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_store(home):
    from bigchaindb_resonate.binaries import ensure_ferretdb

    port = free_port()
    (home / "store").mkdir()
    process = subprocess.Popen(
        [str(ensure_ferretdb()), "--telemetry=disable", "--handler=sqlite",
         f"--sqlite-url=file:{home}/store/", f"--listen-addr=127.0.0.1:{port}",
         f"--debug-addr=127.0.0.1:{free_port()}", f"--state-dir={home}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    sys.exit("error: FerretDB did not start")


def play_market(bigchain, count):
    """Commit what `count` independent first plays need (one block, genesis parameters, a
    consensus time inside the licence) and return the plays, signed."""
    from bigchaindb.models import Transaction

    from bigchaindb_resonate.ledger import NETWORK_PARAMETERS
    from bigchaindb_resonate.types.copyright import Copyright
    from bigchaindb_resonate.types.credit import Credit
    from bigchaindb_resonate.types.manifestation import Manifestation
    from bigchaindb_resonate.types.party import Party
    from bigchaindb_resonate.types.play import Play
    from bigchaindb_resonate.types.right import Right
    from bigchaindb_resonate.types.split import Split
    from bigchaindb_resonate.types.work import Work
    from bigchaindb_resonate.validators.royalties import price

    artist, treasury, platform = generate_key_pair(), generate_key_pair(), generate_key_pair()
    listeners = [generate_key_pair() for _ in range(count)]
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                  "coop_share_bp": 3000}

    def by_artist(cls, data, **options):
        return cls.build([artist.public_key], data, **options).sign([artist.private_key])

    band = by_artist(Party, {"@type": "MusicGroup", "name": "Bench"})
    work = by_artist(Work, {"@type": "MusicComposition", "name": "Bench", "composer": [band.id]})
    track = by_artist(Manifestation, {"@type": "MusicRecording", "name": "Bench",
                                      "recordingOf": work.id, "byArtist": [band.id]})
    copyright = by_artist(Copyright, {"rightsOf": track.id, "validFrom": "2020-01-01",
                                      "territory": {"include": ["Worldwide"]}})
    right = by_artist(Right, {"source": copyright.id, "usageType": ["on_demand_stream"],
                              "validFrom": "2020-01-01", "territory": {"include": ["Worldwide"]},
                              "exclusive": False,
                              "license": {"uri": "https://resonate.coop/l.pdf", "hash": "00" * 32}},
                      holders=[(platform.public_key, 100)])
    payees = [(artist.public_key, 7000), (treasury.public_key, 3000)]
    split = by_artist(Split, {"subject": track.id, "payees": payees})
    credit = Credit.build([treasury.public_key]).sign([treasury.private_key])
    cost = price(0)
    purchase = Transaction.transfer(
        credit.to_inputs(), [([listener.public_key], cost) for listener in listeners]
        + [([treasury.public_key], credit.outputs[0].amount - cost * count)],
        asset_id=credit.id).sign([treasury.private_key])
    market = [band, work, track, copyright, right, split, credit, purchase]
    connection = bigchain.connection
    connection.run(connection.collection(NETWORK_PARAMETERS).insert_one({"chain_id": "bench", **parameters}))
    bigchain.store_bulk_transactions(market)
    bigchain.store_block({"height": 1, "app_hash": "", "transactions": [tx.id for tx in market]})
    bigchain.consensus_time = 1_790_000_000  # 2026-09-21, as a block header would give it
    split_payees = [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]
    return [Play.pay([(purchase, index)], listener.public_key, {
        "track": track.id, "territory": "GB", "right": right.id, "playNumber": 0,
        "split": split.id}, split_payees, parameters).sign([listener.private_key])
        for index, listener in enumerate(listeners)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="transactions timed per type")
    parser.add_argument("--seed", type=int, default=500, help="CREATEs committed before timing")
    args = parser.parse_args(argv)

    import bigchaindb
    from bigchaindb.backend import connect, schema
    from bigchaindb.lib import BigchainDB
    from bigchaindb.models import Transaction

    from bigchaindb_resonate import admission, host
    from bigchaindb_resonate.types.party import Party

    host.apply()
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            bigchaindb.config["database"].update(host="127.0.0.1", port=port, name="bench")
            schema.init_database(connect())
            bigchain = BigchainDB()
            owner = generate_key_pair()
            print(f"committing {args.seed + args.rounds} CREATEs to the store…", flush=True)
            created = [Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                          asset={"n": n}).sign([owner.private_key])
                       for n in range(args.seed + args.rounds)]
            bigchain.store_bulk_transactions(created)
            receiver = generate_key_pair()
            print(f"signing {args.rounds} transactions of each type…", flush=True)
            workloads = {
                "CREATE": [Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                              asset={"fresh": n}).sign([owner.private_key])
                           for n in range(args.rounds)],
                "TRANSFER": [Transaction.transfer(tx.to_inputs(), [([receiver.public_key], 1)],
                                                  asset_id=tx.id).sign([owner.private_key])
                             for tx in created[args.seed:]],
                "PARTY": [Party.build([owner.public_key], {"@type": "MusicGroup", "name": f"Band {n}",
                                                           "isni": "0000000121032683"})
                          .sign([owner.private_key]) for n in range(args.rounds)],
                "PLAY": play_market(bigchain, args.rounds),
            }
            raw = {name: [json.dumps(tx.to_dict()).encode() for tx in txs]
                   for name, txs in workloads.items()}
            parse = {name: [] for name in raw}
            total = {name: [] for name in raw}
            print("timing CheckTx's work, round-robin over the types…", flush=True)
            for index in range(args.rounds):
                for name, payloads in raw.items():
                    started = time.perf_counter()
                    tx = Transaction.from_dict(admission.decode(payloads[index]))
                    parsed = time.perf_counter()
                    tx.validate(bigchain)
                    parse[name].append(parsed - started)
                    total[name].append(time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait()
    medians = {name: statistics.median(values) * 1000 for name, values in total.items()}
    parse_medians = {name: statistics.median(values) * 1000 for name, values in parse.items()}
    report = {"store": "FerretDB 1.24.2 SQLite", "seeded_transactions": args.seed + args.rounds,
        "median_ms": {name: round(value, 3) for name, value in medians.items()},
        "ratio_to_create": {name: round(value / medians["CREATE"], 3) for name, value in medians.items()},
        "ratio_to_transfer": {name: round(value / medians["TRANSFER"], 3) for name, value in medians.items()},
        # Decoding, admission, schema and stateless rules only: the CPU our rules add,
        # without the store lookups that dominate on FerretDB.
        "parse_median_ms": {name: round(value, 3) for name, value in parse_medians.items()},
        "parse_ratio_to_create": {name: round(value / parse_medians["CREATE"], 3)
                                  for name, value in parse_medians.items()},
    }
    record.append(NAME, report, argv)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
