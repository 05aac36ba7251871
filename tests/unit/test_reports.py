"""Usage and royalty reports (bigchaindb_resonate/reports/) over a scripted play history:
signed transactions stored the way BigchainDB 2.2.2 stores them, in an in-memory store
(memory_store.py), read through the report routes and BigchainDB-shaped block and
transaction routes."""
import datetime
import hashlib
import json
import re

import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.common.transaction import Transaction
from flask import Flask, jsonify

from bigchaindb_resonate import api, host
from bigchaindb_resonate.client import NotFoundError
from bigchaindb_resonate.reports import audit as audit_module
from bigchaindb_resonate.reports.charts import figures, write_charts
from bigchaindb_resonate.reports.compute import Digest, Period, Scope, StoreLedger, report_lines
from bigchaindb_resonate.reports import dsr
from bigchaindb_resonate.reports.formats import FIELDS, read_lines, render
from bigchaindb_resonate.validators.royalties import play_outputs, price
from .memory_store import MemoryStore

COOP_BP = 3000
T0 = 1_700_000_000  # consensus seconds of block 1
DAY = 86400


# -- the scripted history

def record(operation, data, keypair):
    tx = Transaction.create([keypair.public_key], [([keypair.public_key], 1)], asset=data)
    tx.operation = operation
    return tx.sign([keypair.private_key]).to_dict()


