"""Every adaptation of BigchainDB Server 2.2.2 internals, in one place.

Each adaptation names the upstream spot it changes (paths relative to the `bigchaindb`
package of the 2.2.2 sdist) and has a guard in tests/unit/test_host.py that fails if the
upstream spot no longer looks the way the adaptation assumes. `apply()` is idempotent
and must run in every process before a transaction is parsed; `node.main` calls it first.
"""
import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
import queue
import re
import sys
import threading
import unicodedata

import bigchaindb
import pymongo.errors
from bigchaindb.backend.exceptions import BackendError
from bigchaindb.common.exceptions import InputDoesNotExist, ValidationError

from bigchaindb_resonate import admission, registry
from bigchaindb_resonate.ledger import BLOCK_TIMES, NETWORK_PARAMETERS, RULE_INDEX, LedgerView
from bigchaindb_resonate.parameters import GenesisParametersError, read_genesis_parameters
from bigchaindb_resonate.errors import LinkNotFound, TransactionTooLarge, ValidationCrashed, error_body

logger = logging.getLogger(__name__)

DEFAULT_ABCI_PORT = 26658
DEFAULT_ABCI_HOST = "127.0.0.1"
# Failures of the node's own store: never the transaction's fault (see _checked_abci_app).
STORE_ERRORS = (pymongo.errors.PyMongoError, BackendError)
# Refusals that only mean "what it depends on is not committed (yet)".
DEPENDENCY_NOT_COMMITTED = (InputDoesNotExist, LinkNotFound)
_applied = False


def apply():
    global _applied
    if _applied:
        return
    _add_config_defaults()
    registry.register_all()
    _configurable_abci_server()
    _checked_abci_app()
    _websocket_server_for_python_3_11()
    _http_post_with_codes()
    _operation_filter_knows_our_types()
    _registry_reads_beside_the_api()
    _txids_filter_knows_our_types()
    _records_move_only_by_their_own_operation()
    _text_search_by_term_collection()
    _lookups_by_primary_key()
    _rule_index()
    _committed_transactions_cached()
    _pooled_instances_come_back()
    _report_totals_at_commit()
    _applied = True


def _add_config_defaults():
    """`__init__.py` config/_config: add tendermint.abci_port and abci_host.

    Both dicts need the keys: config_utils.set_config resets from `_config`, and
    env_config only maps variables (BIGCHAINDB_TENDERMINT_ABCI_PORT) for known keys.
    """
    for config in (bigchaindb.config, bigchaindb._config):
        config["tendermint"].setdefault("abci_port", DEFAULT_ABCI_PORT)
        config["tendermint"].setdefault("abci_host", DEFAULT_ABCI_HOST)


def _configurable_abci_server():
    """`start.py:66-82` builds `abci.server.ABCIServer(app=...)`, which always binds
    0.0.0.0:26658 (`abci/server.py` ABCIServer.__init__). Several nodes on one host need
    their own port, and a node should listen only where its Tendermint is."""
    import abci.server
    from gevent.server import StreamServer

    upstream = getattr(abci.server.ABCIServer, "resonate_upstream", abci.server.ABCIServer)

    class ConfigurableABCIServer(upstream):
        resonate_upstream = upstream

        def __init__(self, port=None, app=None):
            settings = bigchaindb.config["tendermint"]
            super().__init__(port=int(port or settings["abci_port"]), app=app)
            self.server = StreamServer((settings["abci_host"], self.port),
                                       handle=self._ABCIServer__handle_connection)

    abci.server.ABCIServer = ConfigurableABCIServer


