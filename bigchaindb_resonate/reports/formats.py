"""A report's lines as JSON, CSV or a DDEX DSR-shaped flat file, and each read back.

JSON and CSV carry every line, one per text line (JSON: the canonical text of each line,
inside `{"format": ..., "lines": [...]}`), so they read back to exactly the lines computed
and an audit can name the line that differs. The DSR file carries the usage and revenue
figures a licensor expects; `parse_dsr` reads it back to the same totals.

DSR records (tab-separated, record type first):

    HEAD  version, profile, message id (the report's sha256), created (consensus time of the
          block the report was computed at, ISO 8601 UTC), period start, period end (the
          asked consensus times, else the first play's time and `created`), chain id,
          block height, app hash, scope, the period asked (JSON): enough to recompute it
    SY02  commercial model (PayAsYouGoModel for paid plays, FreeOfChargeModel for plays
          after ownership), use type OnDemandStream, territory, usages, revenue, currency
    AS01  resource block: ISRC (empty when the recording has none), the MANIFESTATION id,
          usages, revenue, net revenue
    SU01  usage line: transaction id, block height, territory, commercial model, usages,
          revenue, net revenue (revenue less the co-op's share), currency
    FOOT  summary records, resource blocks, usage lines, usages, revenue

Revenue is in Resonate credits with three decimals, written from integer tokens
(1 token = 0.001 credit) without floating point. Credits are no ISO 4217 currency, so the
currency code is `XXX` ("no currency"), as ISO 4217 provides for such units.
"""
import csv
import datetime
import io
import json

from bigchaindb_resonate.reports.compute import VERSION, canonical, spool

FORMATS = ("json", "csv", "dsr")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv",
               "dsr": "text/tab-separated-values"}

# The fields of each kind of line, in CSV column order (compute.report_lines writes them).
FIELDS = {
    "report": ["version", "chain_id", "scope", "period", "from_height", "to_height",
               "at_height", "app_hash", "created", "platform_key", "coop_share_bp", "tracks"],
    "play": ["tx", "voucher", "height", "track", "time", "listener", "play_number", "territory",
             "price", "split", "right"],
    "payment": ["tx", "voucher", "height", "track", "split", "payee", "amount", "role"],
    "ownership": ["tx", "voucher", "height", "track", "listener"],
    "track": ["track", "isrc", "paid_plays", "free_plays", "tokens", "ownerships"],
    "territory": ["territory", "paid_plays", "free_plays", "tokens"],
    "payee": ["payee", "split", "track", "amount", "payments"],
    "coop": ["payee", "amount", "payments"],
    "totals": ["paid_plays", "free_plays", "tokens", "ownerships", "payee_tokens",
               "coop_tokens"],
    "digest": ["sha256", "lines"],
}
COLUMNS = ["kind"] + list(dict.fromkeys(field for fields in FIELDS.values() for field in fields))
INTEGER_FIELDS = {"from_height", "to_height", "at_height", "created", "coop_share_bp", "voucher",
                  "height", "time", "play_number", "price", "amount", "paid_plays",
                  "free_plays", "tokens", "ownerships", "payee_tokens", "coop_tokens",
                  "payments", "lines"}
JSON_FIELDS = {"period", "tracks"}


class ReportFormatError(ValueError):
    pass


def render(lines, fmt):
    """The report as text chunks, written as the lines arrive."""
    return {"json": _json_chunks, "csv": _csv_chunks, "dsr": _dsr_chunks}[fmt](lines)


def read_lines(text_lines, fmt):
    """The lines of a JSON or CSV report, from an iterable of its text lines."""
    if fmt == "json":
        return _json_lines(text_lines)
    if fmt == "csv":
        return _csv_lines(text_lines)
    raise ReportFormatError(f"a {fmt} report does not carry every line; read it with parse_dsr")


def detect(first_text_line):
    if first_text_line.startswith("{"):
        return "json"
    if first_text_line.startswith("kind,"):
        return "csv"
    if first_text_line.startswith("HEAD\t"):
        return "dsr"
    raise ReportFormatError("not a report: expected JSON, CSV or a DSR HEAD record")


