"""A report's lines, computed by streaming PLAY transactions in commit order.

`report_lines(ledger, scope, period)` yields, in this order:

- one `report` line: chain id, scope (and the name of the party or track it names), the
  period asked for and the block heights it covers, the height and app hash the report was
  computed at, the consensus time of that block, the network parameters a report uses
  (platform key, co-op share, payout rate and currency, the co-op's DDEX sender id and
  name), and the tracks in scope;
- per PLAY in commit order (height, then position in the block): a `play` line, one
  `payment` line per paying output (role `payee`, or `coop` for the platform key's share),
  and an `ownership` line when it was the listener's 9th paid play (playNumber 8);
- summaries, each sorted: `track` (with its title, display artist, ISRC, work, ISWC and
  composers, from the registry's records), `territory`, `payee` (per payee, split and
  track, named after the party its key registered among those credited on the tracks),
  `coop`, then `totals`;
- a `digest` line: sha256 over the canonical text of every earlier line.

Amounts are integer tokens (1 token = 0.001 credit). Memory stays flat as the ledger grows:
per-play lines are yielded as they are read; only the summaries (bounded by tracks, payees
and territories, not by plays) are held.

A ledger is anything with `context`, `heights`, `plays`, `parameter_at`, `records`
(registry records' data by id) and `registrants` (the keys a record was registered to):
`StoreLedger` reads a node's store; audit.NodeLedger reads a node over HTTP. A payment to
the platform key in force at its play's height is the co-op's (`coop`): the key may change
by a parameter election.
"""
import contextlib
import hashlib
import itertools
import json
import sqlite3
import tempfile
from dataclasses import dataclass

from bigchaindb_resonate import reads
from bigchaindb_resonate.host import documents_by_key
from bigchaindb_resonate.ledger import BLOCK_TIMES, LedgerView
from bigchaindb_resonate.types.manifestation import WORK_LINKS, Manifestation
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.work import Work

VERSION = "resonate-report/2"
PLAY = "PLAY"
SETTLE = "CHANNEL_SETTLE"
SETTLE_BATCH = "CHANNEL_SETTLE_BATCH"
# Operations that pay plays: a PLAY pays one, a channel settlement one per voucher.
SETTLES = (SETTLE, SETTLE_BATCH)
PAYS_PLAYS = (PLAY, *SETTLES)
ROWS_PER_BATCH = 20  # report rows documents per store round trip (up to a block each)
OWNING_PLAY = 8  # 0-based: the 9th paid play makes the listener an owner
SCOPE_KINDS = ("network", "track", "party")
# Network parameters a report states besides the platform key: the DSR prices in money at
# the payout rate and names the co-op as its sender.
REPORTED_PARAMETERS = ("coop_share_bp", "payout_rate", "payout_currency", "ddex_sender_id",
                       "ddex_sender_name")


class ReportError(ValueError):
    """A scope or period that cannot be reported on (a bad query)."""


class ScopeNotFound(LookupError):
    """The track or party a scope names is not on the ledger."""


@dataclass(frozen=True)
class Scope:
    kind: str
    id: str = None

    @classmethod
    def parse(cls, text):
        """`network`, `track:<MANIFESTATION id>` or `party:<PARTY id>`."""
        if text == "network":
            return cls("network")
        kind, _, record_id = (text or "").partition(":")
        if kind not in SCOPE_KINDS[1:] or not reads.is_record_id(record_id):
            raise ReportError(f"scope must be network, track:<id> or party:<id>, not `{text}`")
        return cls(kind, record_id)

    def __str__(self):
        return self.kind if self.id is None else f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Period:
    """Block heights (inclusive) and consensus seconds (from inclusive, to exclusive);
    None leaves that end open."""
    from_height: int = None
    to_height: int = None
    from_time: int = None
    to_time: int = None

    @classmethod
    def parse(cls, args):
        """From query arguments (strings), as the HTTP route receives them."""
        values = {name: parse_count(args.get(name), name) for name in cls.__dataclass_fields__}
        return cls(**{name: value for name, value in values.items() if value is not None})

    def query(self):
        return {name: value for name, value in vars(self).items() if value is not None}


