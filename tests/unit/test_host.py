"""Guards for every adaptation in bigchaindb_resonate/host.py: each fails if the upstream
spot it changes no longer looks the way the adaptation assumes, or if it stopped applying."""
import inspect
import logging

import pytest

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


def test_abci_logs_reach_bigchaindbs_handlers_without_colour_codes():
    import abci.utils

    assert "colorlog.ColoredFormatter(" in inspect.getsource(abci.utils.get_logger)
    app_logger = logging.getLogger("abci.app")
    assert app_logger.propagate
    assert not [handler for handler in app_logger.handlers
                if type(handler.formatter).__module__.startswith("colorlog")]


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
    # Upstream still answers a commit that does not come (lost race, absent validators) as
    # a 500, and knows no status of a transaction.
    assert "return (500, 'Transaction validation failed')" in upstream_source(
        "bigchaindb.lib", "_process_post_response")


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
    assert_ours_where_upstream_still_has(replaced)


def assert_ours_where_upstream_still_has(replaced):
    """Each backend query named is ours, and upstream's still has what made us replace it."""
    for name, upstream in replaced.items():
        assert upstream in upstream_source("bigchaindb.backend.localmongodb.query", name), name
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
    assert host.words("MiXeD_case 42-Words, GB") == ["mixed_case", "42", "words", "gb"]  # ASCII
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


def test_owner_index_files_where_transactions_are_stored_and_recovery_unfiles():
    from bigchaindb_resonate.ledger import OWNER_INDEX, filed_ids, owner_key
    from .memory_store import MemoryStore

    assert "insert_many" in upstream_source("bigchaindb.backend.localmongodb.query", "store_transactions")
    assert "b.delete_transactions(pre_commit['transactions'])" in upstream_source("bigchaindb.core", "rollback")
    store, txid = MemoryStore(), "ab" * 32
    created = {"id": txid, "operation": "CREATE", "inputs": [{"fulfills": None}],
               "outputs": [{"public_keys": ["k1", "k2"], "amount": "1"}, {"public_keys": ["k1"], "amount": "2"}]}
    query.store_transactions.dispatch(LocalMongoDBConnection)(store, [created])
    assert filed_ids(store, owner_key("k1"), OWNER_INDEX) == filed_ids(store, owner_key("k2"), OWNER_INDEX) == [txid]
    assert "'outputs.public_keys': owner" in upstream_source("bigchaindb.backend.localmongodb.query", "get_owned_ids")
    owned = query.get_owned_ids.dispatch(LocalMongoDBConnection)(store, "k2")
    assert [tx["id"] for tx in owned] == [txid] and "_id" not in owned[0]
    query.delete_transactions.dispatch(LocalMongoDBConnection)(store, [txid])
    assert store.collection(OWNER_INDEX).documents == [] and store.collection("transactions").documents == []
    assert OWNER_INDEX in mongo_schema.INDEXES


def test_committed_transactions_are_cached_but_absent_ones_never():
    calls = []

    class Found:
        def __init__(self, txid):
            self.id = txid

    def read(bigchain, txid):
        calls.append(txid)
        return Found(txid) if txid.startswith("c") else None

    cache = host.CommittedTransactions(size=2)
    first = cache.get(None, "c1", read)
    assert cache.get(None, "c1", read) is first
    assert cache.get(None, "absent", read) is None and cache.get(None, "absent", read) is None
    assert calls == ["c1", "absent", "absent"]
    cache.get(None, "c2", read), cache.get(None, "c3", read)  # c1, least recently used, goes
    cache.get(None, "c1", read)
    assert calls[-1] == "c1"
    committed = Found("c4")
    cache.keep([committed])  # what the ABCI app has just committed
    assert cache.get(None, "c4", read) is committed and calls[-1] == "c1"


def test_a_cached_read_makes_upstreams_queries_but_the_asset_only_for_a_creation():
    source = upstream_source("bigchaindb.lib", "get_transaction")
    for lookup in ("query.get_transaction(", "query.get_asset(", "query.get_metadata("):
        assert lookup in source, lookup
    assert "if 'metadata' not in transaction" in source


def test_rule_index_wraps_where_upstream_stores_a_block():
    from bigchaindb.lib import BigchainDB

    assert "store_transactions" in upstream_source("bigchaindb.lib", "store_bulk_transactions")
    assert BigchainDB.store_bulk_transactions.__module__ == "bigchaindb_resonate.host"
    # Crash recovery deletes a block's transactions through delete_transactions, which
    # must unfile them first.
    assert "rollback" in upstream_source("bigchaindb.core", "rollback")
    assert "b.delete_transactions(pre_commit['transactions'])" in upstream_source("bigchaindb.core", "rollback")
    assert "unfile_rule_index(conn, txn_ids)" in inspect.getsource(host._lookups_by_primary_key)
    assert BigchainDB.get_transaction.__module__ == "bigchaindb_resonate.host"


