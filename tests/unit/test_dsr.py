"""The DSR a report renders (bigchaindb_resonate/reports/dsr.py), checked record by record
against the DDEX DSRF flat-file Basic Audio Profile.

The profile's field lists below are data taken from DDEX's schema library, kept here apart
from the writer's own column table so that a slip in either one shows:
github.com/ddexnet/dsrf, schemas/BasicAudioProfile/1.2/BasicAudioProfile.xsd (the complex
types RecordType-HEAD, RecordType-SY0202, RecordType-AS0202, RecordType-SU02 and
RecordType-FOOT: cell names in order, minOccurs 0 = optional, maxOccurs unbounded =
repeated, the types and patterns), allowed values from schemas/avs/current/avs.xsd, and
the file name, cell separators and value formats of the library's own validators there
(constants.py, parsers/file_name_validators.py, parsers/cell_validators.py,
parsers/dsrf_file_parser.py).

Files written by this code were also run once through that library itself (its
`run_dsrf.py` and `conformance/conformance_processor.py`, on Python 3 with small local
fixes; nothing of it is in this repository): file name, cell formats and block
conformance passed, where the earlier output was refused at its HEAD.
"""
import hashlib
import re

import pytest

from bigchaindb_resonate.reports import dsr
from bigchaindb_resonate.reports.formats import render

from .test_reports import by_kind, history, lines_of  # noqa: F401 (history is a fixture)

MANDATORY, OPTIONAL, REPEATED = "1", "0..1", "0..n"
FORMATS = {
    "string": r".+",
    "integer": r"-?\d+",
    "decimal": r"-?\d+(\.\d+)?",  # xs:decimal: no exponent, a point
    "boolean": r"true|false",
    "date": r"\d{4}(-\d{2})?(-\d{2})?",  # ddex_IsoDate
    "datetime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[-+]\d{2}:?\d{2})",
    "duration": r"P(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?",
    "dpid": r"PADPIDA[a-zA-Z0-9]+",
    "party_id": r".*::.*",
    "isrc": r"[a-zA-Z]{2}[a-zA-Z0-9]{3}[0-9]{7}",
    "iswc": r"T[0-9]{10}",
    "message_version": r"dsrf/.+",
    "currency": r"[A-Z]{3}",  # avs:CurrencyCode (ISO 4217; XXX is not in the set)
    "territory": r"[A-Z]{2}|Worldwide",  # avs:CurrentTerritoryCode, as we use it
    # xs:string in the XSD, but the library's file parser (parsers/dsrf_file_parser.py)
    # refuses a BlockId that is not an integer.
    "block_id": r"[0-9]+",
}
ALLOWED = {
    "profile": {"BasicAudioProfile", "BasicAudioProfileSRB", "UGCProfile", "AudioVisualProfile",
                "AudioVisualProfileSRB", "RoyaltyReportingProfile", "RadioBroadcastProfile",
                "FinancialReportingToRecordCompaniesProfileSRB", "MasterListProfile",
                "MasterListProfileSRB"},
    "commercial_model": {"AdvertisementSupportedModel", "AsPerContract", "DeviceFeeModel",
                         "FreeOfChargeModel", "PayAsYouGoModel", "PerformanceRoyaltiesModel",
                         "RightsClaimModel", "SubscriptionModel", "Unknown", "UserDefined"},
    "use_type": {"AsPerContract", "Broadcast", "Cable", "ConditionalDownload",
                 "ContentInfluencedStream", "Display", "Download", "Dub",
                 "DubForAdvertisement", "DubForLivePerformance", "DubForMovies",
                 "DubForMusicOnHold", "DubForPublicPerformance", "DubForRadio", "DubForTV",
                 "ExtractForInternet", "KioskDownload", "Narrowcast", "NonInteractiveStream",
                 "OnDemandStream", "Perform", "PerformAsMusicOnHold", "PerformInLivePerformance",
                 "PerformInPublic", "PermanentDownload", "Playback", "PlayInPublic", "Podcast",
                 "Print", "PrivateCopy", "PurchaseAsPhysicalProduct", "Rent", "Simulcast",
                 "Stream", "TetheredDownload", "TimeInfluencedStream", "Unknown", "Use",
                 "UseAsAlertTone", "UseAsDevice", "UseAsKaraoke", "UseAsRingbackTone",
                 "UseAsRingbackTune", "UseAsRingtone", "UseAsRingtune", "UseAsScreensaver",
                 "UseAsVoiceMail", "UseAsWallpaper", "UseForIdentification",
                 "UseInMobilePhoneMessaging", "UseInPhoneListening", "UserDefined",
                 "UserMakeAvailableLabelProvided", "UserMakeAvailableUserProvided", "Webcast"},
    "resource_type": {"Image", "MIDI", "SheetMusic", "Software", "SoundRecording", "Text",
                      "UserDefinedResource", "Video"},
}

