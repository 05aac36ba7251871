"""Validation cost per transaction, each of our types next to BigchainDB's CREATE and TRANSFER.

    .venv/bin/python benchmarks/validation.py [--rounds 200] [--seed 500]

Starts its own FerretDB (SQLite) on a free loopback port, commits `--seed` CREATEs so that
lookups run against a non-empty store, then times, for each type, what a node does in
CheckTx: strict decoding and admission, parsing with schema checks, and `validate`
against the store (and, separately, the parse alone), and counts the queries each
validation sends to the store. The setup block is committed through the node's own
`store_bulk_transactions`, so the process is in the state of a node's ABCI app that
committed it some blocks ago: the transactions it committed are kept, the rule-index
documents it wrote are read again, as by a process that has not read them yet
(see ledger.keep_rule_index_reads). Types are timed round-robin in the same loop, so each sees the same
store and the same machine load; the figure that matters is the ratio to CREATE and to
TRANSFER. Each timed transaction is independent of the others of its type and depends
only on what one setup block commits, under genesis parameters (rule version 3, the first
that accepts CHANNEL_SETTLE_BATCH, docs/spec/rule_versions.md) and a consensus time:
a registry record extends its own chain Party → Work → Manifestation → Copyright → Right
(`Catalogue`), and each PLAY is one listener's first play of a recording whose Copyright,
streaming licence, split and credit purchase are in that block. CHANNEL_SETTLE is timed
at 10 and 100 vouchers (`CHANNEL_SETTLE_10`, `CHANNEL_SETTLE_100`): each settles the first
vouchers of its own listener's channel, opened in that block towards the platform, over one
licensed, split track; `per_settled_voucher` gives its time per voucher as a ratio to a
PLAY's validation in the same run (issue 9 asks at most 0.1). CHANNEL_SETTLE_BATCH is timed
at `--batch-channels` channels of 10 vouchers each (`CHANNEL_SETTLE_BATCH_<n>x10`), every
batch over channels of its own, `--batch-rounds` of them (each needs that many channels
opened in the setup block). Results are appended to benchmarks/results/validation.jsonl.
`--profile PLAY,TRANSFER` instead prints, for each type named, a cProfile of its CheckTx
work in the same run (its timings are then not recorded: the profiler slows what it watches).
"""
import argparse
import cProfile
import itertools
import json
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.parameters import PARAMETERS
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.right import Right
from bigchaindb_resonate.types.rights_assignment import RightsAssignment
from bigchaindb_resonate.types.split import Split
from bigchaindb_resonate.types.work import Work
from bigchaindb_resonate.validators.identifiers import iswc_check_digit

import record

