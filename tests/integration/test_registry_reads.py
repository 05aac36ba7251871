"""The registry's reads (docs/openapi.yaml) through a real 4-validator network: a whole
chain Party → Work → Manifestation → Copyright → Right → sub-Right → assignment is written
through one node and every route is read back, exactly, from another."""
import json

import pytest
import requests
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate import cli
from bigchaindb_resonate.api import PREFIX
from bigchaindb_resonate.client import NotFoundError
from bigchaindb_resonate.schemas import COALAIP_CONTEXT

from .conftest import committed, local_testnet

pytestmark = pytest.mark.integration

TERMS = {"territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01"}
LICENCE = {"uri": "https://resonate.coop/licences/stream-v1", "hash": "ab" * 32}
CONTRACT = {"uri": "https://resonate.coop/contracts/1", "hash": "cd" * 32}


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("registry-reads"), first_port=31000) as network:
        yield network


@pytest.fixture(scope="module")
def chain(clients):
    """Everything written through node 1; each step committed on every node before the next."""
    writer = clients[0]
    alice, bob, carol, erin, frank = (generate_key_pair() for _ in range(5))

    def done(tx):
        return committed(clients, tx)

    party = done(writer.register_party(alice, {"@type": "MusicGroup", "name": "Kokoroko"}))
    work = done(writer.register_work(alice, {
        "@type": "MusicComposition", "name": "Abusey Junction", "composer": [party["id"]],
        "iswcCode": "T-034.524.680-1"}))
    recording = done(writer.register_manifestation(alice, {
        "@type": "MusicRecording", "name": "Abusey Junction", "recordingOf": work["id"],
        "byArtist": [party["id"]], "isrcCode": "GB-AYE-69-00531"}))
    copyright = done(writer.register_copyright(alice, {"rightsOf": recording["id"], **TERMS},
                                               holders=[(alice.public_key, 60), (bob.public_key, 40)]))
    right = done(writer.derive_right([alice, bob], {
        "source": copyright["id"], "usageType": ["on_demand_stream", "download"],
        "exclusive": False, "license": LICENCE, **TERMS}, licensees=[(carol.public_key, 100)]))
    sub_right = done(writer.derive_right(carol, {
        "source": right["id"], "usageType": ["on_demand_stream"], "exclusive": False,
        "license": LICENCE, "territory": {"include": ["GB", "IE"]}, "validFrom": "2021-01-01"},
        licensees=[(erin.public_key, 100)]))
    assignment = done(writer.assign(alice, copyright["id"], frank.public_key, shares=20,
                                    action={"transferContract": CONTRACT}))
    return {"keys": {"alice": alice, "bob": bob, "carol": carol, "erin": erin, "frank": frank},
            "party": party, "work": work, "recording": recording, "copyright": copyright,
            "right": right, "sub_right": sub_right, "assignment": assignment}


@pytest.fixture(scope="module")
def reader(clients, chain):
    return clients[2]


def holder(keypair, amount, tx, index=0):
    return {"public_keys": [keypair.public_key], "amount": amount, "transaction_id": tx["id"],
            "output_index": index}


def test_record_is_the_registered_data_with_its_holders(chain, reader):
    alice = chain["keys"]["alice"]
    for name, operation in [("party", "PARTY"), ("work", "WORK"), ("recording", "MANIFESTATION")]:
        tx = chain[name]
        assert reader.record(tx["id"]) == {"id": tx["id"], "operation": operation,
                                           "data": tx["asset"]["data"],
                                           "holders": [holder(alice, 1, tx)]}
    # The identifiers were normalised by the builders before signing.
    assert chain["work"]["asset"]["data"]["iswcCode"] == "T0345246801"
    assert chain["recording"]["asset"]["data"]["isrcCode"] == "GBAYE6900531"
    assert chain["work"]["asset"]["data"]["@context"] == COALAIP_CONTEXT


def copyright_holders_now(chain):
    keys, assignment = chain["keys"], chain["assignment"]
    index = {output["public_keys"][0]: position
             for position, output in enumerate(assignment["outputs"])}
    entries = [holder(keys["alice"], 40, assignment, index[keys["alice"].public_key]),
               holder(keys["bob"], 40, chain["copyright"], 1),
               holder(keys["frank"], 20, assignment, index[keys["frank"].public_key])]
    return sorted(entries, key=lambda entry: entry["public_keys"])


