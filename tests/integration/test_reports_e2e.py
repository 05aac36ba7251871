"""Reports end to end on a real local network of 4 validators: a play history scripted
over HTTP as an integrator would, then `resonate report` and `resonate audit` through the
console entry, each figure checked against what the test itself did and each play against
another node's own API; tampering is pinpointed; two nodes give the same bytes."""
import hashlib
import json
from types import SimpleNamespace

import pytest
import requests
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate import cli
from bigchaindb_resonate.reports.charts import FILES
from bigchaindb_resonate.reports.compute import canonical
from bigchaindb_resonate.reports import dsr
from bigchaindb_resonate.reports.formats import read_lines
from bigchaindb_resonate.validators.royalties import payouts, price

from . import story
from .conftest import local_testnet, wait_everywhere

pytestmark = pytest.mark.integration
COOP_SHARE_BP = 3000  # the testnet's genesis parameter
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OWNING_PLAY = 8  # the 9th paid play makes the listener an owner; the 10th is free


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    # Not 33000: free_base_port keeps below Linux's ephemeral range (32768+) and finds
    # nothing there; 32400 is clear of the other networks' blocks (29000-32000).
    with local_testnet(tmp_path_factory.mktemp("reports-e2e"), first_port=32400) as network:
        yield network


@pytest.fixture(scope="module")
def history(testnet, clients):
    """Track A (70/30 artist/producer, then 25/75 from its sixth play) played ten times by
    one listener in GB; track B (50/50 artist/mixer, with an ISRC) three times by another in
    FR, between A's plays. Every play is recorded as the test expects the report to show it."""
    catalogue = story.catalogue(testnet, clients)
    treasury, platform = catalogue["treasury"], catalogue["platform"]
    artist, producer, mixer = catalogue["artist"], catalogue["producer"], generate_key_pair()
    b = story.release(clients, artist, platform, "Ezra Collective", "Ti-de",
                      [(artist.public_key, 5000), (mixer.public_key, 5000)],
                      isrcCode="GB-AYE-69-00532")
    fan, other = generate_key_pair(), generate_key_pair()
    for listener, amount in ((fan, 5000), (other, 100)):
        bought = clients[0].buy_credits(treasury, listener.public_key, amount)
        wait_everywhere(clients, bought["id"])
    track_a, track_b = catalogue["track"]["id"], b["track"]["id"]
    split_a = (catalogue["split"]["id"], {artist.public_key: 7000, producer.public_key: 3000})
    split_b = (b["split"]["id"], {artist.public_key: 5000, mixer.public_key: 5000})
    plays = []

    def play(listener, track, licence, territory, split):
        number = sum(p["listener"] == listener.public_key and p["track"] == track for p in plays)
        tx = clients[len(plays) % 4].play(listener, track, licence, territory)
        wait_everywhere(clients, tx["id"])
        paid, coop = payouts(price(number), sorted(split[1].items()), COOP_SHARE_BP)
        plays.append({"tx": tx["id"], "track": track, "listener": listener.public_key,
                      "play_number": number, "territory": territory, "price": price(number),
                      "split": split[0] if price(number) else None, "right": licence,
                      "paid": [(payee, amount) for payee, amount in paid if amount], "coop": coop})

    for number in range(10):
        if number == 5:
            change = clients[number % 4].set_split(
                artist, track_a, [(artist.public_key, 2500), (producer.public_key, 7500)])
            wait_everywhere(clients, change["id"])
            split_a = (change["id"], {artist.public_key: 2500, producer.public_key: 7500})
        play(fan, track_a, catalogue["licence"]["id"], "GB", split_a)
        if number in (1, 4, 7):
            play(other, track_b, b["licence"]["id"], "FR", split_b)
    assert sum(p["price"] for p in plays if p["track"] == track_a) == sum(
        2 ** n for n in range(1, 10)) == 1022
    # What the registry says of each track, as the report names it: the band the artist
    # registered is its artist and composer; the artist's key registered both bands.
    bands = {catalogue["track"]["asset"]["data"]["byArtist"][0]: "Kokoroko",
             b["track"]["asset"]["data"]["byArtist"][0]: "Ezra Collective"}
    named = {track["id"]: {"title": track["asset"]["data"]["name"],
                           "artist": bands[track["asset"]["data"]["byArtist"][0]],
                           "work": track["asset"]["data"]["recordingOf"], "iswc": None,
                           "composers": [bands[track["asset"]["data"]["byArtist"][0]]]}
             for track in (catalogue["track"], b["track"])}
    band_of = {track["id"]: track["asset"]["data"]["byArtist"][0]
               for track in (catalogue["track"], b["track"])}
    return SimpleNamespace(plays=plays, track_a=track_a, track_b=track_b, fan=fan.public_key,
                           named=named, bands=bands, band_of=band_of,
                           artist=artist.public_key, producer=producer.public_key,
                           platform=platform.public_key,
                           isrcs={track_b: b["track"]["asset"]["data"]["isrcCode"]},
                           split_before=catalogue["split"]["id"], split_after=split_a[0])