NAME = "validation"
CONSENSUS_TIME = 1_790_000_000  # 2026-09-21, as a block header would give it


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_store(home, binary=None):
    """A FerretDB on `home`: the node's build unless `binary` names another."""
    from bigchaindb_resonate.binaries import ensure_ferretdb

    port = free_port()
    (home / "store").mkdir(parents=True, exist_ok=True)
    log = open(home / "ferretdb.log", "ab")  # where to look when the store stops answering
    process = subprocess.Popen(
        [str(binary or ensure_ferretdb()), "--telemetry=disable", "--handler=sqlite",
         f"--sqlite-url=file:{home}/store/", f"--listen-addr=127.0.0.1:{port}",
         f"--debug-addr=127.0.0.1:{free_port()}", f"--state-dir={home}"],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the process keeps its own copy
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    sys.exit("error: FerretDB did not start")


class Catalogue:
    """Builds registry chains one signed link at a time: `chain(steps)` calls each step with
    the links before it. Records are the artist's; the Right is held by the licensee, who
    assigns 40 of its shares on; the split pays the artist 70% and a co-writer 30%; every
    band name, ISWC and ISRC is distinct, so no two chains share a transaction. A step
    finds the links it names by their position in `records` order."""

    def __init__(self, licensee=None, artist=None, cowriter=None, first_serial=None):
        self.artist = artist or generate_key_pair()
        self.licensee = licensee or generate_key_pair()
        self.payees = [(self.artist.public_key, 7000),
                       ((cowriter or generate_key_pair()).public_key, 3000)]
        # A random first serial keeps identifiers clear of an earlier run's on a live network.
        self._serials = itertools.count(random.randrange(10 ** 8) if first_serial is None
                                        else first_serial)
        self.records = (self.party, self.work, self.manifestation, self.copyright, self.right)

    @staticmethod
    def chain(steps):
        links = []
        for step in steps:
            links.append(step(links))
        return links

    def _by_artist(self, cls, data, **options):
        return cls.build([self.artist.public_key], data, **options).sign([self.artist.private_key])

    def party(self, links):
        return self._by_artist(Party, {"@type": "MusicGroup", "name": f"Band {next(self._serials)}",
                                       "isni": "0000000121032683"})

    def work(self, links):
        digits = f"{next(self._serials):09d}"
        return self._by_artist(Work, {"@type": "MusicComposition", "name": "Bench",
                                      "composer": [links[0].id],
                                      "iswcCode": f"T{digits}{iswc_check_digit(digits)}"})

    def manifestation(self, links):
        return self._by_artist(Manifestation, {
            "@type": "MusicRecording", "name": "Bench", "recordingOf": links[1].id,
            "byArtist": [links[0].id], "isrcCode": f"GB{next(self._serials):010d}"})

    def copyright(self, links):
        return self._by_artist(Copyright, {"rightsOf": links[2].id, "validFrom": "2020-01-01",
                                           "territory": {"include": ["Worldwide"]}})

    def right(self, links):
        return self._by_artist(Right, {
            "source": links[3].id, "usageType": ["on_demand_stream"], "validFrom": "2020-01-01",
            "territory": {"include": ["Worldwide"]}, "exclusive": False,
            "license": {"uri": "https://resonate.coop/licences/bench.pdf", "hash": "00" * 32}},
            holders=[(self.licensee.public_key, 100)])

    def assignment(self, links):
        return RightsAssignment.assign(links[4], self.licensee.public_key,
                                       generate_key_pair().public_key, 40
                                       ).sign([self.licensee.private_key])

    def split(self, links):
        return self._by_artist(Split, {"subject": links[2].id, "payees": self.payees})


def registry_market(count):
    """Per registry type, `count` transactions to time, each the last link of its own chain,
    and the earlier links of every chain, to commit."""
    catalogue = Catalogue()
    records = list(catalogue.records)
    # No CREDIT: a network issues it once, so it never weighs on CheckTx's throughput.
    chains = {"PARTY": records[:1], "WORK": records[:2], "MANIFESTATION": records[:3],
              "COPYRIGHT": records[:4], "RIGHT": records,
              "RIGHTS_ASSIGNMENT": records + [catalogue.assignment],
              "SPLIT": records[:4] + [catalogue.split]}
    committed, timed = [], {}
    for name, steps in chains.items():
        built = [catalogue.chain(steps) for _ in range(count)]
        committed += [tx for links in built for tx in links[:-1]]
        timed[name] = [links[-1] for links in built]
    return committed, timed


def play_market(count, parameters, platform, credits):
    """What `count` independent first plays need (a licensed, split recording and a credit
    purchase for each listener) and the plays, signed. `credits` is (transaction, output
    index, key pair holding it) of committed credit tokens enough for the purchase."""
    from bigchaindb_resonate.types.play import Play
    from bigchaindb_resonate.validators.royalties import price

    holding, index, holder = credits
    listeners = [generate_key_pair() for _ in range(count)]
    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    track, right, split = links[2], links[4], links[5]
    cost = price(0)
    purchase = Transaction.transfer(
        holding.to_inputs([index]), [([listener.public_key], cost) for listener in listeners]
        + [([holder.public_key], holding.outputs[index].amount - cost * count)],
        asset_id=holding.asset.get("id", holding.id)).sign([holder.private_key])
    split_payees = [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]
    return [*links, purchase], [Play.pay([(purchase, index)], listener.public_key, {
        "track": track.id, "territory": "GB", "right": right.id, "playNumber": 0,
        "split": split.id}, split_payees, parameters).sign([listener.private_key])
        for index, listener in enumerate(listeners)]


# Vouchers per timed settlement: the end-to-end benchmark's 10 plays per listener, and the
# most one settlement carries (operations/channel_settle.MAX_VOUCHERS).
SETTLEMENT_SIZES = (10, 100)


def settlement_name(size):
    return f"CHANNEL_SETTLE_{size}"


BATCH_PLAYS = 10  # vouchers per channel in a timed batch: the end-to-end benchmark's


def batch_name(channels):
    return f"CHANNEL_SETTLE_BATCH_{channels}x{BATCH_PLAYS}"


def channel_market(count, parameters, platform, credits, batches=(0, 0)):
    """For each of SETTLEMENT_SIZES, `count` settlements (name → list), each paying the
    first `size` plays of one track through its own listener's channel, signed by the
    platform as receiver; `batches` (how many, channels each) CHANNEL_SETTLE_BATCHes of the
    first BATCH_PLAYS plays of each of their own listeners' channels; and what they need, to
    commit: the licensed, split track, a credit purchase for every listener and their
    CHANNEL_OPENs. `credits` as in play_market."""
    from bigchaindb_resonate.operations import channel_open, channel_settle, channel_settle_batch
    from bigchaindb_resonate.transaction import Transaction as LightTransaction
    from bigchaindb_resonate.types.channels import state_of
    from bigchaindb_resonate.types.split import payees_of
    from bigchaindb_resonate.validators.royalties import price
    from bigchaindb_resonate.vouchers import make_voucher

    def signed(tx, keypair):  # channel transactions are signed by one side, as each side does
        return Transaction.from_dict(
            LightTransaction.from_dict(tx.to_dict()).sign([keypair.private_key]).to_dict())

    holding, index, holder = credits
    catalogue = Catalogue(licensee=platform)
    links = catalogue.chain([*catalogue.records, catalogue.split])
    track, right, split = links[2], links[4], links[5]
    deposit = sum(price(play) for play in range(max(SETTLEMENT_SIZES)))
    listeners = {size: [generate_key_pair() for _ in range(count)] for size in SETTLEMENT_SIZES}
    batched = [generate_key_pair() for _ in range(batches[0] * batches[1])]
    every = [listener for size in SETTLEMENT_SIZES for listener in listeners[size]] + batched
    # The deposit and the channel's anchor token.
    purchase = Transaction.transfer(
        holding.to_inputs([index]), [([listener.public_key], deposit + 1) for listener in every]
        + [([holder.public_key], holding.outputs[index].amount - (deposit + 1) * len(every))],
        asset_id=holding.asset.get("id", holding.id)).sign([holder.private_key])
    outputs = iter(range(len(every)))  # the purchase pays the listeners in `every`'s order
    opens, settlements = [], {}

    def channel_of(listener, size):
        """The listener's CHANNEL_OPEN (kept to commit), its state, its first `size` vouchers."""
        opened = signed(channel_open.open_channel(
            [(purchase, next(outputs))], listener.public_key, platform.public_key, deposit), listener)
        total, vouchers = 0, []
        for play in range(size):
            total += price(play)
            vouchers.append(make_voucher(
                listener.private_key, channel=opened.id, listener=listener.public_key,
                sequence=play + 1, track=track.id, play=play, price=price(play), total=total,
                territory="GB", right=right.id))
        opens.append(opened)
        return {**state_of(opened), "latest_transaction": opened.id}, vouchers

    splits = {track.id: (split.id, payees_of(split))}
    for size in SETTLEMENT_SIZES:
        settlements[settlement_name(size)] = [signed(channel_settle.settle(
            *channel_of(listener, size), splits, parameters, purchase.asset["id"]), platform)
            for listener in listeners[size]]
    if batches[0]:
        settlements[batch_name(batches[1])] = [signed(channel_settle_batch.settle_batch(
            [channel_of(listener, BATCH_PLAYS) for listener in batched[start:start + batches[1]]],
            splits, parameters, purchase.asset["id"]), platform)
            for start in range(0, len(batched), batches[1])]
    return [*links, purchase, *opens], settlements


def network_roles():
    """A treasury and a platform key pair, the genesis parameters naming them, and the
    network's credit token issued by the treasury (not yet committed)."""
    from bigchaindb_resonate.types.credit import Credit

    treasury, platform = generate_key_pair(), generate_key_pair()
    # Under rule version 3, the first that accepts CHANNEL_SETTLE_BATCH; builders pay by it.
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                  "coop_share_bp": 3000, "rules_version": BATCHED_SETTLEMENTS,
                  "min_play_payout": PARAMETERS["min_play_payout"].default}
    credit = Credit.build([treasury.public_key]).sign([treasury.private_key])
    return parameters, platform, (credit, 0, treasury)