class History:
    """Credits bought by two listeners, then plays across days and territories."""

    def __init__(self):
        host.apply()
        keys = {name: generate_key_pair() for name in
                ("treasury", "platform", "artist", "composer", "band", "listener1", "listener2")}
        self.keys = keys
        self.store = MemoryStore()
        store = self.store
        store.collection("abci_chains").documents.append({"height": 0, "chain_id": "resonate-test"})
        store.collection("network_parameters").documents.append(
            {"chain_id": "resonate-test", "treasury_keys": [keys["treasury"].public_key],
             "platform_key": keys["platform"].public_key, "coop_share_bp": COOP_BP})
        self.party = record("PARTY", {"@type": "MusicGroup", "name": "Kokoroko"}, keys["artist"])
        self.composer = record("PARTY", {"@type": "Person", "givenName": "Onome",
                                         "familyName": "Edgeworth"}, keys["composer"])
        self.band = record("PARTY", {"@type": "MusicGroup", "name": "Band | Friends"}, keys["band"])
        self.work = record("WORK", {"@type": "MusicComposition", "name": "Abusey Junction",
                                    "composer": [self.composer["id"]],
                                    "iswcCode": "T0345246801"}, keys["composer"])
        self.other_work = record("WORK", {"@type": "MusicComposition", "name": "Other",
                                          "composer": [self.band["id"]]}, keys["band"])
        self.track1 = record("MANIFESTATION", {"@type": "MusicRecording", "name": "Abusey Junction",
                                               "recordingOf": self.work["id"],
                                               "byArtist": [self.party["id"]],
                                               "isrcCode": "GBAYE6900531"}, keys["artist"])
        self.track2 = record("MANIFESTATION", {"@type": "MusicRecording", "name": "Live",
                                               "recordingOf": self.work["id"],
                                               "byArtist": [self.party["id"]]}, keys["band"])
        self.track3 = record("MANIFESTATION", {"@type": "MusicRecording", "name": "Elsewhere",
                                               "recordingOf": self.other_work["id"],
                                               "byArtist": [self.band["id"]],
                                               "isrcCode": "USRC17607839"}, keys["band"])
        self.split1 = record("SPLIT", {"@type": "RoyaltySplit", "subject": self.track1["id"], "payees": [
            {"publicKey": keys["artist"].public_key, "shareBp": 6000},
            {"publicKey": keys["composer"].public_key, "shareBp": 4000}]}, keys["artist"])
        self.split3 = record("SPLIT", {"@type": "RoyaltySplit", "subject": self.track3["id"], "payees": [
            {"publicKey": keys["band"].public_key, "shareBp": 10000}]}, keys["band"])
        self.payees = {self.track1["id"]: self.split1, self.track2["id"]: self.split1,
                       self.track3["id"]: self.split3}
        treasury = keys["treasury"]
        credit = Transaction.create([treasury.public_key], [([treasury.public_key], 10 ** 6)],
                                    asset={"@type": "ResonateCredit"})
        credit.operation = "CREDIT"
        self.credit = credit.sign([treasury.private_key]).to_dict()
        sale = Transaction.transfer(
            Transaction.from_dict(self.credit).to_inputs(),
            [([keys["listener1"].public_key], 5000), ([keys["listener2"].public_key], 5000),
             ([treasury.public_key], 10 ** 6 - 10000)], asset_id=self.credit["id"])
        self.sale = sale.sign([treasury.private_key]).to_dict()
        store.commit(1, self.party, self.composer, self.band, self.work, self.other_work,
                     self.credit, time=T0)
        store.commit(2, self.track1, self.track2, self.track3, self.split1, self.split3,
                     self.sale, time=T0 + 10)
        self.balance = {"listener1": (self.sale, 0), "listener2": (self.sale, 1)}
        self.counts = {}
        self.plays = []
        height, time = 3, T0 + 20
        # listener1 plays track1 ten times over three days (owns it at play 8, play 9 is
        # free); listener2 plays track1 twice, track2 once (no ISRC), track3 twice.
        script = ([("listener1", self.track1, "GB")] * 10 + [("listener2", self.track1, "IE")] * 2
                  + [("listener2", self.track2, "IE"), ("listener2", self.track3, "US"),
                     ("listener2", self.track3, "US")])
        for index, (listener, track, territory) in enumerate(script):
            if index % 3 == 0 and index:
                height, time = height + 1, time + DAY
            self.plays.append(self.play(listener, track, territory))
            # two plays per block where the script allows (they spend different listeners'
            # outputs or the previous play's change)
            if index % 3 == 2 or index == len(script) - 1:
                store.commit(height, *self.plays[-(index % 3 + 1):], time=time)

    def play(self, name, track, territory):
        listener = self.keys[name]
        number = self.counts.get((name, track["id"]), 0)
        self.counts[(name, track["id"])] = number + 1
        cost = price(number)
        source, index = self.balance[name]
        spent = int(source["outputs"][index]["amount"])
        split = self.payees[track["id"]]
        payees = [(payee["publicKey"], payee["shareBp"]) for payee in split["asset"]["data"]["payees"]]
        outputs = play_outputs(cost, payees, COOP_BP, self.keys["platform"].public_key,
                               listener.public_key, spent)
        metadata = {"@type": "Play", "track": track["id"], "listener": listener.public_key,
                    "playNumber": number, "territory": territory, "price": cost,
                    "right": "ab" * 32}
        if cost:
            metadata["split"] = split["id"]
        tx = Transaction.transfer(Transaction.from_dict(source).to_inputs([index]), outputs,
                                  asset_id=self.credit["id"], metadata=metadata)
        tx.operation = "PLAY"
        tx = tx.sign([listener.private_key]).to_dict()
        self.balance[name] = (tx, len(tx["outputs"]) - 1)
        return tx


@pytest.fixture(scope="module")
def history():
    return History()


def lines_of(history, scope="network", **period):
    return list(report_lines(StoreLedger(history.store), Scope.parse(scope), Period(**period)))


def by_kind(lines, kind):
    return [line for line in lines if line["kind"] == kind]


# -- figures

def test_every_line_has_exactly_the_fields_of_its_kind(history):
    for line in lines_of(history):
        assert list(line) and set(line) == {"kind", *FIELDS[line["kind"]]}, line