def test_holders_of_the_copyright_after_the_assignment(chain, reader):
    copyright = chain["copyright"]
    assert reader.holders_of(copyright["id"]) == {
        "id": copyright["id"], "operation": "COPYRIGHT", "holders": copyright_holders_now(chain)}
    assert reader.record(copyright["id"])["holders"] == copyright_holders_now(chain)


def test_history_lists_creation_then_assignment_with_heights_and_holders(chain, reader):
    keys, copyright, assignment = chain["keys"], chain["copyright"], chain["assignment"]
    history = reader.history(copyright["id"])
    assert history["id"] == copyright["id"] and history["operation"] == "COPYRIGHT"
    first, second = history["steps"]
    assert (first["transaction_id"], first["operation"], first["metadata"]) == (
        copyright["id"], "COPYRIGHT", None)
    assert first["holders"] == sorted([holder(keys["alice"], 60, copyright, 0),
                                       holder(keys["bob"], 40, copyright, 1)],
                                      key=lambda entry: entry["public_keys"])
    assert (second["transaction_id"], second["operation"]) == (assignment["id"], "RIGHTS_ASSIGNMENT")
    assert second["metadata"] == assignment["metadata"] == {
        "@context": COALAIP_CONTEXT, "@type": "RightsTransferAction", "transferContract": CONTRACT}
    assert second["holders"] == copyright_holders_now(chain)
    assert 1 <= first["height"] < second["height"]
    block = requests.get(f"{reader.api_url}/api/v1/blocks/{second['height']}").json()
    assert assignment["id"] in [tx["id"] for tx in block["transactions"]]


def test_rights_direct_and_whole_tree(chain, reader):
    keys, copyright, right, sub = chain["keys"], chain["copyright"], chain["right"], chain["sub_right"]
    direct = reader.rights_of(copyright["id"])
    assert direct == {"id": copyright["id"], "operation": "COPYRIGHT", "rights": [
        {"id": right["id"], "source": copyright["id"], "depth": 1, "data": right["asset"]["data"],
         "holders": [holder(keys["carol"], 100, right)]}]}
    tree = reader.rights_of(copyright["id"], whole_tree=True)
    assert tree["rights"] == direct["rights"] + [
        {"id": sub["id"], "source": right["id"], "depth": 2, "data": sub["asset"]["data"],
         "holders": [holder(keys["erin"], 100, sub)]}]
    assert [entry["id"] for entry in reader.rights_of(right["id"])["rights"]] == [sub["id"]]
    assert reader.rights_of(sub["id"])["rights"] == []


def test_holdings_of_each_key(chain, reader):
    keys = chain["keys"]
    alice = reader.holdings(keys["alice"].public_key)
    assert {(entry["asset_id"], entry["operation"], entry["amount"]) for entry in alice["holdings"]} == {
        (chain["party"]["id"], "PARTY", 1), (chain["work"]["id"], "WORK", 1),
        (chain["recording"]["id"], "MANIFESTATION", 1), (chain["copyright"]["id"], "COPYRIGHT", 40)}
    frank = reader.holdings(keys["frank"].public_key)
    assert frank == {"public_key": keys["frank"].public_key, "holdings": [
        {"asset_id": chain["copyright"]["id"], "operation": "COPYRIGHT", "amount": 20,
         "outputs": [entry for entry in copyright_holders_now(chain)
                     if entry["public_keys"] == [keys["frank"].public_key]]}]}
    assert [entry["asset_id"] for entry in reader.holdings(keys["erin"].public_key)["holdings"]] \
        == [chain["sub_right"]["id"]]
    assert reader.holdings(generate_key_pair().public_key)["holdings"] == []


def test_recordings_of_the_work(chain, reader):
    work, recording = chain["work"], chain["recording"]
    assert reader.recordings_of(work["id"]) == {"id": work["id"], "recordings": [
        {"id": recording["id"], "operation": "MANIFESTATION", "link": "recordingOf",
         "data": recording["asset"]["data"]}]}