# Each record type: its cells after RecordType, in order, as (name, occurrence, format).
PROFILE = {
    "HEAD": [
        ("MessageVersion", MANDATORY, "message_version"), ("Profile", MANDATORY, "profile"),
        ("ProfileVersion", MANDATORY, "string"), ("MessageId", MANDATORY, "string"),
        ("MessageCreatedDateTime", MANDATORY, "datetime"), ("FileNumber", MANDATORY, "integer"),
        ("NumberOfFiles", MANDATORY, "integer"), ("UsageStartDate", MANDATORY, "date"),
        ("UsageEndDate", MANDATORY, "date"), ("SenderPartyId", MANDATORY, "dpid"),
        ("SenderName", MANDATORY, "string"), ("ServiceDescription", OPTIONAL, "string"),
        ("RecipientPartyId", OPTIONAL, "dpid"), ("RecipientName", OPTIONAL, "string"),
        ("RepresentedRepertoire", REPEATED, "string"),
    ],
    "SY02.02": [
        ("SummaryRecordId", MANDATORY, "string"), ("DistributionChannel", OPTIONAL, "string"),
        ("DistributionChannelDPID", OPTIONAL, "dpid"),
        ("CommercialModel", MANDATORY, "commercial_model"), ("UseType", MANDATORY, "use_type"),
        ("Territory", MANDATORY, "territory"), ("ServiceDescription", MANDATORY, "string"),
        ("Usages", MANDATORY, "integer"), ("Users", OPTIONAL, "integer"),
        ("CurrencyOfReporting", MANDATORY, "currency"), ("NetRevenue", MANDATORY, "decimal"),
        ("RightsController", OPTIONAL, "string"),
        ("RightsControllerPartyId", OPTIONAL, "party_id"),
        ("AllocatedUsages", REPEATED, "decimal"), ("AllocatedRevenue", REPEATED, "decimal"),
        ("AllocatedNetRevenue", OPTIONAL, "decimal"), ("RightsType", OPTIONAL, "string"),
        ("ContentCategory", MANDATORY, "string"), ("CurrencyOfTransaction", OPTIONAL, "currency"),
        ("ExchangeRate", OPTIONAL, "decimal"), ("RightsTypePercentage", OPTIONAL, "decimal"),
    ],
    "AS02.02": [
        ("BlockId", MANDATORY, "block_id"), ("ResourceReference", MANDATORY, "string"),
        ("DspResourceId", MANDATORY, "string"), ("ISRC", REPEATED, "isrc"),
        ("Title", MANDATORY, "string"), ("SubTitle", OPTIONAL, "string"),
        ("DisplayArtistName", MANDATORY, "string"),
        ("DisplayArtistPartyId", OPTIONAL, "party_id"), ("Duration", OPTIONAL, "duration"),
        ("ResourceType", MANDATORY, "resource_type"), ("ISWC", OPTIONAL, "iswc"),
        ("ComposerAuthor", REPEATED, "string"), ("ComposerAuthorPartyId", REPEATED, "party_id"),
        ("Arranger", REPEATED, "string"), ("ArrangerPartyId", REPEATED, "party_id"),
        ("MusicPublisher", REPEATED, "string"), ("MusicPublisherPartyId", REPEATED, "party_id"),
        ("WorkContributor", REPEATED, "string"),
        ("WorkContributorPartyId", REPEATED, "party_id"),
        ("ProprietaryWorkId", OPTIONAL, "party_id"), ("IsMasterRecording", OPTIONAL, "boolean"),
    ],
    "SU02": [
        ("BlockId", MANDATORY, "block_id"), ("SummaryRecordId", MANDATORY, "string"),
        ("SalesTransactionId", MANDATORY, "string"), ("TransactedRelease", OPTIONAL, "string"),
        ("TransactedResource", OPTIONAL, "string"), ("IsRoyaltyBearing", OPTIONAL, "boolean"),
        ("NumberOfStreams", MANDATORY, "integer"),
        ("PriceConsumerPaidExcSalesTax", OPTIONAL, "decimal"),
        ("PromotionalActivity", OPTIONAL, "string"),
    ],
    "FOOT": [
        ("NumberOfLinesInFile", MANDATORY, "integer"),
        ("NumberOfLinesInReport", OPTIONAL, "integer"),
        ("NumberOfSummaryRecords", MANDATORY, "integer"),
        ("NumberOfBlocksInFile", MANDATORY, "integer"),
        ("NumberOfBlocksInReport", OPTIONAL, "integer"),
    ],
}
SUMMARY_TYPES = {"SY02.02"}
RESOURCE_TYPES = {"AS02.02"}
USAGE_TYPES = {"SU02"}
# The library's file-name rule (constants.py): eight parts separated by `_`.
FILE_NAME = re.compile(
    r"DSR_(?P<recipient>[^_]+)_(?P<sender>[^_]+)_(?P<service>[^_ ]+)_"
    r"(?P<period>\d{4}((-\d{2,3})|(-\d{2}-\d{2}(--\d{4}-\d{2}-\d{2})?)|(-Q\d))?)_"
    r"(?P<territory>\w{2}|\d{1,4}|Worldwide|Multi)_(?P<x>\d+)of(?P<y>\d+)_"
    r"(?P<created>\d{8}T\d{6})\.(tsv|tsv\.gz)")