def signed_workloads(rounds, seed, parameters, platform, credits, batches=(0, 0)):
    """The transactions to time, `rounds` of each type (each independent of the others of
    its type), and what they depend on, to commit first: `seed` + `rounds` CREATEs (the
    TRANSFERs spend the last `rounds`), the registry chains and the play market."""
    owner, receiver = generate_key_pair(), generate_key_pair()
    created = [Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                  asset={"n": n}
                                  ).sign([owner.private_key])
               for n in range(seed + rounds)]
    registered, records = registry_market(rounds)
    market, plays = play_market(rounds, parameters, platform, credits)
    # The play market's purchase returns the rest of the credits to their holder last.
    channels, settlements = channel_market(rounds, parameters, platform,
                                           (market[-1], rounds, credits[2]), batches)
    workloads = {
        "CREATE": [Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                      asset={"fresh": n}
                                      ).sign([owner.private_key])
                   for n in range(rounds)],
        "TRANSFER": [Transaction.transfer(tx.to_inputs(), [([receiver.public_key], 1)],
                                          asset_id=tx.id).sign([owner.private_key])
                     for tx in created[seed:]],
        **records,
        "PLAY": plays,
        **settlements,
    }
    return created + registered + market + channels, workloads


def count_queries(connection):
    """A list that gets an entry for each query `connection` sends to the store."""
    sent, upstream = [], connection.run

    def run(query):
        sent.append(query)
        return upstream(query)

    connection.run = run
    return sent


