"""A payee's statement (reports/statements.py) over the in-memory store, through the node's
route, in JSON, CSV and HTML, audited through the routes an audit reads.

History (test_play's market and its listener Carol; Erin's band's recording, whose split
pays Erin alone; the store does not validate, so only what a statement reads is built):
Carol's plays 0..4 on day 1, plays 5..9 on day 2 (the last one free), Erin asks for a
payout of 400 tokens on day 3, the treasury (Dave) settles it on day 4."""
import json
from types import SimpleNamespace

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.ledger import NETWORK_PARAMETERS
from bigchaindb_resonate.reports import statements
from bigchaindb_resonate.reports.compute import Period
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.validators.royalties import payouts, price
from .memory_store import MemoryStore
from .test_copyright import BOB, WORK
from .test_payouts import DAVE, a_request, a_settlement
from .test_play import CREDIT, LICENCE, PURCHASE, a_play
from .test_reports import nodes  # noqa: F401 (the fixture: routes over `history.store`)
from .test_split import a_split

ERIN = generate_key_pair()
DAY, T0 = 86400, 1_796_000_000
PARAMETERS = {"treasury_keys": [DAVE.public_key], "platform_key": BOB.public_key,
              "coop_share_bp": 3000, "payout_threshold": 100, "payout_rate": 800,
              "payout_currency": "EUR"}


def signed_by_erin(tx):
    from bigchaindb.models import Transaction

    return Transaction.from_dict(tx.sign([ERIN.private_key]).to_dict())


BAND = signed_by_erin(Party.build([ERIN.public_key], {"@type": "MusicGroup", "name": "Erin's Band"}))
NIGHT_SONG = signed_by_erin(Manifestation.build([ERIN.public_key], {
    "@type": "MusicRecording", "name": "Night Song", "recordingOf": WORK.id,
    "byArtist": [BAND.id], "isrcCode": "GB-AYE-26-00001"}))


@pytest.fixture(scope="module")
def history():
    split = a_split([(ERIN, 10000)], subject=NIGHT_SONG)
    plays, wallet = [], (PURCHASE, 0)
    for number in range(10):
        plays.append(a_play(number, credits=(wallet,), split=split, track=NIGHT_SONG.id))
        wallet = (plays[-1], len(plays[-1].outputs) - 1)
    earnings = [(play, index) for play in plays for index, output in enumerate(play.outputs)
                if output.public_keys == [ERIN.public_key]]
    request = a_request(400, credits=earnings, payee=ERIN, treasury=DAVE)
    settlement = a_settlement(request, "SEPA-77", signer=DAVE)
    store = MemoryStore()
    store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **PARAMETERS})
    store.commit(1, WORK, BAND, NIGHT_SONG, LICENCE, CREDIT, PURCHASE, split, time=T0)
    store.commit(2, *plays[:5], time=T0 + DAY)
    store.commit(3, *plays[5:], time=T0 + 2 * DAY)
    store.commit(4, request, time=T0 + 3 * DAY)
    store.commit(5, settlement, time=T0 + 4 * DAY)
    return SimpleNamespace(store=store, plays=plays, request=request, settlement=settlement,
                           split=split)


def erin_share(number):
    return dict(payouts(price(number), [(ERIN.public_key, 10000)], 3000)[0])[ERIN.public_key]


def coop_share(number):
    return payouts(price(number), [(ERIN.public_key, 10000)], 3000)[1]


def lines(history, **period):
    return list(statements.statement_lines(statements.StoreStatements(history.store),
                                           ERIN.public_key, Period(**period)))


