"""A report's lines as JSON, CSV or a DDEX DSRF flat file, and each read back.

JSON and CSV carry every line, one per text line (JSON: the canonical text of each line,
inside `{"format": ..., "lines": [...]}`), so they read back to exactly the lines computed
and an audit can name the line that differs. The DSR (dsr.py) carries what a licensor's
ingester expects: per track and territory, the streams at each step of the price curve and
their revenue in money; `dsr.parse` reads it back and checks that it adds up.
"""
import csv
import datetime
import io
import json

from bigchaindb_resonate.reports import dsr
from bigchaindb_resonate.reports.compute import VERSION, canonical

FORMATS = ("json", "csv", "dsr")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv",
               "dsr": "text/tab-separated-values"}

# The fields of each kind of line, in CSV column order (compute.report_lines writes them).
FIELDS = {
    "report": ["version", "chain_id", "scope", "scope_name", "period", "from_height",
               "to_height", "at_height", "app_hash", "created", "platform_key",
               "coop_share_bp", "payout_rate", "payout_currency", "ddex_sender_id",
               "ddex_sender_name", "tracks"],
    "play": ["tx", "voucher", "height", "track", "time", "listener", "play_number", "territory",
             "price", "split", "right"],
    "payment": ["tx", "voucher", "height", "track", "split", "payee", "amount", "role"],
    "ownership": ["tx", "voucher", "height", "track", "listener"],
    "track": ["track", "title", "artist", "isrc", "work", "iswc", "composers", "paid_plays",
              "free_plays", "tokens", "ownerships"],
    "territory": ["territory", "paid_plays", "free_plays", "tokens"],
    "payee": ["payee", "name", "split", "track", "amount", "payments"],
    "coop": ["payee", "amount", "payments"],
    "totals": ["paid_plays", "free_plays", "tokens", "ownerships", "payee_tokens",
               "coop_tokens"],
    "digest": ["sha256", "lines"],
}
COLUMNS = ["kind"] + list(dict.fromkeys(field for fields in FIELDS.values() for field in fields))
INTEGER_FIELDS = {"from_height", "to_height", "at_height", "created", "coop_share_bp", "payout_rate",
                  "voucher", "height", "time", "play_number", "price", "amount", "paid_plays",
                  "free_plays", "tokens", "ownerships", "payee_tokens", "coop_tokens",
                  "payments", "lines"}
JSON_FIELDS = {"period", "tracks", "composers"}


class ReportFormatError(ValueError):
    pass


def render(lines, fmt):
    """The report as text chunks, written as the lines arrive."""
    return {"json": _json_chunks, "csv": _csv_chunks, "dsr": dsr.render}[fmt](lines)


def read_lines(text_lines, fmt):
    """The lines of a JSON or CSV report, from an iterable of its text lines."""
    if fmt == "json":
        return _json_lines(text_lines)
    if fmt == "csv":
        return _csv_lines(text_lines)
    raise ReportFormatError(f"a {fmt} report does not carry every line; read it with dsr.parse")


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