# -- the table of adaptations

def test_every_adaptation_is_in_the_table_with_its_upstream_spot_and_existing_guards():
    import sys

    module = sys.modules[__name__]
    defined = {function for name, function in inspect.getmembers(host, inspect.isfunction)
               if function.__module__ == host.__name__ and name.startswith("_")
               and not inspect.signature(function).parameters
               and (function.__doc__ or "").startswith("`") and ".py" in function.__doc__.split("\n")[0]}
    tabled = [row.apply for row in host.ADAPTATIONS]
    assert len(set(tabled)) == len(tabled)
    assert defined == set(tabled), "every adaptation is applied through host.ADAPTATIONS"
    for row in host.ADAPTATIONS:
        assert row.upstream in row.apply.__doc__, row.apply.__name__
        assert row.guards, row.apply.__name__
        for guard in row.guards:
            assert inspect.isfunction(getattr(module, guard, None)), f"{row.apply.__name__}: {guard}"


# -- guards of the checked ABCI app: what it adds to CheckTx and DeliverTx

class EmptyChain:
    """A node with nothing committed: enough for BigchainDB's own CREATE and TRANSFER
    rules, which ask only these questions. `failure`, when set, is raised by every query."""

    def __init__(self, failure=None):
        self.failure = failure

    def _answer(self, value):
        if self.failure is not None:
            raise self.failure
        return value

    def get_latest_abci_chain(self):
        return None

    def is_committed(self, txid):
        return self._answer(False)

    def get_transaction(self, txid):
        return self._answer(None)

    def get_spent(self, txid, output, current_transactions=()):
        return self._answer(None)


def checked_app(chain):
    from abci import ABCI, TmVersion

    return bigchaindb.start.App(abci=ABCI(TmVersion.v0_31_5).types, bigchaindb=chain)


def create_and_transfer():
    import json
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction as HostTransaction

    alice, bob = generate_key_pair(), generate_key_pair()
    create = HostTransaction.create([alice.public_key], [([alice.public_key], 1)]).sign([alice.private_key])
    transfer = HostTransaction.transfer(create.to_inputs(), [([bob.public_key], 1)],
                                        asset_id=create.id).sign([alice.private_key])
    return json.dumps(create.to_dict()).encode(), json.dumps(transfer.to_dict()).encode()


class EmptyChainTakingBlocks(EmptyChain):
    """An EmptyChain that also takes the blocks App delivers and commits, into a store it
    never reads back: its answers stay true for transactions no committed block carried,
    the only ones a test may ask about."""

    def __init__(self):
        from .memory_store import MemoryStore  # one copy, one counter of stores

        super().__init__()
        self.connection = MemoryStore()
        self.blocks = []

    def store_pre_commit_state(self, state):
        pass

    def get_latest_block(self):
        return {"height": len(self.blocks), "app_hash": ""}

    def store_bulk_transactions(self, transactions):
        pass

    def store_block(self, block):
        self.blocks.append(block)


def commit_block(app, *raw_transactions):
    """Deliver and commit a block carrying `raw_transactions`, as Tendermint drives App."""
    height = len(app.bigchaindb.blocks) + 1
    app.begin_block(app.abci.RequestBeginBlock(header=app.abci.Header(
        height=height, num_txs=len(raw_transactions))))
    codes = [app.deliver_tx(raw).code for raw in raw_transactions]
    app.end_block(app.abci.RequestEndBlock(height=height))
    app.commit()
    return codes


def test_checktx_accepts_a_transaction_depending_on_one_it_accepted_and_no_block_carried():
    app = checked_app(EmptyChain())
    create, transfer = create_and_transfer()
    assert app.check_tx(transfer).log.startswith("HOST_INPUT_DOES_NOT_EXIST")  # nothing before it
    assert app.check_tx(create).code == 0
    assert app.check_tx(transfer).code == 0  # its input is in the mempool, not committed
    assert list(app.unconfirmed) == [create, transfer]
    assert [tx.id for tx in app.unconfirmed.values()] == [json_id(create), json_id(transfer)]


def test_checktx_still_accepts_a_dependent_transaction_after_a_block_carrying_others_commits():
    # With mempool.recheck off nothing checks the mempool again after a commit: the
    # app must keep what it accepted until a block carries it.
    app = checked_app(EmptyChainTakingBlocks())
    create, transfer = create_and_transfer()
    other_create, other_transfer = create_and_transfer()
    assert app.check_tx(create).code == 0
    assert app.check_tx(other_create).code == 0
    assert app.check_tx(other_transfer).code == 0
    # The block carries a valid transaction and one DeliverTx refuses (its input is in
    # no block): both leave the mempool, as Tendermint drops every transaction a block carried.
    assert commit_block(app, other_create, transfer)[1] != 0
    assert list(app.unconfirmed) == [create, other_transfer]
    assert app.check_tx(transfer).code == 0  # its input is still unconfirmed, not forgotten
    assert list(app.unconfirmed) == [create, other_transfer, transfer]