def resonate(*argv):
    """`resonate ARGV` through the console entry; its exit status."""
    return cli.main([str(arg) for arg in argv])


@pytest.fixture(scope="module")
def network_report(history, clients, tmp_path_factory):
    directory = tmp_path_factory.mktemp("network-report")
    out, charts = directory / "network.json", directory / "charts"
    assert resonate("report", "--scope", "network", "--format", "json",
                    "--node", clients[1].api_url, "--out", out, "--charts", charts) == 0
    return out, charts


def confirmed_height(node, txid):
    """The height `node`'s own BigchainDB routes commit `txid` at."""
    tx = requests.get(f"{node.api_url}/api/v1/transactions/{txid}", timeout=10)
    assert tx.status_code == 200 and tx.json()["id"] == txid and tx.json()["operation"] == "PLAY"
    heights = requests.get(f"{node.api_url}/api/v1/blocks", params={"transaction_id": txid},
                           timeout=10).json()
    assert len(heights) == 1, f"{txid[:12]} in blocks {heights}"
    return heights[0]


def expected_per_play_lines(plays, node, platform):
    """The play, payment and ownership lines, in commit order, with each height as `node`
    confirms it; play times are the consensus's, so they are left out (as None)."""
    for p in plays:
        where = {"tx": p["tx"], "voucher": None, "height": confirmed_height(node, p["tx"]),
                 "track": p["track"]}
        yield {"kind": "play", **where, "time": None, "listener": p["listener"],
               "play_number": p["play_number"], "territory": p["territory"], "price": p["price"],
               "split": p["split"], "right": p["right"]}
        for payee, amount in p["paid"]:
            yield {"kind": "payment", **where, "split": p["split"], "payee": payee,
                   "amount": amount, "role": "payee"}
        if p["coop"]:
            yield {"kind": "payment", **where, "split": p["split"], "payee": platform,
                   "amount": p["coop"], "role": "coop"}
        if p["play_number"] == OWNING_PLAY:
            yield {"kind": "ownership", **where, "listener": p["listener"]}