def _values(cell):
    """A repeated cell's values: split on `|` not escaped by `\\`."""
    return [value.replace("\\|", "|") for value in re.split(r"(?<!\\)\|", cell)]


def conformance_problems(text):
    """Everything in a DSR file that the profile does not allow, as readable lines."""
    problems, order = [], []
    lines = text.split("\n")
    if lines[-1] != "":
        problems.append("the file does not end with a line break")
    lines = lines[:-1]
    blocks, block, summary_ids, references = 0, None, set(), {}
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        record_type, *cells = line.split("\t")
        fields = PROFILE.get(record_type)
        if fields is None:
            problems.append(f"line {number}: `{record_type}` is no record of the profile")
            continue
        if len(cells) != len(fields):
            problems.append(f"line {number}: {record_type} has {len(cells)} cells, the "
                            f"profile {len(fields)}")
            continue
        record = {}
        for (name, occurrence, fmt), cell in zip(fields, cells):
            record[name] = cell
            if cell == "":
                if occurrence == MANDATORY:
                    problems.append(f"line {number}: {record_type} {name} is mandatory")
                continue
            values = _values(cell) if occurrence == REPEATED else [cell]
            for value in values:
                ok = (value in ALLOWED[fmt] if fmt in ALLOWED
                      else re.fullmatch(FORMATS[fmt], value) is not None)
                if not ok:
                    problems.append(f"line {number}: {record_type} {name} `{value}` is not "
                                    f"a valid {fmt}")
        # Where each record may stand: HEAD, summaries, blocks (a resource, then its usage
        # lines), FOOT.
        stage = ("HEAD" if record_type == "HEAD" else "summary" if record_type in SUMMARY_TYPES
                 else "block" if record_type in RESOURCE_TYPES | USAGE_TYPES else "FOOT")
        expected_next = {None: {"HEAD"}, "HEAD": {"summary"}, "summary": {"summary", "block", "FOOT"},
                         "block": {"block", "FOOT"}, "FOOT": set()}
        previous = order[-1] if order else None
        if stage != previous and stage not in expected_next[previous]:
            problems.append(f"line {number}: {record_type} after {previous or 'nothing'}")
        order.append(stage)
        if record_type in SUMMARY_TYPES:
            summary_ids.add(record["SummaryRecordId"])
        elif record_type in RESOURCE_TYPES:
            if block is not None and not block["usages"]:
                problems.append(f"line {number}: block {block['id']} has no usage record")
            blocks += 1
            block = {"id": record["BlockId"], "usages": 0}
            references = {record["ResourceReference"]}
        elif record_type in USAGE_TYPES:
            if block is None or record["BlockId"] != block["id"]:
                problems.append(f"line {number}: usage record outside its block")
            else:
                block["usages"] += 1
            if record["SummaryRecordId"] not in summary_ids:
                problems.append(f"line {number}: names no summary record")
            if bool(record["TransactedRelease"]) == bool(record["TransactedResource"]):
                problems.append(f"line {number}: needs one of TransactedRelease and "
                                f"TransactedResource")
            if record["TransactedResource"] and record["TransactedResource"] not in references:
                problems.append(f"line {number}: TransactedResource names no resource of the block")
            if not record["PriceConsumerPaidExcSalesTax"]:  # mandatory for PayAsYouGoModel
                problems.append(f"line {number}: a pay-as-you-go usage needs its price")
        elif record_type == "FOOT":
            expected = {"NumberOfLinesInFile": len(lines), "NumberOfSummaryRecords": len(summary_ids),
                        "NumberOfBlocksInFile": blocks}
            for name, value in expected.items():
                if record[name] != str(value):
                    problems.append(f"FOOT {name} is {record[name]}, the file has {value}")
    if order.count("HEAD") != 1 or order.count("FOOT") != 1 or "summary" not in order:
        problems.append("a file has one HEAD, at least one summary record and one FOOT")
    return problems