def _checked_abci_app():
    """`core.py:130-186` App.check_tx/deliver_tx: parse with `json.loads` (accepts NaN,
    crashes on bad JSON) and let any non-ValidationError escape into the ABCI server,
    which drops Tendermint's connection and halts the node. Ours decodes strictly,
    refuses what a store cannot hold, reports the refusal code in the CheckTx log, and
    turns an unexpected bug into a refusal. `start.py` looks `App` up as a module global."""
    import bigchaindb.start
    from abci import CodeTypeOk
    from bigchaindb.core import App
    from bigchaindb.models import Transaction

    CodeTypeError = 1  # core.py: any non-zero code rejects

    class CheckedApp(App):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # What CheckTx accepted since the last commit, so that a transaction may
            # depend on one still in the mempool. Tendermint rechecks the mempool after
            # every commit (mempool.recheck), which rebuilds this list in mempool order.
            self.checked_since_commit = []

        def _admit(self, raw, current_transactions):
            try:
                tx = Transaction.from_dict(admission.decode(raw))
                return tx.validate(self.bigchaindb, current_transactions)
            except ValidationError:
                raise
            except STORE_ERRORS:
                # Not the transaction's fault: refusing it would make this node's state
                # differ from its peers'. Crash and let the supervisor restart us.
                raise
            except Exception as exc:
                logger.exception("unexpected error while validating a transaction")
                raise ValidationCrashed(f"{type(exc).__name__} during validation") from exc

        def init_chain(self, genesis):
            # BigchainDB ignores the genesis app_state; ours carries the network's
            # parameters (treasury, platform, co-op share), the same for every validator.
            try:
                parameters = read_genesis_parameters(genesis.app_state_bytes)
            except GenesisParametersError as exc:
                logger.critical("cannot start on this genesis file: %s", exc)
                sys.exit(1)  # as upstream init_chain does for a genesis it cannot follow
            connection = self.bigchaindb.connection
            connection.run(connection.collection(NETWORK_PARAMETERS).replace_one(
                {"chain_id": genesis.chain_id}, {"chain_id": genesis.chain_id, **parameters},
                upsert=True))
            return super().init_chain(genesis)

        def begin_block(self, req_begin_block):
            # Rules that need time read it from here during DeliverTx (LedgerView).
            self.bigchaindb.consensus_time = req_begin_block.header.time.seconds
            return super().begin_block(req_begin_block)

        def commit(self):
            response = super().commit()
            self.checked_since_commit = []
            # Kept for the HTTP pre-check and CheckTx in other processes: the latest
            # consensus time, never a local clock.
            connection = self.bigchaindb.connection
            connection.run(connection.collection(BLOCK_TIMES).replace_one(
                {"height": self.new_height},
                {"height": self.new_height, "time": self.bigchaindb.consensus_time}, upsert=True))
            return response

        def check_tx(self, raw_transaction):
            self.abort_if_abci_chain_is_not_synced()
            try:
                tx = self._admit(raw_transaction, self.checked_since_commit)
            except ValidationError as exc:
                return self.abci.ResponseCheckTx(code=CodeTypeError, log=_log_line(exc))
            self.checked_since_commit.append(tx)
            return self.abci.ResponseCheckTx(code=CodeTypeOk)

        def deliver_tx(self, raw_transaction):
            self.abort_if_abci_chain_is_not_synced()
            try:
                tx = self._admit(raw_transaction, self.block_transactions)
            except ValidationError as exc:
                logger.info("deliver_tx refused: %s", _log_line(exc))
                return self.abci.ResponseDeliverTx(code=CodeTypeError, log=_log_line(exc))
            self.block_txn_ids.append(tx.id)
            self.block_transactions.append(tx)
            return self.abci.ResponseDeliverTx(code=CodeTypeOk)

    bigchaindb.start.App = CheckedApp


def _log_line(exc):
    """`CODE: {refusal body}`: the code first for people reading Tendermint's answers, the
    whole body (detail, field, expected) for the HTTP API to pass on (_consensus_refusal)."""
    body = error_body(exc)
    return f"{body['code']}: {json.dumps(body, sort_keys=True)}"


def _websocket_server_for_python_3_11():
    """`web/websocket_server.py:168-185` start(): `asyncio.Queue(loop=loop)` is a TypeError
    on Python 3.10+, so the event-stream process dies at start; and aiohttp's run_app
    would run a new loop, not the one the dispatcher task was created on."""
    import aiohttp.web
    from bigchaindb.web import websocket_server

    def start(sync_event_source, loop=None):
        loop = loop or asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        event_source = asyncio.Queue()  # binds to the loop that first awaits it
        threading.Thread(target=websocket_server._multiprocessing_to_asyncio,
                         args=(sync_event_source, event_source, loop), daemon=True).start()
        app = websocket_server.init_app(event_source, loop=loop)
        settings = bigchaindb.config["wsserver"]
        aiohttp.web.run_app(app, host=settings["host"], port=settings["port"], loop=loop,
                            print=None)

    websocket_server.start = start