def expected_summary_lines(plays, history):
    isrcs, platform = history.isrcs, history.platform
    # A payee is named after the credited parties of the report's tracks its key registered.
    credited = sorted({history.band_of[p["track"]] for p in plays})
    payee_names = {history.artist: " / ".join(history.bands[band] for band in credited)}
    def figures(subset):
        return {"paid_plays": sum(p["price"] > 0 for p in subset),
                "free_plays": sum(p["price"] == 0 for p in subset),
                "tokens": sum(p["price"] for p in subset)}

    tracks = sorted({p["track"] for p in plays})
    for track in tracks:
        mine = [p for p in plays if p["track"] == track]
        named = history.named[track]
        yield {"kind": "track", "track": track, "title": named["title"],
               "artist": named["artist"], "isrc": isrcs.get(track), "work": named["work"],
               "iswc": named["iswc"], "composers": named["composers"], **figures(mine),
               "ownerships": sum(p["play_number"] == OWNING_PLAY for p in mine)}
    for territory in sorted({p["territory"] for p in plays}):
        yield {"kind": "territory", "territory": territory,
               **figures([p for p in plays if p["territory"] == territory])}
    payments = [(payee, p["split"], p["track"], amount)
                for p in plays for payee, amount in p["paid"]]
    for key in sorted({payment[:3] for payment in payments}):
        amounts = [amount for *payment, amount in payments if tuple(payment) == key]
        yield {"kind": "payee", "payee": key[0], "name": payee_names.get(key[0]),
               "split": key[1], "track": key[2], "amount": sum(amounts),
               "payments": len(amounts)}
    coop = [p["coop"] for p in plays if p["coop"]]
    yield {"kind": "coop", "payee": platform, "amount": sum(coop), "payments": len(coop)}
    yield {"kind": "totals", **figures(plays),
           "ownerships": sum(p["play_number"] == OWNING_PLAY for p in plays),
           "payee_tokens": sum(amount for *_, amount in payments), "coop_tokens": sum(coop)}


def check_report(lines, history, scope, tracks, node):
    """Every line of a report of `scope` against the plays of `tracks` the test made,
    each play's transaction and height confirmed by `node`."""
    plays = [p for p in history.plays if p["track"] in tracks]
    head, digest = lines[0], lines[-1]
    assert head["kind"] == "report" and head["scope"] == scope
    assert head["coop_share_bp"] == COOP_SHARE_BP and head["platform_key"] == history.platform
    # The testnet's genesis leaves these at their defaults.
    assert (head["payout_rate"], head["payout_currency"], head["ddex_sender_id"]) == (
        800, "EUR", "PADPIDAUNREGISTERED")
    assert head["tracks"] == (None if scope == "network" else sorted(tracks))
    assert digest == {"kind": "digest", "sha256": digest["sha256"], "lines": len(lines) - 1}
    per_play = lines[1:1 + sum(line["kind"] in ("play", "payment", "ownership") for line in lines)]
    times = [line["time"] for line in per_play if line["kind"] == "play"]
    assert all(isinstance(time, int) for time in times) and times == sorted(times)
    assert [{**line, "time": None} if line["kind"] == "play" else line for line in per_play] == \
        list(expected_per_play_lines(plays, node, history.platform))
    assert lines[1 + len(per_play):-1] == list(expected_summary_lines(plays, history))
    return plays


def summary(lines, kind, **match):
    found = [line for line in lines if line["kind"] == kind
             and all(line[field] == value for field, value in match.items())]
    assert len(found) == 1, f"{kind} {match}: {found}"
    return found[0]