def parse_count(text, name):
    """A non-negative integer query argument, or None when absent."""
    if text in (None, ""):
        return None
    if not str(text).isdigit():
        raise ReportError(f"{name} must be a non-negative integer, not `{text}`")
    return int(text)


def canonical(line):
    return json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Digest:
    """sha256 over the canonical lines, one per text line."""

    def __init__(self):
        self._hash, self.count = hashlib.sha256(), 0

    def add(self, line):
        self._hash.update(canonical(line).encode() + b"\n")
        self.count += 1

    def line(self):
        return {"kind": "digest", "sha256": self._hash.hexdigest(), "lines": self.count}


def payments(outputs, price, platform_key):
    """The outputs that pay the price, in order: [(payee, amount, role)]. The platform key's
    output closes them (role `coop`); the outputs after them are the listener's change."""
    paying, paid = [], 0
    for output in outputs:
        if paid >= price:
            break
        amount = int(output["amount"])
        paid += amount
        paying.append(["+".join(output["public_keys"]), amount, "payee"])
    if paying and paying[-1][0] == platform_key:
        paying[-1][2] = "coop"
    return paying


def play_rows(tx, split_payees, parameters):
    """The plays a transaction pays, as report rows (`id`, `metadata` as a PLAY's,
    `outputs` with `public_keys` and `amount`): a PLAY is one row, itself; a CHANNEL_SETTLE
    one per voucher, with the settlement's `id`, the voucher's `sequence` as `voucher`,
    and the outputs the same PLAY would have (royalties.play_outputs, no change), which
    the settlement pays pooled. `split_payees(split id)` answers a split's (key, basis
    points) payees; `parameters` are the network's (platform_key, coop_share_bp)."""
    from bigchaindb_resonate.validators.royalties import play_outputs

    if tx["operation"] == PLAY:
        return [tx]
    if tx["operation"] not in SETTLES:
        return []
    metadata, rows = tx["metadata"], []
    for voucher in settled_vouchers(tx):
        split = metadata["splits"].get(voucher["track"]) if voucher["price"] else None
        play = {"@type": "Play", "listener": voucher["listener"], "track": voucher["track"],
                "territory": voucher["territory"], "right": voucher["right"],
                "playNumber": voucher["play"], "price": voucher["price"],
                **({"split": split} if split else {})}
        outputs = play_outputs(voucher["price"], split_payees(split) if split else [],
                               parameters, voucher["listener"], voucher["price"])
        rows.append({"id": tx["id"], "operation": tx["operation"], "voucher": voucher["sequence"],
                     "metadata": play, "outputs": [{"public_keys": keys, "amount": amount}
                                                   for keys, amount in outputs]})
    return rows


def settled_vouchers(tx):
    """The whole vouchers a settlement (a CHANNEL_SETTLE or a batch, as a dict) pays, in order."""
    from bigchaindb_resonate.operations.channel_settle_batch import whole_vouchers

    metadata = tx["metadata"]
    if tx["operation"] == SETTLE:
        return metadata["vouchers"]
    return [voucher for entry in metadata["channels"] for voucher in whole_vouchers(metadata, entry)]


def is_play_row(tx):
    """A PLAY, or a voucher row of a settlement (play_rows), not a settlement itself."""
    return tx["operation"] == PLAY or "voucher" in tx


def party_name(data):
    """A PARTY's name as people read it: `name`, else a Person's given and family names."""
    return data.get("name") or " ".join(
        part for part in (data.get("givenName"), data.get("familyName")) if part) or None


def scope_name(ledger, scope):
    """The name of the party, or the title of the track, a scope names (None: network)."""
    if scope.id is None:
        return None
    data = ledger.records([scope.id]).get(scope.id, {})
    return party_name(data) if scope.kind == "party" else data.get("name")