@pytest.mark.parametrize("iswc", ["T-034.524.680-1", "T0345246801", "ISWC T 034 524 680 1"])
def test_lookup_by_iswc_in_display_forms(chain, reader, iswc):
    work = chain["work"]
    assert reader.lookup_iswc(iswc) == {"iswc": "T0345246801", "records": [
        {"id": work["id"], "operation": "WORK", "data": work["asset"]["data"]}]}


@pytest.mark.parametrize("isrc", ["GB-AYE-69-00531", "ISRC GB AYE 69 00531", "gbaye6900531"])
def test_lookup_by_isrc_in_display_forms(chain, reader, isrc):
    recording = chain["recording"]
    assert reader.lookup_isrc(isrc) == {"isrc": "GBAYE6900531", "records": [
        {"id": recording["id"], "operation": "MANIFESTATION", "data": recording["asset"]["data"]}]}


def test_every_node_gives_the_same_answers(chain, clients):
    copyright = chain["copyright"]["id"]
    answers = [(client.history(copyright), client.rights_of(copyright, whole_tree=True))
               for client in clients]
    assert all(answer == answers[0] for answer in answers)


@pytest.mark.parametrize("path, params, status", [
    (f"/records/{'0' * 64}", {}, 404),
    (f"/records/{'0' * 64}/history", {}, 404),
    (f"/records/{'0' * 64}/holders", {}, 404),
    ("/records/not-an-id", {}, 400),
    ("/lookup", {"iswc": "T-123.456.789-4"}, 404),
    ("/lookup", {"isrc": "GB-AYE-69-00532"}, 404),
    ("/lookup", {"iswc": "T-034.524.680-2"}, 400),
    ("/lookup", {}, 400),
])
def test_misses_and_bad_queries_are_json_errors(reader, path, params, status):
    response = requests.get(f"{reader.api_url}{PREFIX}{path}", params=params, timeout=10)
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["message"]


@pytest.mark.parametrize("read, record", [("rights_of", "work"), ("recordings_of", "recording"),
                                          ("history", "assignment")])
def test_routes_that_need_a_kind_of_record_miss_other_kinds(chain, reader, read, record):
    with pytest.raises(NotFoundError) as missed:
        getattr(reader, read)(chain[record]["id"])
    assert missed.value.status == 404 and chain[record]["id"] in str(missed.value)


def key_file(tmp_path, keypair):
    path = tmp_path / f"{keypair.public_key[:8]}.json"
    path.write_text(json.dumps({"public_key": keypair.public_key,
                                "private_key": keypair.private_key}))
    return str(path)


def test_the_command_line_writes_and_shows(chain, clients, tmp_path, capsys):
    alice = key_file(tmp_path, chain["keys"]["alice"])
    node = ["--node", clients[1].api_url]
    assert cli.main(["work", "register", *node, "--key", alice, "--name", "Ti-de",
                     "--composer", chain["party"]["id"], "--iswc", "T-123.456.789-4"]) == 0
    work_id = capsys.readouterr().out.strip()
    committed(clients, {"id": work_id})
    assert cli.main(["show", "lookup", "--node", clients[3].api_url, "--json",
                     "--iswc", "T1234567894"]) == 0
    assert json.loads(capsys.readouterr().out)["records"][0]["id"] == work_id
    assert cli.main(["show", "holders", "--node", clients[3].api_url,
                     chain["copyright"]["id"]]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["public", "keys", "amount", "output"]
    assert sorted(line.split()[1] for line in table[1:]) == ["20", "40", "40"]


def test_the_command_line_explains_a_refusal(chain, clients, tmp_path, capsys):
    bob = key_file(tmp_path, chain["keys"]["bob"])
    # Bob did not register the recording, so he may not register its copyright.
    assert cli.main(["copyright", "register", "--node", clients[1].api_url, "--key", bob,
                     "--of", chain["recording"]["id"], "--territory", "FR",
                     "--valid-from", "2030-01-01"]) == 2
    err = capsys.readouterr().err
    assert "code:     COPYRIGHT_NOT_REGISTRANT" in err
    assert "field:    inputs[0].owners_before" in err
    assert "expected: exactly" in err and "docs/spec/copyright.md" in err