# -- JSON

def _json_chunks(lines):
    yield canonical({"format": VERSION})[:-1] + ',"lines":[\n'
    separator = ""
    for line in lines:
        yield separator + canonical(line)
        separator = ",\n"
    yield "\n]}\n"


def _json_lines(text_lines):
    for number, text in enumerate(text_lines, 1):
        text = text.rstrip("\n")
        if number == 1 or text in ("]}", ""):
            continue
        try:
            yield json.loads(text.rstrip(","))
        except ValueError as exc:
            raise ReportFormatError(f"text line {number} is not one report line: {exc}") from None


# -- CSV

def _csv_row(values):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":")) if isinstance(
        value, (dict, list)) else str(value)


def _csv_chunks(lines):
    yield _csv_row(COLUMNS)
    for line in lines:
        yield _csv_row([_cell(line.get(column)) for column in COLUMNS])


def _value(field, cell):
    if cell == "":
        return None
    if field in INTEGER_FIELDS:
        return int(cell)
    return json.loads(cell) if field in JSON_FIELDS else cell


def _csv_lines(text_lines):
    rows = csv.DictReader(text_lines)
    for row in rows:
        kind = row["kind"]
        if kind not in FIELDS:
            raise ReportFormatError(f"CSV row {rows.line_num}: unknown kind `{kind}`")
        try:
            yield {"kind": kind, **{field: _value(field, row[field]) for field in FIELDS[kind]}}
        except (ValueError, KeyError) as exc:
            raise ReportFormatError(f"CSV row {rows.line_num}: {exc}") from None


# -- DSR

DSR_VERSION = "resonate-dsr/1"
DSR_PROFILE = "BasicAudioProfile"
CURRENCY = "XXX"
USE_TYPE = "OnDemandStream"
PAID, FREE = "PayAsYouGoModel", "FreeOfChargeModel"
DSR_SPOOL = """
    CREATE TABLE usage (seq INTEGER PRIMARY KEY, play TEXT UNIQUE, height INTEGER,
                        track TEXT, territory TEXT, price INTEGER, net INTEGER);
    CREATE TABLE isrc (track TEXT PRIMARY KEY, isrc TEXT);"""


def credits(tokens):
    """Integer tokens as credits with three decimals: 1022 -> '1.022'."""
    sign = "-" if tokens < 0 else ""
    return f"{sign}{abs(tokens) // 1000}.{abs(tokens) % 1000:03d}"


def tokens_of(text):
    """'1.022' -> 1022, without floating point."""
    whole, dot, fraction = text.lstrip("-").partition(".")
    if not (whole.isdigit() and dot and len(fraction) == 3 and fraction.isdigit()):
        raise ReportFormatError(f"`{text}` is not an amount in credits with three decimals")
    tokens = int(whole) * 1000 + int(fraction)
    return -tokens if text.startswith("-") else tokens


def _iso(seconds):
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _record(*values):
    return "\t".join(str(value) for value in values) + "\n"


def _model(price):
    return PAID if price > 0 else FREE


def play_id(line):
    """A usage's id in a DSR: the PLAY's transaction id, or for a channel play the
    settlement's id and the voucher's sequence (`<settlement>:<sequence>`)."""
    return line["tx"] if line.get("voucher") is None else f"{line['tx']}:{line['voucher']}"