def test_the_network_report_and_its_charts(history, clients, network_report):
    out, charts = network_report
    lines = json.loads(out.read_text())["lines"]
    check_report(lines, history, "network", {history.track_a, history.track_b}, clients[2])
    # The figures the story fixes, spelled out.
    a, b = history.track_a, history.track_b
    assert {k: v for k, v in summary(lines, "track", track=a).items() if k != "track"} == {
        "kind": "track", **history.named[a], "isrc": None, "paid_plays": 9, "free_plays": 1,
        "tokens": 1022, "ownerships": 1}
    assert history.named[a]["title"] == "Abusey Junction" and history.named[a]["artist"] == "Kokoroko"
    assert summary(lines, "track", track=b)["isrc"] == "GBAYE6900532"
    assert summary(lines, "track", track=b)["tokens"] == 2 + 4 + 8
    ownership = summary(lines, "ownership")
    assert (ownership["listener"], ownership["track"]) == (history.fan, a)
    assert ownership["tx"] == summary(lines, "play", track=a, play_number=OWNING_PLAY)["tx"]
    assert summary(lines, "play", track=a, play_number=9)["price"] == 0
    assert not [line for line in lines if line["kind"] == "payment"
                and line["tx"] == summary(lines, "play", track=a, play_number=9)["tx"]]
    before, after = history.split_before, history.split_after
    assert [line["split"] for line in lines if line["kind"] == "play" and line["track"] == a] == \
        [before] * 5 + [after] * 4 + [None]  # a free play pays no split
    # 2..32 under 70/30 and 64..512 under 25/75, each less the co-op's 30%.
    received = {(line["payee"], line["split"]): line["amount"] for line in lines
                if line["kind"] == "payee" and line["track"] == a}
    assert received == {(history.artist, before): 1 + 2 + 4 + 8 + 16,
                        (history.producer, before): 0 + 0 + 1 + 3 + 6,
                        (history.artist, after): 11 + 22 + 45 + 89,
                        (history.producer, after): 33 + 67 + 135 + 269}
    totals = summary(lines, "totals")
    assert totals["tokens"] == 1022 + 14 == totals["payee_tokens"] + totals["coop_tokens"]
    assert totals["coop_tokens"] == summary(lines, "coop", payee=history.platform)["amount"]
    assert clients[0].network()["parameters"]["coop_share_bp"] == COOP_SHARE_BP
    for name in FILES:
        data = (charts / name).read_bytes()
        assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE), name


def test_a_track_report_in_csv_and_dsr(history, clients, tmp_path):
    scope = f"track:{history.track_a}"
    for fmt in ("csv", "dsr"):
        assert resonate("report", "--scope", scope, "--format", fmt, "--node", clients[1].api_url,
                        "--out", tmp_path / f"a.{fmt}") == 0
    with (tmp_path / "a.csv").open() as text:
        lines = list(read_lines(text, "csv"))
    plays = check_report(lines, history, scope, {history.track_a}, clients[2])
    with (tmp_path / "a.dsr").open() as text:
        parsed = dsr.parse(text)
    head = parsed["head"]
    assert head["MessageId"] == lines[-1]["sha256"] and head["RecipientName"] == "Kokoroko"
    with (tmp_path / "a.dsr").open() as text:
        assert dsr.ledger_of(text)["scope"] == scope
    # One GB summary: ten streams, 1022 tokens at 800 per euro; the rights holders' part.
    net = 1022 - sum(p["coop"] for p in plays)
    [summary] = parsed["summaries"]
    assert (summary["Territory"], summary["Usages"], summary["NetRevenue"],
            summary["CurrencyOfReporting"], summary["AllocatedNetRevenue"]) == (
        "GB", "10", "1.2775", "EUR", dsr.decimal(dsr.micros(net, 800)))
    [block] = parsed["blocks"]
    assert (block["resource"]["DspResourceId"], block["resource"]["Title"],
            block["resource"]["DisplayArtistName"], block["resource"]["ISRC"]) == (
        history.track_a, "Abusey Junction", "Kokoroko", "")
    # One usage line per step of the curve, each naming the one play it stands for.
    by_number = sorted(plays, key=lambda p: p["play_number"])
    assert [(u["NumberOfStreams"], u["PriceConsumerPaidExcSalesTax"], u["IsRoyaltyBearing"],
             u["SalesTransactionId"]) for u in block["usages"]] == [
        ("1", dsr.decimal(dsr.micros(p["price"], 800)), "true" if p["price"] else "false",
         hashlib.sha256(f"{p['tx']}\n".encode()).hexdigest()) for p in by_number]
    assert parsed["totals"] == {"streams": 10, "royalty_bearing": 9, "revenue": "1.2775",
                                "allocated": dsr.decimal(dsr.micros(net, 800))}
    # Into a directory, the file takes the name DSRF gives it.
    directory = tmp_path / "named"
    directory.mkdir()
    assert resonate("report", "--scope", scope, "--format", "dsr", "--node", clients[1].api_url,
                    "--out", directory) == 0
    [named] = directory.iterdir()
    assert named.name == dsr.file_name(parsed)
    assert named.name.startswith("DSR_Kokoroko_PADPIDAUNREGISTERED_StreamToOwn_")
    assert named.read_text() == (tmp_path / "a.dsr").read_text()
    for fmt in ("csv", "dsr"):
        assert resonate("audit", tmp_path / f"a.{fmt}", "--node", clients[3].api_url) == 0