def _work(track_data):
    return next((track_data[link] for link in WORK_LINKS if link in track_data), None)


class Catalogue:
    """What the registry says of the tracks a report covers: per track its title, display
    artist (the names of its byArtist parties), ISRC, work, ISWC and composers (the work's
    composers and lyricists); and a name for each key that registered one of those parties.
    Three reads of records by id and one lookup per credited party, whatever the number of
    plays."""

    def __init__(self, ledger, track_ids):
        tracks = ledger.records(track_ids)
        works = ledger.records(sorted({_work(data) for data in tracks.values()} - {None}))
        credited = {party for data in tracks.values() for party in data.get("byArtist", [])}
        credited |= {party for data in works.values()
                     for role in ("composer", "lyricist") for party in data.get(role, [])}
        parties = ledger.records(sorted(credited))
        self._tracks, self._works = tracks, works
        self._names = {party: party_name(data) for party, data in parties.items()}
        # A key that registered several credited parties is named after all of them.
        by_key = {}
        for party, keys in sorted(ledger.registrants(sorted(parties)).items()):
            for key in keys:
                by_key.setdefault(key, [])
                if self._names[party] and self._names[party] not in by_key[key]:
                    by_key[key].append(self._names[party])
        self.names = {key: " / ".join(names) for key, names in by_key.items() if names}

    def _named(self, party_ids):
        """The parties' names; a party with none (a Person may give none) by its id."""
        return [self._names.get(party) or party for party in party_ids]

    def track(self, track_id):
        data = self._tracks.get(track_id, {})
        work_id = _work(data)
        work = self._works.get(work_id, {})
        return {"title": data.get("name"), "artist": " & ".join(self._named(
                    data.get("byArtist", []))) or None,
                "isrc": data.get("isrcCode"), "work": work_id, "iswc": work.get("iswcCode"),
                "composers": self._named(list(dict.fromkeys(
                    work.get("composer", []) + work.get("lyricist", []))))}


class _Totals:
    """Running sums for the summary lines."""

    def __init__(self):
        self.tracks, self.territories, self.payees, self.coop = {}, {}, {}, {}

    @staticmethod
    def _add(table, key, **amounts):
        row = table.setdefault(key, dict.fromkeys(amounts, 0))
        for name, amount in amounts.items():
            row[name] += amount

    def play(self, metadata, owned):
        paid = int(metadata["price"] > 0)
        figures = {"paid_plays": paid, "free_plays": 1 - paid, "tokens": metadata["price"]}
        self._add(self.tracks, metadata["track"], **figures, ownerships=int(owned))
        self._add(self.territories, metadata["territory"], **figures)

    def payment(self, track, split, payee, amount, role):
        if role == "coop":
            self._add(self.coop, payee, amount=amount, payments=1)
        else:
            self._add(self.payees, (payee, split, track), amount=amount, payments=1)

    def lines(self, catalogue):
        for track, row in sorted(self.tracks.items()):
            yield {"kind": "track", "track": track, **catalogue.track(track), **row}
        for territory, row in sorted(self.territories.items()):
            yield {"kind": "territory", "territory": territory, **row}
        for (payee, split, track), row in sorted(self.payees.items()):
            yield {"kind": "payee", "payee": payee, "name": catalogue.names.get(payee),
                   "split": split, "track": track, **row}
        for payee, row in sorted(self.coop.items()):
            yield {"kind": "coop", "payee": payee, **row}
        tracks = self.tracks.values()
        yield {"kind": "totals",
               **{name: sum(row[name] for row in tracks)
                  for name in ("paid_plays", "free_plays", "tokens", "ownerships")},
               "payee_tokens": sum(row["amount"] for row in self.payees.values()),
               "coop_tokens": sum(row["amount"] for row in self.coop.values())}


