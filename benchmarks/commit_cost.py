"""What a node's commit path costs per PLAY against a plain TRANSFER, block by block.

    .venv/bin/python benchmarks/commit_cost.py [--rounds 4] [--block-size 100] [--profile FILE]

Starts its own FerretDB (SQLite) on a free loopback port and drives the node's ABCI
application as Tendermint does (begin_block, deliver_tx, end_block, commit), as
commit_growth.py does. A setup block commits a licensed, split recording, the credit token
and its sale to every listener; then each round commits three blocks of `--block-size`
transactions, the load.py workloads: CREATEs, a TRANSFER of each, and each of as many
listeners' first PLAY of the recording. Per block it times DeliverTx (validation and the
block's bookkeeping), end_block (report totals and rows) and Commit (storing, the rule and
owner indexes) apart. The ratios PLAY / TRANSFER are taken over the same rounds, the first
round left out (a fresh process reads what later blocks find kept). `--profile` writes a
cProfile of the PLAY blocks' DeliverTx, end_block and Commit (pstats format). Results are appended to
benchmarks/results/commit_cost.jsonl.
"""
import argparse
import cProfile
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

import record
from validation import CONSENSUS_TIME, Catalogue, start_store

NAME = "commit_cost"
WORKLOADS = ("CREATE", "TRANSFER", "PLAY")
PHASES = ("deliver", "end_block", "commit")
LISTENERS_PER_PURCHASE = 150  # as load.py: a purchase stays within 64 KiB


def market(parameters, treasury, platform, listeners):
    """The recording's chain, the credit token and purchases paying each listener one
    play's price: (transactions, links, [(purchase, output) per listener])."""
    from bigchaindb_resonate.types.credit import Credit
    from bigchaindb_resonate.validators.royalties import price

    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    credit = Credit.build([treasury.public_key]).sign([treasury.private_key])
    transactions, wallets = [*links, credit], []
    source = (credit, 0)
    for start in range(0, len(listeners), LISTENERS_PER_PURCHASE):
        batch = listeners[start:start + LISTENERS_PER_PURCHASE]
        held = source[0].outputs[source[1]].amount
        purchase = Transaction.transfer(
            source[0].to_inputs([source[1]]),
            [*[([listener.public_key], price(0)) for listener in batch],
             ([treasury.public_key], held - price(0) * len(batch))],
            asset_id=credit.id).sign([treasury.private_key])
        transactions.append(purchase)
        wallets += [(purchase, index) for index in range(len(batch))]
        source = (purchase, len(batch))
    return transactions, links, wallets


def first_plays(links, parameters, listeners, wallets):
    from bigchaindb_resonate.types.play import Play

    track, right, split = links[2], links[4], links[5]
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]
    return [Play.pay([wallet], listener.public_key, {
        "track": track.id, "territory": "GB", "right": right.id, "playNumber": 0,
        "split": split.id}, payees, parameters).sign([listener.private_key])
        for listener, wallet in zip(listeners, wallets)]


def creates_and_transfers(count):
    owner, receiver = generate_key_pair(), generate_key_pair()
    created = [Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                  asset={"n": n, "bench": time.time_ns()}).sign([owner.private_key])
               for n in range(count)]
    moved = [Transaction.transfer(tx.to_inputs(), [([receiver.public_key], 1)], asset_id=tx.id)
             .sign([owner.private_key]) for tx in created]
    return created, moved


def run_block(app, height, transactions, profiler=None):
    """One block as Tendermint drives it: {phase: seconds}."""
    from google.protobuf.timestamp_pb2 import Timestamp

    types = app.abci
    raw = [json.dumps(tx.to_dict()).encode() for tx in transactions]
    header = types.Header(height=height, num_txs=len(raw),
                          time=Timestamp(seconds=CONSENSUS_TIME + 60 * height))
    app.begin_block(types.RequestBeginBlock(header=header))
    if profiler:
        profiler.enable()
    times = [time.perf_counter()]
    refused = [result.log for result in map(app.deliver_tx, raw) if result.code]
    times.append(time.perf_counter())
    if refused:
        sys.exit(f"error: block {height} refused {len(refused)} transactions: {refused[0]}")
    app.end_block(types.RequestEndBlock(height=height))
    times.append(time.perf_counter())
    app.commit()
    times.append(time.perf_counter())
    if profiler:
        profiler.disable()
    return {phase: times[index + 1] - times[index] for index, phase in enumerate(PHASES)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of three blocks")
    parser.add_argument("--block-size", type=int, default=100, help="transactions per block")
    parser.add_argument("--profile", help="write a cProfile of the PLAY blocks (pstats) here")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the first round is left out)")

    import bigchaindb
    import bigchaindb.start
    from abci import ABCI, TmVersion
    from bigchaindb.backend import connect, schema

    from bigchaindb_resonate import host

    host.apply()
    treasury, platform = generate_key_pair(), generate_key_pair()
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                  "coop_share_bp": 3000}
    listeners = [generate_key_pair() for _ in range(args.rounds * args.block_size)]
    profiler = cProfile.Profile() if args.profile else None
    blocks = []
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            bigchaindb.config["database"].update(host="127.0.0.1", port=port, name="commitcost")
            schema.init_database(connect())
            types = ABCI(TmVersion.v0_31_5).types
            app = bigchaindb.start.App(abci=types)
            app.init_chain(types.RequestInitChain(
                chain_id="commitcost", app_state_bytes=json.dumps({"resonate": parameters}).encode()))
            setup, links, wallets = market(parameters, treasury, platform, listeners)
            run_block(app, 1, setup)
            plays = first_plays(links, parameters, listeners, wallets)
            height = 1
            for round_ in range(args.rounds):
                created, moved = creates_and_transfers(args.block_size)
                played = plays[round_ * args.block_size:(round_ + 1) * args.block_size]
                for workload, transactions in zip(WORKLOADS, (created, moved, played)):
                    height += 1
                    timed = run_block(app, height, transactions,
                                      profiler if workload == "PLAY" and round_ else None)
                    blocks.append({"round": round_, "workload": workload, **{
                        f"{phase}_ms_per_tx": round(seconds * 1000 / len(transactions), 3)
                        for phase, seconds in timed.items()}})
                    print(json.dumps(blocks[-1]), flush=True)
        finally:
            process.terminate()
            process.wait()
    if profiler:
        profiler.dump_stats(args.profile)

    def median(workload, phases):
        return statistics.median(sum(block[f"{phase}_ms_per_tx"] for phase in phases)
                                 for block in blocks if block["workload"] == workload and block["round"])

    per_tx = {workload: {phase: round(median(workload, [phase]), 3) for phase in PHASES}
              for workload in WORKLOADS}
    report = {"store": "FerretDB 1.24.2 SQLite", "block_size": args.block_size,
              "rounds": args.rounds, "ms_per_tx": per_tx,
              "play_vs_transfer": {
                  "deliver": round(median("PLAY", ["deliver"]) / median("TRANSFER", ["deliver"]), 2),
                  "end_block_and_commit": round(median("PLAY", ["end_block", "commit"])
                                                / median("TRANSFER", ["end_block", "commit"]), 2),
                  "all": round(median("PLAY", PHASES) / median("TRANSFER", PHASES), 2)},
              "blocks": blocks}
    record.append(NAME, report, argv)
    print(json.dumps({key: value for key, value in report.items() if key != "blocks"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
