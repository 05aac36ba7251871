"""The dashboard's reads (bigchaindb_resonate/dashboard/) over the scripted play history of
test_reports.py, with the report totals a node keeps at commit; its routes and its page's
files. The page itself runs in Chromium in tests/integration/test_dashboard_browser.py."""
import re

import pytest

from bigchaindb_resonate import dashboard
from bigchaindb_resonate.api import PREFIX
from bigchaindb_resonate.reports import totals
from bigchaindb_resonate.reports.compute import StoreLedger, party_name

from .test_reports import app_over, by_kind, lines_of
from .test_reports import history  # noqa: F401 (the module's fixture)


@pytest.fixture(scope="module")
def store(history):
    """The history's store holding the totals its blocks would have folded."""
    ledger = StoreLedger(history.store)
    documents = totals.recompute(ledger, ledger.tip()["height"]).documents
    history.store.collection(totals.COLLECTION).documents.extend(
        {"_id": key, **figures, "height": ledger.tip()["height"]} for key, figures in documents.items())
    return history.store


@pytest.fixture
def http(store):
    return app_over(store).test_client()


def name_of(party):
    return party_name(party["asset"]["data"])


def ids(*records):
    return sorted(record["id"] for record in records)


def test_a_partys_tracks_are_those_crediting_it_and_those_paying_its_keys(history, store):
    band = dashboard.subject(store, party=history.party["id"])
    assert band["name"] == "Kokoroko" and band["kind"] == "party"
    assert band["keys"] == [history.keys["artist"].public_key]
    assert band["tracks"] == ids(history.track1, history.track2)
    # The composer is credited through the work, and paid by track 1's split.
    composer = dashboard.subject(store, party=history.composer["id"])
    assert composer["tracks"] == ids(history.track1, history.track2)
    # A key alone: the tracks its splits pay (track 3's split pays the band's key).
    band_key = dashboard.subject(store, key=history.keys["band"].public_key)
    assert band_key["tracks"] == ids(history.track3) and band_key["name"] is None
    # Payees are named when they registered a PARTY: the artist and composer did.
    assert band["names"] == {history.keys["artist"].public_key: name_of(history.party),
                             history.keys["composer"].public_key: name_of(history.composer)}


def test_figures_equal_the_reports_own_lines(history, store):
    tracks = ids(history.track1, history.track2, history.track3)
    composer = history.keys["composer"].public_key
    answer = dashboard.figures(store, tracks, [composer], days=10)
    lines = lines_of(history)
    by_track = {line["track"]: line for line in by_kind(lines, "track")}
    for row in answer["tracks"]:
        line = by_track[row["id"]]
        assert {name: row[name] for name in ("paid_plays", "free_plays", "tokens", "ownerships")} \
            == {name: line[name] for name in ("paid_plays", "free_plays", "tokens", "ownerships")}
        for payee, earned in row["earned"].items():
            assert earned == sum(payment["amount"] for payment in by_kind(lines, "payment")
                                 if payment["track"] == row["id"] and payment["payee"] == payee)
        # Listeners who paid for at least n plays, from the history's own counts.
        counts = [min(count, 9) for (_, track), count in history.counts.items() if track == row["id"]]
        assert row["reached"] == [sum(count >= n for count in counts) for n in range(1, 10)]
        assert row["reached"][8] == row["ownerships"]
    splits = {row["id"]: row["split"] and row["split"]["id"] for row in answer["tracks"]}
    assert splits == {history.track1["id"]: history.split1["id"], history.track2["id"]: None,
                      history.track3["id"]: history.split3["id"]}
    (report_totals,) = by_kind(lines, "totals")
    assert {name: answer["totals"][name] for name in totals.PLAY_FIGURES} == \
        {name: report_totals[name] for name in totals.PLAY_FIGURES}
    assert sum(day["tokens"] for day in answer["days"]) == report_totals["tokens"]
    assert answer["days"][-1]["date"] == answer["at"]["date"] and len(answer["days"]) == 10
    paid = sum(line["amount"] for line in by_kind(lines, "payee") if line["payee"] == composer)
    assert answer["keys"] == [{"public_key": composer, "amount": paid,
                               "payments": answer["keys"][0]["payments"]}]
    assert answer["totals"]["earned"] == {composer: paid}
    credited = {party for track in (history.track1, history.track2, history.track3)
                for party in track["asset"]["data"].get("byArtist", ())}
    parties = {record["id"]: record for record in vars(history).values()
               if isinstance(record, dict) and record.get("operation") == "PARTY"}
    assert {artist["id"]: artist["name"] for artist in answer["artists"]} == {
        party: name_of(parties[party]) for party in credited}
    assert answer["money"] == {"currency": "EUR", "rate": 800, "exponent": 2}


def test_figures_look_every_document_up_by_key(history, store):
    """The read the page repeats at every block: only `_id` lookups, whatever the ledger."""
    store.scans.clear()
    dashboard.figures(store, ids(history.track1, history.track2, history.track3),
                      [history.keys["artist"].public_key], days=30)
    assert store.scans == []


def test_a_payee_is_named_from_the_first_transactions_paying_it_only(history, store):
    store.finds.clear()
    assert dashboard.party_of_key(store, history.keys["platform"].public_key) is None
    # The co-op's key was paid by every play; the lookups stop at the first few.
    assert store.finds.count("owner_index") <= 1 + dashboard.FIRST_TRANSACTIONS_NAMING


@pytest.mark.parametrize("path, params, status", [
    ("subject", {}, 400),
    ("subject", {"party": "ab" * 32, "key": "x"}, 400),
    ("subject", {"key": "not-a-key"}, 400),
    ("subject", {"party": "0" * 64}, 404),
    ("figures", {}, 400),
    ("figures", {"track": "0" * 64}, 404),
    ("figures", {"track": "nope"}, 400),
    ("figures", {"track": "ab" * 32, "days": "0"}, 400),
    ("figures", {"track": "ab" * 32, "days": "93"}, 400),
    ("figures", {"track": "ab" * 32, "days": "soon"}, 400),
])
def test_bad_questions_are_refused_with_what_to_ask(http, path, params, status):
    response = http.get(f"{PREFIX}/dashboard/{path}", query_string=params)
    assert response.status_code == status, response.get_json()
    assert set(response.get_json()) == {"status", "message"}


def test_a_party_that_is_a_track_is_not_a_subject(history, http):
    response = http.get(f"{PREFIX}/dashboard/subject", query_string={"party": history.track1["id"]})
    assert response.status_code == 404


def test_the_page_is_served_with_its_files_and_names_nothing_elsewhere(http):
    page = http.get(f"{PREFIX}/dashboard/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert 'src="dashboard.js"' in text and 'href="dashboard.css"' in text
    for name, media in dashboard_files():
        served = http.get(f"{PREFIX}/dashboard/{name}")
        assert served.status_code == 200 and served.mimetype == media
        # Nothing from a CDN or any other host: the only URL is SVG's namespace name.
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+", served.get_data(as_text=True)))
        assert urls <= {"http://www.w3.org"}, (name, urls)
    assert http.get(f"{PREFIX}/dashboard/api.py").status_code == 404
    assert http.get(f"{PREFIX}/dashboard").status_code in (301, 308)


def test_the_script_never_reads_ledger_text_as_html():
    """Names on the ledger are anyone's to write: the page adds them as text only."""
    from bigchaindb_resonate.api import DASHBOARD_PAGE

    script = (DASHBOARD_PAGE / "dashboard.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def dashboard_files():
    from bigchaindb_resonate.api import DASHBOARD_FILES

    return DASHBOARD_FILES.items()