def _http_post_with_codes():
    """`web/views/transactions.py:60-108` TransactionListApi.post: parses with NaN allowed,
    answers 500 for a body that is not an object, has no size limit, and reports a refusal
    only as free text, answering 500 when CheckTx or DeliverTx refuses in sync or commit
    mode. Ours applies the same admission as CheckTx, adds the stable code, field and
    expectation to the 400 body, and reports consensus refusals with their codes too."""
    from flask import current_app, jsonify, request
    from bigchaindb.common.transaction_mode_types import BROADCAST_TX_ASYNC, BROADCAST_TX_SYNC
    from bigchaindb.models import Transaction
    from bigchaindb.web.views import parameters
    from bigchaindb.web.views.transactions import TransactionListApi

    def refuse(exc):
        body = error_body(exc)
        response = jsonify({"status": 400, **body,
                            "message": f"Invalid transaction ({body['error']}): {exc}"})
        response.status_code = 400
        return response

    def post(self):
        # The mode comes from the query string only: upstream's reqparse also looks into
        # the JSON body, and answered 500 for a body that is not an object.
        try:
            mode = str(parameters.valid_mode(request.args.get("mode", "async")))
        except ValueError as exc:
            response = jsonify({"status": 400, "message": {"mode": str(exc)}})
            response.status_code = 400
            return response
        # Pretty-printed bodies are larger than the encoded transaction; the exact limit
        # is applied to the encoding Tendermint will carry.
        if (request.content_length or 0) > admission.HTTP_BODY_LIMIT:
            return refuse(TransactionTooLarge(
                f"the request body has {request.content_length} bytes",
                expected=f"at most {admission.MAX_TRANSACTION_BYTES} bytes once encoded"))
        with current_app.config["bigchain_pool"]() as bigchain:
            try:
                tx = admission.decode(request.get_data(), limit=admission.HTTP_BODY_LIMIT)
                admission.check_size(admission.encoded_size(tx))
                tx_obj = Transaction.from_dict(tx)
                try:
                    bigchain.validate_transaction(tx_obj)
                except DEPENDENCY_NOT_COMMITTED:
                    # It may depend on a transaction still in the mempool, which only
                    # CheckTx sees: let CheckTx decide, and wait for its answer.
                    mode = BROADCAST_TX_SYNC if mode == BROADCAST_TX_ASYNC else mode
            except ValidationError as exc:
                return refuse(exc)
            except STORE_ERRORS:
                raise
            except Exception as exc:
                logger.exception("unexpected error while validating a posted transaction")
                return refuse(ValidationCrashed(f"{type(exc).__name__} during validation"))
            answer = bigchain.post_transaction(tx_obj, mode).json()
        refusal = _consensus_refusal(answer)
        if refusal is not None:
            message = f"Invalid transaction ({refusal['error']}): {refusal['code']}: {refusal['detail']}"
            response = jsonify({"status": 400, **refusal, "message": message})
            response.status_code = 400
            return response
        if "error" in answer:
            # Tendermint refused to take it at all (mempool full, already in its cache, …).
            error = answer["error"]
            status = 400 if "already exists in cache" in error.get("data", "") else 500
            response = jsonify({"status": status,
                                "message": f"{error.get('message', 'Internal error')} - {error.get('data', '')}"})
            response.status_code = status
            return response
        response = jsonify(tx)
        response.status_code = 202
        return response

    TransactionListApi.post = post


def _consensus_refusal(answer):
    """The refusal body of a CheckTx or DeliverTx refusal in Tendermint's answer to
    broadcast_tx_sync/commit (our log lines read `CODE: {body}`), or None."""
    result = answer.get("result") or {}
    for phase in (result, result.get("check_tx") or {}, result.get("deliver_tx") or {}):
        if phase.get("code"):
            code, _, rest = (phase.get("log") or "").partition(": ")
            try:
                body = json.loads(rest)
            except ValueError:
                body = {"detail": rest}
            return {"code": code or "CONSENSUS_REFUSED", "error": body.get("error", "ConsensusRefusal"),
                    "detail": body.get("detail") or "refused by consensus",
                    "field": body.get("field"), "expected": body.get("expected")}
    return None


def _registry_reads_beside_the_api():
    """`web/server.py:63-88` create_app calls `add_routes(app)` (a module global) to mount
    BigchainDB's API; ours is mounted next to it, under /api/v1/resonate/."""
    from bigchaindb.web import server

    from bigchaindb_resonate import api

    upstream = getattr(server.add_routes, "resonate_upstream", server.add_routes)

    def add_routes(app):
        upstream(app)
        api.register(app)

    add_routes.resonate_upstream = upstream
    server.add_routes = add_routes


