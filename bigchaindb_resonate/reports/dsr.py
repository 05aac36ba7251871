"""A report as a DDEX DSRF flat file of the Basic Audio Profile (version 1.2), and read back.

What the file holds (tab-separated; `|` separates the values of a repeated cell, `\\`
escapes either; lines starting with `#` are comments an ingester skips):

    HEAD     the message: version, profile, MessageId (the report's sha256 digest), created
             (the consensus time of the block it was computed at), one file of one, the
             usage period's dates, the co-op as sender (network parameters ddex_sender_id
             and ddex_sender_name), the service, the recipient (the party a party report is
             for, the artist of a track report, else all licensors)
    #Ledger  a comment: chain id, height, app hash, scope and period, from which
             `resonate audit` recomputes the file from any node
    #...     a heading comment per record type
    SY02.02  one summary per territory: PayAsYouGoModel, OnDemandStream, the number of
             streams, the net revenue (what listeners paid) and the part of it allocated to
             rights holders (less the co-op's share), in the payout currency
    AS02.02  one block per track: BlockId, the MANIFESTATION id, ISRC, title, display artist,
             ISWC, composers and lyricists, the WORK id as a proprietary work id
    SU02     in each block, one usage line per territory and step of the stream-to-own
             curve: the streams at that step, the price per stream, IsRoyaltyBearing (false
             for the free plays after the ninth), and as SalesTransactionId the sha256 of
             the ids of the PLAY transactions it adds up, one per line in commit order
    FOOT     lines in the file, summary records, blocks

Money is converted from integer tokens at the network's payout rate (tokens per unit of
the payout currency), in integers of a millionth of the unit, half up: a price per stream
is converted once, and a summary's revenue is the sum of its usage lines' streams times
their price, so the file adds up exactly; the allocated revenue is converted from its
token total. No floating point anywhere.
"""
import datetime
import hashlib
import json
import re

from bigchaindb_resonate.reports.compute import canonical, spool

MESSAGE_VERSION = "dsrf/1.1.2/1.6/1.0"  # dsrf/<Part 1>/<Part 2 (allowed values)>/<Part 8>
PROFILE, PROFILE_VERSION = "BasicAudioProfile", "1.2"
SERVICE = "StreamToOwn"  # ServiceDescription: no spaces or underscores
COMMERCIAL_MODEL, USE_TYPE = "PayAsYouGoModel", "OnDemandStream"
RESOURCE_TYPE, CONTENT_CATEGORY = "SoundRecording", "Music"
RESOURCE_REFERENCE = "RES1"  # one resource per block
ALL_LICENSORS = "AllLicensors"
MICROS = 10 ** 6
LEDGER = "#Ledger"

# The cells of each record, in the order the profile defines them (its XSD,
# ddexnet/dsrf schemas/BasicAudioProfile/1.2); the writer fills those it knows.
COLUMNS = {
    "HEAD": ["MessageVersion", "Profile", "ProfileVersion", "MessageId",
             "MessageCreatedDateTime", "FileNumber", "NumberOfFiles", "UsageStartDate",
             "UsageEndDate", "SenderPartyId", "SenderName", "ServiceDescription",
             "RecipientPartyId", "RecipientName", "RepresentedRepertoire"],
    "SY02.02": ["SummaryRecordId", "DistributionChannel", "DistributionChannelDPID",
                "CommercialModel", "UseType", "Territory", "ServiceDescription", "Usages",
                "Users", "CurrencyOfReporting", "NetRevenue", "RightsController",
                "RightsControllerPartyId", "AllocatedUsages", "AllocatedRevenue",
                "AllocatedNetRevenue", "RightsType", "ContentCategory",
                "CurrencyOfTransaction", "ExchangeRate", "RightsTypePercentage"],
    "AS02.02": ["BlockId", "ResourceReference", "DspResourceId", "ISRC", "Title", "SubTitle",
                "DisplayArtistName", "DisplayArtistPartyId", "Duration", "ResourceType",
                "ISWC", "ComposerAuthor", "ComposerAuthorPartyId", "Arranger",
                "ArrangerPartyId", "MusicPublisher", "MusicPublisherPartyId",
                "WorkContributor", "WorkContributorPartyId", "ProprietaryWorkId",
                "IsMasterRecording"],
    "SU02": ["BlockId", "SummaryRecordId", "SalesTransactionId", "TransactedRelease",
             "TransactedResource", "IsRoyaltyBearing", "NumberOfStreams",
             "PriceConsumerPaidExcSalesTax", "PromotionalActivity"],
    "FOOT": ["NumberOfLinesInFile", "NumberOfLinesInReport", "NumberOfSummaryRecords",
             "NumberOfBlocksInFile", "NumberOfBlocksInReport"],
}
SUMMARY, RESOURCE, USAGE = "SY02.02", "AS02.02", "SU02"
SPOOL = """
    CREATE TABLE usage (seq INTEGER PRIMARY KEY, play TEXT UNIQUE, track TEXT,
                        territory TEXT, price INTEGER, net INTEGER);
    CREATE TABLE track (track TEXT PRIMARY KEY, line TEXT);"""


