"""The registry's reads (reads.py) and their HTTP routes (api.py) over an in-memory store
that holds documents the way BigchainDB 2.2.2 stores them (memory_store.py)."""
import contextlib
import hashlib
from pathlib import Path

import jsonschema
import pytest
import yaml
from flask import Flask

from bigchaindb_resonate import api, reads
from .memory_store import MemoryStore

OPENAPI = Path(__file__).parents[2] / "docs" / "openapi.yaml"
KEY = "4K9H6zjvzMQfyHJhsJDQZdgsZFGsJpBrvSUnAwpXyN9G"  # an Ed25519 key that holds nothing here
RECORD_OPERATIONS = {"PARTY", "WORK", "MANIFESTATION", "COPYRIGHT", "RIGHT"}


def txid(name):
    return hashlib.sha3_256(name.encode()).hexdigest()


def key(name):
    return f"{name}-key"


def outputs(*holders):
    return [{"public_keys": [key(holder)], "amount": str(amount)} for holder, amount in holders]


def creation(name, operation, data, holders, signer):
    return {"id": txid(name), "operation": operation, "asset": {"data": data}, "metadata": None,
            "inputs": [{"owners_before": [key(signer)], "fulfills": None}],
            "outputs": outputs(*holders)}


def transfer(name, operation, asset, spends, holders, metadata=None):
    return {"id": txid(name), "operation": operation, "asset": {"id": txid(asset)},
            "metadata": metadata,
            "inputs": [{"owners_before": [key(owner)],
                        "fulfills": {"transaction_id": txid(source), "output_index": index}}
                       for source, index, owner in spends],
            "outputs": outputs(*holders)}


def record(label, operation, /, signer="alice", holders=None, **data):
    return creation(label, operation, data, holders or [(signer, 1)], signer)


ASSIGNMENT = {"@type": "RightsTransferAction", "transferContract": "https://example.org/c"}
TERMS = {"territory": {"include": ["GB"]}, "validFrom": "2024-01-01"}


@pytest.fixture
def ledger():
    store = MemoryStore()
    store.commit(1, record("party", "PARTY", **{"@type": "MusicGroup", "name": "Kokoroko"}),
                 record("work", "WORK", **{"@type": "MusicComposition", "name": "Abusey Junction",
                                           "composer": [txid("party")], "iswcCode": "T0345246801"}))
    store.commit(2, record("recording", "MANIFESTATION", recordingOf=txid("work"),
                           isrcCode="GBAYE6900531", **{"@type": "MusicRecording"}),
                 record("album", "MANIFESTATION", manifestationOf=txid("work"),
                        **{"@type": "MusicAlbum"}),
                 record("release", "MANIFESTATION", manifestationOfWork=txid("work"),
                        **{"@type": "MusicRelease"}),
                 record("elsewhere", "MANIFESTATION", recordingOf=txid("other-work")),
                 creation("plain", "CREATE", {"x": 1}, [("alice", 3)], "alice"))
    store.commit(3, record("copyright", "COPYRIGHT", holders=[("alice", 60), ("bob", 40)],
                           rightsOf=txid("recording"), **TERMS),
                 record("right", "RIGHT", holders=[("carol", 100)], source=txid("copyright"),
                        **TERMS, usageType=["on_demand_stream"]))
    store.commit(4, transfer("assign", "RIGHTS_ASSIGNMENT", "copyright",
                             [("copyright", 0, "alice")], [("frank", 20), ("alice", 40)],
                             ASSIGNMENT),
                 record("old-style-right", "RIGHT", holders=[("dave", 100)],
                        allowedBy=txid("copyright"), **TERMS))
    store.stored_before_its_block(5, record("sub-right", "RIGHT", signer="carol",
                                            holders=[("erin", 100)], source=txid("right"), **TERMS))
    store.finds.clear()
    return store


def holder(name, amount, tx, index):
    return {"public_keys": [key(name)], "amount": amount, "transaction_id": txid(tx),
            "output_index": index}