def test_checktx_accepts_again_what_it_holds_when_tendermint_rechecks_its_mempool():
    # mempool.recheck = true checks every held transaction again after a commit: a CREATE
    # is not its own duplicate, nor a TRANSFER its own double spend.
    app = checked_app(EmptyChain())
    create, transfer = create_and_transfer()
    for raw in (create, transfer, create, transfer):
        assert app.check_tx(raw).code == 0
    assert list(app.unconfirmed) == [create, transfer]


def test_checktx_keeps_no_more_unconfirmed_transactions_than_the_mempool_holds():
    from bigchaindb_resonate.testnet.config import TendermintSettings

    app = checked_app(EmptyChain())
    assert app.unconfirmed_limit == TendermintSettings().mempool_size
    app.unconfirmed_limit = 1
    create, transfer = create_and_transfer()
    other_create, _ = create_and_transfer()
    assert app.check_tx(create).code == 0
    assert app.check_tx(other_create).code == 0
    assert list(app.unconfirmed) == [other_create]  # the oldest goes
    # Its dependant waits for it to commit, as it would without the mempool.
    assert app.check_tx(transfer).log.startswith("HOST_INPUT_DOES_NOT_EXIST")


def json_id(raw):
    import json

    return json.loads(raw)["id"]


def test_a_crash_in_validation_is_a_tx_internal_error_refusal_not_a_halt():
    app = checked_app(EmptyChain(failure=ZeroDivisionError("a bug in a rule")))
    create, _ = create_and_transfer()
    checked = app.check_tx(create)
    assert checked.code != 0 and checked.log.startswith("TX_INTERNAL_ERROR")
    delivered = app.deliver_tx(create)
    assert delivered.code != 0 and delivered.log.startswith("TX_INTERNAL_ERROR")
    assert app.block_transactions == [] and not app.unconfirmed


def test_a_store_failure_in_validation_stops_the_node_rather_than_refusing():
    import pymongo.errors
    import pytest

    app = checked_app(EmptyChain(failure=pymongo.errors.AutoReconnect("store gone")))
    create, _ = create_and_transfer()
    for hook in (app.check_tx, app.deliver_tx):
        with pytest.raises(pymongo.errors.AutoReconnect):
            hook(create)


def chain_voting_in(version, activation_height):
    """An EmptyChainTakingBlocks whose genesis set parameters and on which an election
    has voted `rules_version` = `version` in from `activation_height`."""
    from bigchaindb_resonate.ledger import NETWORK_PARAMETERS, PARAMETER_CHANGES

    chain = EmptyChainTakingBlocks()
    chain.connection.collection(NETWORK_PARAMETERS).documents.append(
        {"chain_id": "memory", "treasury_keys": ["k"], "platform_key": "k", "coop_share_bp": 3000})
    chain.connection.collection(PARAMETER_CHANGES).documents.append(
        {"_id": "e" * 64, "parameter": "rules_version", "value": version, "election": "e" * 64,
         "activation_height": activation_height, "concluded_height": 1})
    return chain


def test_a_node_lacking_a_voted_rule_version_is_told_at_each_commit_then_stops_at_its_height(caplog):
    import logging

    app = checked_app(chain_voting_in(7, activation_height=3))
    with caplog.at_level(logging.ERROR, logger=host.__name__):
        assert commit_block(app) == [] and commit_block(app) == []
    told = [record.getMessage() for record in caplog.records]
    assert len(told) == 2 and all("rules version 7 (from height 3) was voted in" in line for line in told)
    with caplog.at_level(logging.CRITICAL, logger=host.__name__), pytest.raises(SystemExit):
        commit_block(app)  # height 3: stops in begin_block, before any DeliverTx
    assert "rules version 7 is in force from height 3" in caplog.records[-1].getMessage()
    assert len(app.bigchaindb.blocks) == 2


def test_a_known_voted_rule_version_neither_warns_nor_stops(caplog):
    import logging

    app = checked_app(chain_voting_in(2, activation_height=2))
    with caplog.at_level(logging.ERROR, logger=host.__name__):
        for _ in range(3):
            commit_block(app)
    assert not caplog.records and len(app.bigchaindb.blocks) == 3


