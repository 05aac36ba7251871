"""Stream to own through a real local network of 4 validators, over HTTP as an integrator
would: registration, licence, split, credits, ten plays with every balance read back from
another node after each commit, a split change between plays, a play without a streaming
licence or without a split, the same play sent to two nodes at once; an artist's payout requested, settled
and read back from every node, and a statement audited against another node; then every
route of docs/openapi.yaml answers, on that ledger, in its documented shape."""
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml
from bigchaindb.common.crypto import generate_key_pair
from jsonschema import RefResolver
from openapi_schema_validator import OAS30Validator

from bigchaindb_resonate.api import PREFIX
from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.validators.royalties import payouts, price

from .conftest import at_once, local_testnet, wait_everywhere
from . import story
from .story import LICENCE, validator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("plays"), first_port=32000) as network:
        yield network


def balances(client, *keys):
    return [client.balance(key.public_key)["balance"] for key in keys]


def test_ten_plays_priced_by_the_curve_with_a_split_change_between_two(catalogue, clients):
    treasury, platform = catalogue["treasury"], catalogue["platform"]
    artist, producer, listener = catalogue["artist"], catalogue["producer"], generate_key_pair()
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    bought = clients[0].buy_credits(treasury, listener.public_key, 5000)
    wait_everywhere(clients, bought["id"])
    keys = (listener, artist, producer, platform)
    expected = dict(zip(keys, [5000] + balances(clients[1], artist, producer, platform)))
    shares = {artist.public_key: 7000, producer.public_key: 3000}
    for number in range(10):
        if number == 5:
            # From the next play on, everything to the producer.
            change = clients[number % 4].set_split(artist, track, [(producer.public_key, 10000)])
            wait_everywhere(clients, change["id"])
            shares = {producer.public_key: 10000}
            assert clients[3].splits_of(track)["in_force"] == change["id"]
        tx = clients[number % 4].play(listener, track, licence, "GB")
        assert tx["metadata"]["playNumber"] == number and tx["metadata"]["price"] == price(number)
        wait_everywhere(clients, tx["id"])
        paid, coop = payouts(price(number), sorted(shares.items()), {"coop_share_bp": 3000})
        expected[listener] -= price(number)
        for key in (artist, producer):
            expected[key] += dict(paid).get(key.public_key, 0)
        expected[platform] += coop
        reader = clients[(number + 1) % 4]
        assert balances(reader, *keys) == [expected[key] for key in keys], f"after play {number}"
    assert expected[listener] == 5000 - 1022
    owned = clients[2].owns(listener.public_key, track)
    assert owned["plays"] == 10 and owned["owned"] and owned["tokens_paid"] == 1022
    history = clients[3].credit_history(listener.public_key)
    assert [step["balance"] for step in history["steps"]][-1] == 5000 - 1022


def test_a_play_without_a_streaming_licence_is_refused_with_its_code(catalogue, clients):
    artist, platform, listener = catalogue["artist"], catalogue["platform"], generate_key_pair()
    download_only = clients[0].derive_right(
        artist, {"source": catalogue["copyright"]["id"], **LICENCE, "usageType": ["download"]},
        licensees=[(platform.public_key, 100)])
    bought = clients[1].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    with pytest.raises(TransactionRefused) as refused:
        clients[2].play(listener, catalogue["track"]["id"], download_only["id"], "GB")
    assert refused.value.code == "PLAY_RIGHT_NOT_STREAMING"


def test_the_same_play_sent_to_two_nodes_at_once_commits_once(catalogue, clients):
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    play = clients[1].build_play(listener, catalogue["track"]["id"], catalogue["licence"]["id"], "FR")

    def submit(client):
        try:
            client.submit(play, mode="sync")
            return True
        except TransactionRefused:
            return False

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(submit, [clients[2], clients[3]]))
    wait_everywhere(clients, play["id"])
    time.sleep(3)  # several more blocks' time for a second copy to (wrongly) land
    for client in clients:
        assert client.owns(listener.public_key, catalogue["track"]["id"])["plays"] == 1
        assert client.balance(listener.public_key)["balance"] == 98
        history = client.credit_history(listener.public_key)
        assert [step["transaction_id"] for step in history["steps"]] == [bought["id"], play["id"]]