def tamper(source, target, number, field, value):
    """Copy a JSON report with `field` of its report line `number` (1-based among the
    report's lines, so the file's line `number + 1`) set to `value`; returns the value it had."""
    texts = source.read_text().splitlines(True)
    line = json.loads(texts[number].rstrip(",\n"))  # text line 0 opens the document
    was, line[field] = line[field], value
    texts[number] = canonical(line) + (",\n" if texts[number].endswith(",\n") else "\n")
    target.write_text("".join(texts))
    return was


def test_the_audit_passes_the_report_and_pinpoints_each_tampering(
        history, clients, network_report, tmp_path, capsys):
    out, _ = network_report
    nodes = [arg for client in (clients[0], clients[2], clients[3])
             for arg in ("--node", client.api_url)]
    capsys.readouterr()
    assert resonate("audit", out, *nodes) == 0
    assert capsys.readouterr().out == ""
    lines = json.loads(out.read_text())["lines"]

    def number(kind, **match):
        return lines.index(summary(lines, kind, **match)) + 1

    paid_after = next(p for p in history.plays
                      if p["track"] == history.track_a and p["play_number"] == 6)
    other_play = next(p for p in history.plays if p["track"] == history.track_b)
    for label, at, field, value in [
            ("an amount", number("payment", tx=paid_after["tx"], payee=history.producer),
             "amount", 1000),
            ("a payee", number("payment", tx=paid_after["tx"], payee=history.artist),
             "payee", history.fan),
            ("a transaction id", number("play", tx=paid_after["tx"]), "tx", other_play["tx"]),
            ("the digest", len(lines), "sha256", "0" * 64)]:
        tampered = tmp_path / f"{field}.json"
        was = tamper(out, tampered, at, field, value)
        assert resonate("audit", tampered, *nodes) != 0, label
        findings = capsys.readouterr().out.splitlines()
        # the file's line: a JSON report opens with a line of its own
        named = [f for f in findings if f.startswith(f"line {at + 1} (")]
        difference = (f"`{field}` is {json.dumps(value)} in the report but {json.dumps(was)} "
                      f"on {clients[0].api_url}")
        assert named and difference in named[0], (label, findings)
        assert {f.split(" ", 2)[1] for f in findings if f.startswith("line ")} == {str(at + 1)}, label
        assert any(f.startswith("digest: the report states") for f in findings), label


def test_two_nodes_give_the_same_bytes_at_the_same_height(clients, network_report, tmp_path):
    out, _ = network_report
    at_height = json.loads(out.read_text())["lines"][0]["at_height"]
    for fmt in ("json", "csv", "dsr"):
        files = [tmp_path / f"{fmt}-node{number}" for number in (1, 4)]
        for node, file in zip((clients[0], clients[3]), files):
            assert resonate("report", "--format", fmt, "--at-height", at_height,
                            "--node", node.api_url, "--out", file) == 0
        assert files[0].read_bytes() == files[1].read_bytes() and files[0].stat().st_size, fmt
    # node2's report, asked at the latest height, was computed at that same block.
    assert (tmp_path / "json-node1").read_bytes() == out.read_bytes()


# -- totals kept at commit (reports/totals.py), and what an aborted report holds

def node_store(testnet, number):
    """A BigchainDB connection to node `number`'s own store."""
    from bigchaindb.backend import connect

    from bigchaindb_resonate.testnet.config import DATABASE_NAME

    node = testnet.nodes[number]
    return connect(backend="localmongodb", host=node.host, port=node.ports.store,
                   name=DATABASE_NAME)