def test_checktx_refuses_a_proposal_of_a_rule_version_this_node_lacks_and_delivertx_does_not():
    import json

    from bigchaindb.common.crypto import generate_key_pair

    from bigchaindb_resonate.types.parameter_election import ParameterElection

    validator = generate_key_pair()

    def proposal(version):
        tx = ParameterElection.build(validator.public_key, [(validator.public_key, 10)],
                                     "rules_version", version, 20, seed="s")
        return json.dumps(tx.sign([validator.private_key]).to_dict()).encode()

    app = checked_app(EmptyChain())
    refused = app.check_tx(proposal(7))
    assert refused.code != 0 and refused.log.startswith("RULES_VERSION_UNKNOWN")
    # A known version gets past the door to the election's own rules (no validators here).
    assert not app.check_tx(proposal(2)).log.startswith("RULES_VERSION_UNKNOWN")
    assert not app.deliver_tx(proposal(7)).log.startswith("RULES_VERSION_UNKNOWN")


# -- guards of _records_move_only_by_their_own_operation

def test_a_plain_transfer_of_a_copyright_is_refused():
    import pytest
    from bigchaindb.models import Transaction as HostTransaction

    from bigchaindb_resonate.errors import AssetMovesByItsOwnOperation
    from .test_copyright import ALICE, BOB, a_copyright, parsed

    copyright = parsed(a_copyright())
    plain = HostTransaction.transfer(copyright.to_inputs(), [([BOB.public_key], 100)],
                                     asset_id=copyright.id).sign([ALICE.private_key])
    with pytest.raises(AssetMovesByItsOwnOperation) as refused:
        plain.validate(EmptyChain(), [copyright])  # the copyright earlier in the block
    assert refused.value.expected == "RIGHTS_ASSIGNMENT"


@pytest.mark.parametrize("record_type, operation", [
    ("AbstractWork", "WORK"),  # as pycoalaip builds a Work
    (["AbstractWork"], "WORK"),
    ("CreativeWork", "MANIFESTATION"),
    ("http://schema.org/MusicComposition", "WORK"),
    ("schema:MusicRecording", "MANIFESTATION"),
    ("Copyright", "COPYRIGHT"),
    ("Right", "RIGHT"),
    ("Person", "PARTY"),
    ("ResonateCredit", "CREDIT"),
    ("RoyaltySplit", "SPLIT"),
])
def test_a_plain_create_of_one_of_our_records_is_refused_naming_its_operation(record_type, operation):
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction as HostTransaction

    from bigchaindb_resonate.errors import RecordNeedsOwnOperation

    alice = generate_key_pair()
    work = {"@context": ["https://coalaip.org/context/v1", "http://schema.org/"],
            "@type": record_type, "@id": "", "name": "Abusey Junction", "iswcCode": "T0345246801"}
    create = HostTransaction.create([alice.public_key], [([alice.public_key], 1)],
                                    asset=work).sign([alice.private_key])
    with pytest.raises(RecordNeedsOwnOperation) as refused:
        create.validate(EmptyChain())
    assert (refused.value.field, refused.value.expected) == ("asset.data.@type", operation)


@pytest.mark.parametrize("asset", [None, {"@type": "Photograph"}, {"@type": ["Event", 3]}, {"kind": "Right"}])
def test_a_plain_create_of_anything_else_is_still_the_hosts(asset):
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction as HostTransaction

    alice = generate_key_pair()
    create = HostTransaction.create([alice.public_key], [([alice.public_key], 1)],
                                    asset=asset).sign([alice.private_key])
    assert create.validate(EmptyChain()) is create


def test_the_spec_lists_every_type_a_plain_create_may_not_carry():
    from pathlib import Path

    common = (Path(__file__).resolve().parents[2] / "docs" / "spec" / "common.md").read_text()
    row = next(line for line in common.splitlines() if "`RECORD_NEEDS_OWN_OPERATION`" in line)
    for name in registry.RECORD_OPERATIONS:
        assert f"`{name}`" in row, name


def test_the_root_endpoint_names_the_plugin_and_its_rules():
    from bigchaindb.web import server

    from bigchaindb_resonate import rules

    from bigchaindb.web.views.info import RootIndex

    assert "'version': version.__version__" in inspect.getsource(RootIndex.get.resonate_upstream)
    root = server.create_app().test_client().get("/").get_json()
    assert root["version"] == "2.2.2" and root["software"] == "BigchainDB"
    assert root["resonate"]["rules"] == rules.digest(rules.rule_set())
    assert root["resonate"]["version"] == rules.summary()["version"]


def test_the_rule_digest_changes_with_any_rule_and_only_with_rules():
    import copy

    from bigchaindb_resonate import rules

    rule_set = rules.rule_set()
    assert rules.digest(copy.deepcopy(rule_set)) == rules.digest(rule_set)
    assert {"admission.py", "host.py", "types/play.py", "validators/royalties.py",
            "schemas/play_v1.0.yaml"} <= set(rule_set["sources"])
    for change in (lambda r: r["error_codes"].append("NEW_CODE"),
                   lambda r: r["schemas"]["play_v1.0"]["properties"].pop("territory"),
                   lambda r: r["sources"].update({"types/play.py": "0" * 64}),
                   lambda r: r["admission"].update(max_nesting_depth=33)):
        changed = copy.deepcopy(rule_set)
        change(changed)
        assert rules.digest(changed) != rules.digest(rule_set)


