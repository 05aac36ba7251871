"""Proof at scale: validation, reports and the store's documents as a co-op's ledger grows.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,100000,1000000] [--store DIR]
                                         [--rounds 30] [--per-block 100]

How the ledger is grown: NOT through consensus. Committing 10^6 transactions through a
4-node network on two cores would take days, so the ledger is seeded into one node's store
(FerretDB 1.24, SQLite) by driving that node's own ABCI application block by block, as
Tendermint does (`begin_block`, `deliver_tx`, `end_block`, `commit`), with only the
validation step of `deliver_tx` skipped: the transactions are built valid, in dependency
order. Every collection a node writes at commit (transactions, assets, metadata, spends,
rule_index, text_terms, blocks, block_times, pre_commit, and whatever the commit path
writes in future) is therefore exactly what a node would have written.

The ledger is a co-op's: in each cohort of 1,013 transactions two tracks are registered
(Party → Work → Manifestation → Copyright → Right held by the platform → Split), the
treasury sells 50 listeners credits, and each listener streams both tracks ten times
(nine paid plays, then owned). It is deterministic (keys derive from their role and
number), so a run can be stopped and resumed.

At each size, in one run: CheckTx's work per type, timed round-robin in a fresh process
(validation.py's workloads: CREATE, TRANSFER, each registry type, PLAY; their setup is
committed through the same commit path first), as ratios to CREATE and TRANSFER; the
network usage report's time and peak memory next to a bare scan of the plays (reports.py);
the commit path's time per block while seeding; and the store's document sizes (the
largest rule_index document). Results go to benchmarks/results/scale.jsonl (record.py).

Not measured here: committed transactions a second on the 4-node network at these sizes.
A network cannot start on a seeded store (Tendermint's own block store would have to hold
the same blocks), so that figure comes from load.py on whatever ledger a testnet holds.

`--store DIR` keeps the store and the seeding state in DIR: a later run with larger sizes
grows the same ledger instead of starting again, and an interrupted run resumes.
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

import bson
import pymongo

import record
import reports
from validation import Catalogue, ratios, signed_workloads, start_store, time_checktx

NAME = "scale"
DATABASE = "scale"
CHAIN_ID = "scale-bench"
GENESIS_SECONDS = 1_790_000_000  # 2026-09-21; each block five seconds later
BLOCK_SECONDS = 5
STATE_FILE = "scale-state.json"
LISTENERS_PER_COHORT = 50
TRACKS_PER_COHORT = 2
PLAYS_PER_TRACK = 10  # nine paid, then owned
# Each listener buys what its plays cost, plus one token, so every play has change to
# spend next (a free play too).
CREDITS_PER_LISTENER = TRACKS_PER_COHORT * 1022 + 1
# Outputs set aside at the start for the timed workloads' credit purchases, one a size.
RESERVES = 20
RESERVE_TOKENS = 2 * 10 ** 6
# Serials of the seeded catalogue, clear of validation.Catalogue's random ones (< 10^8 + …).
FIRST_SERIAL = 5 * 10 ** 8
PROGRESS_SECONDS = 10


def keypair(*label):
    """A key pair derived from its role and number: the seeded ledger is the same each run."""
    from bigchaindb.common.crypto import CryptoKeypair
    from cryptoconditions.crypto import ed25519_generate_key_pair

    seed = hashlib.sha256(":".join(map(str, ("scale", *label))).encode()).digest()
    private, public = ed25519_generate_key_pair(seed)
    return CryptoKeypair(private.decode(), public.decode())


class Ledger:
    """The seeded ledger as a stream of signed transactions in commit order: the opening
    (the credit token, and the reserves for timed purchases), then cohorts."""

    def __init__(self):
        from bigchaindb.models import Transaction

        from bigchaindb_resonate.types.credit import Credit

        self.treasury, self.platform, self.bench = (keypair("treasury"), keypair("platform"),
                                                    keypair("bench"))
        self.parameters = {"treasury_keys": [self.treasury.public_key],
                           "platform_key": self.platform.public_key, "coop_share_bp": 3000}
        self.credit = Credit.build([self.treasury.public_key]).sign([self.treasury.private_key])
        supply = self.credit.outputs[0].amount
        self.reserve = Transaction.transfer(
            self.credit.to_inputs(), [([self.bench.public_key], RESERVE_TOKENS)] * RESERVES
            + [([self.treasury.public_key], supply - RESERVES * RESERVE_TOKENS)],
            asset_id=self.credit.id).sign([self.treasury.private_key])
        self.opening = [self.credit, self.reserve]
        self.cohort_size = TRACKS_PER_COHORT * 6 + 1 + (
            LISTENERS_PER_COHORT * TRACKS_PER_COHORT * PLAYS_PER_TRACK)

    def transactions(self, skip=0):
        """The stream from position `skip` on; whole cohorts before it are not built (only
        their purchases, which chain the treasury's change)."""
        yield from self.opening[skip:]
        skip = max(0, skip - len(self.opening))
        holding = (self.reserve, RESERVES)
        cohort = 0
        while True:
            purchase = self._purchase(cohort, holding)
            if skip < self.cohort_size:
                yield from self._cohort(cohort, purchase)[skip:]
                skip = 0
            else:
                skip -= self.cohort_size
            holding = (purchase, LISTENERS_PER_COHORT)
            cohort += 1

    def _listener(self, cohort, number):
        return keypair("listener", cohort, number)

    def _purchase(self, cohort, holding):
        from bigchaindb.models import Transaction

        tx, index = holding
        sold = CREDITS_PER_LISTENER * LISTENERS_PER_COHORT
        return Transaction.transfer(
            tx.to_inputs([index]),
            [([self._listener(cohort, n).public_key], CREDITS_PER_LISTENER)
             for n in range(LISTENERS_PER_COHORT)]
            + [([self.treasury.public_key], tx.outputs[index].amount - sold)],
            asset_id=self.credit.id).sign([self.treasury.private_key])

    def _cohort(self, cohort, purchase):
        from bigchaindb_resonate.types.play import Play

        records, tracks = [], []
        for track in range(TRACKS_PER_COHORT):
            catalogue = Catalogue(licensee=self.platform, artist=keypair("artist", cohort, track),
                                  cowriter=keypair("cowriter", cohort, track),
                                  first_serial=FIRST_SERIAL + 10 * (cohort * TRACKS_PER_COHORT + track))
            links = catalogue.chain([*catalogue.records, catalogue.split])
            records += links
            tracks.append((links[2], links[4], links[5], catalogue.payees))
        plays = []
        listeners = [self._listener(cohort, n) for n in range(LISTENERS_PER_COHORT)]
        holdings = [(purchase, n) for n in range(LISTENERS_PER_COHORT)]
        for number in range(PLAYS_PER_TRACK):
            for n, listener in enumerate(listeners):
                for track, right, split, payees in tracks:
                    play = Play.pay([holdings[n]], listener.public_key, {
                        "track": track.id, "territory": "GB", "right": right.id,
                        "playNumber": number, "split": split.id}, payees, self.parameters
                    ).sign([listener.private_key])
                    holdings[n] = (play, len(play.outputs) - 1)  # the change comes last
                    plays.append(play)
        return [*records, purchase, *plays]


class Node:
    """One node's ABCI application on the benchmark's store, driven block by block through
    its own commit path; only the validation step of deliver_tx is skipped."""

    def __init__(self, port, state):
        import bigchaindb
        import bigchaindb.start
        from abci import ABCI, TmVersion
        from bigchaindb.backend import connect, schema

        bigchaindb.config["database"].update(host="127.0.0.1", port=port, name=DATABASE)
        self.types = ABCI(TmVersion.v0_31_5).types
        if not state:
            schema.init_database(connect())
        upstream = bigchaindb.start.App
        if not hasattr(upstream, "_admit"):
            sys.exit("error: the node's ABCI app no longer validates through `_admit`; "
                     "update Node in benchmarks/scale.py to skip validation where it now happens")
        prepared = self.prepared = {}

        class SeedingApp(upstream):
            def _admit(self, raw, current_transactions, stage):
                return prepared.pop(raw.decode())

        self.app = SeedingApp(abci=self.types)
        self.height = state.get("height", 0)

    def genesis(self, parameters):
        import base64

        validator = self.types.ValidatorUpdate(pub_key=self.types.PubKey(
            type="ed25519", data=base64.b64decode("zL/DasvKulXZzhSNFwx4cLRXKkSM9GPK7Y0nZ4FEylM=")),
            power=10)
        self.app.init_chain(self.types.RequestInitChain(
            validators=[validator], chain_id=CHAIN_ID,
            app_state_bytes=json.dumps({"resonate": parameters}).encode()))

    def commit(self, transactions):
        from google.protobuf.timestamp_pb2 import Timestamp

        types = self.types
        self.height += 1
        header = types.Header(height=self.height, num_txs=len(transactions),
                              time=Timestamp(seconds=block_time(self.height)))
        self.app.begin_block(types.RequestBeginBlock(header=header))
        for tx in transactions:
            self.prepared[tx.id] = tx
            result = self.app.deliver_tx(tx.id.encode())
            if result.code:
                raise RuntimeError(f"the commit path refused {tx.operation} {tx.id}: {result.log}")
        self.app.end_block(types.RequestEndBlock(height=self.height))
        self.app.commit()


def block_time(height):
    return GENESIS_SECONDS + BLOCK_SECONDS * height


class Seeder:
    """Grows the ledger in the store, keeping its state in DIR/scale-state.json after every
    block so that a run can resume where the last one stopped."""

    def __init__(self, directory, port, per_block):
        self.state_path = directory / STATE_FILE
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.ledger = Ledger()
        self.node = Node(port, self.state)
        self.per_block = per_block
        if not self.state:
            self.node.genesis(self.ledger.parameters)
            self.state = {"height": 0, "transactions": 0, "stream": 0, "per_block": per_block}
            self._save()
        else:
            # A run stopped inside a commit: undo that block as a node does at start.
            from bigchaindb.core import rollback

            rollback(self.node.app.bigchaindb)
        self._reconcile()
        self.commit_seconds = 0.0
        self.committed_since = 0

    def _save(self):
        self.state["height"] = self.node.height
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state))
        temporary.replace(self.state_path)

    def _reconcile(self):
        """Blocks the store holds beyond the saved state (a run stopped between a commit
        and saving the state): count them in."""
        conn = self.node.app.bigchaindb.connection
        latest = self.node.app.bigchaindb.get_latest_block() or {"height": 0}
        for height in range(self.state["height"] + 1, latest["height"] + 1):
            block = conn.run(conn.collection("blocks").find_one({"height": height}))
            ids = block["transactions"]
            upcoming = self.ledger.transactions(self.state["stream"])
            if ids and ids[0] == next(upcoming).id:
                self.state["stream"] += len(ids)
            self.state["transactions"] += len(ids)
            self.node.height = height
            self._save()

    @property
    def size(self):
        return self.state["transactions"]

    def commit(self, transactions, stream=False):
        started = time.perf_counter()
        self.node.commit(transactions)
        self.commit_seconds += time.perf_counter() - started
        self.committed_since += len(transactions)
        self.state["transactions"] += len(transactions)
        if stream:
            self.state["stream"] += len(transactions)
        self._save()

    def grow_to(self, size):
        """Commit the ledger's next transactions, `per_block` a block, until it holds `size`."""
        started = last = time.perf_counter()
        first = self.size
        block = []
        for tx in self.ledger.transactions(self.state["stream"]):
            if self.size + len(block) >= size:
                break
            block.append(tx)
            if len(block) == self.per_block:
                self.commit(block, stream=True)
                block = []
                if time.perf_counter() - last > PROGRESS_SECONDS:
                    last = time.perf_counter()
                    rate = (self.size - first) / (last - started)
                    print(f"  seeded {self.size:,} of {size:,} transactions (height "
                          f"{self.node.height:,}), {rate:,.0f} a second, about "
                          f"{(size - self.size) / rate / 60:,.0f} min to go", flush=True)
        if block:
            self.commit(block, stream=True)

    def commit_setup(self, transactions):
        for start in range(0, len(transactions), self.per_block):
            self.commit(transactions[start:start + self.per_block])

    def unspent_reserve(self):
        bigchain = self.node.app.bigchaindb
        for index in range(RESERVES):
            if not bigchain.get_spent(self.ledger.reserve.id, index):
                return (self.ledger.reserve, index, self.ledger.bench)
        sys.exit(f"error: the {RESERVES} credit reserves of this store are spent (one a "
                 f"measured size); grow a new ledger with another --store")

    def commit_rate(self):
        """ms per block and µs per transaction of the commit path since the last call."""
        count, seconds = self.committed_since, self.commit_seconds
        self.committed_since, self.commit_seconds = 0, 0.0
        blocks = -(-count // self.per_block)
        return {"transactions": count, "ms_per_block": round(seconds / blocks * 1000, 1) if blocks else None,
                "us_per_transaction": round(seconds / count * 1e6, 1) if count else None}


# One document per transaction, output or word, written once and never grown: their
# size is bounded by the transaction's (admission), so they are counted, not scanned.
WRITTEN_ONCE = ("transactions", "assets", "metadata", "spends", "text_terms")


def document_sizes(port):
    """Per collection, how many documents; for every collection whose documents may be
    appended to (rule_index, blocks, …), also the largest one in bytes and its _id."""
    database = pymongo.MongoClient("127.0.0.1", port)[DATABASE]
    sizes = {}
    for name in sorted(database.list_collection_names()):
        sizes[name] = {"documents": database[name].estimated_document_count()}
        if name not in WRITTEN_ONCE:
            largest = max(((len(bson.BSON.encode(document)), str(document["_id"]))
                           for document in database[name].find({})), default=(0, None))
            sizes[name].update(largest_bytes=largest[0], largest_id=largest[1])
    return sizes


def measure_validation(port, workloads_path, rounds, seconds):
    """In a fresh process (cold caches, like a node just started): time CheckTx's work."""
    import bigchaindb
    from bigchaindb.lib import BigchainDB

    from bigchaindb_resonate import host

    host.apply()
    bigchaindb.config["database"].update(host="127.0.0.1", port=port, name=DATABASE)
    bigchain = BigchainDB()
    bigchain.consensus_time = seconds
    raw = {name: [payload.encode() for payload in payloads]
           for name, payloads in json.loads(Path(workloads_path).read_text()).items()}
    step = max(1, rounds // 5)
    measured = time_checktx(bigchain, raw, rounds, progress=lambda done: done % step or print(
        f"  timed {done} of {rounds} rounds", file=sys.stderr, flush=True))
    print(json.dumps(ratios(*measured)))


def timed_validation(port, directory, workloads, rounds, seconds):
    path = directory / "timed-workloads.json"
    path.write_text(json.dumps({name: [json.dumps(tx.to_dict()) for tx in txs]
                                for name, txs in workloads.items()}))
    output = subprocess.run(
        [sys.executable, __file__, "--measure-validation", str(path), "--port", str(port),
         "--rounds", str(rounds), "--time", str(seconds)],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    path.unlink()
    return json.loads(output.strip().splitlines()[-1])


def measure_size(seeder, port, directory, rounds):
    print(f"at {seeder.size:,} transactions:", flush=True)
    row = {"transactions": seeder.size, "height": seeder.node.height,
           "commit_path": seeder.commit_rate()}
    print("  signing the timed workloads and committing what they depend on…", flush=True)
    setup, workloads = signed_workloads(rounds, 0, seeder.ledger.parameters,
                                        seeder.ledger.platform, seeder.unspent_reserve())
    seeder.commit_setup(setup)
    print(f"  timing CheckTx's work, {rounds} rounds over {len(workloads)} types…", flush=True)
    row["validation"] = timed_validation(port, directory, workloads, rounds,
                                         block_time(seeder.node.height))
    print("  the network usage report, then a bare scan of the plays…", flush=True)
    report = reports.timed_process(port, "report", DATABASE)
    scan = reports.timed_process(port, "scan", DATABASE)
    row["report"] = {"report": report, "scan": scan,
                     "time_ratio": round(report["seconds"] / scan["seconds"], 2)}
    print("  document sizes…", flush=True)
    row["documents"] = document_sizes(port)
    print("  " + json.dumps(summary(row)), flush=True)
    return row


def summary(row):
    validation = row["validation"]
    largest = max((sizes.get("largest_bytes", 0), name) for name, sizes in row["documents"].items())
    return {"transactions": row["transactions"],
            "vs_transfer": {name: validation["ratio_to_transfer"][name]
                            for name in ("CREATE", "PLAY")},
            # Settlements are read per voucher they pay (per_settled_voucher), not as records.
            "worst_registry_vs_create": max(
                (value, name) for name, value in validation["ratio_to_create"].items()
                if name not in ("CREATE", "TRANSFER", "PLAY") and not name.startswith("CHANNEL_")),
            "per_settled_voucher_vs_play": {name: figures["ratio_to_play"] for name, figures
                                            in validation.get("per_settled_voucher", {}).items()},
            "report_s": row["report"]["report"]["seconds"],
            "report_vs_scan": row["report"]["time_ratio"],
            "report_peak_mib": row["report"]["report"]["peak_rss_mib"],
            "commit_ms_per_block": row["commit_path"]["ms_per_block"],
            "largest_document": {"collection": largest[1], "bytes": largest[0]}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000",
                        help="ledger sizes in transactions, comma-separated, increasing")
    parser.add_argument("--store", type=Path, default=None,
                        help="keep the store here and grow it across runs (default: a "
                             "temporary directory, deleted afterwards)")
    parser.add_argument("--rounds", type=int, default=30, help="transactions timed per type and size")
    parser.add_argument("--per-block", type=int, default=100, help="seeded transactions per block")
    parser.add_argument("--measure-validation", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--time", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_validation:
        return measure_validation(args.port, args.measure_validation, args.rounds, args.time)
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        sys.exit(f"error: --sizes takes whole numbers separated by commas, not {args.sizes!r}")
    if sizes != sorted(sizes):
        sys.exit("error: give --sizes in increasing order; the ledger only grows")

    from bigchaindb_resonate import host

    host.apply()
    with tempfile.TemporaryDirectory() as temporary:
        directory = (args.store or Path(temporary)).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        process, port = start_store(directory)
        rows, interrupted = [], False
        try:
            seeder = Seeder(directory, port, args.per_block)
            if seeder.state["per_block"] != args.per_block:
                print(f"note: this store was seeded {seeder.state['per_block']} transactions a block",
                      flush=True)
            print(f"seeding the ledger into one node's store through its ABCI commit path "
                  f"(validation skipped, not through consensus); {directory} holds "
                  f"{seeder.size:,} transactions", flush=True)
            for size in sizes:
                if seeder.size > size:
                    print(f"skipping {size:,}: the store already holds {seeder.size:,}", flush=True)
                    continue
                print(f"growing the ledger to {size:,} transactions…", flush=True)
                seeder.grow_to(size)
                rows.append(measure_size(seeder, port, directory, args.rounds))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            process.terminate()
            process.wait()
    if rows:
        record.append(NAME, {
            "store": "FerretDB 1.24.2 SQLite", "cpus": len(os.sched_getaffinity(0)),
            "seeding": "one node's store through its ABCI commit path, validation skipped; "
                       "not through consensus",
            "per_block": args.per_block, "rounds": args.rounds, "rows": rows}, argv)
    if interrupted:
        print("interrupted; " + ("run the same command to go on where it stopped" if args.store
                                 else "give --store DIR to keep the ledger between runs"),
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
