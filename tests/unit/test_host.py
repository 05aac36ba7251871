"""Guards for every adaptation in bigchaindb_resonate/host.py: each fails if the upstream
spot it changes no longer looks the way the adaptation assumes, or if it stopped applying."""
import inspect

import abci.server
import bigchaindb
import bigchaindb.start
from bigchaindb.backend import query
from bigchaindb.backend.localmongodb import schema as mongo_schema
from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
from bigchaindb.common.transaction import Transaction
from bigchaindb.core import App
from bigchaindb.web import websocket_server
from bigchaindb.web.views import parameters
from bigchaindb.web.views.transactions import TransactionListApi

from bigchaindb_resonate import host, registry


def upstream_source(module_name, function_name):
    """The source of the unpatched upstream function, read from its file."""
    import importlib
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    start = source.index(f"def {function_name}(")
    end = source.find("\ndef ", start + 1)
    return source[start:end if end != -1 else None]


def test_the_host_is_exactly_bigchaindb_2_2_2():
    assert bigchaindb.__version__ == "2.2.2"


def test_abci_port_and_host_come_from_config():
    start_source = upstream_source("bigchaindb.start", "start")
    assert "from abci.server import ABCIServer" in start_source  # looked up at call time
    assert "ABCIServer(" in start_source
    assert inspect.signature(abci.server.ABCIServer.resonate_upstream).parameters["port"].default == 26658
    for config in (bigchaindb.config, bigchaindb._config):
        assert config["tendermint"]["abci_port"] == host.DEFAULT_ABCI_PORT
    server = abci.server.ABCIServer(port=31234, app=bigchaindb.start.App.__new__(bigchaindb.start.App))
    assert server.server.address == (host.DEFAULT_ABCI_HOST, 31234)


def test_checked_app_replaces_the_app_start_uses():
    assert "app=App(" in upstream_source("bigchaindb.start", "start")
    assert issubclass(bigchaindb.start.App, App) and bigchaindb.start.App is not App
    for hook in ("check_tx", "deliver_tx"):
        assert "decode_transaction(raw_transaction)" in inspect.getsource(getattr(App, hook))


def test_websocket_start_is_replaced_because_upstream_still_passes_loop_to_queue():
    assert "asyncio.Queue(loop=loop)" in upstream_source("bigchaindb.web.websocket_server", "start")
    assert websocket_server.start.__module__ == "bigchaindb_resonate.host"


def test_http_post_is_ours_and_upstream_still_parses_with_get_json():
    assert TransactionListApi.post.__module__ == "bigchaindb_resonate.host"
    assert "request.get_json(force=True)" in upstream_source(
        "bigchaindb.web.views.transactions", "post").replace("    ", "")


def test_operation_filter_accepts_our_operations():
    assert "raise ValueError('Operation must be \"CREATE\" or \"TRANSFER\"')" in upstream_source(
        "bigchaindb.web.views.parameters", "valid_operation")
    for operation in registry.OPERATIONS + ("CREATE", "TRANSFER"):
        assert parameters.valid_operation(operation.lower()) == operation


def test_queries_are_ours_where_upstream_uses_operators_ferretdb_lacks():
    replaced = {
        "get_txids_filtered": "$natural",
        "get_spent": "$elemMatch",
        "get_spending_transactions": "$elemMatch",
        "text_search": "$text",
    }
    for name, operator in replaced.items():
        assert operator in upstream_source("bigchaindb.backend.localmongodb.query", name)
        implementation = getattr(query, name).dispatch(LocalMongoDBConnection)
        assert implementation.__module__ == "bigchaindb_resonate.host", name


def test_no_text_index_is_created_and_terms_have_their_collection():
    for table in ("assets", "metadata"):
        assert all(index[1].get("name") != "text" for index in mongo_schema.INDEXES[table])
    assert host.TEXT_TERMS in mongo_schema.INDEXES
    from bigchaindb.backend import schema
    assert host.TEXT_TERMS in schema.TABLES


def test_every_operation_resolves_to_its_class():
    registry.self_test()
    for cls in registry.TYPES:
        assert Transaction.resolve_class(cls.OPERATION) is cls


def test_apply_is_idempotent():
    before = abci.server.ABCIServer
    host.apply()
    assert abci.server.ABCIServer is before


def test_text_terms_fold_case_and_accents():
    assert host.words("Beyoncé & the CAFÉ-Band") == ["beyonce", "the", "cafe", "band"]
    assert host.text_terms({"id": "x", "data": {"a": ["Étoile", {"b": "étoile noire"}], "n": 3}}) == {
        "etoile", "noire"}


def test_self_test_fails_when_a_type_silently_falls_back_to_create():
    import pytest
    cls = registry.TYPES[0]
    del Transaction.type_registry[cls.OPERATION]
    try:
        with pytest.raises(registry.RegistryError, match=cls.OPERATION):
            registry.self_test()
    finally:
        Transaction.register_type(cls.OPERATION, cls)


