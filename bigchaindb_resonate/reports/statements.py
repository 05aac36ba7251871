"""A payee's statement for a period: what they earned per track and split, the co-op's
share of those plays, money at the payout rate, the payouts settled in the period, and
what they were owed at its start and end. Lines like a report's, closed by a digest, and
audited the same way (recomputed from nodes over HTTP, `audit`).

`statement_lines(ledger, payee, period, at_height)` yields, in this order:

- one `statement` line: the chain id, the payee and the names of the parties its key
  registered among those credited on its tracks, the period asked for and the block
  heights it covers, the height, app hash and consensus time it was computed at, the
  platform key, the co-op share and the payout rate and currency in force;
- per track the payee was paid for (by the end of the period), sorted by id: a `track`
  line with its title, ISRC and artists (the names of its byArtist parties), the period's
  paid plays that paid the payee, free plays, the payee's tokens, the co-op's tokens from
  those same plays and the payee's tokens in money; then per split of that track a
  `split` line (the payee's paid plays and tokens under that split);
- per PAYOUT_SETTLE of the payee committed in the period, in commit order, a `payout` line;
- a `totals` line: the sums of the track lines, the payouts', and `owed` (the tokens the
  payee holds alone plus those held in open payout requests) at the end of the block
  before the period and at the end of the period, with the balance and open requests
  that make up the latter;
- a `digest` line: sha256 over the canonical text of every earlier line.

Money is integer minor units of the currency at the rate in force when the statement is
computed (money.py: rounded down); each total is computed from total tokens, so it may
exceed the sum of the rounded lines by a few minor units. Payout lines state the money
each settlement recorded.

A ledger is a StoreLedger or an audit NodeLedger with `payee_transactions` (every credit
transaction that paid the payee or spent what it held, in commit order: the payee's own
history, keyed lookups), `block_time`, `records` and `registrants`; StoreStatements and
NodeStatements add them.
"""
import csv
import datetime
import html
import io
import itertools
import json
import re

from bigchaindb_resonate import reads
from bigchaindb_resonate.host import documents_by_key
from bigchaindb_resonate.money import format_money, money_minor
from bigchaindb_resonate.reports.audit import MAX_DIFFERENCES, Audit, NodeLedger, _line_finding
from bigchaindb_resonate.reports.compute import (Digest, Period, Scope, StoreLedger, canonical, party_name,
                                                 payments)
from bigchaindb_resonate.reports.formats import _cell, _csv_row
from bigchaindb_resonate.types.payout_cancel import PayoutCancel
from bigchaindb_resonate.types.payout_request import PayoutRequest
from bigchaindb_resonate.types.payout_settle import PayoutSettle
from bigchaindb_resonate.types.play import Play

VERSION = "resonate-statement/1"
FORMATS = ("json", "csv", "html")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "html": "text/html; charset=utf-8"}
CLOSING = (PayoutSettle.OPERATION, PayoutCancel.OPERATION)  # what closes a payout request

FIELDS = {
    "statement": ["version", "chain_id", "payee", "payee_name", "period", "from_height",
                  "to_height", "at_height", "app_hash", "created", "platform_key",
                  "coop_share_bp", "currency", "rate"],
    "track": ["track", "title", "isrc", "artists", "paid_plays", "free_plays", "tokens",
              "coop_tokens", "money_minor"],
    "split": ["track", "split", "paid_plays", "tokens", "money_minor"],
    "payout": ["request", "settlement", "amount", "money_minor", "currency", "reference",
               "height", "time"],
    "totals": ["paid_plays", "free_plays", "tokens", "coop_tokens", "money_minor", "payouts",
               "paid_out", "paid_out_money_minor", "owed_start", "owed_end", "balance_end",
               "open_requests_end", "owed_end_money_minor"],
    "digest": ["sha256", "lines"],
}
COLUMNS = ["kind"] + list(dict.fromkeys(field for fields in FIELDS.values() for field in fields))
INTEGER_FIELDS = {"from_height", "to_height", "at_height", "created", "coop_share_bp", "rate",
                  "paid_plays", "free_plays", "tokens", "coop_tokens", "money_minor", "amount",
                  "height", "time", "payouts", "paid_out", "paid_out_money_minor", "owed_start",
                  "owed_end", "balance_end", "open_requests_end", "owed_end_money_minor", "lines"}