def dsr_of(lines):
    return "".join(render(iter(lines), "dsr"))


# -- the conformance check itself catches what the issue found wrong

def test_the_checker_refuses_what_the_old_output_did(history):
    text = dsr_of(lines_of(history))
    assert conformance_problems(text) == []
    records = text.split("\n")
    head = next(i for i, record in enumerate(records) if record.startswith("HEAD\t"))
    usage = next(i for i, record in enumerate(records) if record.startswith("SU02\t"))
    foot = len(records) - 2

    def changed(index, new):
        return "\n".join(records[:index] + [new] + records[index + 1:])

    cells = records[head].split("\t")
    assert any("HEAD has 16 cells" in p or "not a valid" in p for p in conformance_problems(
        changed(head, "\t".join(cells[:2] + cells[3:] + [""]))))  # a column out of place
    assert any("is no record" in p for p in conformance_problems(
        changed(usage, records[usage].replace("SU02", "SU01", 1))))  # unversioned downloads
    su = records[usage].split("\t")
    assert any("SalesTransactionId is mandatory" in p for p in conformance_problems(
        changed(usage, "\t".join(su[:3] + [""] + su[4:]))))
    assert any("FOOT NumberOfLinesInFile" in p for p in conformance_problems(
        changed(foot, "FOOT\t3\t\t3\t3\t")))
    assert any("mandatory" in p for p in conformance_problems(text.replace(
        "\tAbusey Junction\t", "\t\t")))  # no title


# -- the report's DSR

@pytest.mark.parametrize("case, recipient", [
    ("network", "AllLicensors"), ("track", "Kokoroko"), ("party", "Kokoroko"),
    ("empty", "AllLicensors"), ("track-unplayed", "AllLicensors")])
def test_every_record_conforms_to_the_profile(history, case, recipient):
    scope, period = {
        "network": ("network", {}), "empty": ("network", {"from_height": 100}),
        "track": (f"track:{history.track1['id']}", {}),
        "party": (f"party:{history.party['id']}", {}),
        "track-unplayed": (f"track:{history.track3['id']}", {"to_height": 4})}[case]
    text = dsr_of(lines_of(history, scope, **period))
    assert conformance_problems(text) == []
    parsed = dsr.parse(text.splitlines(True))
    assert parsed["head"]["RecipientName"] == recipient
    match = FILE_NAME.fullmatch(dsr.file_name(parsed))
    assert match, dsr.file_name(parsed)
    head = parsed["head"]
    assert match["sender"] == head["SenderPartyId"] and match["service"] == head["ServiceDescription"]
    assert (match["x"], match["y"]) == (head["FileNumber"], head["NumberOfFiles"]) == ("1", "1")


