"""The dashboard in a real headless browser (Debian's Chromium over the DevTools protocol,
tests/integration/browser.py) against a real local network of 4 validators.

A scripted history: two bands' recordings, a label (a PARTY held by the key that the
splits of both pay a share to), two listeners and fifteen plays. The label's page, at a
phone's width, and a band's page, at a desktop's, must show the figures the ledger's own
reads give (report summaries, the report's payee lines, listeners' play counts, the payout
rate), update without reloading when a new play commits, and load nothing from anywhere
but the node. Screenshots go to $RESONATE_TEST_ARTIFACTS/dashboard/ (by default
test-artifacts/dashboard/ in the checkout; not committed).
"""
import json
import os
from pathlib import Path

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.api import PREFIX
from bigchaindb_resonate.money import format_money, money_minor

from . import story
from .browser import Browser
from .conftest import local_testnet, wait_everywhere

pytestmark = pytest.mark.integration
ARTIFACTS = Path(os.environ.get("RESONATE_TEST_ARTIFACTS",
                                Path(__file__).parents[2] / "test-artifacts")) / "dashboard"
PHONE = {"width": 390, "height": 844, "mobile": True, "scale": 2}
PAGE_FIGURES = """Array.from(document.querySelectorAll('[data-figure]')).map(node => ({
  figure: node.dataset.figure, track: node.dataset.track || null,
  artist: node.dataset.artist || null, key: node.dataset.key || null,
  value: Number(node.textContent.replace(/,/g, ''))}))"""
PAGE_MONEY = """Array.from(document.querySelectorAll('[data-money]')).map(node => ({
  figure: node.dataset.money, track: node.dataset.track || null, text: node.textContent}))"""


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("dashboard"), first_port=25000) as network:
        yield network


@pytest.fixture(scope="module")
def history(testnet, clients):
    """Kokoroko's track (70/30 between its artist and producer) and Ezra Collective's
    (60/40 between its artist and the same producer), the producer's key registering the
    label Brownswood; listener 1 plays the first track ten times (owning it, the tenth
    free), listener 2 plays it three times and the second track twice. The label is paid
    out 8,000 tokens (credits bought for it, above the payout threshold); Kokoroko's
    artist asks for 8,000, not settled yet."""
    catalogue = story.catalogue(testnet, clients)
    producer, platform = catalogue["producer"], catalogue["platform"]
    label = clients[0].register_party(producer, {"@type": "Organization", "roles": ["label"],
                                                 "name": "Brownswood Recordings"})
    second_artist = generate_key_pair()
    second = story.release(clients, second_artist, platform, "Ezra Collective", "Victory Dance",
                           [(second_artist.public_key, 6000), (producer.public_key, 4000)])
    listeners = [generate_key_pair(), generate_key_pair()]
    for listener in listeners:
        wait_everywhere(clients, clients[1].buy_credits(catalogue["treasury"], listener.public_key,
                                                        3000)["id"])
    first = (catalogue["track"]["id"], catalogue["licence"]["id"])
    other = (second["track"]["id"], second["licence"]["id"])
    script = [(0, first)] * 10 + [(1, first)] * 3 + [(1, other)] * 2
    for index, (listener, (track, licence)) in enumerate(script):
        # Each node reads the listener's change before building the next play.
        wait_everywhere(clients, clients[index % 4].play(listeners[listener], track, licence,
                                                         "GB")["id"])
    treasury, artist = catalogue["treasury"], catalogue["artist"]
    for payee in (producer, artist):
        wait_everywhere(clients, clients[0].buy_credits(treasury, payee.public_key, 8000)["id"])
    paid_out = clients[1].request_payout(producer, 8000)
    wait_everywhere(clients, paid_out["id"])
    settled = clients[2].settle_payout(treasury, paid_out["id"], "SEPA-2026-11-29-0001")
    wait_everywhere(clients, clients[3].request_payout(artist, 8000)["id"])
    wait_everywhere(clients, settled["id"])
    return {"label": label["id"], "label_key": producer.public_key,
            "band": catalogue["track"]["asset"]["data"]["byArtist"][0],
            "bands": {catalogue["track"]["id"]: catalogue["track"]["asset"]["data"]["byArtist"][0],
                      second["track"]["id"]: second["track"]["asset"]["data"]["byArtist"][0]},
            "tracks": [catalogue["track"]["id"], second["track"]["id"]],
            "licences": {catalogue["track"]["id"]: catalogue["licence"]["id"],
                         second["track"]["id"]: second["licence"]["id"]},
            "listeners": listeners, "artist_key": catalogue["artist"].public_key}


@pytest.fixture
def browser(tmp_path):
    opened = Browser(tmp_path / "chromium-profile")
    yield opened
    opened.close()


