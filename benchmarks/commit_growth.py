"""Block time as one asset's history grows: a listener's plays of one track, block after block.

    .venv/bin/python benchmarks/commit_growth.py [--blocks 20] [--block-size 250]

Starts its own FerretDB (SQLite) on a free loopback port and drives the node's ABCI
application as Tendermint does (begin_block, deliver_tx, end_block, commit) on a chain
whose genesis names a treasury, a platform key and a co-op share. A setup block commits a
licensed, split recording, the credit token and a purchase; then every block holds
`--block-size` plays by the same listener of the same track, each spending the change of
the one before: every one of them a transfer of the one credit token, all counted under
one (listener, track) key. Per block it times DeliverTx (validation) and Commit (storing,
filing the rule index) apart. Flat means the last blocks cost what the first ones cost:
the figure that matters is the ratio of the last quarter's median to the first quarter's.
It also reports the largest rule_index document at the end. Results are appended to
benchmarks/results/commit_growth.jsonl.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bson
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

import record
from validation import CONSENSUS_TIME, Catalogue, start_store

NAME = "commit_growth"


def setup_block(parameters, treasury, platform, listener):
    """The market a listener's plays need, and the listener's wallet: (purchase, 0)."""
    from bigchaindb_resonate.types.credit import Credit

    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    credit = Credit.build([treasury.public_key]).sign([treasury.private_key])
    supply = credit.outputs[0].amount
    purchase = Transaction.transfer(credit.to_inputs(), [([listener.public_key], 10 ** 6),
                                                         ([treasury.public_key], supply - 10 ** 6)],
                                    asset_id=credit.id).sign([treasury.private_key])
    return [*links, credit, purchase], links


def plays(links, listener, parameters, wallet, first, count):
    """`count` plays numbered from `first`, each spending the change of the one before."""
    from bigchaindb_resonate.types.play import Play

    track, right, split = links[2], links[4], links[5]
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]
    signed = []
    for number in range(first, first + count):
        tx = Play.pay([wallet], listener.public_key, {
            "track": track.id, "territory": "GB", "right": right.id, "playNumber": number,
            "split": split.id}, payees, parameters).sign([listener.private_key])
        signed.append(tx)
        wallet = (tx, len(tx.outputs) - 1)
    return signed, wallet


def run_block(app, height, raw_transactions):
    """One block as Tendermint drives it: (DeliverTx seconds, Commit seconds)."""
    from google.protobuf.timestamp_pb2 import Timestamp

    types = app.abci
    header = types.Header(height=height, num_txs=len(raw_transactions),
                          time=Timestamp(seconds=CONSENSUS_TIME + 60 * height))
    app.begin_block(types.RequestBeginBlock(header=header))
    started = time.perf_counter()
    refused = [result.log for result in map(app.deliver_tx, raw_transactions) if result.code]
    delivered = time.perf_counter()
    if refused:
        sys.exit(f"error: block {height} refused {len(refused)} transactions: {refused[0]}")
    app.end_block(types.RequestEndBlock(height=height))
    app.commit()
    return delivered - started, time.perf_counter() - delivered


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20, help="blocks of plays")
    parser.add_argument("--block-size", type=int, default=250, help="plays per block")
    args = parser.parse_args(argv)

    import bigchaindb
    import bigchaindb.start
    from abci import ABCI, TmVersion
    from bigchaindb.backend import connect, schema

    from bigchaindb_resonate import host
    from bigchaindb_resonate.ledger import RULE_INDEX

    host.apply()
    treasury, platform, listener = (generate_key_pair() for _ in range(3))
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                  "coop_share_bp": 3000}
    rows = []
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            bigchaindb.config["database"].update(host="127.0.0.1", port=port, name="growth")
            connection = connect()
            schema.init_database(connection)
            types = ABCI(TmVersion.v0_31_5).types
            app = bigchaindb.start.App(abci=types)
            app.init_chain(types.RequestInitChain(
                chain_id="growth", app_state_bytes=json.dumps({"resonate": parameters}).encode()))
            market, links = setup_block(parameters, treasury, platform, listener)
            run_block(app, 1, [json.dumps(tx.to_dict()).encode() for tx in market])
            wallet = (market[-1], 0)
            for block in range(args.blocks):
                signed, wallet = plays(links, listener, parameters, wallet,
                                       block * args.block_size, args.block_size)
                deliver, commit = run_block(app, block + 2,
                                            [json.dumps(tx.to_dict()).encode() for tx in signed])
                rows.append({"plays_before": block * args.block_size,
                             "deliver_ms_per_tx": round(deliver * 1000 / args.block_size, 3),
                             "commit_ms": round(commit * 1000, 1)})
                print(json.dumps(rows[-1]), flush=True)
            largest = max(len(bson.BSON.encode(document)) for document in connection.run(
                connection.collection(RULE_INDEX).find({})))
        finally:
            process.terminate()
            process.wait()
    quarter = max(1, len(rows) // 4)

    def growth(field):
        first = statistics.median(row[field] for row in rows[:quarter])
        last = statistics.median(row[field] for row in rows[-quarter:])
        return {"first_quarter_median": first, "last_quarter_median": last,
                "last_to_first": round(last / first, 3)}

    report = {"store": "FerretDB 1.24.2 SQLite", "plays": args.blocks * args.block_size,
              "block_size": args.block_size, "commit_ms": growth("commit_ms"),
              "deliver_ms_per_tx": growth("deliver_ms_per_tx"),
              "largest_rule_index_document_bytes": largest, "blocks": rows}
    record.append(NAME, report, argv)
    print(json.dumps({key: value for key, value in report.items() if key != "blocks"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