def test_the_network_dsr_figure_by_figure(history):
    lines = lines_of(history)
    text = dsr_of(lines)
    parsed = dsr.parse(text.splitlines(True))
    head = parsed["head"]
    assert (head["Profile"], head["ProfileVersion"]) == ("BasicAudioProfile", "1.2")
    assert head["MessageId"] == lines[-1]["sha256"]  # the report's digest
    assert head["MessageCreatedDateTime"] == "2023-11-18T22:13:40Z"  # block 7's consensus time
    assert (head["UsageStartDate"], head["UsageEndDate"]) == ("2023-11-14", "2023-11-18")
    assert (head["SenderPartyId"], head["SenderName"]) == ("PADPIDAUNREGISTERED", "Resonate")
    assert dsr.file_name(parsed) == ("DSR_AllLicensors_PADPIDAUNREGISTERED_StreamToOwn_"
                                     "2023-11-14--2023-11-18_Multi_1of1_20231118T221340.tsv")
    # One summary per territory, in EUR at 800 tokens per euro: GB 1022 tokens = 1.2775.
    summaries = {s["Territory"]: s for s in parsed["summaries"]}
    assert {t: (s["Usages"], s["NetRevenue"], s["CurrencyOfReporting"], s["CommercialModel"],
                s["UseType"]) for t, s in summaries.items()} == {
        "GB": ("10", "1.2775", "EUR", "PayAsYouGoModel", "OnDemandStream"),
        "IE": ("3", "0.01", "EUR", "PayAsYouGoModel", "OnDemandStream"),
        "US": ("2", "0.0075", "EUR", "PayAsYouGoModel", "OnDemandStream")}
    payees = sum(line["amount"] for line in by_kind(lines, "payee"))
    assert dsr.micros_of(parsed["totals"]["allocated"]) == sum(
        dsr.micros(line["tokens"] - _coop(lines, line["territory"]), 800)
        for line in by_kind(lines, "territory"))
    assert payees == by_kind(lines, "totals")[0]["payee_tokens"]
    # Blocks: tracks with an ISRC first; title, artist, ISWC and composers from the registry.
    resources = [block["resource"] for block in parsed["blocks"]]
    assert [(r["ISRC"], r["Title"], r["DisplayArtistName"], r["ISWC"], r["ComposerAuthor"])
            for r in resources] == [
        ("GBAYE6900531", "Abusey Junction", "Kokoroko", "T0345246801", "Onome Edgeworth"),
        ("USRC17607839", "Elsewhere", "Band | Friends", "", "Band | Friends"),
        ("", "Live", "Kokoroko", "T0345246801", "Onome Edgeworth")]
    assert "\tBand \\| Friends\t" in text  # `|` escaped in the file
    assert [r["DspResourceId"] for r in resources] == [
        history.track1["id"], history.track3["id"], history.track2["id"]]
    assert resources[0]["ProprietaryWorkId"] == f"PADPIDAUNREGISTERED::{history.work['id']}"
    # Track 1's usage: one line per territory and price step; the 10th play is free and
    # bears no royalty. Each line's SalesTransactionId hashes the plays it adds up.
    plays = by_kind(lines, "play")
    usages = parsed["blocks"][0]["usages"]
    gb = [(u["NumberOfStreams"], u["PriceConsumerPaidExcSalesTax"], u["IsRoyaltyBearing"])
          for u in usages if u["SummaryRecordId"] == summaries["GB"]["SummaryRecordId"]]
    assert gb == [("1", dsr.decimal(dsr.micros(2 ** n, 800)), "true") for n in range(1, 10)] + [
        ("1", "0.00", "false")]
    assert gb[0][1] == "0.0025" and gb[8][1] == "0.64"
    ie = [u for u in usages if u["SummaryRecordId"] == summaries["IE"]["SummaryRecordId"]]
    assert [u["PriceConsumerPaidExcSalesTax"] for u in ie] == ["0.0025", "0.005"]
    first_ie = [p["tx"] for p in plays if p["territory"] == "IE"
                and p["track"] == history.track1["id"] and p["price"] == 2]
    assert ie[0]["SalesTransactionId"] == hashlib.sha256(
        "".join(f"{tx}\n" for tx in first_ie).encode()).hexdigest()
    totals = by_kind(lines, "totals")[0]
    assert parsed["totals"]["streams"] == totals["paid_plays"] + totals["free_plays"] == 15
    assert parsed["totals"]["royalty_bearing"] == totals["paid_plays"]
    assert parsed["totals"]["revenue"] == dsr.decimal(dsr.micros(totals["tokens"], 800))