COPYRIGHT_NOW = [holder("alice", 40, "assign", 1), holder("bob", 40, "copyright", 1),
                 holder("frank", 20, "assign", 0)]


def test_record_has_its_data_and_current_holders(ledger):
    found = reads.record(ledger, txid("copyright"))
    assert found == {"id": txid("copyright"), "operation": "COPYRIGHT",
                     "data": {"rightsOf": txid("recording"), **TERMS}, "holders": COPYRIGHT_NOW}
    assert reads.holders(ledger, txid("copyright")) == {
        "id": txid("copyright"), "operation": "COPYRIGHT", "holders": COPYRIGHT_NOW}


@pytest.mark.parametrize("name", ["plain", "assign", "nothing"])
def test_only_registry_records_are_records(ledger, name):
    assert reads.record(ledger, txid(name)) is None
    assert reads.holders(ledger, txid(name)) is None
    assert reads.history(ledger, txid(name)) is None


def test_history_is_in_commit_order_with_holders_after_each_step(ledger):
    assert reads.history(ledger, txid("copyright")) == {
        "id": txid("copyright"), "operation": "COPYRIGHT", "steps": [
            {"transaction_id": txid("copyright"), "operation": "COPYRIGHT", "height": 3,
             "metadata": None,
             "holders": [holder("alice", 60, "copyright", 0), holder("bob", 40, "copyright", 1)]},
            {"transaction_id": txid("assign"), "operation": "RIGHTS_ASSIGNMENT", "height": 4,
             "metadata": ASSIGNMENT, "holders": COPYRIGHT_NOW},
        ]}


def test_history_follows_blocks_not_storage_order():
    store = MemoryStore()
    store.commit(2, transfer("back", "TRANSFER", "party", [("to-bob", 0, "bob")], [("alice", 1)]))
    store.commit(1, record("party", "PARTY"),
                 transfer("to-bob", "TRANSFER", "party", [("party", 0, "alice")], [("bob", 1)]))
    steps = reads.history(store, txid("party"))["steps"]
    assert [(step["transaction_id"], step["height"]) for step in steps] == [
        (txid("party"), 1), (txid("to-bob"), 1), (txid("back"), 2)]
    assert [step["holders"][0]["public_keys"] for step in steps] == [
        [key("alice")], [key("bob")], [key("alice")]]


def right(name, source, depth, *holders):
    found = {"id": txid(name), "source": txid(source), "depth": depth}
    found["holders"] = [holder(who, 100, name, 0) for who in holders]
    return found


def without_data(answer):
    return [{k: v for k, v in entry.items() if k != "data"} for entry in answer["rights"]]


def test_rights_direct_children_under_either_link_name(ledger):
    found = reads.rights(ledger, txid("copyright"))
    assert found["operation"] == "COPYRIGHT"
    assert without_data(found) == sorted(
        [right("right", "copyright", 1, "carol"), right("old-style-right", "copyright", 1, "dave")],
        key=lambda entry: entry["id"])
    assert found["rights"][0]["data"]["territory"] == {"include": ["GB"]}


def test_rights_whole_tree_reaches_sub_rights(ledger):
    found = reads.rights(ledger, txid("copyright"), whole_tree=True)
    assert without_data(found)[-1] == right("sub-right", "right", 2, "erin")
    assert [entry["depth"] for entry in found["rights"]] == [1, 1, 2]
    assert without_data(reads.rights(ledger, txid("right"))) == [
        right("sub-right", "right", 1, "erin")]


@pytest.mark.parametrize("name", ["work", "party", "assign", "nothing"])
def test_rights_only_of_a_copyright_or_right(ledger, name):
    assert reads.rights(ledger, txid(name)) is None