def test_network_report_figure_by_figure(history):
    lines = lines_of(history)
    keys, t1, t2, t3 = history.keys, history.track1["id"], history.track2["id"], history.track3["id"]
    header = lines[0]
    assert header["chain_id"] == "resonate-test" and header["scope"] == "network"
    assert header["at_height"] == header["to_height"] == 7 and header["from_height"] == 1
    assert header["created"] == T0 + 20 + 4 * DAY
    assert header["coop_share_bp"] == COOP_BP and header["tracks"] is None
    assert (header["payout_rate"], header["payout_currency"]) == (800, "EUR")  # the defaults
    assert (header["ddex_sender_id"], header["ddex_sender_name"]) == ("PADPIDAUNREGISTERED",
                                                                      "Resonate")
    plays = by_kind(lines, "play")
    assert [play["tx"] for play in plays] == [tx["id"] for tx in history.plays]  # commit order
    assert [play["price"] for play in plays[:10]] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 0]
    assert plays[9]["split"] is None and plays[0]["split"] == history.split1["id"]
    tracks = {line["track"]: line for line in by_kind(lines, "track")}
    work = history.work["id"]
    assert tracks[t1] == {"kind": "track", "track": t1, "title": "Abusey Junction",
                          "artist": "Kokoroko", "isrc": "GBAYE6900531", "work": work,
                          "iswc": "T0345246801", "composers": ["Onome Edgeworth"],
                          "paid_plays": 11, "free_plays": 1, "tokens": 1022 + 6, "ownerships": 1}
    assert tracks[t2] == {"kind": "track", "track": t2, "title": "Live", "artist": "Kokoroko",
                          "isrc": None, "work": work, "iswc": "T0345246801",
                          "composers": ["Onome Edgeworth"], "paid_plays": 1, "free_plays": 0,
                          "tokens": 2, "ownerships": 0}
    assert tracks[t3]["tokens"] == 2 + 4 and tracks[t3]["isrc"] == "USRC17607839"
    assert (tracks[t3]["artist"], tracks[t3]["iswc"]) == ("Band | Friends", None)
    assert {line["territory"]: line["tokens"] for line in by_kind(lines, "territory")} == {
        "GB": 1022, "IE": 8, "US": 6}
    [ownership] = by_kind(lines, "ownership")
    assert ownership == {"kind": "ownership", "tx": history.plays[8]["id"], "voucher": None,
                         "height": 5, "track": t1, "listener": keys["listener1"].public_key}
    # Every payment is an output of its play; payees and co-op add up to each price.
    for play in plays:
        paid = [line for line in by_kind(lines, "payment") if line["tx"] == play["tx"]]
        assert sum(line["amount"] for line in paid) == play["price"]
        assert all(line["height"] == play["height"] for line in paid)
    payees = {(line["payee"], line["track"]): line["amount"] for line in by_kind(lines, "payee")}
    artist, composer = keys["artist"].public_key, keys["composer"].public_key
    # Payees are named after the credited parties their keys registered.
    assert {line["payee"]: line["name"] for line in by_kind(lines, "payee")} == {
        artist: "Kokoroko", composer: "Onome Edgeworth", keys["band"].public_key: "Band | Friends"}
    # listener1's 1022 on track1: 306 to the co-op (30% rounded down per play plus remainders)
    expected_artist = sum((p - p * COOP_BP // 10000) * 6000 // 10000 for p in (2, 4, 8, 16, 32, 64, 128, 256, 512, 2, 4))
    assert payees[(artist, t1)] == expected_artist
    [coop] = by_kind(lines, "coop")
    totals = by_kind(lines, "totals")[0]
    assert totals == {"kind": "totals", "paid_plays": 14, "free_plays": 1, "tokens": 1036,
                      "ownerships": 1, "payee_tokens": sum(payees.values()),
                      "coop_tokens": coop["amount"]}
    assert totals["payee_tokens"] + totals["coop_tokens"] == totals["tokens"]


def test_scopes_track_and_party(history):
    t1, t2, t3 = history.track1["id"], history.track2["id"], history.track3["id"]
    track = lines_of(history, f"track:{t1}")
    assert {line["track"] for line in by_kind(track, "play")} == {t1}
    assert by_kind(track, "totals")[0]["tokens"] == 1028
    assert track[0]["scope_name"] == "Abusey Junction"
    # The artist party is byArtist of tracks 1 and 2; the composer wrote their work.
    for party, name in ((history.party, "Kokoroko"), (history.composer, "Onome Edgeworth")):
        lines = lines_of(history, f"party:{party['id']}")
        assert lines[0]["tracks"] == sorted([t1, t2]) and lines[0]["scope_name"] == name
        assert {line["track"] for line in by_kind(lines, "track")} == {t1, t2}
    with pytest.raises(LookupError):
        lines_of(history, f"track:{history.work['id']}")


def test_periods_by_height_and_by_consensus_time(history):
    by_height = lines_of(history, from_height=4, to_height=5)
    assert {line["height"] for line in by_kind(by_height, "play")} == {4, 5}
    by_time = lines_of(history, from_time=T0 + 20 + DAY, to_time=T0 + 20 + 3 * DAY)
    assert by_time[0]["from_height"] == 4 and by_time[0]["to_height"] == 5
    assert by_kind(by_time, "play") == by_kind(by_height, "play")
    assert by_time[0]["period"] == {"from_time": T0 + 20 + DAY, "to_time": T0 + 20 + 3 * DAY}
    empty = lines_of(history, from_time=T0 + 100 * DAY)
    assert not by_kind(empty, "play") and by_kind(empty, "totals")[0]["tokens"] == 0


def test_queries_do_not_grow_with_plays(history):
    """The plays cost a fixed number of queries; the registry's names one lookup per
    credited party on top."""
    history.store.finds.clear()
    lines_of(history)
    assert len(history.store.finds) <= 12 + 3


def test_the_same_report_whatever_order_the_store_returns_documents_in(history):
    """Stores return documents in the order they were stored; the report must not depend
    on it, and a transaction stored before its block exists is no play yet."""
    import copy
    import random

    expected = lines_of(history)
    shuffled = copy.deepcopy(history)
    last = max(block["height"] for block in shuffled.store.collection("blocks").documents)
    pending = shuffled.play("listener2", shuffled.track3, "US")
    shuffled.store.stored_before_its_block(last + 1, pending)
    for name in ("transactions", "metadata", "blocks", "block_times", "report_rows"):
        random.Random(name).shuffle(shuffled.store.collection(name).documents)
    got = lines_of(shuffled)
    assert got == expected
    assert pending["id"] not in {line.get("tx") for line in got}
    # The rows are kept at commit; the transactions themselves say the same.
    ledger = StoreLedger(shuffled.store)
    assert list(ledger.plays(1, last, None)) == [
        (height, time, {"id": tx["id"], "metadata": tx["metadata"],
                        "outputs": [{"public_keys": output["public_keys"],
                                     "amount": int(output["amount"])}
                                    for output in tx["outputs"]]})
        for height, time, tx in ledger.plays_from_transactions(1, last, None)]


def test_a_break_in_the_report_rows_is_an_error_not_a_shorter_report(history):
    import copy

    broken = copy.deepcopy(history.store)
    rows = broken.collection("report_rows").documents
    del rows[len(rows) // 2]
    with pytest.raises(LookupError, match="rebuild-totals"):
        list(StoreLedger(broken).plays(1, 10 ** 6, None))


def test_digest_covers_every_line(history):
    lines = lines_of(history)
    digest = Digest()
    for line in lines[:-1]:
        digest.add(line)
    assert lines[-1] == digest.line()
    text = "".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines[:-1])
    assert lines[-1]["sha256"] == hashlib.sha256(text.encode()).hexdigest()


# -- formats

@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_read_back_to_the_same_lines(history, fmt):
    lines = lines_of(history)
    text = "".join(render(iter(lines), fmt))
    assert list(read_lines(text.splitlines(True), fmt)) == lines
    if fmt == "json":
        assert json.loads(text)["lines"] == lines


def _bars(axis):
    return [bar for bar in axis.patches if bar.get_height() > 0 and bar.get_width() > 0]


def _texts(axis):
    return [text.get_text() for text in axis.texts]


ONE_DAY = {"from_height": 3, "to_height": 3}  # three plays in one block


@pytest.mark.parametrize("period", [{}, ONE_DAY], ids=["days", "one-day"])
def test_chart_panels_hold_the_report_figures(history, period):
    lines = lines_of(history, **period)
    plays = by_kind(lines, "play")
    tokens = sum(play["price"] for play in plays)
    drawn = figures(lines)
    plays_axis, money_axis = drawn["plays-and-earnings.png"].axes
    days = {play["time"] // DAY for play in plays}
    assert [label.get_text() for label in money_axis.get_xticklabels()] == [
        datetime.datetime.fromtimestamp(day * DAY, datetime.timezone.utc).strftime("%Y-%m-%d")
        for day in sorted(days)]
    # Every play and every token is in a bar, and each day's total is written on it.
    assert sum(bar.get_height() for bar in _bars(plays_axis)) == len(plays)
    assert sum(bar.get_height() for bar in _bars(money_axis)) == pytest.approx(tokens / 800)
    assert sum(int(text.split()[0]) for text in _texts(plays_axis)) == len(plays)
    money = [re.fullmatch(r"(\d+\.\d+) EUR\n\((\d+) tokens\)", text) for text in _texts(money_axis)]
    assert all(money) and sum(int(found[2]) for found in money) == tokens
    assert [found[1] for found in money] == [dsr.decimal(dsr.micros(int(found[2]), 800))
                                             for found in money]
    assert plays_axis.get_ylabel() == "plays" and "EUR" in money_axis.get_ylabel()
    legend = [text.get_text() for text in plays_axis.get_legend().get_texts()]
    assert "Abusey Junction (Kokoroko)" in legend
    # Payees by their parties' names, never a bare key, with the amount on each bar.
    [payees_axis] = drawn["payees.png"].axes
    names = [label.get_text() for label in payees_axis.get_yticklabels()]
    assert {"Kokoroko", "Onome Edgeworth"} <= set(names)
    assert not any(history.keys["artist"].public_key[:8] in name for name in names)
    received = {line["payee"]: 0 for line in by_kind(lines, "payee")}
    for line in by_kind(lines, "payee"):
        received[line["payee"]] += line["amount"]
    assert f"({received[history.keys['artist'].public_key]} tokens)" in " ".join(_texts(payees_axis))
    for figure in drawn.values():
        assert figure.get_size_inches()[0] * 100 >= 900
        figure.clf()


def test_chart_png_panels_are_not_empty_for_one_day(history, tmp_path):
    """The pixels themselves: inside each panel of the PNG files, a day of plays paints a
    good number of coloured (not white, not grey) pixels."""
    from matplotlib import image

    lines = lines_of(history, **ONE_DAY)
    files = write_charts(lines, tmp_path / "charts")
    assert [file.name for file in files] == ["plays-and-earnings.png", "payees.png"]
    layout = figures(lines)
    for file in files:
        pixels = image.imread(file)
        height, width = pixels.shape[:2]
        for axis in layout[file.name].axes:
            box = axis.get_position()
            panel = pixels[int((1 - box.y1) * height):int((1 - box.y0) * height),
                           int(box.x0 * width):int(box.x1 * width), :3]
            spread = panel.max(axis=2) - panel.min(axis=2)  # grey and white have none
            assert (spread > 0.2).sum() > 2000, (file.name, axis.get_title())


# -- the routes and the audit

def app_over(store):
    """A Flask app serving our routes over `store`, as a node's API does over its own."""
    app = Flask(__name__)

    class Pool:
        def __call__(self):
            return self

        def __enter__(self):
            return store

        def __exit__(self, *exc):
            return False

    app.config["bigchain_pool"] = Pool()
    api.register(app)
    return app


@pytest.fixture(scope="module")
def nodes(history):
    return nodes_over(history.store)


def nodes_over(store):
    """Two nodes over the same store, serving our routes and BigchainDB's block and
    transaction routes; the audit reaches them through Flask's test client."""
    app = app_over(store)

    @app.route("/api/v1/blocks/<int:height>")
    def block(height):
        ids = next(doc["transactions"] for doc in store.collection("blocks").documents
                   if doc["height"] == height)
        return jsonify({"height": height, "transactions": [store.transaction(i) for i in reversed(ids)]})

    @app.route("/api/v1/transactions/<txid>")
    def transaction(txid):
        return jsonify(store.transaction(txid))

    class TestClient:
        def __init__(self):
            self.http = app.test_client()

        def _get(self, path, **params):
            response = self.http.get(f"/api/v1/{path}", query_string=params)
            if response.status_code == 404:  # as bigchaindb_resonate.client.Client does
                raise NotFoundError(404, response.get_json())
            return response.get_json()

    return {"http": app.test_client(), "clients": {"node-a": TestClient(), "node-b": TestClient()}}


def fetch(nodes, **params):
    response = nodes["http"].get("/api/v1/resonate/reports", query_string=params)
    return response.status_code, response.get_data(as_text=True)


def test_route_serves_every_format_and_refuses_bad_queries(history, nodes):
    status, text = fetch(nodes, scope="network", format="json")
    assert status == 200 and json.loads(text)["lines"] == lines_of(history)
    status, text = fetch(nodes, format="csv", from_height=4, to_height=5)
    assert status == 200 and list(read_lines(text.splitlines(True), "csv")) == lines_of(
        history, from_height=4, to_height=5)
    assert fetch(nodes, format="dsr")[1].startswith("HEAD\t")
    assert fetch(nodes, format="xml")[0] == 400
    assert fetch(nodes, scope="album:x")[0] == 400
    assert fetch(nodes, from_time="yesterday")[0] == 400
    assert fetch(nodes, scope=f"party:{history.work['id']}")[0] == 404


def run_audit(nodes, text):
    return audit_module.audit(text.splitlines(True), list(nodes["clients"]), nodes["clients"])


@pytest.mark.parametrize("fmt", ["json", "csv", "dsr"])
def test_an_untouched_report_audits_clean(nodes, fmt):
    result = run_audit(nodes, fetch(nodes, format=fmt, from_height=3)[1])
    assert result.findings == [] and result.ok
    assert result.transactions == 2 * 15  # every play, on each node


def tamper_json(text, index, field, value):
    """Change one field of the line at `index` (0-based among the lines)."""
    lines = text.splitlines(True)
    line = json.loads(lines[index + 1].rstrip(",\n"))
    line[field] = value
    end = ",\n" if lines[index + 1].endswith(",\n") else "\n"
    lines[index + 1] = json.dumps(line, sort_keys=True, separators=(",", ":")) + end
    return "".join(lines)


def index_of(lines, kind, nth=0):
    return [i for i, line in enumerate(lines) if line["kind"] == kind][nth]


@pytest.mark.parametrize("kind, field, value", [
    ("payment", "amount", 999), ("payment", "payee", "somebody-else"),
    ("track", "paid_plays", 100), ("totals", "tokens", 1), ("play", "tx", "00" * 32),
    ("ownership", "listener", "me"), ("coop", "amount", 0), ("report", "app_hash", "F" * 64),
])
def test_tampering_with_one_line_is_pinpointed(history, nodes, kind, field, value):
    text = fetch(nodes)[1]
    lines = json.loads(text)["lines"]
    index = index_of(lines, kind)
    result = run_audit(nodes, tamper_json(text, index, field, value))
    assert not result.ok
    line_findings = [f for f in result.findings if f.startswith(f"line {index + 2} ")]
    assert line_findings and f"`{field}` is {json.dumps(value)} in the report" in line_findings[0]
    assert any(f.startswith("digest:") for f in result.findings)
    # only that line, and the digest that no longer matches it
    # the file's line: its first line is the JSON opening
    assert {f.split(" ", 2)[1] for f in result.findings if f.startswith("line ")} == {str(index + 2)}


def test_a_tampered_digest_is_pinpointed(nodes):
    text = fetch(nodes)[1]
    lines = json.loads(text)["lines"]
    result = run_audit(nodes, tamper_json(text, len(lines) - 1, "sha256", "0" * 64))
    assert result.findings[0].startswith(f"line {len(lines) + 1} (digest)")
    assert any(f.startswith("digest: the report states 0000") for f in result.findings)


def test_a_tampered_csv_cell_and_dsr_record_are_pinpointed(nodes):
    text = fetch(nodes, format="csv")[1]
    rows = text.splitlines(True)
    row = next(i for i, r in enumerate(rows) if r.startswith("payment,"))
    cells = rows[row].split(",")
    cells[cells.index("payee")] = "coop"
    result = run_audit(nodes, "".join(rows[:row] + [",".join(cells)] + rows[row + 1:]))
    assert any(f.startswith(f"line {row + 1} (payment") and "`role`" in f for f in result.findings)
    text = fetch(nodes, format="dsr")[1]
    records = text.splitlines(True)
    usage = next(i for i, r in enumerate(records) if r.startswith("SU02\t"))
    cells = records[usage].split("\t")
    streams = dsr.COLUMNS["SU02"].index("NumberOfStreams") + 1
    cells[streams] = str(int(cells[streams]) + 1)
    result = run_audit(nodes, "".join(records[:usage] + ["\t".join(cells)] + records[usage + 1:]))
    assert result.findings == [f"line {usage + 1} (SU02 record): `SU02 NumberOfStreams` is "
                               f"{json.dumps(cells[streams])} in the report but "
                               f"{json.dumps(records[usage].split(chr(9))[streams])} on node-a"]


def test_a_dsr_whose_usage_lines_name_other_plays_fails_the_audit(history, nodes):
    """A usage line's SalesTransactionId is the hash of the plays it adds up: a line moved
    to another price step, or naming other plays, no longer matches the ledger's."""
    records = fetch(nodes, format="dsr")[1].splitlines(True)
    first, second = [i for i, r in enumerate(records) if r.startswith("SU02\t")][:2]
    swapped = records[second].split("\t")[3]
    cells = records[first].split("\t")
    cells[3] = swapped
    result = run_audit(nodes, "".join(records[:first] + ["\t".join(cells)] + records[first + 1:]))
    assert len(result.findings) == 1 and "`SU02 SalesTransactionId`" in result.findings[0]


def test_a_forged_transaction_and_disagreeing_nodes_are_named(history, nodes, monkeypatch):
    text = fetch(nodes)[1]
    forged = history.plays[4]["id"]
    upstream = history.store.transaction

    def tampered(txid):
        tx = upstream(txid)
        if txid == forged:
            tx["outputs"][0]["amount"] = str(int(tx["outputs"][0]["amount"]) + 1)
        return tx

    # node-b's store now serves a play whose outputs were changed after signing
    clients = nodes["clients"]
    original = clients["node-b"]._get

    def node_b(path, **params):
        answer = original(path, **params)
        if path.startswith("blocks/"):
            answer["transactions"] = [tampered(tx["id"]) for tx in answer["transactions"]]
        return answer

    monkeypatch.setattr(clients["node-b"], "_get", node_b)
    result = run_audit(nodes, text)
    assert any(f"node-b: transaction {forged}" in f and "not the hash of its body" in f
               for f in result.findings)
    assert any(f"node-b: transaction {forged}" in f and "outputs hold" in f for f in result.findings)
    assert any(f.startswith("nodes disagree: line") and "node-b" in f for f in result.findings)
    assert not any("node-a:" in f for f in result.findings)