def _operation_filter_knows_our_types():
    """`web/views/parameters.py:35-41` valid_operation accepts only CREATE and TRANSFER,
    so `GET /api/v1/transactions?operation=PARTY` was a 400."""
    from bigchaindb.web.views import parameters

    known = ("CREATE", "TRANSFER") + registry.OPERATIONS

    def valid_operation(op):
        op = op.upper()
        if op in known:
            return op
        raise ValueError(f"Operation must be one of {', '.join(known)}")

    parameters.valid_operation = valid_operation


def _txids_filter_knows_our_types():
    """`backend/localmongodb/query.py:123-137` get_txids_filtered maps only CREATE and
    TRANSFER (a KeyError for any other operation) and finds `last_tx` by a `$natural` sort,
    which FerretDB does not support and which is insertion order, not commit order, on
    MongoDB. Our records are CREATE-like (their id is their asset id); our transfers are
    TRANSFER-like."""
    from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
    from bigchaindb.backend.localmongodb.query import register_query
    from bigchaindb.backend import query

    @register_query(LocalMongoDBConnection)
    def get_txids_filtered(conn, asset_id, operation=None, last_tx=None):
        if operation is None:
            match = {"$or": [{"asset.id": asset_id}, {"id": asset_id}]}
        elif operation == "TRANSFER" or registry.moves_assets(operation):
            match = {"operation": operation, "asset.id": asset_id}
        else:
            match = {"operation": operation, "id": asset_id}
        cursor = conn.run(conn.collection("transactions").find(match, projection=["id"]))
        ids = [doc["id"] for doc in cursor]
        if last_tx and ids:
            return iter([_latest_committed(conn, ids)])
        return iter(ids)

    assert query.get_txids_filtered.dispatch(LocalMongoDBConnection) is get_txids_filtered


def _latest_committed(conn, txids):
    """The last of `txids` in commit order: found through the blocks, whose height and
    transaction order are the same on every node and every store (`$natural` is neither).

    Between storing a block's transactions and storing the block (App.commit), and after a
    crash until recovery deletes them, some transactions have no block yet: they are the
    newest, in the order `end_block` recorded in the pre-commit state."""
    from pymongo import DESCENDING

    wanted = set(txids)
    pending = conn.run(conn.collection("pre_commit").find_one({})) or {}
    unblocked = [txid for txid in pending.get("transactions", []) if txid in wanted]
    block = conn.run(conn.collection("blocks").find_one(
        {"transactions": {"$in": txids}}, sort=[("height", DESCENDING)]))
    in_block = [txid for txid in block["transactions"] if txid in wanted] if block else []
    if unblocked and not set(unblocked) <= set(in_block):
        return unblocked[-1]
    return in_block[-1]


# Where the words of assets and metadata are indexed (see _text_search_by_term_collection).
TEXT_TERMS = "text_terms"
# Which transaction spent each output, keyed `<txid>:<index>` (see _lookups_by_primary_key).
SPENDS = "spends"