def test_plays_sent_back_to_back_in_sync_mode_are_each_the_next_play(catalogue, clients):
    # In sync mode the node answers before it counts the play; the client must not build
    # the same play again on that count.
    listener, track = generate_key_pair(), catalogue["track"]["id"]
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    sent = [clients[1].play(listener, track, catalogue["licence"]["id"], "GB", mode="sync")
            for _ in range(3)]
    assert [tx["metadata"]["playNumber"] for tx in sent] == [0, 1, 2]
    assert len({tx["id"] for tx in sent}) == 3
    wait_everywhere(clients, sent[-1]["id"])
    assert all(client.is_committed(tx["id"]) for client in clients for tx in sent)
    assert clients[3].owns(listener.public_key, track)["plays"] == 3


def test_a_paid_play_of_a_track_without_a_split_is_refused_as_play_no_split(catalogue, clients):
    artist, platform, listener = generate_key_pair(), catalogue["platform"], generate_key_pair()
    band = clients[0].register_party(artist, {"@type": "MusicGroup", "name": "Unsplit"})
    work = clients[0].register_work(artist, {"@type": "MusicComposition", "name": "Unsplit",
                                             "composer": [band["id"]]})
    track = clients[0].register_manifestation(artist, {
        "@type": "MusicRecording", "name": "Unsplit", "recordingOf": work["id"],
        "byArtist": [band["id"]]})
    copyright = clients[0].register_copyright(artist, {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01"})
    licence = clients[0].derive_right(artist, {"source": copyright["id"], **LICENCE},
                                      licensees=[(platform.public_key, 100)])
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, licence["id"])
    wait_everywhere(clients, bought["id"])
    with pytest.raises(TransactionRefused) as refused:
        clients[2].play(listener, track["id"], licence["id"], "GB")
    assert refused.value.code == "PLAY_NO_SPLIT"


def test_a_play_names_its_territory_as_records_store_it(catalogue, clients):
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    play = clients[1].build_play(listener, catalogue["track"]["id"], catalogue["licence"]["id"],
                                 " gb ")
    assert play["metadata"]["territory"] == "GB"


# -- every documented route, on this ledger, in its documented shape

OPENAPI = yaml.safe_load((Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text())


def documented_schema(response):
    """A response's JSON schema, its references resolved within the document."""
    while "$ref" in response:
        response = OPENAPI["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]


@pytest.fixture(scope="module")
def samples(catalogue, clients, testnet):
    """A value for each path parameter a route may have, naming what this ledger holds,
    and the query a route needs to find something."""
    track = catalogue["track"]
    recording = clients[0].register_manifestation(catalogue["artist"], {
        "@type": "MusicRecording", "name": "Abusey Junction (live)",
        "recordingOf": track["asset"]["data"]["recordingOf"],
        "byArtist": track["asset"]["data"]["byArtist"], "isrcCode": "GB-AYE-26-00531"})
    wait_everywhere(clients, recording["id"])
    listener = clients[3].credit_history(catalogue["treasury"].public_key)["steps"][-1]
    # A listener with a payment channel: the channel routes answer for it.
    subscriber = generate_key_pair()
    wait_everywhere(clients, clients[0].buy_credits(catalogue["treasury"], subscriber.public_key, 100)["id"])
    channel = clients[1].open_channel(subscriber, catalogue["platform"].public_key, 50)
    wait_everywhere(clients, channel["id"])
    paths = {"record_id": catalogue["copyright"]["id"], "track_id": track["id"],
             "work_id": track["asset"]["data"]["recordingOf"],
             "public_key": subscriber.public_key, "channel_id": channel["id"],
             "transaction_id": listener["transaction_id"], "tx_id": listener["transaction_id"],
             "txid": listener["transaction_id"], "file": "dashboard.js"}
    # A parameter election open far ahead (it changes nothing the plays here see).
    proposer = validator(testnet, "node1")
    election = clients[0].propose_parameter(proposer, "payout_threshold", 9000,
                                            clients[0].parameters()["height"] + 10_000)
    wait_everywhere(clients, election["id"])
    paths.update(name="payout_threshold", election_id=election["id"])
    queries = {"/lookup": {"isrc": "GBAYE2600531"}, "/records/{record_id}/rights": {"depth": "all"},
               "/reports/totals": {"key": ["network", f"track|{track['id']}"]},
               "/statements": {"payee": catalogue["artist"].public_key},
               "/dashboard/subject": {"party": track["asset"]["data"]["byArtist"][0]},
               "/dashboard/figures": {"track": track["id"], "key": catalogue["artist"].public_key}}
    return paths, queries


def documented_routes():
    return [(path, method) for path, item in OPENAPI["paths"].items()
            for method in item if method == "get"]


@pytest.mark.parametrize("route, method", documented_routes())
def test_every_documented_route_answers_in_its_documented_shape(route, method, samples, testnet):
    paths, queries = samples
    names = re.findall(r"{([^}]+)}", route)
    missing = [name for name in names if name not in paths]
    assert not missing, f"{route}: give this test a value for {missing} in `samples`"
    url = testnet.nodes[1].api_url + PREFIX + route.format(**paths)
    operation = OPENAPI["paths"][route][method]
    response = requests.get(url, params=queries.get(route, {}), timeout=30)
    assert str(response.status_code) in operation["responses"], (url, response.text[:300])
    assert response.status_code == 200, (url, response.text[:300])
    content = documented_schema(operation["responses"]["200"])
    media = response.headers["Content-Type"].split(";")[0]
    assert media in content, f"{route} answered {media}, documented {sorted(content)}"
    if media == "application/json":
        OAS30Validator(content[media]["schema"], resolver=RefResolver.from_schema(OPENAPI)).validate(
            response.json())
    # Where a route documents 404, an id nobody registered gets it, in the Error shape.
    ids = [name for name in names if name != "public_key"]
    if ids and "404" in operation["responses"]:
        unknown = route.format(**{**paths, **{name: "0" * 64 for name in ids}})
        response = requests.get(testnet.nodes[2].api_url + PREFIX + unknown, timeout=30)
        assert response.status_code == 404, (unknown, response.text[:300])
        OAS30Validator(documented_schema(operation["responses"]["404"])["application/json"]["schema"],
                       resolver=RefResolver.from_schema(OPENAPI)).validate(response.json())


def test_every_report_format_answers_with_its_documented_media_type(catalogue, testnet):
    documented = documented_schema(OPENAPI["paths"]["/reports"]["get"]["responses"]["200"])
    for fmt in ("json", "csv", "dsr"):
        response = requests.get(testnet.nodes[0].api_url + PREFIX + "/reports",
                                params={"format": fmt}, timeout=60)
        assert response.status_code == 200
        assert response.headers["Content-Type"].split(";")[0] in documented


@pytest.mark.parametrize("node, reader, status", [(3, "head -c 100", (0, 141)),
                                                  (2, "true", (141,))])
def test_a_report_piped_into_a_reader_that_stops_ends_quietly(catalogue, testnet, node, reader,
                                                              status):
    """`resonate report | head`; `| true` goes away before the first byte. (One node each:
    a node that a client left mid-report is issue 8's item 1, not the command line's.)"""
    resonate = Path(sys.executable).parent / "resonate"
    pipeline = subprocess.run(
        f"set -o pipefail; {resonate} report --node {testnet.nodes[node].api_url} --format csv "
        f"| {reader}", shell=True, executable="/bin/bash", capture_output=True, text=True,
        timeout=120)
    assert "Traceback" not in pipeline.stderr and "bug in resonate" not in pipeline.stderr
    assert pipeline.returncode in status, pipeline.stderr
    assert len(pipeline.stdout) == (100 if reader.startswith("head") else 0)


def test_every_command_that_asks_a_node_answers_unknown_ids_with_what_to_do(
        catalogue, testnet, tmp_path, monkeypatch):
    """The walk of tests/unit/test_cli.py, against a real node: well-formed ids and keys
    nobody registered, a key pair that holds nothing."""
    from unit import test_cli as walk

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    keypair = generate_key_pair()
    (tmp_path / "key.json").write_text(json.dumps({"public_key": keypair.public_key,
                                                   "private_key": keypair.private_key}))
    (tmp_path / "junk.json").write_text("not json at all {")
    asked = 0
    for words, parser in walk.LEAVES:
        if not any(action.dest == "node" for action in parser._actions):
            continue
        argv = walk.argv_for(words, parser, "real node", {"real node": testnet.nodes[0].api_url},
                             tmp_path)
        status, out, err = walk.run_in_process(argv, monkeypatch, tmp_path)
        walk.assert_says_what_to_do(argv, status, out, err)
        asked += 1
    assert asked >= 20


def test_two_different_plays_with_one_number_at_once_one_commits_the_other_is_told_why(
        catalogue, clients):
    """Both are the listener's play 0 (in two territories) and pass CheckTx on their own
    nodes; the loser is dropped when the winner commits, and its sender hears why then
    (mode=commit), not a timeout."""
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    plays = [clients[1].build_play(listener, catalogue["track"]["id"], catalogue["licence"]["id"],
                                   territory) for territory in ("GB", "FR")]
    answers = at_once([(clients[2].submit, plays[0]), (clients[3].submit, plays[1])])
    refusals = [answer for answer in answers if isinstance(answer, TransactionRefused)]
    assert len(refusals) == 1 and refusals[0].status == 400
    # It spends the credits the winner spent, and repeats the winner's play number.
    assert refusals[0].code in ("HOST_DOUBLE_SPEND", "PLAY_NUMBER_MISMATCH")
    assert clients[0].owns(listener.public_key, catalogue["track"]["id"])["plays"] == 1


def test_issuing_the_credit_token_again_says_it_exists(catalogue, clients):
    """The same treasury key builds the very same transaction again."""
    with pytest.raises(TransactionRefused) as refused:
        clients[1].issue_credit_token(catalogue["treasury"])
    assert (refused.value.status, refused.value.code) == (400, "CREDIT_ALREADY_ISSUED")


def test_plays_pay_an_artist_who_is_paid_out_and_whose_statement_another_node_audits(
        catalogue, clients, testnet, capsys, tmp_path):
    from bigchaindb_resonate import cli
    from bigchaindb_resonate.reports import statements

    treasury, listener, artist = catalogue["treasury"], generate_key_pair(), generate_key_pair()
    released = story.release(clients, artist, catalogue["platform"], "Ezra Collective",
                             "Victory Dance", [(artist.public_key, 10000)])
    bought = clients[0].buy_credits(treasury, listener.public_key, 2000)
    wait_everywhere(clients, bought["id"])
    first = None
    for number in range(10):
        play = clients[number % 4].play(listener, released["track"]["id"], released["licence"]["id"], "GB")
        wait_everywhere(clients, play["id"])  # the next node builds on it
        first = first or play
    earned = sum(dict(payouts(price(number), [(artist.public_key, 10000)], {"coop_share_bp": 3000})[0])[artist.public_key]
                 for number in range(10))
    # The default threshold is 8000 tokens (10 EUR): an advance from the treasury tops
    # the artist's earnings up to it.
    advance = clients[1].buy_credits(treasury, artist.public_key, 8000 - earned)
    wait_everywhere(clients, advance["id"])
    request = clients[2].request_payout(artist, 8000)
    wait_everywhere(clients, request["id"])
    assert [client.payee_account(artist.public_key)["open_requests"][0]["id"] for client in clients] \
        == [request["id"]] * 4
    settlement = clients[3].settle_payout(treasury, request["id"], "SEPA-2026-11-29-42")
    wait_everywhere(clients, settlement["id"])
    with pytest.raises(TransactionRefused) as refused:
        clients[0].settle_payout(treasury, request["id"], "SEPA-2026-11-29-43")
    assert refused.value.code == "PAYOUT_REQUEST_NOT_OPEN"
    accounts = [client.payee_account(artist.public_key) for client in clients]
    assert all(account == accounts[0] for account in accounts)
    assert (accounts[0]["owed"], accounts[0]["paid"], accounts[0]["open_requests"]) == (0, 8000, [])
    assert [(payout["settlement"], payout["money_minor"], payout["currency"]) for payout in accounts[0]["payouts"]] \
        == [(settlement["id"], 1000, "EUR")]
    assert cli.main(["payout", "status", artist.public_key, "--node", clients[1].api_url]) == 0
    assert "paid 8000 tokens" in capsys.readouterr().out

    # The period from the first play on, computed by node 1 and audited against node 4.
    since = clients[0].status(first["id"])["height"]
    for fmt in ("json", "html"):
        text = clients[0].statement(artist.public_key, fmt, from_height=since)
        result = statements.audit(text, [clients[3].api_url])
        assert result.ok, result.findings
    lines = statements.read_lines(text)
    track, totals = lines[1], lines[-2]
    assert (track["title"], track["artists"], track["paid_plays"], track["free_plays"], track["tokens"]) == (
        "Victory Dance", ["Ezra Collective"], 9, 1, earned)
    assert lines[0]["payee_name"] == "Ezra Collective"
    assert (totals["paid_out"], totals["paid_out_money_minor"], totals["owed_end"]) == (8000, 1000, 0)
    # The same through the command line: a CSV statement from node 2, audited against node 3.
    out = tmp_path / "statement.csv"
    assert cli.main(["statement", "--payee", artist.public_key, "--from-height", str(since),
                     "--format", "csv", "--out", str(out), "--node", clients[1].api_url]) == 0
    assert cli.main(["audit", str(out), "--node", clients[2].api_url]) == 0
    assert "matches" in capsys.readouterr().err
