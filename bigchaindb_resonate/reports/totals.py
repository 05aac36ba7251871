"""Report totals kept as blocks commit, so that summaries answer in milliseconds at any
ledger size.

Every committed play (a PLAY, or a voucher a CHANNEL_SETTLE pays: compute.play_rows)
adds to a few small documents in the `report_totals` collection, each
keyed by `_id` (the one lookup FerretDB answers without scanning) and none growing with
history: one per key below, whatever the number of plays.

    network                      every play
    day|<YYYY-MM-DD>             the plays of one consensus day (UTC)
    track|<track>                one MANIFESTATION's plays
    track-day|<track>|<date>     one MANIFESTATION's plays on one consensus day
    territory|<code>             the plays in one territory
    payee|<public key>           what one key was paid (a payee of a split, or the co-op)

Play figures (`paid_plays`, `free_plays`, `tokens`, `ownerships`, `payee_tokens`,
`coop_tokens`) are counted the way a report counts them (compute.report_lines); a payee
document holds `amount` and `payments`. A track's document also holds what each key was
paid by its plays (`payee|<key>`, one figure per key its splits ever paid) and its
listeners' progress (`reached_1` to `reached_9`: the listeners who paid for at least that
many of its plays; `reached_9` own it), for the dashboard, without another document to
write at commit. All integers, computed from the transactions and
the block's consensus time only, so every node holds the same totals.

A crash may replay a block's commit (BigchainDB's crash recovery deletes the transactions
of a block whose commit did not finish, and Tendermint delivers the block again). Each
document records the last `height` folded into it and a block only adds to documents
below its height, writing plain values, so neither a replayed block nor a retried write
adds anything twice (`updates`, `fold_block`).

The same commit also keeps the per-play rows of a report, one document per block with
plays in `report_rows` (`_id` its height, as a string): the id, metadata and outputs of each PLAY, as
one JSON text, and the height of the previous block with plays. A report reads them in
store order and follows that chain (compute.StoreLedger.plays), so it decodes one small
document per block instead of two per play: FerretDB's decoding of documents, not the
report, is where a report's time went (benchmarks/RESULTS.md).

`rebuild` recomputes every document from the ledger's blocks; `resonate audit --totals`
recomputes the totals from nodes over HTTP and compares, and `resonate audit` compares a
report, computed from the rows, with the transactions themselves.
"""
import datetime
import json

from bigchaindb_resonate.ledger import forget_kept, kept
from bigchaindb_resonate.reports.compute import (
    OWNING_PLAY, ReportError, Scope, StoreLedger, is_play_row, payments,
)

COLLECTION = "report_totals"
ROWS = "report_rows"
DAY = 86400
PLAY_FIGURES = ("paid_plays", "free_plays", "tokens", "ownerships", "payee_tokens",
                "coop_tokens")
PAYEE_FIGURES = ("amount", "payments")
PROGRESS_FIGURES = tuple(f"reached_{count}" for count in range(1, OWNING_PLAY + 2))
EPOCH = datetime.date(1970, 1, 1).toordinal()
INSERT_BATCH = 1000
ROWS_PER_INSERT = 50  # a block's rows hold up to a block of plays