def report_lines(ledger, scope, period, at_height=None):
    """The report's lines (see the module docstring). `at_height` fixes the block the report
    is computed at (an audit recomputes at the report's); by default the latest."""
    context = ledger.context(scope, at_height)
    first, last = ledger.heights(period, context["at_height"])
    parameters = context["network_parameters"] or {}
    platform_key = parameters.get("platform_key")
    tracks = context["tracks"]
    digest, totals = Digest(), _Totals()

    def emit(line):
        digest.add(line)
        return line

    yield emit({"kind": "report", "version": VERSION, "chain_id": context["chain_id"],
                "scope": str(scope), "scope_name": scope_name(ledger, scope),
                "period": period.query(), "from_height": first, "to_height": last,
                "at_height": context["at_height"], "app_hash": context["app_hash"],
                "created": context["created"], "platform_key": platform_key,
                **{name: parameters.get(name) for name in REPORTED_PARAMETERS},
                "tracks": None if tracks is None else sorted(tracks)})
    for height, time, tx in ledger.plays(first, last, tracks):
        metadata = tx["metadata"]
        track, number = metadata["track"], metadata["playNumber"]
        # A channel play names its voucher (by sequence) in the settlement `tx`; a PLAY none.
        where = {"tx": tx["id"], "voucher": tx.get("voucher"), "height": height, "track": track}
        yield emit({"kind": "play", **where, "time": time, "listener": metadata["listener"],
                    "play_number": number, "territory": metadata["territory"],
                    "price": metadata["price"], "split": metadata.get("split"),
                    "right": metadata.get("right")})
        # The co-op's share goes to the platform key in force at the play's height.
        paid_to = payments(tx["outputs"], metadata["price"], ledger.parameter_at("platform_key", height))
        for payee, amount, role in paid_to:
            yield emit({"kind": "payment", **where, "split": metadata.get("split"),
                        "payee": payee, "amount": amount, "role": role})
            totals.payment(track, metadata.get("split"), payee, amount, role)
        owned = number == OWNING_PLAY
        if owned:
            yield emit({"kind": "ownership", **where, "listener": metadata["listener"]})
        totals.play(metadata, owned)
    for line in totals.lines(Catalogue(ledger, sorted(totals.tracks))):
        yield emit(line)
    yield digest.line()


def in_commit_order(ids, documents):
    """The document of each id in `ids`, in that order, from `documents` in any order.
    Documents that come before their turn wait in a buffer, which stays empty when the
    store returns documents in the order they were stored (FerretDB's SQLite tables and
    MongoDB's collection scans of insert-only collections do): memory stays flat then, and
    the answer is right in any order. A stored transaction that is in no block yet (a
    commit under way) waits there unclaimed: at most one block's worth."""
    early, documents = {}, iter(documents)
    for txid in ids:
        while txid not in early:
            document = next(documents, None)
            if document is None:
                raise LookupError(f"transaction {txid} is in a block but not in the store")
            early[document["id"]] = document
        yield early.pop(txid)


@contextlib.contextmanager
def spool(schema):
    """A temporary SQLite file with `schema`: puts rows that arrive in any order into the
    order a report needs while this process holds one row at a time."""
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as file:
        db = sqlite3.connect(file.name)
        try:
            db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + schema)
            yield db
        finally:
            db.close()