def time_checktx(bigchain, raw, rounds, progress=None, profilers=None):
    """Medians per type of CheckTx's work on each of `raw` (type name → encoded
    transactions), timed round-robin over the types: seconds for the whole of it, seconds
    for decoding, admission, schema and stateless rules alone, and store queries sent.
    `profilers` (type name → cProfile.Profile) watch the work of their type."""
    from bigchaindb_resonate import admission

    parse = {name: [] for name in raw}
    total = {name: [] for name in raw}
    round_trips = {name: [] for name in raw}
    queries = count_queries(bigchain.connection)
    watching = profilers or {}
    for index in range(rounds):
        for name, payloads in raw.items():
            if index >= len(payloads):  # a workload timed fewer rounds (batches)
                continue
            profiler = watching.get(name)
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            tx = Transaction.from_dict(admission.decode(payloads[index]))
            parsed = time.perf_counter()
            queries.clear()
            tx.validate(bigchain)
            parse[name].append(parsed - started)
            total[name].append(time.perf_counter() - started)
            round_trips[name].append(len(queries))
            if profiler:
                profiler.disable()
        if progress:
            progress(index + 1)
    return tuple({name: statistics.median(values) for name, values in measured.items()}
                 for measured in (total, parse, round_trips))


def time_deliver_after_check(bigchain, raw, rounds):
    """Medians of DeliverTx's validation of each settlement in `raw` (type name → encoded
    transactions) after CheckTx validated it in this process (time_checktx, which runs
    first, is CheckTx's), in alternation: its vouchers' signatures checked again (the record
    of verified signatures emptied first), then remembered (vouchers.VERIFIED), so the
    difference is the record's alone: ({name: checked again}, {name: remembered})."""
    from bigchaindb_resonate import admission, vouchers

    checked, remembered = ({name: [] for name in raw} for _ in range(2))
    for index in range(rounds):
        for name, payloads in raw.items():
            for forget, times in ((True, checked), (False, remembered)):
                if forget:
                    vouchers.VERIFIED = vouchers.VerifiedSignatures(vouchers.VERIFIED.capacity)
                started = time.perf_counter()
                Transaction.from_dict(admission.decode(payloads[index])).validate(bigchain)
                times[name].append(time.perf_counter() - started)
    return tuple({name: statistics.median(values) for name, values in times.items()}
                 for times in (checked, remembered))


def deliver_ratios(delivered, total):
    """DeliverTx after CheckTx per settled voucher, signatures checked again and
    remembered, in ms and as a ratio to a PLAY's validation (CheckTx's median, which
    DeliverTx repeats: a PLAY has no voucher signature to remember)."""
    checked, remembered = delivered
    return {name: {mode: {"ms": round(times[name] * 1000, 3),
                          "per_voucher_ms": round(times[name] * 1000 / size, 4),
                          "per_voucher_ratio_to_play": round(times[name] / size / total["PLAY"], 3)}
                   for mode, times in (("signatures_checked", checked),
                                       ("signatures_remembered", remembered))}
            for size in SETTLEMENT_SIZES for name in [settlement_name(size)] if name in checked}