def page_url(testnet, node, **query):
    return (f"{testnet.nodes[node].api_url}{PREFIX}/dashboard/?"
            + "&".join(f"{name}={value}" for name, value in query.items()))


def loaded(browser, url, viewport):
    """Open the dashboard and wait until it shows figures and listens to the stream."""
    browser.set_viewport(**viewport)
    browser.open(url)
    return browser.wait_for("document.querySelector('#status.live[data-height]') && "
                            "Number(document.getElementById('status').dataset.height)",
                            timeout=60, what="the page's figures and its event stream")


def shown(browser):
    """{(figure, track, artist, key): value} of every figure on the page."""
    found = {}
    for item in browser.evaluate(PAGE_FIGURES):
        where = (item["figure"], item["track"], item["artist"], item["key"])
        assert where not in found or found[where] == item["value"], where
        found[where] = item["value"]
    return found


def money(tokens, parameters):
    """Tokens at the payout rate, rounded down to the currency's minor unit, as payouts are."""
    currency = parameters["payout_currency"]
    return format_money(money_minor(tokens, parameters["payout_rate"], currency), currency)


def payee_lines(client, track):
    text = "".join(client.report(scope=f"track:{track}"))
    return [line for line in json.loads(text)["lines"] if line["kind"] in ("payee", "coop")]


def from_the_ledger(client, history, tracks, keys):
    """What the page should show for `tracks` and the subject's `keys`, from the ledger's
    reads: report summaries (totals kept at commit), the report's payee lines (computed
    from the plays themselves), listeners' play counts and the payout rate."""
    figures = {"tracks": {}, "earned": {}, "progress": {}}
    play_names = ("paid_plays", "free_plays", "tokens", "payee_tokens", "coop_tokens", "ownerships")
    for track in tracks:
        summary = client.report_summary(scope=f"track:{track}")["totals"]
        figures["tracks"][track] = {name: summary[name] for name in play_names}
        figures["earned"][track] = sum(line["amount"] for line in payee_lines(client, track)
                                       if line["payee"] in keys)
        paid = [min(client.owns(listener.public_key, track)["plays"], 9)
                for listener in history["listeners"]]
        figures["progress"][track] = [paid.count(count) for count in range(1, 10)]
    figures["totals"] = {name: sum(row[name] for row in figures["tracks"].values())
                         for name in play_names}
    figures["parameters"] = client.network()["parameters"]
    figures["accounts"] = {key: client.payee_account(key) for key in keys}
    return figures


def check_against_the_ledger(browser, client, history, tracks, keys):
    expected = from_the_ledger(client, history, tracks, keys)
    page = shown(browser)
    for name, value in expected["totals"].items():
        assert page[(name, None, None, None)] == value, name
    assert page[("earned", None, None, None)] == sum(expected["earned"].values())
    for track, row in expected["tracks"].items():
        for name in ("paid_plays", "free_plays", "tokens", "payee_tokens", "coop_tokens"):
            assert page[(name, track, None, None)] == row[name], (name, track)
        assert page[("earned", track, None, None)] == expected["earned"][track]
        artist = history["bands"][track]
        assert page[("paid_plays", None, artist, None)] == row["paid_plays"]
        for step, count in enumerate(expected["progress"][track], 1):
            assert page[(f"listeners_at_{step}", track, None, None)] == count, (track, step)
    money_shown = {(item["figure"], item["track"]): item["text"]
                   for item in browser.evaluate(PAGE_MONEY)}
    for track in tracks:
        assert money_shown[("earned", track)] == money(expected["earned"][track], expected["parameters"])
    assert money_shown[("earned", None)] == money(sum(expected["earned"].values()), expected["parameters"])
    accounts = expected["accounts"]
    for key, account in accounts.items():
        for name in ("balance", "owed", "paid"):
            assert page[(name, None, None, key)] == account[name], (name, key)
        assert page[("requested", None, None, key)] == sum(
            request["amount"] for request in account["open_requests"])
    for name in ("owed", "paid"):
        assert page[(name, None, None, None)] == sum(account[name] for account in accounts.values())
    history_rows = browser.evaluate("Array.from(document.querySelectorAll('#payout-history tbody tr'))"
                                    ".map(row => Array.from(row.cells).map(cell => cell.textContent))")
    # Each key's printable statement is a link away, on the same node.
    statements = browser.evaluate("Promise.all(Array.from(document.querySelectorAll('a.statement'))"
                                  ".map(link => fetch(link.href).then(answer => answer.status)))")
    assert statements == [200] * len(accounts)
    payouts = [payout for account in accounts.values() for payout in account["payouts"]]
    assert [row[2:5] for row in history_rows] == [
        [f"{payout['amount']:,}", format_money(payout["money_minor"], payout["currency"]),
         payout["reference"]] for payout in sorted(payouts, key=lambda payout: payout["height"])]
    return expected