def test_holdings_lists_records_with_unspent_outputs_of_the_key(ledger):
    found = reads.holdings(ledger, key("alice"))
    expected = [
        {"asset_id": txid("copyright"), "operation": "COPYRIGHT", "amount": 40,
         "outputs": [holder("alice", 40, "assign", 1)]},
        *({"asset_id": txid(name), "operation": operation, "amount": 1,
           "outputs": [holder("alice", 1, name, 0)]}
          for name, operation in [("party", "PARTY"), ("work", "WORK"),
                                  ("recording", "MANIFESTATION"), ("album", "MANIFESTATION"),
                                  ("release", "MANIFESTATION"), ("elsewhere", "MANIFESTATION")]),
    ]
    assert found == sorted(expected, key=lambda entry: entry["asset_id"])
    assert [entry["asset_id"] for entry in reads.holdings(ledger, key("frank"))] == [
        txid("copyright")]
    assert reads.holdings(ledger, key("nobody")) == []


def test_recordings_of_a_work_under_all_three_link_names(ledger):
    found = reads.recordings(ledger, txid("work"))
    assert found["id"] == txid("work")
    assert sorted((entry["id"], entry["link"]) for entry in found["recordings"]) == sorted([
        (txid("recording"), "recordingOf"), (txid("album"), "manifestationOf"),
        (txid("release"), "manifestationOfWork")])
    assert reads.recordings(ledger, txid("recording")) is None
    assert reads.recordings(ledger, txid("other-work")) is None


def test_lookup_by_canonical_identifier(ledger):
    assert [entry["id"] for entry in reads.lookup(ledger, "iswc", "T0345246801")] == [txid("work")]
    assert [entry["id"] for entry in reads.lookup(ledger, "isrc", "GBAYE6900531")] == [
        txid("recording")]
    assert reads.lookup(ledger, "isrc", "GBAYE6900532") == []


def grow(store, count):
    """Commit `count` blocks of records that no read below is about."""
    for index in range(count):
        store.commit(100 + index, record(f"filler-{index}", "PARTY", signer="filler"),
                     record(f"filler-right-{index}", "RIGHT", signer="filler",
                            source=txid("other-copyright")))
    store.finds.clear()


@pytest.mark.parametrize("read, args", [
    (reads.record, (txid("copyright"),)), (reads.holders, (txid("copyright"),)),
    (reads.history, (txid("copyright"),)), (reads.rights, (txid("copyright"), True)),
    (reads.rights, (txid("recording"),)), (reads.recordings, (txid("work"),)),
    (reads.lookup, ("iswc", "T0345246801")), (reads.lookup, ("isrc", "GBAYE6900531")),
    (reads.holdings, (key("alice"),)), (reads.holdings, (key("frank"),)),
    (reads.holdings, (key("nobody"),)),
    (reads.record, (txid("missing"),)), (reads.rights, (txid("missing"),)),
])
def test_registry_reads_look_every_document_up_by_key(ledger, read, args):
    """Each query is one `_id` equality (what FerretDB serves with an index), and their
    number follows the record or key asked about, not the ledger."""
    first = read(ledger, *args)
    assert ledger.scans == []
    few = len(ledger.finds)
    grow(ledger, 20)
    assert read(ledger, *args) == first
    assert ledger.scans == [] and len(ledger.finds) == few


def test_record_operations_are_the_registered_create_like_types():
    operations = reads.record_operations()
    assert RECORD_OPERATIONS <= operations and "RIGHTS_ASSIGNMENT" not in operations


# -- through HTTP

def api_client(store):
    """A test client of the HTTP API (api.py) reading `store`."""
    app = Flask(__name__)

    @contextlib.contextmanager
    def pool():
        yield store

    app.config["bigchain_pool"] = pool
    api.register(app)
    return app.test_client()


@pytest.fixture
def http(ledger):
    return api_client(ledger)


def get(http, path, **params):
    response = http.get(api.PREFIX + path, query_string=params)
    return response.status_code, response.get_json()


def test_routes_answer_what_the_reads_compute(http, ledger):
    assert get(http, f"/records/{txid('copyright')}") == (200, reads.record(ledger, txid("copyright")))
    assert get(http, f"/records/{txid('copyright')}/rights", depth="all")[1]["rights"][-1]["id"] \
        == txid("sub-right")
    status, body = get(http, f"/holders/{KEY}")
    assert (status, body["holdings"]) == (200, [])