def test_a_statement_of_days_2_to_4_counts_its_plays_payouts_and_what_is_owed(history):
    found = lines(history, from_time=T0 + DAY + DAY // 2, to_time=T0 + 5 * DAY)
    head, track, split, payout, totals, digest = found
    assert (head["kind"], head["payee"], head["payee_name"], head["from_height"], head["to_height"],
            head["currency"], head["rate"]) == ("statement", ERIN.public_key, "Erin's Band", 3, 5, "EUR", 800)
    earned = sum(erin_share(number) for number in range(5, 9))
    assert track == {"kind": "track", "track": NIGHT_SONG.id, "title": "Night Song",
                     "isrc": "GBAYE2600001", "artists": ["Erin's Band"], "paid_plays": 4,
                     "free_plays": 1, "tokens": earned,
                     "coop_tokens": sum(coop_share(number) for number in range(5, 9)),
                     "money_minor": earned * 100 // 800}
    assert (split["split"], split["paid_plays"], split["tokens"]) == (history.split.id, 4, earned)
    assert payout == {"kind": "payout", "request": history.request.id,
                      "settlement": history.settlement.id, "amount": 400, "money_minor": 50,
                      "currency": "EUR", "reference": "SEPA-77", "height": 5, "time": T0 + 4 * DAY}
    before = sum(erin_share(number) for number in range(5))
    assert (totals["owed_start"], totals["owed_end"], totals["paid_out"], totals["open_requests_end"]) == (
        before, before + earned - 400, 400, 0)
    assert totals["balance_end"] == totals["owed_end"]
    assert digest["kind"] == "digest" and digest["lines"] == 5


def test_at_the_end_of_day_4_the_request_is_open_and_owed(history):
    totals = lines(history, to_height=4)[-2]
    everything = sum(erin_share(number) for number in range(10))
    assert (totals["owed_start"], totals["owed_end"], totals["open_requests_end"],
            totals["balance_end"], totals["payouts"]) == (0, everything, 400, everything - 400, 0)


@pytest.mark.parametrize("fmt", statements.FORMATS)
def test_every_format_reads_back_to_the_lines(history, nodes, fmt):  # noqa: F811
    response = nodes["http"].get("/api/v1/resonate/statements", query_string={
        "payee": ERIN.public_key, "format": fmt, "from_height": 3})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert statements.is_statement(text.splitlines(True)[0])
    assert statements.read_lines(text) == lines(history, from_height=3)


def test_the_printable_page_names_the_track_and_payee_and_needs_no_network(history):
    page = "".join(statements.render(lines(history), "html"))
    assert "Statement for Erin&#x27;s Band" in page and "<td>Night Song</td>" in page
    assert "SEPA-77" in page and "0.50 EUR" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_an_untouched_statement_audits_clean_and_a_changed_one_does_not(history, nodes):  # noqa: F811
    text = "".join(statements.render(lines(history, from_height=3), "json"))
    clean = statements.audit(text, list(nodes["clients"]), nodes["clients"])
    assert clean.ok, clean.findings
    assert clean.transactions > 0  # the payee's transactions were checked
    document = json.loads(text)
    document["lines"][1]["tokens"] += 1
    changed = statements.audit(json.dumps(document), list(nodes["clients"]), nodes["clients"])
    assert any("`tokens`" in finding for finding in changed.findings)
    assert any(finding.startswith("digest:") for finding in changed.findings)


@pytest.mark.parametrize("params, status", [
    ({}, 400), ({"payee": "not-a-key"}, 400), ({"payee": ERIN.public_key, "format": "pdf"}, 400),
    ({"payee": ERIN.public_key, "at_height": 99}, 404),
])
def test_the_route_refuses_a_bad_query(nodes, params, status):  # noqa: F811
    response = nodes["http"].get("/api/v1/resonate/statements", query_string=params)
    assert response.status_code == status and response.get_json()["message"]


def test_the_json_statement_matches_its_documented_schema(history, nodes):  # noqa: F811
    import jsonschema
    import yaml

    from .test_reads import OPENAPI, _schema_for

    response = nodes["http"].get("/api/v1/resonate/statements", query_string={"payee": ERIN.public_key})
    jsonschema.validate(json.loads(response.get_data(as_text=True)),
                        _schema_for(yaml.safe_load(OPENAPI.read_text()), "/statements"))