JSON_FIELDS = {"period", "artists"}


class StatementError(ValueError):
    """A statement that cannot be computed or read (a bad query, a file that is none)."""


def _owned(outputs, payee):
    """{output index: amount} of the outputs naming the payee: its own and those held for
    it in a payout request."""
    return {index: int(output["amount"]) for index, output in enumerate(outputs)
            if payee in output["public_keys"]}


class _Account:
    """The payee's owed tokens (outputs naming it), balance and open requests, replayed
    transaction by transaction."""

    def __init__(self, payee):
        self.payee, self.unspent, self.open = payee, {}, {}

    def apply(self, tx):
        for input_ in tx["inputs"]:
            fulfills = input_.get("fulfills")
            if fulfills:
                self.unspent.pop((fulfills["transaction_id"], fulfills["output_index"]), None)
        for index, amount in _owned(tx["outputs"], self.payee).items():
            self.unspent[(tx["id"], index)] = amount
        metadata = tx.get("metadata") or {}
        if tx["operation"] == PayoutRequest.OPERATION and metadata.get("payee") == self.payee:
            self.open[tx["id"]] = metadata["amount"]
        elif tx["operation"] in CLOSING:
            self.open.pop(metadata.get("request"), None)

    @property
    def owed(self):
        return sum(self.unspent.values())