@pytest.mark.parametrize("params, canonical", [
    ({"iswc": "T-034.524.680-1"}, {"iswc": "T0345246801"}),
    ({"iswc": "ISWC T 034 524 680 1"}, {"iswc": "T0345246801"}),
    ({"isrc": "GB-AYE-69-00531"}, {"isrc": "GBAYE6900531"}),
    ({"isrc": "ISRC gbaye6900531"}, {"isrc": "GBAYE6900531"}),
])
def test_lookup_accepts_display_forms(http, params, canonical):
    status, body = get(http, "/lookup", **params)
    assert status == 200
    assert {name: body[name] for name in canonical} == canonical
    assert len(body["records"]) == 1


@pytest.mark.parametrize("path, params, status", [
    ("/records/nothex", {}, 400),
    (f"/records/{txid('nothing')}", {}, 404),
    (f"/records/{txid('plain')}/history", {}, 404),
    (f"/records/{txid('nothing')}/holders", {}, 404),
    (f"/records/{txid('copyright')}/rights", {"depth": "2"}, 400),
    (f"/records/{txid('work')}/rights", {}, 404),
    ("/holders/not-a-key", {}, 400),
    (f"/works/{txid('party')}/recordings", {}, 404),
    ("/lookup", {}, 400),
    ("/lookup", {"iswc": "T0345246801", "isrc": "GBAYE6900531"}, 400),
    ("/lookup", {"iswc": "T0345246802"}, 400),
    ("/lookup", {"iswc": "T-123.456.789-4"}, 404),
])
def test_errors_are_json_with_status_and_message(http, path, params, status):
    answer_status, body = get(http, path, **params)
    assert answer_status == status
    assert body["status"] == status and body["message"]


def test_a_bad_identifier_names_its_code(http):
    assert get(http, "/lookup", isrc="GB-AYE-69")[1]["code"] == "INVALID_ISRC"


# -- every answer matches docs/openapi.yaml

def _schema_for(document, path, status=200):
    """The documented JSON schema of a response, with OpenAPI's `nullable` made JSON Schema."""
    def convert(node):
        if isinstance(node, dict):
            node = {name: convert(value) for name, value in node.items()}
            if node.pop("nullable", False):
                return {"anyOf": [node, {"type": "null"}]}
            return node
        return [convert(value) for value in node] if isinstance(node, list) else node

    converted = convert(document)
    response = converted["paths"][path]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = converted["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return {**response["content"]["application/json"]["schema"],
            "components": converted["components"]}


def documented(route):
    """The schema docs/openapi.yaml documents for `route`'s answer."""
    return _schema_for(yaml.safe_load(OPENAPI.read_text()), route)


@pytest.mark.parametrize("route, path, params", [
    ("/records/{record_id}", f"/records/{txid('copyright')}", {}),
    ("/records/{record_id}/history", f"/records/{txid('copyright')}/history", {}),
    ("/records/{record_id}/holders", f"/records/{txid('copyright')}/holders", {}),
    ("/records/{record_id}/rights", f"/records/{txid('copyright')}/rights", {"depth": "all"}),
    ("/holders/{public_key}", f"/holders/{KEY}", {}),
    ("/works/{work_id}/recordings", f"/works/{txid('work')}/recordings", {}),
    ("/lookup", "/lookup", {"isrc": "GB-AYE-69-00531"}),
    ("/lookup", "/lookup", {"iswc": "T0345246801"}),
    ("/", "/", {}),
])
def test_answers_match_the_documented_schemas(http, ledger, route, path, params):
    document = yaml.safe_load(OPENAPI.read_text())
    status, body = get(http, path, **params)
    assert status == 200
    jsonschema.validate(body, _schema_for(document, route))
    status, body = get(http, "/records/nothex")
    jsonschema.validate(body, _schema_for(document, "/records/{record_id}", 400))