def test_totals_kept_at_commit_equal_the_report_and_a_rebuild(
        testnet, history, clients, network_report):
    import subprocess
    import sys

    from bigchaindb_resonate.reports import totals
    from bigchaindb_resonate.reports.compute import StoreLedger
    from bigchaindb_resonate.testnet.config import node_dir

    lines = json.loads(network_report[0].read_text())["lines"]
    expected = {name: summary(lines, "totals")[name] for name in totals.PLAY_FIGURES}
    for client in clients:
        answer = client._get("resonate/reports/summary")
        assert answer["totals"] == expected and answer["last_play_height"] == max(
            line["height"] for line in lines if line["kind"] == "play")
        track = client._get("resonate/reports/summary", scope=f"track:{history.track_a}")
        assert track["totals"]["tokens"] == 1022 and track["totals"]["ownerships"] == 1
        coop = client._get("resonate/reports/summary", payee=history.platform)
        assert coop["totals"]["amount"] == expected["coop_tokens"]
    # What node 3 kept block by block is what the ledger recomputes...
    conn = node_store(testnet, 2)
    ledger = StoreLedger(SimpleNamespace(connection=conn))
    rebuilt = totals.recompute(ledger, ledger.tip()["height"]).documents
    kept = totals.read(conn, sorted(rebuilt))
    assert {key: {k: v for k, v in doc.items() if k != "height"} for key, doc in kept.items()} \
        == rebuilt
    # ... and what the node's rebuild command writes (nothing commits meanwhile: no writes),
    # report rows included: the node's report is the same, byte for byte.
    at_height = lines[0]["at_height"]
    before = "".join(clients[2].report("network", "json", at_height))
    config = node_dir(testnet.directory, testnet.nodes[2]).bigchaindb_config
    done = subprocess.run([sys.executable, "-m", "bigchaindb_resonate.node", "-c", str(config),
                           "rebuild-totals"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{len(rebuilt)} documents" in done.stdout
    again = totals.read(conn, sorted(rebuilt))
    assert {key: {k: v for k, v in doc.items() if k != "height"} for key, doc in again.items()} \
        == rebuilt
    assert "".join(clients[2].report("network", "json", at_height)) == before
    assert json.loads(before)["lines"] == lines
    assert resonate("audit", "--totals", "--node", clients[2].api_url,
                    "--node", clients[0].api_url) == 0
    assert resonate("summary", "--scope", f"track:{history.track_a}", "--from-date", "2020-01-01",
                    "--to-date", "2020-01-02", "--node", clients[3].api_url) == 0


def test_aborted_reports_and_failed_reads_hold_nothing_on_the_node(testnet, history, clients):
    """Twenty report streams left after ten bytes, and twenty reads that fail inside the
    node (an unknown scope), on one node: a write through that node still commits. Before,
    each left the API worker's one pooled connection taken, and two stalled the node."""
    import time

    from .story import role_keypair

    node = clients[1]
    treasury = role_keypair(testnet, "treasury")

    def timed_write():
        started = time.monotonic()
        node.buy_credits(treasury, generate_key_pair().public_key, 1)
        return time.monotonic() - started

    before = timed_write()
    for _ in range(20):
        with requests.get(f"{node.api_url}/api/v1/resonate/reports",
                          params={"format": "json"}, stream=True, timeout=30) as response:
            assert response.status_code == 200
            assert len(response.raw.read(10)) == 10
        unknown = requests.get(f"{node.api_url}/api/v1/resonate/reports",
                               params={"scope": f"track:{'0' * 64}"}, timeout=30)
        assert unknown.status_code == 404
    # Commits within the client's commit timeout (30 s), however long the first took.
    after = timed_write()
    assert requests.get(f"{node.api_url}/api/v1/resonate/network", timeout=30).status_code == 200
    print(f"write through the node: {before:.2f} s before the aborts, {after:.2f} s after")