def date_of(seconds):
    """The UTC date of consensus `seconds`, from integer days (no clock, no time zone)."""
    return datetime.date.fromordinal(EPOCH + seconds // DAY).isoformat()


def track_payee(public_key):
    """The figure of a track's document that holds what `public_key` was paid by it."""
    return f"payee|{public_key}"


def play_keys(track, territory, date):
    keys = ["network", f"track|{track}", f"territory|{territory}"]
    if date is not None:
        keys += [f"day|{date}", f"track-day|{track}|{date}"]
    return keys


class Totals:
    """Totals being summed in memory: {key: {figure: integer}}, for one block (commit) or
    a whole ledger (rebuild)."""

    def __init__(self):
        self.documents = {}

    def _add(self, key, figures):
        document = self.documents.setdefault(key, {})
        for name, amount in figures.items():
            document[name] = document.get(name, 0) + amount

    def add_play(self, seconds, metadata, outputs, platform_key):
        """One PLAY: its metadata, its outputs (`public_keys`, `amount`) and the consensus
        seconds of its block (None when the block's time is unknown)."""
        price = metadata["price"]
        paid_to = payments(outputs, price, platform_key)
        figures = {"paid_plays": int(price > 0), "free_plays": int(price == 0), "tokens": price,
                   "ownerships": int(metadata["playNumber"] == OWNING_PLAY),
                   "payee_tokens": sum(amount for _, amount, role in paid_to if role == "payee"),
                   "coop_tokens": sum(amount for _, amount, role in paid_to if role == "coop")}
        date = None if seconds is None else date_of(seconds)
        track = metadata["track"]
        for key in play_keys(track, metadata["territory"], date):
            self._add(key, figures)
        for payee, amount, _ in paid_to:
            self._add(f"payee|{payee}", {"amount": amount, "payments": 1})
            self._add(f"track|{track}", {track_payee(payee): amount})
        if price > 0:  # the listener's (playNumber + 1)th paid play of the track
            reached = f"reached_{metadata['playNumber'] + 1}"
            self._add(f"track|{track}", {name: int(name == reached) for name in PROGRESS_FIGURES})

    def add_block(self, seconds, transactions, platform_key):
        """The plays among a block's `transactions` (dicts as stored, with metadata): its
        PLAYs and the voucher rows of its settlements (compute.play_rows)."""
        for tx in transactions:
            if is_play_row(tx):
                self.add_play(seconds, tx["metadata"], tx["outputs"], platform_key)


def updates(height, totals, stored):
    """The documents that fold one block's `totals` into the `stored` ones ({key: its
    document, for those that exist}): each whole, with its new figures and the block's
    height as plain values, laid out field by field as the `$set` upsert the node once
    wrote leaves it on FerretDB (and MongoDB 5.0 and later): the fields it holds in place,
    new ones after them in name order. So a write repeated (a retried query) changes
    nothing, and a document that already holds the block (a replayed block) is left
    alone. Every document is found by `_id` alone: the one filter FerretDB answers
    without decoding every document."""
    documents = []
    for key, figures in sorted(totals.documents.items()):
        document = {"_id": key, **(stored.get(key) or {})}
        if document.get("height", 0) >= height:
            continue
        new = {name: document.get(name, 0) + amount for name, amount in figures.items()}
        for name, value in sorted({**new, "height": height}.items()):
            document[name] = value
        documents.append(document)
    return documents


def rows_document(height, seconds, previous, plays):
    """The report rows of a block: its PLAYs (`id`, `metadata`, `outputs` with
    `public_keys` and `amount`) as one JSON text, chained to the previous block with
    plays (0: none)."""
    text = json.dumps([{"id": tx["id"], "metadata": tx["metadata"],
                        "outputs": [{"public_keys": output["public_keys"],
                                     "amount": int(output["amount"])}
                                    for output in tx["outputs"]],
                        **({"voucher": tx["voucher"]} if "voucher" in tx else {})} for tx in plays],
                      sort_keys=True, separators=(",", ":"))
    # A string `_id`: FerretDB's pushdown (and so the patched `_id` index) serves strings.
    return {"_id": str(height), "height": height, "previous": previous, "time": seconds,
            "plays": text}


def rows_of(document):
    """The plays a `report_rows` document holds (see rows_document)."""
    return json.loads(document["plays"])


def fold_block(conn, height, seconds, plays, platform_key):
    """Add a committing block's plays (compute.play_rows of its PLAYs and channel
    settlements, in block order) to the stored rows and totals, the co-op's share being
    what is paid to `platform_key` (the one in force at `height`); safe to repeat for a
    block. Commits run one at a time, and only they write the totals while the node runs,
    so the committing process keeps the documents it has read and written
    (ledger.KeptDocuments) and reads only the others. The rows go first; they chain to the
    block the `network` totals last reached, which is this block's predecessor until the
    totals below are written."""
    if not plays:
        return
    totals = Totals()
    totals.add_block(seconds, plays, platform_key)
    kept_totals = kept(conn, COLLECTION)
    stored = {key: document for key, document in kept_totals.read(
        conn, COLLECTION, sorted(totals.documents)).items() if document is not None}
    previous = stored.get("network", {}).get("height", 0)
    if previous < height:
        rows = rows_document(height, seconds, previous, plays)
        conn.run(conn.collection(ROWS).update_one(
            {"_id": rows["_id"]}, {"$setOnInsert": {k: v for k, v in rows.items() if k != "_id"}},
            upsert=True))
    kept_totals.write(conn, COLLECTION, updates(height, totals, stored))


def read(conn, keys):
    """{key: its stored document, without `_id`} for those of `keys` that exist: one
    lookup by `_id` each."""
    found = {}
    for key in keys:
        document = conn.run(conn.collection(COLLECTION).find_one({"_id": key}))
        if document is not None:
            document.pop("_id")
            found[key] = document
    return found


def recompute(ledger, at_height, progress=None):
    """Totals of every PLAY committed up to `at_height`, from the transactions `ledger`
    holds (a StoreLedger or an audit's NodeLedger): what the node should hold once that
    block has committed."""
    totals = Totals()
    if not at_height:
        return totals
    for count, (height, seconds, tx) in enumerate(
            ledger.plays_from_transactions(1, at_height, None), 1):
        totals.add_play(seconds, tx["metadata"], tx["outputs"],
                        ledger.parameter_at("platform_key", height))
        if progress and count % 100_000 == 0:
            progress(f"{count:,} plays counted")
    return totals


def rebuild(bigchain, progress=None):
    """Replace the stored totals and report rows with ones recomputed from the ledger's
    blocks and transactions; returns (height, number of totals documents). Run it with
    the node stopped: a block committing meanwhile could be counted by neither side."""
    ledger = StoreLedger(bigchain)
    tip = ledger.tip()
    height = tip["height"] if tip else 0
    totals, rows, block, previous = Totals(), [], [], 0
    conn = bigchain.connection
    forget_kept(conn, COLLECTION)
    for collection in (COLLECTION, ROWS):
        conn.run(conn.collection(collection).delete_many({}))

    def close_block():
        nonlocal previous
        rows.append(rows_document(block[0][0], block[0][1], previous, [tx for _, _, tx in block]))
        previous = block[0][0]
        block.clear()
        if len(rows) >= ROWS_PER_INSERT:
            conn.run(conn.collection(ROWS).insert_many(rows))
            rows.clear()

    plays = ledger.plays_from_transactions(1, height, None) if height else ()
    for count, (play_height, seconds, tx) in enumerate(plays, 1):
        if block and block[0][0] != play_height:
            close_block()
        block.append((play_height, seconds, tx))
        totals.add_play(seconds, tx["metadata"], tx["outputs"],
                        ledger.parameter_at("platform_key", play_height))
        if progress and count % 100_000 == 0:
            progress(f"{count:,} plays counted")
    if block:
        close_block()
    if rows:
        conn.run(conn.collection(ROWS).insert_many(rows))
    # Each document stands at the last block with plays, where the next block's rows chain.
    documents = [{"_id": key, **figures, "height": previous}
                 for key, figures in sorted(totals.documents.items())]
    for start in range(0, len(documents), INSERT_BATCH):
        conn.run(conn.collection(COLLECTION).insert_many(documents[start:start + INSERT_BATCH]))
    return height, len(documents)


MAX_DAYS = 366  # one lookup per day and track: a year of a party's tracks at most


def dates_between(first, last):
    """ISO dates from `first` to `last` inclusive (each 'YYYY-MM-DD')."""
    try:
        start, end = (datetime.date.fromisoformat(text) for text in (first, last))
    except (TypeError, ValueError):
        raise ReportError(f"from_date and to_date must be dates YYYY-MM-DD, not `{first}`, "
                          f"`{last}`") from None
    if end < start or (end - start).days >= MAX_DAYS:
        raise ReportError(f"to_date must be from from_date to {MAX_DAYS} days after it")
    return [datetime.date.fromordinal(day).isoformat()
            for day in range(start.toordinal(), end.toordinal() + 1)]


def _summed(documents, figures):
    return {name: sum(document.get(name, 0) for document in documents) for name in figures}


def summary(lookup, scope_kind, ids, dates=None):
    """A summary from stored totals: `lookup(keys)` answers {key: document}; `ids` are
    the scope's tracks (network: None) or, for a payee, its public key. Figures overall,
    per track for a party, and per day of `dates` (network, track and party scopes)."""
    if scope_kind == "payee":
        (key,) = ids
        found = lookup([f"payee|{key}"])
        return {"totals": _summed(found.values(), PAYEE_FIGURES)}
    def day_keys(date):
        if ids is None:
            return [f"day|{date}"]
        return [f"track-day|{track}|{date}" for track in ids]

    found = lookup(["network"] if ids is None else [f"track|{track}" for track in ids])
    answer = {"totals": _summed(found.values(), PLAY_FIGURES)}
    if scope_kind == "party":
        answer["tracks"] = [{"track": track, **_summed([found.get(f"track|{track}", {})],
                                                       PLAY_FIGURES)} for track in ids]
    if dates:
        answer["days"] = [{"date": date, **_summed(lookup(day_keys(date)).values(), PLAY_FIGURES)}
                          for date in dates]
    return answer