def test_registry_reads_are_mounted_where_upstream_mounts_its_routes():
    from bigchaindb.web import server

    assert "add_routes(app)" in upstream_source("bigchaindb.web.server", "create_app")
    app = server.create_app()
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert "/api/v1/transactions" in rules
    assert "/api/v1/resonate/records/<record_id>" in rules


def test_single_lookups_go_by_primary_key_because_ferretdb_pushes_down_only_id():
    for name in ("get_transaction", "get_asset"):
        assert "{'id': " in upstream_source("bigchaindb.backend.localmongodb.query", name)
    for name in ("get_transactions", "get_assets", "get_metadata"):
        assert "{'id': {'$in': " in upstream_source("bigchaindb.backend.localmongodb.query", name)
    for name in ("store_transactions", "get_transaction", "get_transactions", "get_asset",
                 "get_assets", "get_metadata", "store_assets", "store_metadatas",
                 "delete_transactions"):
        implementation = getattr(query, name).dispatch(LocalMongoDBConnection)
        assert implementation.__module__ == "bigchaindb_resonate.host", name
    assert host.keyed_by_id([{"id": "ab", "x": 1}]) == [{"id": "ab", "x": 1, "_id": "ab"}]
    assert host.SPENDS in mongo_schema.INDEXES


def test_committed_transactions_are_cached_but_absent_ones_never():
    calls = []
    found = object()

    def read(bigchain, txid):
        calls.append(txid)
        return found if txid.startswith("c") else None

    cache = host.CommittedTransactions(read, size=2)
    assert cache.get(None, "c1") is found and cache.get(None, "c1") is found
    assert cache.get(None, "absent") is None and cache.get(None, "absent") is None
    assert calls == ["c1", "absent", "absent"]
    cache.get(None, "c2"), cache.get(None, "c3")  # c1 is the least recently used: dropped
    cache.get(None, "c1")
    assert calls[-1] == "c1"


def test_rule_index_wraps_where_upstream_stores_a_block():
    from bigchaindb.lib import BigchainDB

    assert "store_transactions" in upstream_source("bigchaindb.lib", "store_bulk_transactions")
    assert BigchainDB.store_bulk_transactions.__module__ == "bigchaindb_resonate.host"
    assert BigchainDB.get_transaction.__module__ == "bigchaindb_resonate.host"


def test_blocks_are_found_by_key_where_upstream_sorts_or_searches_every_block():
    searches = {
        "get_latest_block": "sort=[('height', DESCENDING)]",
        "get_block": "{'height': block_id}",
        "get_block_with_transaction": "{'transactions': txid}",
        "store_block": ".insert_one(block)",
    }
    for name, upstream in searches.items():
        assert upstream in upstream_source("bigchaindb.backend.localmongodb.query", name), name
        implementation = getattr(query, name).dispatch(LocalMongoDBConnection)
        assert implementation.__module__ == "bigchaindb_resonate.host", name
    assert host.block_key(12) == "12"
    from bigchaindb.backend import schema
    assert {host.COMMIT_POSITIONS, host.CHAIN_HEAD} <= set(schema.TABLES)


def test_commit_stores_transactions_before_the_block_and_recovery_compares_their_heights():
    # Commit positions are written before super().commit() stores the transactions, and
    # the latest-block copy after the block: both rely on this order and this recovery.
    commit = inspect.getsource(App.commit)
    assert commit.index("store_bulk_transactions") < commit.index("store_block")
    rollback = upstream_source("bigchaindb.core", "rollback")
    assert "latest_block['height'] < pre_commit['height']" in rollback
    assert "b.delete_transactions(pre_commit['transactions'])" in rollback
    assert "COMMIT_POSITIONS" in inspect.getsource(bigchaindb.start.App.commit)


def test_latest_of_an_assets_transactions_comes_from_commit_positions():
    from tests.unit.memory_store import MemoryStore

    store = MemoryStore()
    store.commit(1, {"id": "c", "asset": {"data": {}}, "metadata": None})
    store.commit(2, {"id": "t1", "asset": {"id": "c"}, "metadata": None},
                 {"id": "t2", "asset": {"id": "c"}, "metadata": None})
    store.stored_before_its_block(3, {"id": "t3", "asset": {"id": "c"}, "metadata": None})
    assert host._latest_committed(store, ["t2", "t1", "c"]) == "t2"
    assert host._latest_committed(store, ["t1", "t3", "c"]) == "t3"
    store.finds.clear()
    host._latest_committed(store, ["t1", "t2"])
    assert store.finds == [host.COMMIT_POSITIONS] * 2  # one key lookup each, no block search