def test_the_node_command_reports_the_plugin_and_its_rules(capsys, monkeypatch):
    import sys

    from bigchaindb_resonate import __version__, node, rules

    monkeypatch.setattr(sys, "argv", list(sys.argv))  # main() sets it, as a console script
    node.main(["--version"])
    printed = capsys.readouterr().out
    assert printed.startswith(f"bigchaindb-resonate {__version__} (rules sha256:")
    assert rules.digest(rules.rule_set()) in printed and "BigchainDB 2.2.2" in printed


def test_blocks_are_found_by_key_where_upstream_sorts_or_searches_every_block():
    searches = {
        "get_latest_block": "sort=[('height', DESCENDING)]",
        "get_block": "{'height': block_id}",
        "get_block_with_transaction": "{'transactions': txid}",
        "store_block": ".insert_one(block)",
    }
    assert_ours_where_upstream_still_has(searches)
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
    ours = inspect.getsource(bigchaindb.start.App.commit)
    assert "COMMIT_POSITIONS" in ours
    # Everything ours writes per block goes before the block is stored: recovery replays
    # nothing to a node killed after it (tests/integration/test_crash_recovery_abci.py).
    assert ours.index("BLOCK_TIMES") < ours.index("super().commit()")


def test_an_accepted_delivertx_answer_is_not_empty_so_tendermint_can_replay_it():
    from abci import ABCI, TmVersion

    types = ABCI(TmVersion.v0_31_5).types
    # Upstream's answer is the empty message, which Tendermint 0.31.5 saves and reads back
    # as nil, then dereferences when it replays the block with its mock app.
    assert "return self.abci.ResponseDeliverTx(code=CodeTypeOk)" in upstream_source(
        "bigchaindb.core", "deliver_tx")
    assert types.ResponseDeliverTx(code=0).SerializeToString() == b""
    ours = host.accepted_delivery(types)
    assert ours.code == 0 and ours.SerializeToString() != b""
    assert "accepted_delivery(self.abci)" in inspect.getsource(bigchaindb.start.App.deliver_tx)