def _text_search_by_term_collection():
    """`backend/localmongodb/schema.py:17-58` INDEXES creates `$**` text indexes, which
    FerretDB refuses, so `bigchaindb start` aborted in init; `query.py:141-157`
    text_search needs `$text`/`$meta`. Ours keeps the words of every stored asset and
    metadata document in a `text_terms` collection written with them, and searches it
    the same way on every store: any of the words, case- and accent-insensitive, best
    matches first. Unlike MongoDB's `$text` it does no stemming and ignores `language`.
    Also declares the collections the other adaptations write: `block_times` and
    `network_parameters` (_checked_abci_app), `spends` (_lookups_by_primary_key) and
    `rule_index` (_rule_index)."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import query as upstream_query, schema as mongo_schema
    from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
    from bigchaindb.backend.localmongodb.query import register_query
    from pymongo import ASCENDING

    for table in ("assets", "metadata"):
        mongo_schema.INDEXES[table] = [index for index in mongo_schema.INDEXES[table]
                                       if index[1].get("name") != "text"]
    mongo_schema.INDEXES[BLOCK_TIMES] = [([("height", ASCENDING)], dict(name="height", unique=True))]
    mongo_schema.INDEXES[NETWORK_PARAMETERS] = [([("chain_id", ASCENDING)], dict(name="chain_id", unique=True))]
    mongo_schema.INDEXES[TEXT_TERMS] = [
        ([("term", ASCENDING), ("table", ASCENDING)], dict(name="term")),
        ([("id", ASCENDING)], dict(name="document_id")),
    ]
    mongo_schema.INDEXES[SPENDS] = [([("spender", ASCENDING)], dict(name="spender"))]
    mongo_schema.INDEXES[RULE_INDEX] = []  # found by _id only
    backend_schema.TABLES = backend_schema.TABLES + tuple(
        table for table in (TEXT_TERMS, BLOCK_TIMES, NETWORK_PARAMETERS, SPENDS, RULE_INDEX)
        if table not in backend_schema.TABLES)

    def store_terms(conn, table, documents):
        terms = [{"table": table, "id": doc["id"], "term": term}
                 for doc in documents for term in sorted(text_terms(doc))]
        if terms:
            conn.run(conn.collection(TEXT_TERMS).insert_many(terms, ordered=False))

    @register_query(LocalMongoDBConnection)
    def store_assets(conn, assets):
        result = upstream_query.store_assets(conn, keyed_by_id(assets))
        store_terms(conn, "assets", assets)
        return result

    @register_query(LocalMongoDBConnection)
    def store_metadatas(conn, metadata):
        result = upstream_query.store_metadatas(conn, keyed_by_id(metadata))
        store_terms(conn, "metadata", metadata)
        return result

    @register_query(LocalMongoDBConnection)
    def text_search(conn, search, *, language="english", case_sensitive=False,
                    diacritic_sensitive=False, text_score=False, limit=0, table="assets"):
        wanted = sorted(set(words(search)))
        scores = {}
        for hit in conn.run(conn.collection(TEXT_TERMS).find(
                {"term": {"$in": wanted}, "table": table}, {"_id": False, "id": True})):
            scores[hit["id"]] = scores.get(hit["id"], 0) + 1
        ranked = sorted(scores, key=lambda doc_id: (-scores[doc_id], doc_id))
        if limit:
            ranked = ranked[:limit]
        found = {doc["id"]: doc for doc in conn.run(conn.collection(table).find(
            {"id": {"$in": ranked}}, {"_id": False}))}
        for doc_id in ranked:
            doc = found[doc_id]
            if text_score:
                doc["score"] = scores[doc_id]
            yield doc


_WORD = re.compile(r"\w+")


def words(text):
    """Lower-case words without accents: what the text search matches on."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    return _WORD.findall(plain.casefold())


def text_terms(document):
    """The distinct words of every string value in a stored asset or metadata document."""
    found = set()
    pending = [document.get("data", document.get("metadata"))]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found.update(words(value))
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def _records_move_only_by_their_own_operation():
    """`models.py:19-44` Transaction.validate lets a plain TRANSFER spend any asset's
    outputs. A Copyright or Right must move through its own operation (which checks the
    rights-transfer rules), so a plain TRANSFER of such an asset is refused."""
    from bigchaindb.models import Transaction

    upstream = getattr(Transaction.validate, "resonate_upstream", Transaction.validate)

    def validate(self, bigchain, current_transactions=[]):
        if self.operation == Transaction.TRANSFER:
            registry.check_plain_transfer(self, LedgerView(bigchain, current_transactions))
        return upstream(self, bigchain, current_transactions)

    validate.resonate_upstream = upstream
    Transaction.validate = validate