def statement_lines(ledger, payee, period, at_height=None):
    """The statement's lines (see the module docstring)."""
    context = ledger.context(Scope("network"), at_height)
    first, last = ledger.heights(period, context["at_height"])
    parameters = context["network_parameters"] or {}
    platform_key, currency, rate = (parameters.get(name) for name in (
        "platform_key", "payout_currency", "payout_rate"))

    def money(tokens):
        return money_minor(tokens, rate, currency) if rate else None

    account, owed_start, earned_on, payouts = _Account(payee), None, set(), []
    for height, seconds, tx in ledger.payee_transactions(payee, last):
        if height >= first and owed_start is None:
            owed_start = account.owed
        account.apply(tx)
        metadata = tx.get("metadata") or {}
        if tx["operation"] == Play.OPERATION:
            earned_on.add(metadata["track"])
        elif tx["operation"] == PayoutSettle.OPERATION and height >= first:
            payouts.append({"kind": "payout", "request": metadata["request"], "settlement": tx["id"],
                            "amount": metadata["amount"], "money_minor": metadata["moneyMinor"],
                            "currency": metadata["currency"], "reference": metadata["reference"],
                            "height": height, "time": ledger.block_time(height)})
    owed_start = account.owed if owed_start is None else owed_start

    tracks, splits = {}, {}
    for _, _, tx in ledger.plays(first, last, sorted(earned_on)):
        metadata = tx["metadata"]
        row = tracks.setdefault(metadata["track"], dict.fromkeys(
            ("paid_plays", "free_plays", "tokens", "coop_tokens"), 0))
        if metadata["price"] == 0:
            row["free_plays"] += 1
            continue
        paid = payments(tx["outputs"], metadata["price"], platform_key)
        earned = sum(amount for key, amount, role in paid if key == payee and role == "payee")
        if not earned:
            continue
        row["paid_plays"] += 1
        row["tokens"] += earned
        row["coop_tokens"] += sum(amount for _, amount, role in paid if role == "coop")
        split = splits.setdefault((metadata["track"], metadata.get("split")), {"paid_plays": 0, "tokens": 0})
        split["paid_plays"] += 1
        split["tokens"] += earned

    catalogue = _Catalogue(ledger, sorted(earned_on))
    digest = Digest()

    def emit(line):
        digest.add(line)
        return line

    yield emit({"kind": "statement", "version": VERSION, "chain_id": context["chain_id"],
                "payee": payee, "payee_name": catalogue.names.get(payee), "period": period.query(),
                "from_height": first, "to_height": last, "at_height": context["at_height"],
                "app_hash": context["app_hash"], "created": context["created"],
                "platform_key": platform_key, "coop_share_bp": parameters.get("coop_share_bp"),
                "currency": currency, "rate": rate})
    for track in sorted(earned_on):
        row = tracks.get(track, dict.fromkeys(("paid_plays", "free_plays", "tokens", "coop_tokens"), 0))
        yield emit({"kind": "track", "track": track, **catalogue.track(track), **row,
                    "money_minor": money(row["tokens"])})
        for (split_track, split), figures in sorted(splits.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            if split_track == track:
                yield emit({"kind": "split", "track": track, "split": split, **figures,
                            "money_minor": money(figures["tokens"])})
    for line in payouts:
        yield emit(line)
    sums = {name: sum(row[name] for row in tracks.values())
            for name in ("paid_plays", "free_plays", "tokens", "coop_tokens")}
    open_end = sum(account.open.values())
    yield emit({"kind": "totals", **sums, "money_minor": money(sums["tokens"]),
                "payouts": len(payouts), "paid_out": sum(line["amount"] for line in payouts),
                "paid_out_money_minor": sum(line["money_minor"] for line in payouts),
                "owed_start": owed_start, "owed_end": account.owed,
                "balance_end": account.owed - open_end, "open_requests_end": open_end,
                "owed_end_money_minor": money(account.owed)})
    yield digest.line()


class _Catalogue:
    """Titles, ISRCs and artists of the payee's tracks, and a name for each key that
    registered one of the credited parties: three reads of records by id."""

    def __init__(self, ledger, track_ids):
        self._tracks = ledger.records(track_ids)
        credited = sorted({party for data in self._tracks.values() for party in data.get("byArtist", [])})
        parties = ledger.records(credited)
        self._names = {party: party_name(data) for party, data in parties.items()}
        by_key = {}
        for party, keys in sorted(ledger.registrants(sorted(parties)).items()):
            for key in keys:
                names = by_key.setdefault(key, [])
                if self._names[party] and self._names[party] not in names:
                    names.append(self._names[party])
        self.names = {key: " / ".join(names) for key, names in by_key.items() if names}

    def track(self, track_id):
        data = self._tracks.get(track_id, {})
        return {"title": data.get("name"), "isrc": data.get("isrcCode"),
                "artists": [self._names.get(party) or party for party in data.get("byArtist", [])]}


# -- where the lines come from

class StoreStatements(StoreLedger):
    """A node's store, with what a statement reads besides a report's."""

    def payee_transactions(self, payee, last):
        """(height, consensus time, transaction with metadata) of every credit transaction
        that paid `payee` or spent what it held, up to height `last`, in commit order:
        the owner index and the outputs' spenders (reads.credit_history)."""
        history = reads.credit_history(self.bigchain, payee)
        steps = [step for step in (history or {}).get("steps", ()) if step["height"] <= last]
        found = {doc["id"]: doc for doc in documents_by_key(
            self.conn, "transactions", [step["transaction_id"] for step in steps])}
        for step in steps:
            yield step["height"], None, {**found[step["transaction_id"]], "metadata": step["metadata"]}

    def block_time(self, height):
        return reads._block_time(self.conn, height)

    def records(self, record_ids):
        """{record id: its data}: one lookup by key each."""
        return {doc["id"]: doc["data"] for doc in documents_by_key(self.conn, "assets", record_ids)}

    def registrants(self, record_ids):
        """{record id: the keys its registration's first output names}."""
        return {doc["id"]: sorted(doc["outputs"][0]["public_keys"])
                for doc in documents_by_key(self.conn, "transactions", record_ids)}


class NodeStatements(NodeLedger):
    """A node over HTTP, each transaction it yields checked (id, signatures, conservation)."""

    def payee_transactions(self, payee, last):
        for step in self._answer(f"resonate/credits/{payee}/history")["steps"]:
            if step["height"] > last:
                break
            tx = self._transaction(step["transaction_id"])
            if all(input_.get("fulfills") for input_ in tx["inputs"]):
                self.check(tx, step["height"])
            yield step["height"], None, tx

    def block_time(self, height):
        page = self._answer("resonate/reports/blocks", from_height=height, to_height=height,
                            at_height=height)
        return page["blocks"][0]["time"] if page["blocks"] else None

    def records(self, record_ids):
        return {record_id: self._transaction(record_id)["asset"]["data"] for record_id in record_ids}

    def registrants(self, record_ids):
        return {record_id: sorted(self._transaction(record_id)["outputs"][0]["public_keys"])
                for record_id in record_ids}


# -- formats

def render(lines, fmt):
    """The statement as text chunks. JSON and CSV carry one line per text line, as a
    report's do; the HTML page carries them inside for the audit."""
    lines = list(lines)  # a statement is small: tracks, splits and payouts of one payee
    if fmt == "json":
        return [canonical({"format": VERSION})[:-1] + ',"lines":[\n'
                + ",\n".join(canonical(line) for line in lines) + "\n]}\n"]
    if fmt == "csv":
        return [_csv_row(COLUMNS)] + [_csv_row([_cell(line.get(column)) for column in COLUMNS])
                                      for line in lines]
    if fmt == "html":
        return [_html(lines)]
    raise StatementError(f"format must be one of {', '.join(FORMATS)}, not `{fmt}`")


# The lines inside a printable page, for the audit to read back.
_EMBEDDED = re.compile(r'<script type="application/json" id="statement-lines">(.*?)</script>', re.S)


def read_lines(text):
    """The lines of a JSON, CSV or HTML statement."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("<"):
            found = _EMBEDDED.search(text)
            if not found:
                raise StatementError("an HTML page without the statement's lines")
            return json.loads(html.unescape(found.group(1)))
        if stripped.startswith("{"):
            document = json.loads(text)
            if document.get("format") != VERSION:
                raise StatementError(f"not a statement: format {document.get('format')!r}")
            return document["lines"]
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or rows[0].get("kind") != "statement":
            raise StatementError("not a statement: its first row is no `statement` line")
        return [{"kind": row["kind"], **{field: _field_value(field, row[field])
                                         for field in FIELDS[row["kind"]]}} for row in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise StatementError(f"not a statement ({exc})") from None


def _field_value(field, cell):
    if cell == "":
        return None
    if field in INTEGER_FIELDS:
        return int(cell)
    return json.loads(cell) if field in JSON_FIELDS else cell


def is_statement(first_text_line):
    """True when a file's first line is a statement's (JSON, CSV or HTML), not a report's."""
    return (first_text_line.startswith(canonical({"format": VERSION})[:-1])
            or first_text_line == _csv_row(COLUMNS) or first_text_line.startswith("<!DOCTYPE html>"))


def _html(lines):
    by_kind = {}
    for line in lines:
        by_kind.setdefault(line["kind"], []).append(line)
    head, totals = by_kind["statement"][0], by_kind["totals"][0]
    currency = head["currency"]

    def money(minor):
        return "" if minor is None else format_money(minor, currency)

    def cell(value, numeric=False):
        return f'<td class="n">{html.escape(str(value))}</td>' if numeric else \
            f"<td>{html.escape('' if value is None else str(value))}</td>"

    def table(headers, rows):
        header = "".join(f"<th>{html.escape(text)}</th>" for text in headers)
        body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"

    def when(seconds):
        return "" if seconds is None else datetime.datetime.fromtimestamp(
            seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    titles = {line["track"]: line["title"] or line["track"] for line in by_kind.get("track", [])}
    track_rows = [[cell(line["title"] or line["track"]), cell(", ".join(line["artists"])),
                   cell(line["isrc"]), cell(line["paid_plays"], True), cell(line["free_plays"], True),
                   cell(line["tokens"], True), cell(line["coop_tokens"], True),
                   cell(money(line["money_minor"]), True)] for line in by_kind.get("track", [])]
    split_rows = [[cell(titles.get(line["track"], line["track"])), cell(line["split"]),
                   cell(line["paid_plays"], True), cell(line["tokens"], True),
                   cell(money(line["money_minor"]), True)] for line in by_kind.get("split", [])]
    payout_rows = [[cell(when(line["time"])), cell(line["reference"]), cell(line["amount"], True),
                    cell(format_money(line["money_minor"], line["currency"]), True),
                    cell(line["settlement"])] for line in by_kind.get("payout", [])]
    period = f"blocks {head['from_height']} to {head['to_height']}"
    if "from_time" in head["period"] or "to_time" in head["period"]:
        period = (f"{when(head['period'].get('from_time')) or 'the start'} to "
                  f"{when(head['period'].get('to_time')) or 'now'} ({period})")
    embedded = html.escape(json.dumps(lines, sort_keys=True, ensure_ascii=False), quote=False)
    summary = [
        ("Earned in the period", f"{totals['tokens']} tokens", money(totals["money_minor"])),
        ("The co-op's share of those plays", f"{totals['coop_tokens']} tokens", ""),
        ("Paid out in the period", f"{totals['paid_out']} tokens", money(totals["paid_out_money_minor"])),
        ("Owed at the start", f"{totals['owed_start']} tokens", ""),
        ("Owed at the end", f"{totals['owed_end']} tokens", money(totals["owed_end_money_minor"])),
        ("of which in open payout requests", f"{totals['open_requests_end']} tokens", ""),
    ]
    summary_rows = [[cell(label), cell(tokens, True), cell(value, True)] for label, tokens, value in summary]
    name = head["payee_name"] or head["payee"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Statement for {html.escape(name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #111; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.meta {{ color: #444; font-size: .8rem; word-break: break-all; }}
@media print {{ body {{ margin: 0; max-width: none; }} h2 {{ break-after: avoid; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>Statement for {html.escape(name)}</h1>
<p>{html.escape(period)}. Tokens: 1 token = 0.001 credit; money at {head['rate']} tokens per
{html.escape(str(currency))}, rounded down.</p>
<h2>Summary</h2>
{table(["", "tokens", "money"], summary_rows)}
<h2>Tracks</h2>
{table(["track", "artists", "ISRC", "paid plays", "free plays", "your tokens", "co-op's tokens", "money"], track_rows)}
<h2>Tokens earned by split</h2>
{table(["track", "split", "paid plays", "tokens", "money"], split_rows)}
<h2>Payouts in the period</h2>
{table(["paid", "reference", "tokens", "money", "settlement"], payout_rows) if payout_rows else "<p>None.</p>"}
<h2>Ledger</h2>
<p class="meta">Payee {html.escape(head['payee'])}; chain {html.escape(str(head['chain_id']))},
height {head['at_height']}, app hash {html.escape(str(head['app_hash']))}; digest
{html.escape(lines[-1]['sha256'])} over {lines[-1]['lines']} lines. Check it with
<code>resonate audit FILE --node URL</code>.</p>
<script type="application/json" id="statement-lines">{embedded}</script>
</body></html>
"""


# -- audit

def audit(text, node_urls, clients=None):
    """Recompute a statement (its text: JSON, CSV or HTML) from every node in `node_urls`
    and compare line by line; check its digest against its own lines."""
    lines = read_lines(text)
    try:
        head = lines[0]
        payee, period, at_height = head["payee"], Period(**head["period"]), head["at_height"]
    except (IndexError, KeyError, TypeError) as exc:
        raise StatementError(f"not a statement: its first line states no payee, period and "
                             f"height ({exc!r})") from None
    ledgers = [NodeStatements(url, (clients or {}).get(url)) for url in node_urls]
    computed = [statement_lines(ledger, payee, period, at_height) for ledger in ledgers]
    findings, digest, stated, number = [], Digest(), None, 0
    for number, (line, *node_lines) in enumerate(itertools.zip_longest(lines, *computed), 1):
        if len(findings) >= MAX_DIFFERENCES:
            findings.append(f"stopped after {MAX_DIFFERENCES} differences")
            break
        if isinstance(line, dict) and line.get("kind") == "digest":
            stated = line
        elif line is not None:
            digest.add(line)
        for url, item in zip(node_urls[1:], node_lines[1:]):
            if item != node_lines[0]:
                findings.append("nodes disagree: " + _line_finding(number, item, node_lines[0],
                                                                   url, node_urls[0]))
        if line != node_lines[0]:
            findings.append(_line_finding(number, line, node_lines[0], "the statement", node_urls[0]))
    if stated is not None and stated != digest.line():
        findings.append(f"digest: the statement states {stated['sha256']} over {stated['lines']} "
                        f"lines, but its lines hash to {digest.line()['sha256']} over {digest.count}")
    for ledger in ledgers:
        findings += ledger.findings
    return Audit(findings, number, sum(ledger.verified for ledger in ledgers), node_urls)