class DsrError(ValueError):
    """A file that is not a DSR this module wrote, or whose figures do not add up."""


# -- values

def micros(tokens, rate):
    """Tokens in millionths of a unit of money at `rate` tokens per unit, half up."""
    whole, rest = divmod(tokens * MICROS, rate)
    return whole + (2 * rest >= rate)


def decimal(amount_micros):
    """Millionths as a decimal with 2 to 6 places: 2500 -> '0.0025', 1277500 -> '1.2775'."""
    sign = "-" if amount_micros < 0 else ""
    whole, fraction = divmod(abs(amount_micros), MICROS)
    fraction = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{fraction}"


def micros_of(text):
    """'0.0025' -> 2500, without floating point."""
    match = re.fullmatch(r"(-?)(\d+)\.(\d{1,6})", text)
    if match is None:
        raise DsrError(f"`{text}` is not a decimal with 1 to 6 places")
    sign, whole, fraction = match.groups()
    value = int(whole) * MICROS + int(fraction.ljust(6, "0"))
    return -value if sign else value


def _instant(seconds):
    return datetime.datetime.fromtimestamp(seconds or 0, datetime.timezone.utc)


def _cell(value):
    """A cell's text: repeated values joined by `|`; `\\` and `|` escaped; no tabs or line
    breaks (they would split cells and records)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(_cell(item) for item in value)
    text = re.sub(r"[\x00-\x1f\x7f]", " ", str(value))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _record(record_type, **cells):
    unknown = set(cells) - set(COLUMNS[record_type])
    assert not unknown, f"{record_type} has no cells {unknown}"
    return "\t".join([record_type] + [_cell(cells.get(name)) for name in COLUMNS[record_type]]) + "\n"


def play_id(line):
    """A play's id: its PLAY's transaction id, or for a channel play the settlement's id
    and the voucher's sequence (`<settlement>:<sequence>`)."""
    return line["tx"] if line.get("voucher") is None else f"{line['tx']}:{line['voucher']}"


def _sales_transaction_id(txids):
    return hashlib.sha256("".join(f"{txid}\n" for txid in txids).encode()).hexdigest()


def _file_name_part(text):
    """A file-name component: letters, digits and hyphens only (underscores separate)."""
    return re.sub(r"[^0-9A-Za-z-]", "", text or "") or ALL_LICENSORS


# -- writing

def render(lines):
    """The DSR's text chunks. Plays arrive in commit order and are grouped by track,
    territory and price through a spool, so memory stays flat."""
    with spool(SPOOL) as db:
        first_time = None
        for line in lines:
            kind = line["kind"]
            if kind == "report":
                head = line
            elif kind == "play":
                first_time = line["time"] if first_time is None else first_time
                db.execute("INSERT INTO usage (play, track, territory, price, net) "
                           "VALUES (?, ?, ?, ?, 0)", (play_id(line), line["track"],
                                                      line["territory"], line["price"]))
            elif kind == "payment" and line["role"] == "payee":
                db.execute("UPDATE usage SET net = net + ? WHERE play = ?",
                           (line["amount"], play_id(line)))
            elif kind == "track":
                db.execute("INSERT INTO track VALUES (?, ?)", (line["track"], canonical(line)))
            elif kind == "digest":
                digest = line["sha256"]
        db.executescript("CREATE INDEX grouped ON usage (track, territory, price, seq);"
                         "CREATE INDEX by_territory ON usage (territory, price);")
        yield from _records(db, head, digest, first_time)


