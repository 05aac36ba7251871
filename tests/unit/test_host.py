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
    for name in ("store_transactions", "get_transaction", "get_asset", "get_metadata",
                 "store_assets", "store_metadatas", "delete_transactions"):
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


def test_pooled_instances_come_back_when_the_block_raises_or_a_stream_is_closed():
    import threading

    from bigchaindb import utils
    from bigchaindb.web import server

    upstream = upstream_source("bigchaindb.utils", "pool")
    assert "yield instance\n\n        local_pool.put(instance)" in upstream  # no `finally`
    assert "utils.pool(bigchaindb_factory, size=threads)" in upstream_source(
        "bigchaindb.web.server", "create_app")
    assert utils.pool.resonate_upstream is not utils.pool
    pool = server.create_app(threads=1, bigchaindb_factory=object).config["bigchain_pool"]
    with pool() as first:
        pass
    try:
        with pool():
            raise KeyError("a failed read")
    except KeyError:
        pass

    def stream():  # a report whose client leaves after the first chunk
        with pool():
            yield "chunk"
            yield "never sent"

    chunks = stream()
    next(chunks)
    chunks.close()
    got = []
    # With upstream's pool this would wait forever for the one instance.
    reader = threading.Thread(target=lambda: got.append(pool().__enter__()), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert got == [first]


def test_report_totals_fold_where_upstream_processes_each_committed_block():
    from types import SimpleNamespace

    from bigchaindb.elections.election import Election

    from bigchaindb_resonate.reports import totals

    end_block = inspect.getsource(App.end_block)
    assert "Election.process_block(self.bigchaindb," in end_block and "self.new_height" in end_block
    assert "Election.rollback(" in upstream_source("bigchaindb.core", "rollback")
    assert Election.process_block.__func__.__module__ == "bigchaindb_resonate.host"
    assert totals.COLLECTION in mongo_schema.INDEXES and totals.ROWS in mongo_schema.INDEXES

    class Connection:
        """Records the totals' writes; answers the network parameters."""
        def __init__(self):
            self.writes = []

        def collection(self, name):
            return SimpleNamespace(
                find_one=lambda match, **kwargs: None if match else {"platform_key": "coop"},
                update_one=lambda match, update, upsert: self.writes.append((name, [update])),
                bulk_write=lambda writes, ordered=True: self.writes.append((name, writes)))

        def run(self, query):
            return query

    play = SimpleNamespace(id="p" * 64, operation="PLAY", outputs=[
        SimpleNamespace(public_keys=["artist"], amount=7), SimpleNamespace(public_keys=["coop"], amount=3)],
        metadata={"track": "t", "territory": "GB", "playNumber": 3, "price": 10})
    bigchain = SimpleNamespace(connection=Connection(), consensus_time=86400 * 3)
    assert Election.process_block(bigchain, 7, [play]) == []
    (rows_at, (rows,)), (name, add) = bigchain.connection.writes
    assert (rows_at, name) == (totals.ROWS, totals.COLLECTION)
    rows = rows["$setOnInsert"]
    assert rows["height"] == 7 and rows["previous"] == 0 and "p" * 64 in rows["plays"]
    folded = {write._filter["_id"]: write._doc["$set"] for write in add}
    assert folded["network"]["tokens"] == 10
    assert folded["payee|coop"] == {"amount": 3, "payments": 1, "height": 7}
    assert "track-day|t|1970-01-04" in folded