def _dsr_chunks(lines):
    """Usage lines are grouped by recording, which the report lists in commit order, so
    they go through a spool; summaries come from the report's own summary lines."""
    with spool(DSR_SPOOL) as db:
        territories, first_time = [], None
        for line in lines:
            kind = line["kind"]
            if kind == "report":
                head = line
            elif kind == "play":
                first_time = line["time"] if first_time is None else first_time
                db.execute("INSERT INTO usage (play, height, track, territory, price, net) "
                           "VALUES (?, ?, ?, ?, ?, 0)", (play_id(line), line["height"], line["track"],
                                                         line["territory"], line["price"]))
            elif kind == "payment" and line["role"] == "payee":
                db.execute("UPDATE usage SET net = net + ? WHERE play = ?", (line["amount"], play_id(line)))
            elif kind == "track":
                db.execute("INSERT INTO isrc VALUES (?, ?)", (line["track"], line["isrc"] or ""))
            elif kind == "territory":
                territories.append(line)
            elif kind == "digest":
                digest = line["sha256"]
        period = head["period"]
        yield _record("HEAD", DSR_VERSION, DSR_PROFILE, digest, _iso(head["created"]),
                      _iso(period.get("from_time", first_time if first_time is not None
                                      else head["created"])),
                      _iso(period.get("to_time", head["created"])), head["chain_id"] or "",
                      head["at_height"], head["app_hash"] or "", head["scope"], canonical(period))
        summaries = 0
        for line in territories:
            for model, usages, revenue in ((PAID, line["paid_plays"], line["tokens"]),
                                           (FREE, line["free_plays"], 0)):
                if usages:
                    summaries += 1
                    yield _record("SY02", model, USE_TYPE, line["territory"], usages,
                                  credits(revenue), CURRENCY)
        blocks = usages = revenue = 0
        for track, isrc, count, price, net in db.execute(
                "SELECT track, isrc.isrc, count(*), sum(price), sum(net) FROM usage "
                "JOIN isrc USING (track) GROUP BY track ORDER BY isrc.isrc, track").fetchall():
            blocks += 1
            usages += count
            revenue += price
            yield _record("AS01", isrc, track, count, credits(price), credits(net))
            for tx, height, territory, price_, net_ in db.execute(
                    "SELECT play, height, territory, price, net FROM usage WHERE track = ? "
                    "ORDER BY seq", (track,)):
                yield _record("SU01", tx, height, territory, _model(price_), 1, credits(price_),
                              credits(net_), CURRENCY)
        yield _record("FOOT", summaries, blocks, usages, usages, credits(revenue))


def parse_dsr(text_lines):
    """A DSR file read back: its records by type and the totals its usage lines add up to,
    each checked against the file's own summaries, blocks and FOOT."""
    found = {"HEAD": None, "SY02": [], "AS01": [], "SU01": [], "FOOT": None}
    for number, text in enumerate(text_lines, 1):
        record, *values = text.rstrip("\n").split("\t")
        if record not in found:
            raise ReportFormatError(f"DSR line {number}: unknown record type `{record}`")
        if isinstance(found[record], list):
            found[record].append((number, values))
        else:
            found[record] = (number, values)
    if found["HEAD"] is None or found["FOOT"] is None:
        raise ReportFormatError("a DSR file has one HEAD and one FOOT record")
    usages = {PAID: 0, FREE: 0}
    revenue = net = 0
    for _, (tx, height, territory, model, count, price, net_, currency) in found["SU01"]:
        usages[model] += int(count)
        revenue += tokens_of(price)
        net += tokens_of(net_)
    totals = {"paid_plays": usages[PAID], "free_plays": usages[FREE], "tokens": revenue,
              "payee_tokens": net, "coop_tokens": revenue - net}
    summary_usages = sum(int(values[3]) for _, values in found["SY02"])
    summary_revenue = sum(tokens_of(values[4]) for _, values in found["SY02"])
    _, foot = found["FOOT"]
    expected = [len(found["SY02"]), len(found["AS01"]), len(found["SU01"]),
                sum(usages.values()), credits(revenue)]
    if foot != [str(value) for value in expected]:
        raise ReportFormatError(f"FOOT {foot} does not match the records above it {expected}")
    if (summary_usages, summary_revenue) != (sum(usages.values()), revenue):
        raise ReportFormatError("the SY02 summaries do not add up to the usage lines")
    return {"head": found["HEAD"][1], "summaries": [values for _, values in found["SY02"]],
            "blocks": [values for _, values in found["AS01"]], "totals": totals}