def _records(db, head, digest, first_time):
    rate, currency = head["payout_rate"], head["payout_currency"]
    period = head["period"]
    created = _instant(head["created"])
    start = _instant(period.get("from_time", first_time if first_time is not None
                                else head["created"]))
    end = _instant(period["to_time"] - 1) if "to_time" in period else created
    tracks = {track: json.loads(text) for track, text in db.execute("SELECT * FROM track")}
    written = 0

    def emit(text):
        nonlocal written
        written += 1
        return text

    yield emit(_record(
        "HEAD", MessageVersion=MESSAGE_VERSION, Profile=PROFILE, ProfileVersion=PROFILE_VERSION,
        MessageId=digest, MessageCreatedDateTime=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        FileNumber=1, NumberOfFiles=1, UsageStartDate=start.date().isoformat(),
        UsageEndDate=end.date().isoformat(), SenderPartyId=head["ddex_sender_id"],
        SenderName=head["ddex_sender_name"], ServiceDescription=SERVICE,
        RecipientName=recipient(head, tracks)))
    yield emit("\t".join([LEDGER, f"chain_id={head['chain_id'] or ''}",
                          f"height={head['at_height']}", f"app_hash={head['app_hash'] or ''}",
                          f"scope={head['scope']}", f"period={canonical(period)}"]) + "\n")
    for record_type, columns in COLUMNS.items():
        yield emit("\t".join(["#" + record_type] + columns) + "\n")

    # Summaries: one per territory, its revenue the sum of its usage lines.
    territories = db.execute(
        "SELECT territory, count(*), sum(net) FROM usage GROUP BY territory ORDER BY territory"
    ).fetchall() or [("Worldwide", 0, 0)]
    summary_ids = {}
    for number, (territory, streams, net) in enumerate(territories, 1):
        summary_ids[territory] = f"SR{number}"
        revenue = sum(count * micros(price, rate) for price, count in db.execute(
            "SELECT price, count(*) FROM usage WHERE territory = ? GROUP BY price", (territory,)))
        yield emit(_record(
            SUMMARY, SummaryRecordId=summary_ids[territory], CommercialModel=COMMERCIAL_MODEL,
            UseType=USE_TYPE, Territory=territory, ServiceDescription=SERVICE, Usages=streams,
            CurrencyOfReporting=currency, NetRevenue=decimal(revenue),
            AllocatedNetRevenue=decimal(micros(net, rate)), ContentCategory=CONTENT_CATEGORY))

    blocks = 0
    for line in sorted(tracks.values(), key=_block_order):
        blocks += 1
        block_id, track = str(blocks), line["track"]
        yield emit(_record(
            RESOURCE, BlockId=block_id, ResourceReference=RESOURCE_REFERENCE,
            DspResourceId=track, ISRC=line["isrc"], Title=line["title"] or track,
            DisplayArtistName=line["artist"], ResourceType=RESOURCE_TYPE, ISWC=line["iswc"],
            ComposerAuthor=line["composers"] or None,
            ProprietaryWorkId=line["work"] and f"{head['ddex_sender_id']}::{line['work']}"))
        for territory, price, streams in db.execute(
                "SELECT territory, price, count(*) FROM usage WHERE track = ? "
                "GROUP BY territory, price ORDER BY territory, price = 0, price",
                (track,)).fetchall():
            txids = (txid for (txid,) in db.execute(
                "SELECT play FROM usage WHERE track = ? AND territory = ? AND price = ? "
                "ORDER BY seq", (track, territory, price)))
            yield emit(_record(
                USAGE, BlockId=block_id, SummaryRecordId=summary_ids[territory],
                SalesTransactionId=_sales_transaction_id(txids),
                TransactedResource=RESOURCE_REFERENCE,
                IsRoyaltyBearing="true" if price > 0 else "false", NumberOfStreams=streams,
                PriceConsumerPaidExcSalesTax=decimal(micros(price, rate))))
    lines = written + 1
    yield _record("FOOT", NumberOfLinesInFile=lines, NumberOfLinesInReport=lines,
                  NumberOfSummaryRecords=len(territories), NumberOfBlocksInFile=blocks,
                  NumberOfBlocksInReport=blocks)


def _block_order(track_line):
    """Blocks by ISRC (tracks without one last), then by MANIFESTATION id."""
    return (track_line["isrc"] is None, track_line["isrc"] or "", track_line["track"])


def recipient(head, tracks):
    """Whom the report is for: the party of a party report, the artist of a track report
    (known when it was played in the period), else every licensor."""
    if head["scope"].startswith("party:"):
        return head["scope_name"]
    track = tracks.get(head["scope"].split(":", 1)[-1]) if head["scope"].startswith("track:") else None
    return track["artist"] if track else ALL_LICENSORS


def file_name(parsed):
    """The file name DSRF gives a file (a parsed one, see `parse`):
    DSR_<Recipient>_<Sender>_<Service>_<Period>_<Territory>_<x>of<y>_<Created>.tsv."""
    head = parsed["head"]
    start, end = head["UsageStartDate"], head["UsageEndDate"]
    territories = sorted({summary["Territory"] for summary in parsed["summaries"]})
    territory = territories[0] if len(territories) == 1 else "Multi"
    created = head["MessageCreatedDateTime"].replace("-", "").replace(":", "").rstrip("Z")
    return "_".join(["DSR", _file_name_part(head["RecipientPartyId"] or head["RecipientName"]),
                     head["SenderPartyId"] or _file_name_part(head["SenderName"]),
                     head["ServiceDescription"], start if start == end else f"{start}--{end}",
                     territory, f"{head['FileNumber']}of{head['NumberOfFiles']}",
                     created]) + ".tsv"