def _coop(lines, territory):
    tx_territory = {p["tx"]: p["territory"] for p in by_kind(lines, "play")}
    return sum(p["amount"] for p in by_kind(lines, "payment")
               if p["role"] == "coop" and tx_territory[p["tx"]] == territory)


def test_plays_at_the_same_step_add_up_in_one_usage_line(history):
    """Two listeners' first plays of a track in one territory: one line of two streams."""
    lines = lines_of(history)
    moved = [{**line, "territory": "GB"} if line["kind"] == "play" else line for line in lines]
    parsed = dsr.parse(dsr_of(moved).splitlines(True))
    first = [u for u in parsed["blocks"][0]["usages"] if u["PriceConsumerPaidExcSalesTax"] == "0.0025"]
    assert [u["NumberOfStreams"] for u in first] == ["2"]
    assert len(parsed["summaries"]) == 1 and parsed["summaries"][0]["Usages"] == "15"


@pytest.mark.parametrize("rate, currency", [(800, "EUR"), (3, "USD"), (7, "GBP"), (10 ** 9, "JPY")])
def test_any_payout_rate_gives_a_file_that_adds_up(history, rate, currency):
    lines = [{**line, "payout_rate": rate, "payout_currency": currency}
             if line["kind"] == "report" else line for line in lines_of(history)]
    text = dsr_of(lines)
    assert conformance_problems(text) == []
    parsed = dsr.parse(text.splitlines(True))  # raises unless summaries equal their lines
    assert {s["CurrencyOfReporting"] for s in parsed["summaries"]} == {currency}


@pytest.mark.parametrize("tokens, rate, text", [
    (0, 800, "0.00"), (2, 800, "0.0025"), (1022, 800, "1.2775"), (800, 800, "1.00"),
    (1, 3, "0.333333"), (2, 3, "0.666667"), (1, 10 ** 9, "0.00"), (10 ** 18 + 7, 1, "1000000000000000007.00"),
])
def test_money_is_exact_decimal_text_without_floating_point(tokens, rate, text):
    assert dsr.decimal(dsr.micros(tokens, rate)) == text
    assert dsr.decimal(dsr.micros_of(text)) == text
    with pytest.raises(ValueError):
        dsr.micros_of("1e-3")


def test_a_file_that_does_not_add_up_is_refused(history):
    text = dsr_of(lines_of(history))
    streams = text.replace("\tStreamToOwn\t10\t", "\tStreamToOwn\t11\t")
    with pytest.raises(dsr.DsrError, match="streams"):
        dsr.parse(streams.splitlines(True))
    foot = text.rsplit("FOOT", 1)
    with pytest.raises(dsr.DsrError, match="FOOT"):
        dsr.parse((foot[0] + "FOOT\t1" + foot[1][foot[1].index("\t", 1):]).splitlines(True))
    with pytest.raises(dsr.DsrError, match="unknown record type"):
        dsr.parse(text.replace("\nSU02\t", "\nSU01\t", 1).splitlines(True))


def test_cells_escape_what_would_split_them():
    record = dsr._record("AS02.02", BlockId="BL1", Title="Tab\there | back\\slash",
                         ComposerAuthor=["A|B", "C"])
    cells = dsr.cells(record)
    assert len(cells) == 1 + len(dsr.COLUMNS["AS02.02"]) and record.count("\n") == 1
    title = dsr.COLUMNS["AS02.02"].index("Title") + 1
    composers = dsr.COLUMNS["AS02.02"].index("ComposerAuthor") + 1
    assert cells[title] == "Tab here | back\\slash"
    assert _values(record.split("\t")[composers]) == ["A|B", "C"]


def test_the_writer_columns_are_the_profile_fields():
    """The writer's own table (dsr.COLUMNS) names the profile's cells in its order."""
    assert {record: [name for name, _, _ in fields] for record, fields in PROFILE.items()} == \
        dsr.COLUMNS