class StoreLedger:
    """A node's committed ledger, read from its store (BigchainDB's collections)."""

    def __init__(self, bigchain):
        self.bigchain = bigchain
        self.conn = bigchain.connection

    def _cursor(self, collection, match, fields=None, sort=None, limit=None, batch=None):
        projection = {"_id": False, **{field: True for field in fields or ()}}
        # BigchainDB's connection replays this chain of calls on the real collection.
        query = self.conn.collection(collection).find(match, projection=projection)
        if batch:
            query = query.batch_size(batch)
        if sort:
            query = query.sort(sort)
        if limit:
            query = query.limit(limit)
        return self.conn.run(query)

    def _first(self, collection, match, sort):
        return next(iter(self._cursor(collection, match, sort=sort, limit=1)), None)

    def context(self, scope, at_height=None):
        """Where the report stands: chain id, the block it is computed at (height, app hash,
        consensus time), the network parameters and the tracks in scope (None: all)."""
        block = self.tip(at_height)
        height = block["height"] if block else 0
        time = self._first(BLOCK_TIMES, {"height": height}, [("height", -1)])
        chain = self._first("abci_chains", {}, [("height", -1)]) or {}
        return {"chain_id": chain.get("chain_id"), "at_height": height,
                "app_hash": (block or {}).get("app_hash"),
                "created": time["time"] if time else None,
                "network_parameters": LedgerView(self.bigchain).network_parameters(),
                "tracks": self.scope_tracks(scope)}

    def parameter_at(self, name, height):
        """The network parameter `name` in force at `height` (None on a chain whose genesis
        set no parameters)."""
        values = LedgerView(self.bigchain).parameters_at(height)
        return values and values[name]

    def tip(self, at_height=None):
        """The block at `at_height` (by default the latest; None on an empty chain)."""
        match = {} if at_height is None else {"height": at_height}
        block = self._first("blocks", match, [("height", -1)])
        if block is None and at_height is not None:
            raise ScopeNotFound(f"no block at height {at_height}")
        return block

    def scope_tracks(self, scope):
        """The MANIFESTATION ids a scope covers: a fixed number of queries."""
        if scope.kind == "network":
            return None
        if scope.kind == "track":
            if reads.operations_of(self.conn, [scope.id]).get(scope.id) != Manifestation.OPERATION:
                raise ScopeNotFound(f"no MANIFESTATION {scope.id}")
            return [scope.id]
        if reads.operations_of(self.conn, [scope.id]).get(scope.id) != Party.OPERATION:
            raise ScopeNotFound(f"no PARTY {scope.id}")
        named = reads.find_documents(self.conn, "assets", {"$or": [
            {f"data.{role}": scope.id} for role in ("byArtist", "composer", "lyricist")]},
            ["id"])
        operations = reads.operations_of(self.conn, [doc["id"] for doc in named])
        works = [doc_id for doc_id, operation in operations.items() if operation == Work.OPERATION]
        by_work = reads.find_documents(self.conn, "assets", {"$or": [
            {f"data.{link}": {"$in": works}} for link in WORK_LINKS]}, ["id"]) if works else []
        operations.update(reads.operations_of(self.conn, [doc["id"] for doc in by_work]))
        return sorted({doc["id"] for doc in named + by_work
                       if operations.get(doc["id"]) == Manifestation.OPERATION})

    def heights(self, period, at_height):
        """The first and last block heights of `period`, up to `at_height` (first > last
        when no block falls in it)."""
        first = period.from_height or 1
        last = at_height if period.to_height is None else min(period.to_height, at_height)
        in_range = {"$gte": first, "$lte": last}
        if period.from_time is not None:
            found = self._first(BLOCK_TIMES, {"height": in_range, "time": {"$gte": period.from_time}},
                                [("height", 1)])
            first = found["height"] if found else last + 1
        if period.to_time is not None:
            found = self._first(BLOCK_TIMES, {"height": in_range, "time": {"$lt": period.to_time}},
                                [("height", -1)])
            last = found["height"] if found else first - 1
        return first, last

    def blocks(self, first, last):
        """Blocks from `first` to `last` in height order: height, app hash, consensus time
        and transaction ids in block order. Two queries."""
        in_range = {"height": {"$gte": first, "$lte": last}}
        times = {doc["height"]: doc["time"] for doc in self._cursor(BLOCK_TIMES, in_range)}
        for block in self._cursor("blocks", in_range, sort=[("height", 1)]):
            yield {"height": block["height"], "app_hash": block.get("app_hash"),
                   "time": times.get(block["height"]), "transactions": block["transactions"]}

    def plays(self, first, last, tracks):
        """(height, consensus time, the PLAY's id, metadata and outputs) for every PLAY of
        `tracks` (None: any) committed from `first` to `last`, in commit order, from the
        report rows kept at commit (totals.py): one query, one small document per block
        with plays, read in the store's order and put in commit order by following each
        document's link to the previous block with plays. Documents that come before
        their turn wait in a buffer, which stays empty when the store returns them in the
        order they were stored."""
        if first > last:
            return
        from bigchaindb_resonate.reports.totals import ROWS, rows_of

        wanted = None if tracks is None else set(tracks)
        early, reached = {}, 0
        # A few blocks' rows at a time: the store would fill 16 MB batches.
        for document in self._cursor(ROWS, {}, batch=ROWS_PER_BATCH):
            early[document["previous"]] = document
            while reached in early and reached < last:
                block = early.pop(reached)
                reached = block["height"]
                if first <= reached <= last:
                    for play in rows_of(block):
                        if wanted is None or play["metadata"]["track"] in wanted:
                            yield reached, block["time"], play
            if reached >= last:
                return
        if early:
            raise LookupError(f"the report rows break after height {reached}: rebuild them "
                              f"(bigchaindb-resonate rebuild-totals)")

    def plays_from_transactions(self, first, last, tracks):
        """What `plays` yields, from the blocks, transactions and metadata themselves:
        what the rows are rebuilt from. Four queries, whatever the ledger's size, each
        read once as it streams.

        Blocks give the commit order. Transactions and metadata are read whole, in the
        store's own order, which is the order they were stored in: FerretDB scans for any
        filter, so a filter would save nothing, and unfiltered reads line up with the
        blocks (see in_commit_order). Blocks before `first` are walked too, to pass their
        transactions by."""
        if first > last:
            return
        wanted = None if tracks is None else set(tracks)
        blocks = self._cursor("blocks", {"height": {"$lte": last}}, ["height", "transactions"],
                              sort=[("height", 1)])
        times = iter(self._cursor(BLOCK_TIMES, {"height": {"$gte": first, "$lte": last}},
                                  ["height", "time"], sort=[("height", 1)]))
        # Three readers of one cursor, advanced in step by zip: tee holds at most a block.
        positions, for_transactions, for_metadata = itertools.tee(
            ((block["height"], txid) for block in blocks for txid in block["transactions"]), 3)
        transactions = in_commit_order((txid for _, txid in for_transactions), self._cursor(
            "transactions", {}, ["id", "operation", "outputs"]))
        metadata = in_commit_order((txid for _, txid in for_metadata),
                                   self._cursor("metadata", {}, ["id", "metadata"]))
        time = next(times, None)
        view = LedgerView(self.bigchain)
        parameters = view.network_parameters() or {}

        def split_payees(split_id):
            return [(payee["publicKey"], payee["shareBp"])
                    for payee in view.get_transaction(split_id).asset["data"]["payees"]]

        for (height, _), tx, meta in zip(positions, transactions, metadata):
            if height < first or tx["operation"] not in PAYS_PLAYS:
                continue
            while time is not None and time["height"] < height:
                time = next(times, None)
            seconds = time["time"] if time is not None and time["height"] == height else None
            for row in play_rows({**tx, "metadata": meta["metadata"]}, split_payees, parameters):
                if wanted is None or row["metadata"]["track"] in wanted:
                    yield height, seconds, row

    def records(self, record_ids):
        """{record id: its data} for the registry records among `record_ids`: one query
        (the assets collection holds records and the credit token, not plays)."""
        if not record_ids:
            return {}
        return {doc["id"]: doc["data"] for doc in reads.find_documents(
            self.conn, "assets", {"id": {"$in": list(record_ids)}}, ["id", "data"])}

    def registrants(self, record_ids):
        """{record id: the keys its registration's first output names}: one lookup by
        key each."""
        return {doc["id"]: sorted(doc["outputs"][0]["public_keys"])
                for doc in documents_by_key(self.conn, "transactions", record_ids)}