# -- reading

def cells(text):
    """A record's cells, unescaped; a repeated cell's values stay joined by `|`."""
    found, current, escaped = [], [], False
    for char in text.rstrip("\n"):
        if escaped:
            current.append(char if char in "\\|" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "\t":
            found.append("".join(current))
            current = []
        else:
            current.append(char)
    found.append("".join(current))
    return found


def ledger_of(text_lines):
    """The chain id, height, app hash, scope and period of the `#Ledger` comment."""
    for text in text_lines:
        if text.startswith(LEDGER + "\t"):
            fields = dict(cell.split("=", 1) for cell in text.rstrip("\n").split("\t")[1:])
            return {**fields, "height": int(fields["height"]),
                    "period": json.loads(fields["period"])}
        if not text.startswith(("#", "HEAD\t")):
            break
    raise DsrError("no #Ledger line after the HEAD: this DSR does not say which ledger it "
                   "reports")


def parse(text_lines):
    """A DSR read back: HEAD, summaries and blocks as {cell name: text}, each record's
    cell count checked, and its figures checked against each other: every usage line's
    summary and block, each summary's streams and revenue against its usage lines, and
    FOOT's counts. Raises DsrError on the first thing that does not fit."""
    head, summaries, blocks, foot, number = None, [], [], None, 0
    for number, text in enumerate(text_lines, 1):
        if text.startswith("#"):
            continue
        record_type, *values = text.rstrip("\n").split("\t")
        if record_type not in COLUMNS:
            raise DsrError(f"DSR line {number}: unknown record type `{record_type}`")
        if len(values) != len(COLUMNS[record_type]):
            raise DsrError(f"DSR line {number}: {record_type} has {len(values)} cells, not "
                           f"{len(COLUMNS[record_type])}")
        record = dict(zip(COLUMNS[record_type], cells(text)[1:]))
        if foot is not None or (head is None) != (record_type == "HEAD"):
            raise DsrError(f"DSR line {number}: {record_type} out of place (one HEAD first, "
                           f"one FOOT last)")
        if record_type == "HEAD":
            head = record
        elif record_type == SUMMARY:
            if blocks:
                raise DsrError(f"DSR line {number}: a summary record after the blocks")
            summaries.append(record)
        elif record_type == RESOURCE:
            blocks.append({"resource": record, "usages": []})
        elif record_type == USAGE:
            if not blocks or blocks[-1]["resource"]["BlockId"] != record["BlockId"]:
                raise DsrError(f"DSR line {number}: usage of block {record['BlockId']} outside it")
            blocks[-1]["usages"].append(record)
        else:
            foot = record
    if foot is None:
        raise DsrError("a DSR file ends with a FOOT record")
    expected = {"NumberOfLinesInFile": number, "NumberOfLinesInReport": number,
                "NumberOfSummaryRecords": len(summaries), "NumberOfBlocksInFile": len(blocks),
                "NumberOfBlocksInReport": len(blocks)}
    if foot != {name: str(value) for name, value in expected.items()}:
        raise DsrError(f"FOOT {foot} does not match the file {expected}")
    usages = [usage for block in blocks for usage in block["usages"]]
    for summary in summaries:
        mine = [usage for usage in usages
                if usage["SummaryRecordId"] == summary["SummaryRecordId"]]
        streams = sum(int(usage["NumberOfStreams"]) for usage in mine)
        revenue = sum(int(usage["NumberOfStreams"]) * micros_of(usage["PriceConsumerPaidExcSalesTax"])
                      for usage in mine)
        if (streams, revenue) != (int(summary["Usages"]), micros_of(summary["NetRevenue"])):
            raise DsrError(f"summary {summary['SummaryRecordId']} states {summary['Usages']} "
                           f"streams for {summary['NetRevenue']}, its usage lines add up to "
                           f"{streams} for {decimal(revenue)}")
    if {usage["SummaryRecordId"] for usage in usages} - {s["SummaryRecordId"] for s in summaries}:
        raise DsrError("a usage line names a summary record the file does not have")
    royalty_bearing = [usage for usage in usages if usage["IsRoyaltyBearing"] == "true"]
    return {"head": head, "summaries": summaries, "blocks": blocks, "foot": foot,
            "totals": {"streams": sum(int(u["NumberOfStreams"]) for u in usages),
                       "royalty_bearing": sum(int(u["NumberOfStreams"]) for u in royalty_bearing),
                       "revenue": decimal(sum(micros_of(s["NetRevenue"]) for s in summaries)),
                       "allocated": decimal(sum(micros_of(s["AllocatedNetRevenue"])
                                                for s in summaries))}}