def _lookups_by_primary_key():
    """`backend/localmongodb/query.py:19-30,75-82,50-55` store documents under a generated
    `_id` and find one transaction, asset or metadata by `id`; `:94-102` get_spent and
    `:176-189` get_spending_transactions use `$elemMatch` with `$and`, which FerretDB
    refuses (the first TRANSFER crashed the ABCI app). FerretDB 1.24 pushes only equality
    on `_id` down to its store; any other filter decodes every document (measured by
    benchmarks/store_scaling.py: about 10 times slower, and nested fields slower still).

    Ours stores transactions, assets and metadata with `_id` equal to `id` (store_assets
    and store_metadatas in _text_search_by_term_collection do the same), looks single ids
    up by `_id`, and records with each stored transaction which output each input spends
    (`spends`, keyed `<txid>:<index>`), so a spent-output check is two key lookups.
    Validation never lets two committed transactions spend one output, so one key per
    output suffices. Every store gives the same answers; MongoDB gets a second unique index
    on the same value. (Upstream's get_spending_transactions also matched crossed pairs;
    its only caller, fastquery.filter_spent_outputs, re-checks pairs.)"""
    from bigchaindb.backend.localmongodb import query as upstream_query
    from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
    from bigchaindb.backend.localmongodb.query import register_query

    @register_query(LocalMongoDBConnection)
    def store_transactions(conn, signed_transactions):
        spends = [{"_id": output_key(input_["fulfills"]["transaction_id"],
                                     input_["fulfills"]["output_index"]), "spender": tx["id"]}
                  for tx in signed_transactions for input_ in tx["inputs"] if input_["fulfills"]]
        if spends:
            conn.run(conn.collection(SPENDS).insert_many(spends, ordered=False))
        return conn.run(conn.collection("transactions").insert_many(keyed_by_id(signed_transactions)))

    @register_query(LocalMongoDBConnection)
    def get_transaction(conn, transaction_id):
        return conn.run(conn.collection("transactions").find_one({"_id": transaction_id}, {"_id": 0}))

    @register_query(LocalMongoDBConnection)
    def get_asset(conn, asset_id):
        return conn.run(conn.collection("assets").find_one({"_id": asset_id}, {"_id": 0, "id": 0}))

    @register_query(LocalMongoDBConnection)
    def get_metadata(conn, transaction_ids):
        if len(transaction_ids) == 1:
            return conn.run(conn.collection("metadata").find(
                {"_id": transaction_ids[0]}, projection={"_id": False}))
        return upstream_query.get_metadata(conn, transaction_ids)

    def spending(conn, links):
        spenders = set()
        for key in sorted({output_key(txid, index) for txid, index in links}):
            spend = conn.run(conn.collection(SPENDS).find_one({"_id": key}))
            if spend:
                spenders.add(spend["spender"])
        return [tx for tx in (get_transaction(conn, txid) for txid in sorted(spenders)) if tx]

    @register_query(LocalMongoDBConnection)
    def get_spent(conn, transaction_id, output):
        return spending(conn, {(transaction_id, output)})

    @register_query(LocalMongoDBConnection)
    def get_spending_transactions(conn, inputs):
        return spending(conn, {(i["transaction_id"], i["output_index"]) for i in inputs})

    @register_query(LocalMongoDBConnection)
    def delete_transactions(conn, txn_ids):
        # Crash recovery only: the derived collections go with the transactions.
        conn.run(conn.collection(SPENDS).delete_many({"spender": {"$in": txn_ids}}))
        conn.run(conn.collection(RULE_INDEX).update_many(
            {"ids": {"$in": txn_ids}}, {"$pull": {"ids": {"$in": txn_ids}}}))
        conn.run(conn.collection(TEXT_TERMS).delete_many({"id": {"$in": txn_ids}}))
        upstream_query.delete_transactions(conn, txn_ids)


def keyed_by_id(documents):
    """Copies whose `_id` is their `id` (see _lookups_by_primary_key)."""
    return [{**document, "_id": document["id"]} for document in documents]


def output_key(transaction_id, output_index):
    return f"{transaction_id}:{output_index}"


def _rule_index():
    """`lib.py:130-149` BigchainDB.store_bulk_transactions stores a block's transactions
    in commit order. Ours then files each under the keys the rules look it up by
    (registry.index_keys: an asset's transfers, a type's indexed fields), appending to a
    list under `_id = key`: the one kind of lookup FerretDB answers without decoding every
    document, and a list that is in commit order by construction. Crash recovery removes
    rolled-back ids again (delete_transactions in _lookups_by_primary_key)."""
    from bigchaindb.lib import BigchainDB

    upstream = getattr(BigchainDB.store_bulk_transactions, "resonate_upstream",
                       BigchainDB.store_bulk_transactions)

    def store_bulk_transactions(self, transactions):
        result = upstream(self, transactions)
        for tx in transactions:
            for key in registry.index_keys(tx):
                # collection() records the calls made on it: a fresh one per query
                self.connection.run(self.connection.collection(RULE_INDEX).update_one(
                    {"_id": key}, {"$push": {"ids": tx.id}}, upsert=True))
        return result

    store_bulk_transactions.resonate_upstream = upstream
    BigchainDB.store_bulk_transactions = store_bulk_transactions