def test_latest_of_an_assets_transactions_comes_from_commit_positions():
    from .memory_store import MemoryStore  # one copy, one counter of stores

    store = MemoryStore()
    store.commit(1, {"id": "c", "operation": "CREATE", "asset": {"data": {}}, "metadata": None})
    store.commit(2, {"id": "t1", "operation": "TRANSFER", "asset": {"id": "c"}, "metadata": None},
                 {"id": "t2", "operation": "TRANSFER", "asset": {"id": "c"}, "metadata": None})
    store.stored_before_its_block(3, {"id": "t3", "operation": "TRANSFER", "asset": {"id": "c"},
                                      "metadata": None})
    assert host._latest_committed(store, ["t2", "t1", "c"]) == "t2"
    assert host._latest_committed(store, ["t1", "t3", "c"]) == "t3"
    store.finds.clear()
    host._latest_committed(store, ["t1", "t2"])
    assert store.finds == [host.COMMIT_POSITIONS] * 2  # one key lookup each, no block search


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
        host, port, dbname = "guard", 0, "totals"  # what ledger.settled keys its values by

        def __init__(self):
            self.writes = []

        def collection(self, name):
            return SimpleNamespace(
                find_one=lambda match, **kwargs: None if match else {"platform_key": "coop"},
                find=lambda match, **kwargs: [],  # no parameter changes
                update_one=lambda match, update, upsert: self.writes.append((name, [update])),
                insert_many=lambda documents, ordered=True: self.writes.append((name, documents)),
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
    folded = {document["_id"]: document for document in add}  # none stored yet: inserted
    assert folded["network"]["tokens"] == 10
    assert folded["payee|coop"] == {"_id": "payee|coop", "amount": 3, "payments": 1, "height": 7}
    assert "track-day|t|1970-01-04" in folded


def test_credit_balances_fold_where_upstream_processes_each_committed_block(monkeypatch):
    from bigchaindb.elections.election import Election

    from bigchaindb_resonate import balances, reads
    from bigchaindb_resonate.reports import totals
    from .memory_store import committed_store
    from .test_copyright import BOB
    from .test_play import MARKET, PARAMETERS, a_play

    assert "Election.process_block(self.bigchaindb," in inspect.getsource(App.end_block)
    assert Election.process_block.__func__.__module__ == "bigchaindb_resonate.host"
    assert balances.COLLECTION in mongo_schema.INDEXES
    host._credit_balances_at_commit()  # applied again, it still wraps the totals' fold once
    totals_folded = []
    monkeypatch.setattr(totals, "fold_block", lambda conn, height, *rest: totals_folded.append(height))
    store = committed_store(*MARKET, parameters=PARAMETERS)
    play = a_play(0)
    assert Election.process_block(store, 2, [play]) == []
    assert totals_folded == [2]
    paid = sum(output.amount for output in play.outputs if output.public_keys == [BOB.public_key])
    assert paid and reads.credit_balance(store, BOB.public_key)["balance"] == paid


def test_committed_reads_parse_under_released_schemas_not_the_rules_in_force():
    import json
    from pathlib import Path

    from bigchaindb.common.exceptions import ValidationError
    from bigchaindb.models import Transaction as Models

    from_db = upstream_source("bigchaindb.common.transaction", "from_db")
    # Upstream's from_db uses its class only to parse, so ours can lend it another parser.
    assert from_db.count("cls.") == 2 and from_db.count("cls.from_dict(tx)") == 2
    assert "Transaction.from_db(self" in upstream_source("bigchaindb.lib", "get_spent")
    assert Transaction.from_db.__func__.__module__ == "bigchaindb_resonate.host"
    # A committed play whose price a later rule would refuse (its id recomputed; reading
    # checks no signature): a new transaction's parse refuses it, reading
    # it from the store does not.
    example = Path(__file__).parents[2] / "docs" / "spec" / "examples" / "play.json"
    tx = json.loads(example.read_text())
    tx["metadata"]["price"] = 3
    tx["id"] = Transaction._to_hash(Transaction._to_str({**tx, "id": None}))
    with pytest.raises(ValidationError, match="PLAY_WRONG_PRICE"):
        Models.from_dict(json.loads(json.dumps(tx)))

    class Store:
        def get_assets(self, ids):
            return []

        def get_metadata(self, ids):
            return [{"id": tx["id"], "metadata": tx["metadata"]}]

    stored = {key: value for key, value in tx.items() if key != "metadata"}
    assert Models.from_db(Store(), stored).metadata["price"] == 3
    assert host.parse_committed(json.loads(json.dumps(tx))).id == tx["id"]
    with pytest.raises(ValidationError):  # the id is still checked
        host.parse_committed({**tx, "id": "0" * 64})


def test_votes_in_a_parameter_election_are_checked_where_upstream_validates_a_vote():
    from bigchaindb.elections.election import Election
    from bigchaindb.elections.vote import Vote

    from bigchaindb_resonate.ledger import PARAMETER_CHANGES
    from bigchaindb_resonate.types.parameter_election import ParameterElection

    assert Vote.validate.__module__ == "bigchaindb_resonate.host"
    assert "self.validate_transfer_inputs(bigchain, current_transactions)" in inspect.getsource(
        Vote.validate.resonate_upstream)
    assert PARAMETER_CHANGES in mongo_schema.INDEXES
    # The election hooks ParameterElection fills in are still the ones upstream calls.
    process = upstream_source("bigchaindb.elections.election", "process_block")
    assert "election.has_concluded(bigchain, votes)" in process
    assert "election.on_approval(bigchain, new_height)" in process
    elections = inspect.getsource(inspect.getmodule(Election))
    assert "isinstance(tx, Election)" in elections and "isinstance(tx, Vote)" in elections
    assert "election.on_rollback(bigchain, new_height)" in upstream_source(
        "bigchaindb.elections.election", "rollback")
    assert issubclass(ParameterElection, Election)
    assert Transaction.resolve_class(ParameterElection.OPERATION) is ParameterElection


# -- guard of the store format check at start (store_format.py)

def test_the_store_format_is_checked_where_start_recovers_before_touching_the_store():
    from bigchaindb.commands import bigchaindb as commands

    start = upstream_source("bigchaindb.commands.bigchaindb", "run_start")
    # run_recover is the first thing run_start does with the store, found as a global.
    assert start.index("run_recover(bigchaindb.lib.BigchainDB())") < start.index("_run_init()")
    assert start.index("run_recover(") < start.index("    start(args)")
    assert "rollback(b)" in inspect.getsource(commands.run_recover.resonate_upstream)
    assert commands.run_recover.__module__ == "bigchaindb_resonate.host"


def test_condition_uris_are_kept_by_key_and_are_upstreams():
    import base58
    from bigchaindb.common.crypto import generate_key_pair
    from cryptoconditions import Ed25519Sha256, ThresholdSha256
    from cryptoconditions.fulfillment import Fulfillment

    host.apply()
    kept = Fulfillment.__dict__["condition_uri"]
    assert isinstance(kept, host._KeptConditionUri)
    assert "return self.condition.serialize_uri()" in inspect.getsource(kept.upstream.fget)

    def threshold(count, keys, unfulfilled=()):
        condition = ThresholdSha256(threshold=count)
        for key in keys:
            condition.add_subfulfillment(Ed25519Sha256(public_key=base58.b58decode(key)))
        for key in unfulfilled:
            condition.add_subcondition(Ed25519Sha256(public_key=base58.b58decode(key)).condition)
        return condition

    alice, bob, carol = (generate_key_pair().public_key for _ in range(3))
    conditions = [Ed25519Sha256(public_key=base58.b58decode(alice)), threshold(2, [alice, bob]),
                  threshold(1, [alice, bob]), threshold(1, [alice, carol]), threshold(1, [alice], [bob])]
    host._CONDITION_URIS.clear()
    uris = [condition.condition_uri for condition in conditions]
    assert uris == [kept.upstream.fget(condition) for condition in conditions]
    assert len(set(uris)) == len(uris) - 1  # a subcondition unfulfilled: the same condition
    assert uris[2] == uris[4]
    assert len(host._CONDITION_URIS) == len(conditions)
    assert [condition.condition_uri for condition in conditions] == uris  # answered from the cache
    assert len(host._CONDITION_URIS) == len(conditions)


def test_a_transactions_message_is_hashed_once_for_all_its_inputs():
    import hashlib

    from bigchaindb.common import transaction

    host.apply()
    assert "message = sha3_256(message.encode())" in inspect.getsource(transaction.Transaction._input_valid)
    kept = transaction.sha3_256
    assert isinstance(kept, host._LastMessageHash)
    calls = []

    def counting(data=b""):
        calls.append(len(data))
        return hashlib.sha3_256(data)

    hashing = host._LastMessageHash(counting)
    message = b"x" * 10_000
    for spent in (b"a0", b"b1", b"a0"):
        state = hashing(message)
        state.update(spent)
        assert state.hexdigest() == hashlib.sha3_256(message + spent).hexdigest()
    assert calls == [10_000]  # once; the other two continue from a copy of its state
    assert hashing(b"y" * 10_000).hexdigest() == hashlib.sha3_256(b"y" * 10_000).hexdigest()
    assert hashing(b"small").hexdigest() == hashlib.sha3_256(b"small").hexdigest()
    assert calls == [10_000, 10_000, 5]
# -- guards of the schema checks that match each condition URI once (host_schemas.py)

def _signed_examples():
    """A CREATE, a TRANSFER and a PLAY with three outputs, as dicts."""
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction as Models

    from .test_play import a_play

    owner, receiver = generate_key_pair(), generate_key_pair()
    create = Models.create([owner.public_key], [([owner.public_key], 2)], asset={"n": 1}
                           ).sign([owner.private_key])
    transfer = Models.transfer(create.to_inputs(), [([receiver.public_key], 1), ([owner.public_key], 1)],
                               asset_id=create.id).sign([owner.private_key])
    play = a_play()
    assert len(play.outputs) >= 3
    return {"CREATE": create.to_dict(), "TRANSFER": transfer.to_dict(), "PLAY": play.to_dict()}


def _schemas_of(operation):
    from bigchaindb.common.schema import TX_SCHEMA_COMMON, TX_SCHEMA_CREATE, TX_SCHEMA_TRANSFER

    cls = registry.type_for(operation)
    if cls is None:
        return [TX_SCHEMA_COMMON, TX_SCHEMA_TRANSFER if operation == "TRANSFER" else TX_SCHEMA_CREATE]
    return [cls._common_schema, cls.HOST_SCHEMA]


def test_schema_checks_match_each_condition_uri_once_where_upstream_validates_schemas(monkeypatch):
    from bigchaindb.common import schema
    from bigchaindb.common.schema import TX_SCHEMA_COMMON
    from bigchaindb.elections import election, vote

    from bigchaindb_resonate import host_schemas

    checking = upstream_source("bigchaindb.common.schema", "_validate_schema")
    assert "schema[1](rapidjson.dumps(body))" in checking
    assert "jsonschema.validate(body, schema[0])" in checking
    assert "_validate_schema(TX_SCHEMA_COMMON, tx)" in upstream_source(
        "bigchaindb.common.schema", "validate_transaction_schema")
    for module in (election, vote):  # they imported the name: it is replaced in each
        assert "_validate_schema(TX_SCHEMA_COMMON, tx)" in inspect.getsource(module)
    for module in (schema, election, vote):
        assert module._validate_schema is host_schemas.validate_schema
    assert host_schemas.validate_schema.resonate_upstream is host_schemas.UPSTREAM
    # The pattern is where the split looks for it, in the host's schema and in ours.
    for document in (TX_SCHEMA_COMMON[0], registry.type_for("PLAY")._common_schema[0]):
        node = document
        for key in host_schemas.URI_PATTERN_PATH:
            node = node[key]
        assert node.startswith("^ni:///sha-256;")
    # Once a transaction's URIs have matched, checking it again against a schema with the
    # pattern (the common one) runs neither upstream's check nor the pattern.
    examples = _signed_examples()
    for body in examples.values():
        host_schemas.validate_schema(_schemas_of(body["operation"])[0], body)

    def refuse(*args):
        raise AssertionError("ran again")

    monkeypatch.setattr(host_schemas, "UPSTREAM", refuse)
    for pattern in host_schemas.SplitSchema._patterns.values():
        monkeypatch.setattr(pattern, "_validator", refuse)
    for body in examples.values():
        host_schemas.validate_schema(_schemas_of(body["operation"])[0], body)


def _schema_faults():
    """(name, change to a transaction dict) pairs, each refused by some schema."""
    def output(change):
        def apply(tx):
            change(tx["outputs"][-1])
        return apply

    def condition(change):
        return output(lambda out: change(out["condition"]))

    return [
        ("uri of another scheme", condition(lambda c: c.update(uri="ni:///sha-512;abc?fpt=ed25519-sha-256&cost=1"))),
        ("uri with a newline after it", condition(lambda c: c.update(uri=c["uri"] + "\n"))),
        ("uri with a space inside", condition(lambda c: c.update(uri=c["uri"].replace("?", " ?")))),
        ("uri too long a hash", condition(lambda c: c.update(uri=c["uri"].replace(";", ";" + "A" * 90)))),
        ("uri not a string", condition(lambda c: c.update(uri=12))),
        ("uri missing", condition(lambda c: c.pop("uri"))),
        ("condition not an object", output(lambda out: out.update(condition="x"))),
        ("amount not digits", output(lambda out: out.update(amount="1e3"))),
        ("extra output field", output(lambda out: out.update(colour="red"))),
        ("public key not base58", output(lambda out: out.update(public_keys=["0OIl"]))),
        ("outputs not a list", lambda tx: tx.update(outputs={"0": tx["outputs"][0]})),
        ("no outputs key", lambda tx: tx.pop("outputs")),
        ("version", lambda tx: tx.update(version="1.0")),
        ("unknown top-level key", lambda tx: tx.update(extra=1)),
        ("bad and bad uri", lambda tx: (tx.update(version="3"), tx["outputs"][0]["condition"].update(uri="x"))),
    ]


@pytest.mark.parametrize("fault", _schema_faults(), ids=lambda fault: fault[0])
def test_schema_refusals_are_upstreams_word_for_word(fault):
    """Each fault refused by the same schema with the same exception and message as
    upstream's own check gives; a transaction it accepts, ours accepts; and parsing it
    is refused with the same code."""
    import copy
    import json

    from bigchaindb.common.exceptions import ValidationError
    from bigchaindb.models import Transaction as Models

    from bigchaindb_resonate import admission
    from bigchaindb_resonate.errors import error_body
    from bigchaindb_resonate.host_schemas import UPSTREAM, validate_schema

    name, change = fault
    for operation, valid in _signed_examples().items():
        tx = copy.deepcopy(valid)
        change(tx)
        refused = False
        for checked in _schemas_of(operation):
            try:
                UPSTREAM(checked, copy.deepcopy(tx))
            except ValidationError as theirs:
                with pytest.raises(type(theirs)) as ours:
                    validate_schema(checked, tx)
                assert str(ours.value) == str(theirs), (operation, name)
                refused = True
                break
            validate_schema(checked, tx)  # accepted by both
        assert refused, (operation, name)
        tx["id"] = Models._to_hash(Models._to_str({**tx, "id": None}))  # its id stays valid
        with pytest.raises(ValidationError) as parsing:
            Models.from_dict(admission.decode(json.dumps(tx).encode()))
        assert error_body(parsing.value)["code"] == "HOST_SCHEMA_VIOLATION", (operation, name)


def test_with_condition_uris_kept_an_input_signed_by_another_key_is_still_invalid():
    import base58
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction as Models
    from cryptoconditions.types.ed25519 import Ed25519Sha256

    host.apply()
    # An input signed by a key other than the one its spent output names is invalid; by
    # that key, valid.
    owner, thief = generate_key_pair(), generate_key_pair()
    created = Models.create([owner.public_key], [([owner.public_key], 1)]).sign([owner.private_key])
    stolen = Models.transfer(created.to_inputs(), [([thief.public_key], 1)], asset_id=created.id)
    stolen.inputs[0].owners_before = [thief.public_key]
    stolen.inputs[0].fulfillment = Ed25519Sha256(public_key=base58.b58decode(thief.public_key))
    stolen = stolen.sign([thief.private_key])
    assert not stolen.inputs_valid(created.outputs)
    assert stolen.inputs_valid([Models.transfer(created.to_inputs(), [([thief.public_key], 1)],
                                                asset_id=created.id).outputs[0]])
