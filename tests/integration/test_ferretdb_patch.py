"""The FerretDB patch (patches/ferretdb/): still needed, still applies, and every lookup the
node makes on the patched store is served by an index.

SQLite uses an index on an expression only for a query with that same expression. FerretDB
1.24.2 builds the `_id` index on one expression and filters `_id` with another; the patch
makes the filter use the index's. These tests read the released module source, run the
stock and the patched binaries, and ask FerretDB's `explain` (SQLite's own EXPLAIN QUERY
PLAN, from the SQLite inside FerretDB) how each lookup runs.
"""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pymongo
import pymongo.collection
import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import binaries

from .conftest import free_port
from .test_plays_abci import Market, chain  # noqa: F401 (the Market needs the chain fixture)
from .test_rights_abci import delivered

pytestmark = pytest.mark.integration

METADATA_GO = "internal/backends/sqlite/metadata/metadata.go"
REGISTRY_GO = "internal/backends/sqlite/metadata/registry.go"


def go_string(literal):
    """The value of a Go string literal: "interpreted" or `raw`."""
    if literal.startswith("`"):
        return literal[1:-1]
    return literal[1:-1].encode().decode("unicode_escape")


def id_filter_expression(src):
    """What FerretDB's SQLite backend appends to its JSON column to filter on `_id`."""
    found = re.search(r'^\s*IDColumn\s*=\s*DefaultColumn\s*\+\s*("[^"\n]*"|`[^`\n]*`)\s*$',
                      (src / METADATA_GO).read_text(), re.MULTILINE)
    assert found, f"IDColumn is no longer DefaultColumn + a literal in {METADATA_GO}"
    return go_string(found.group(1))


def id_index_expression(src):
    """The expression indexesCreate builds the `_id` index on: each field quoted with %q
    and appended with `->`, so `->"_id"`."""
    registry = (src / REGISTRY_GO).read_text()
    assert 'fields[j] = fmt.Sprintf("%q", f)' in registry
    assert 'fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))' in registry
    return '->"_id"'


@pytest.fixture(scope="module")
def pristine_source():
    with tempfile.TemporaryDirectory() as work:
        yield binaries.ferretdb_source(binaries.find_go(), Path(work))


def test_released_ferretdb_filters_id_with_another_expression_than_its_index(pristine_source):
    """If this fails, upstream fixed it: drop the patch."""
    assert id_filter_expression(pristine_source) == "->'$._id'"
    assert id_filter_expression(pristine_source) != id_index_expression(pristine_source)


def test_the_patch_applies_to_the_release_and_filters_with_the_index_expression(pristine_source, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(pristine_source, src)
    binaries.apply_patches(src, binaries.ferretdb_patches())
    assert id_filter_expression(src) == id_index_expression(src)


class Store:
    """One FerretDB process (SQLite backend) on a store directory, stopped on exit."""

    def __init__(self, binary, home):
        self.home = home
        (home / "store").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = open(home / f"ferretdb-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [str(binary), "--telemetry=disable", "--handler=sqlite",
             f"--sqlite-url=file:{home}/store/", f"--listen-addr=127.0.0.1:{self.port}",
             f"--debug-addr=127.0.0.1:{free_port()}", f"--state-dir={home}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.client = pymongo.MongoClient("127.0.0.1", self.port, serverSelectionTimeoutMS=20000)

    def __enter__(self):
        self.client.admin.command("ping")
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def plan(database, collection, filter):
    answer = database.command("explain", {"find": collection, "filter": filter})
    return " ".join(answer["queryPlanner"]["Plan"])


def test_patched_ferretdb_opens_a_store_the_stock_one_wrote(tmp_path):
    stock = binaries.ensure_ferretdb(progress=lambda line: None, patched=False)
    patched = binaries.ensure_ferretdb(progress=lambda line: None)
    assert stock != patched
    documents = [{"_id": f"tx{n}", "id": f"tx{n}", "n": n} for n in range(300)]
    with Store(stock, tmp_path) as client:
        client.node.transactions.insert_many(documents)
        assert "SCAN" in plan(client.node, "transactions", {"_id": "tx7"})
    with Store(patched, tmp_path) as client:
        transactions = client.node.transactions
        assert "USING INDEX" in plan(client.node, "transactions", {"_id": "tx7"})
        assert transactions.find_one({"_id": "tx7"}) == documents[7]
        assert transactions.count_documents({}) == 300
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            transactions.insert_one({"_id": "tx7", "id": "again"})
        transactions.replace_one({"_id": "tx8"}, {"id": "tx8", "n": -8})
        transactions.update_one({"_id": "tx9"}, {"$set": {"n": -9}})
        transactions.delete_one({"_id": "tx10"})
        assert [doc["n"] for doc in transactions.find({"_id": {"$in": ["tx8", "tx9", "tx10"]}})] == [-8, -9]
        assert transactions.find_one({"_id": "tx7"}) == documents[7]  # the refused copy left no trace


# Queries the node makes while validating and committing that are not `_id` lookups, each
# with why it does not grow with the ledger (docs/storage.md lists them with the rest).
BOUNDED = {
    ("pre_commit", ()): "one document: the block being committed",
    ("network_parameters", ()): "one document per chain",
    ("parameter_changes", ()): "one small document per concluded parameter election, read "
                               "once per block (ledger.parameter_changes)",
}


@pytest.fixture
def recorded(monkeypatch):
    """Every (collection, filter) this process sends to the store while the fixture lives."""
    calls = []

    def recording(name):
        upstream = getattr(pymongo.collection.Collection, name)

        def method(self, filter=None, *args, **kwargs):
            calls.append((self.name, filter or {}))
            return upstream(self, filter, *args, **kwargs)

        monkeypatch.setattr(pymongo.collection.Collection, name, method)

    # find_one calls find; writes with a filter look their documents up the same way.
    for name in ("find", "update_one", "update_many", "replace_one", "delete_one",
                 "delete_many", "count_documents"):
        recording(name)
    return calls


def test_every_lookup_validation_and_commit_make_is_an_indexed_key_lookup(chain, recorded):
    market = Market(chain)
    for _ in range(3):
        play = market.play()
        market.played(play)
        assert delivered(chain, play) == ["OK"]
    alice, bob = generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 3)]).sign([alice.private_key])
    transfer = Transaction.transfer(create.to_inputs(), [([bob.public_key], 3)], asset_id=create.id)
    assert delivered(chain, create.to_dict()) == ["OK"]
    assert delivered(chain, transfer.sign([alice.private_key]).to_dict()) == ["OK"]
    # The reads behind GET /api/v1/blocks?transaction_id= and GET /api/v1/blocks/<height>.
    assert chain.bigchaindb.get_block_containing_tx(transfer.id) == [chain.height]
    assert chain.bigchaindb.get_block(chain.height)["transactions"][0]["id"] == transfer.id
    database = chain.bigchaindb.connection.db

    keyed, other = {}, set()
    for collection, filter in recorded:
        if list(filter) == ["_id"] and isinstance(filter["_id"], str):
            keyed.setdefault(collection, filter)
        else:
            other.add((collection, tuple(sorted(filter))))
    assert other <= set(BOUNDED), f"lookups that read a whole collection: {other - set(BOUNDED)}"
    for collection in ("transactions", "assets", "metadata", "spends", "rule_index",
                       "commit_positions", "chain_head", "blocks", "block_times"):
        assert collection in keyed, f"no key lookup or write on {collection}"
    for collection, filter in keyed.items():
        assert "USING INDEX" in plan(database, collection, filter), (collection, filter)