# Committed transactions kept per process (see _committed_transactions_cached).
COMMITTED_CACHE_SIZE = 20_000


def _committed_transactions_cached():
    """`lib.py:242-260` BigchainDB.get_transaction makes three store queries each time. A
    play's rules read the same few records (the credit token, the track, its licence and
    split) for every play. A committed transaction never changes (crash recovery only
    deletes the uncommitted block's transactions, at start, before anything is cached), so
    each process keeps the most recently read ones."""
    from bigchaindb.lib import BigchainDB

    upstream = getattr(BigchainDB.get_transaction, "resonate_upstream", BigchainDB.get_transaction)
    cache = CommittedTransactions(upstream, COMMITTED_CACHE_SIZE)

    def get_transaction(self, transaction_id):
        return cache.get(self, transaction_id)

    get_transaction.resonate_upstream = upstream
    BigchainDB.get_transaction = get_transaction


class CommittedTransactions:
    """The most recently read committed transactions. Only found ones are kept: an absent
    one may commit at any moment."""

    def __init__(self, read, size):
        self._read = read
        self._size = size
        self._kept = OrderedDict()

    def get(self, bigchain, transaction_id):
        if transaction_id in self._kept:
            self._kept.move_to_end(transaction_id)
            return self._kept[transaction_id]
        transaction = self._read(bigchain, transaction_id)
        if transaction is not None:
            self._kept[transaction_id] = transaction
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return transaction


def _pooled_instances_come_back():
    """`utils.py:54-104` pool(): `pooled` puts its instance back after the `yield` with no
    `finally`, so an exception inside `with pool() as bigchain` loses the instance for
    good, and so does a streamed report whose client leaves (the WSGI server closes the
    generator: GeneratorExit). `web/server.py:83` create_app gives each API worker a pool
    of `threads` (1) instances, so that worker's next request waits forever and gunicorn
    kills it (WORKER TIMEOUT). Ours gives the instance back however the block ends.
    `create_app` looks `utils.pool` up when it runs, after apply()."""
    from bigchaindb import utils

    upstream = getattr(utils.pool, "resonate_upstream", utils.pool)

    def pool(builder, size, timeout=None):
        idle = queue.Queue()
        may_build = threading.Semaphore(size)  # at most `size` instances ever exist

        @contextlib.contextmanager
        def pooled():
            try:
                instance = idle.get_nowait()
            except queue.Empty:
                instance = builder() if may_build.acquire(blocking=False) else idle.get(
                    timeout=timeout)
            try:
                yield instance
            finally:
                idle.put(instance)

        return pooled

    pool.resonate_upstream = upstream
    utils.pool = pool


def _report_totals_at_commit():
    """`core.py:218` App.end_block calls `Election.process_block(bigchaindb, new_height,
    block_transactions)` (`elections/election.py:278-330`) once per committed block, with
    its accepted transactions in order: the only per-block hook. Ours also folds the
    block's PLAYs into the report totals (reports/totals.py), at the block's height and
    consensus time (set by _checked_abci_app's begin_block), and keeps the block's report
    rows. Tendermint delivers a block again when its commit did not finish
    (core.py:262-271 rollback), so both are idempotent per block. Declares the
    `report_totals` and `report_rows` collections, found by `_id` only."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.elections.election import Election

    from bigchaindb_resonate.reports import totals

    for collection in (totals.COLLECTION, totals.ROWS):
        mongo_schema.INDEXES[collection] = []
        if collection not in backend_schema.TABLES:
            backend_schema.TABLES = backend_schema.TABLES + (collection,)
    upstream = getattr(Election.process_block, "resonate_upstream", Election.process_block)

    def process_block(cls, bigchain, new_height, txns):
        validator_update = upstream(bigchain, new_height, txns)
        plays = [{"id": tx.id, "operation": tx.operation, "metadata": tx.metadata,
                  "outputs": [{"public_keys": output.public_keys, "amount": output.amount}
                              for output in tx.outputs]}
                 for tx in txns if tx.operation == totals.PLAY]
        if plays:
            parameters = LedgerView(bigchain).network_parameters() or {}
            totals.fold_block(bigchain.connection, new_height,
                              getattr(bigchain, "consensus_time", None), plays,
                              parameters.get("platform_key"))
        return validator_update

    process_block.resonate_upstream = upstream
    Election.process_block = classmethod(process_block)