def test_a_labels_page_shows_the_ledgers_figures_at_a_phones_width_and_updates_on_a_play(
        history, testnet, clients, browser):
    height = loaded(browser, page_url(testnet, 1, party=history["label"]), PHONE)
    assert browser.evaluate("document.getElementById('title').textContent") == "Brownswood Recordings"
    before = check_against_the_ledger(browser, clients[2], history, history["tracks"],
                                      [history["label_key"]])
    # Both bands are the label's artists, by name.
    artists = browser.evaluate("Array.from(document.querySelectorAll('#artist-table tbody tr'))"
                               ".map(row => row.cells[0].textContent)")
    assert sorted(artists) == ["Ezra Collective", "Kokoroko"]
    # Legible at a phone's width: nothing wider than the screen but scrolling tables, charts
    # drawn at their displayed size (text not shrunk), axes titled, tracks named not keyed.
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    charts = browser.evaluate("""Array.from(document.querySelectorAll('.chart svg')).map(svg => ({
        drawn: svg.viewBox.baseVal.width, shown: svg.getBoundingClientRect().width,
        axes: svg.querySelectorAll('.axis-title').length,
        text: Array.from(svg.querySelectorAll('text')).map(t => t.textContent).join(' ')}))""")
    assert len(charts) >= 6
    for chart in charts:
        assert chart["shown"] >= 0.95 * chart["drawn"], chart["text"][:60]
        assert chart["axes"] >= 1, chart["text"][:60]
        assert history["label_key"] not in chart["text"] and history["tracks"][0] not in chart["text"]
    assert "Abusey Junction" in " ".join(chart["text"] for chart in charts)
    browser.screenshot(ARTIFACTS / "label-phone-before.png")

    # A new play commits: the page updates itself from the event stream, without reloading.
    browser.evaluate("window.sameLoad = true")
    track = history["tracks"][1]
    played = clients[3].play(history["listeners"][0], track, history["licences"][track], "GB")
    wait_everywhere(clients, played["id"])
    paid_before = before["tracks"][track]["paid_plays"]
    browser.wait_for(f"document.querySelector('[data-figure=paid_plays][data-track=\"{track}\"]')"
                     f".textContent === '{paid_before + 1}'", timeout=30, what="the new play")
    assert browser.evaluate("window.sameLoad === true")
    assert browser.evaluate("Number(document.getElementById('status').dataset.height)") > height
    after = check_against_the_ledger(browser, clients[0], history, history["tracks"],
                                     [history["label_key"]])
    assert after["tracks"][track]["tokens"] == before["tracks"][track]["tokens"] + 2  # a first play
    browser.screenshot(ARTIFACTS / "label-phone.png")
    assert browser.errors == []
    # The label was paid out once; Kokoroko's artist (not the label's key) asked, unpaid.
    assert after["accounts"][history["label_key"]]["paid"] == 8000
    assert after["accounts"][history["label_key"]]["open_requests"] == []


def test_a_bands_page_loads_everything_from_the_node_it_asks(history, testnet, clients, browser):
    url = page_url(testnet, 2, party=history["band"])
    loaded(browser, url, {"width": 1280, "height": 900})
    assert browser.evaluate("document.getElementById('title').textContent") == "Kokoroko"
    subject = clients[0].report_context(scope=f"party:{history['band']}")["tracks"]
    assert subject == [history["tracks"][0]]
    # The band's own key holds its PARTY record and takes 70% of the split.
    expected = check_against_the_ledger(browser, clients[1], history, subject, [history["artist_key"]])
    assert [request["amount"] for request in
            expected["accounts"][history["artist_key"]]["open_requests"]] == [8000]
    # Payees by name: the label's key registered the label, the co-op is the platform key.
    payees = browser.evaluate("Array.from(document.querySelectorAll('#split-list tbody tr'))"
                              ".map(row => row.cells[0].textContent)")
    assert sorted(payees) == ["Brownswood Recordings", "Kokoroko", "Resonate co-op"]
    origin = testnet.nodes[2].api_url
    resources = browser.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)"
                                 ".concat([location.href])")
    assert len(resources) >= 4
    assert all(resource.startswith(origin) for resource in resources), resources
    browser.screenshot(ARTIFACTS / "band-desktop.png")
    assert browser.errors == []


def test_a_page_without_a_subject_offers_a_search_by_name(history, testnet, browser):
    browser.open(page_url(testnet, 0))
    browser.wait_for("!document.getElementById('find').hidden")
    browser.evaluate("document.querySelector('input[name=name]').value = 'Brownswood';"
                     "document.querySelector('#find button').click()")
    link = browser.wait_for("document.querySelector('#found a') && "
                            "document.querySelector('#found a').getAttribute('href')")
    assert link == f"?party={history['label']}"
    assert browser.errors == []