def ratios(total, parse, round_trips):
    """The figures worth reading, from time_checktx's medians: ms and ratios to CREATE
    and TRANSFER, and store queries per validation."""
    ms = {name: value * 1000 for name, value in total.items()}
    parse_ms = {name: value * 1000 for name, value in parse.items()}
    return {
        "median_ms": {name: round(value, 3) for name, value in ms.items()},
        "ratio_to_create": {name: round(value / ms["CREATE"], 3) for name, value in ms.items()},
        "ratio_to_transfer": {name: round(value / ms["TRANSFER"], 3) for name, value in ms.items()},
        # Decoding, admission, schema and stateless rules only: the CPU our rules add,
        # without the store lookups that dominate on FerretDB.
        # Queries sent to the store per validation: what the lookups cost whatever the
        # store's speed.
        "round_trips": round_trips,
        "parse_median_ms": {name: round(value, 3) for name, value in parse_ms.items()},
        "parse_ratio_to_create": {name: round(value / parse_ms["CREATE"], 3)
                                  for name, value in parse_ms.items()},
        # A settlement's validation per voucher it pays, against one direct PLAY's.
        "per_settled_voucher": {
            name: {"ms": round(ms[name] / size, 4), "ratio_to_play": round(ms[name] / size / ms["PLAY"], 3)}
            for size in SETTLEMENT_SIZES for name in [settlement_name(size)] if name in ms},
        # A batch's validation per voucher, over all its channels.
        "per_batched_voucher": {
            name: {"ms": round(ms[name] / vouchers, 4), "ratio_to_play": round(ms[name] / vouchers / ms["PLAY"], 3)}
            for name in ms if name.startswith("CHANNEL_SETTLE_BATCH_")
            for vouchers in [int(name.rsplit("_", 1)[1].split("x")[0]) * BATCH_PLAYS]},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="transactions timed per type")
    parser.add_argument("--seed", type=int, default=500, help="CREATEs committed before timing")
    parser.add_argument("--batch-channels", type=int, default=100,
                        help="channels (of 10 vouchers) per timed CHANNEL_SETTLE_BATCH")
    parser.add_argument("--batch-rounds", type=int, default=10,
                        help="CHANNEL_SETTLE_BATCHes timed (each opens its own channels); 0: none")
    parser.add_argument("--profile", default="", metavar="TYPES",
                        help="comma-separated types to profile (prints cProfile's top functions, records nothing)")
    args = parser.parse_args(argv)

    import bigchaindb
    from bigchaindb.backend import connect, schema
    from bigchaindb.lib import BigchainDB

    from bigchaindb_resonate import host
    from bigchaindb_resonate.ledger import (
        NETWORK_PARAMETERS, RULE_INDEX, forget_kept, keep_rule_index_reads,
    )

    host.apply()
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            bigchaindb.config["database"].update(host="127.0.0.1", port=port, name="bench")
            schema.init_database(connect())
            bigchain = BigchainDB()
            print(f"signing {args.rounds} transactions of each type and what they depend on…", flush=True)
            parameters, platform, credits = network_roles()
            setup, workloads = signed_workloads(args.rounds, args.seed, parameters, platform, credits,
                                                (min(args.batch_rounds, args.rounds), args.batch_channels))
            setup = [credits[0], *setup]
            print(f"committing {len(setup)} transactions in one block…", flush=True)
            connection = bigchain.connection
            connection.run(connection.collection(NETWORK_PARAMETERS).insert_one(
                {"chain_id": "bench", **parameters}))
            bigchain.store_bulk_transactions(setup)
            bigchain.store_block({"height": 1, "app_hash": "", "transactions": [tx.id for tx in setup]})
            # CheckTx after a later commit: the rule-index heads the setup block wrote are
            # read again, as they would be once the committing process no longer keeps them.
            forget_kept(connection, RULE_INDEX)
            keep_rule_index_reads(bigchain)
            bigchain.consensus_time = CONSENSUS_TIME
            bigchain.validating_height = 2  # as the ABCI app keeps it after committing block 1
            raw = {name: [json.dumps(tx.to_dict()).encode() for tx in txs]
                   for name, txs in workloads.items()}
            print("timing CheckTx's work, round-robin over the types…", flush=True)
            profilers = {name: cProfile.Profile() for name in args.profile.split(",") if name}
            unknown = sorted(set(profilers) - set(raw))
            if unknown:
                sys.exit(f"error: no type {', '.join(unknown)} to profile; choose among {', '.join(raw)}")
            measured = time_checktx(bigchain, raw, args.rounds, profilers=profilers)
            settling = {settlement_name(size): raw[settlement_name(size)] for size in SETTLEMENT_SIZES}
            print("timing DeliverTx after CheckTx for the settlements…", flush=True)
            delivered = time_deliver_after_check(bigchain, settling, args.rounds)
        finally:
            process.terminate()
            process.wait()
    if profilers:
        for name, profiler in profilers.items():
            print(f"--- {name}: {args.rounds} validations, by cumulative time")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return 0
    report = {"store": "FerretDB 1.24.2 SQLite", "seeded_transactions": len(setup),
              **ratios(*measured),
              "deliver_after_check": deliver_ratios(delivered, measured[0])}
    record.append(NAME, report, argv)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
