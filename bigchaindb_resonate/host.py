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
from typing import Callable, NamedTuple

import bigchaindb
from bigchaindb.common.exceptions import ValidationError

from bigchaindb_resonate import admission, metrics, outcome, registry, rule_versions
from bigchaindb_resonate.ledger import (
    BLOCK_TIMES, CHAIN_HEAD, COMMIT_POSITIONS, LATEST_BLOCK, LATEST_BLOCK_TIME, NETWORK_PARAMETERS,
    OWNER_INDEX, PARAMETER_CHANGES, RULE_INDEX, LedgerView, commit_positions, file_block, filed_ids,
    owner_key, owner_keys, position_documents, keep_rule_index_reads, unfile,
)
from bigchaindb_resonate.parameters import GenesisParametersError, read_genesis_parameters
from bigchaindb_resonate.errors import TransactionTooLarge, ValidationCrashed, error_body

logger = logging.getLogger(__name__)

DEFAULT_ABCI_PORT = 26658
DEFAULT_ABCI_HOST = "127.0.0.1"
# Failures of the node's own store: never the transaction's fault (see _checked_abci_app).
STORE_ERRORS = outcome.STORE_ERRORS
# Refusals that only mean "what it depends on is not committed (yet)".
DEPENDENCY_NOT_COMMITTED = outcome.DEPENDENCY_NOT_COMMITTED
_applied = False


def apply():
    global _applied
    if _applied:
        return
    registry.register_all()  # BigchainDB's own API for new types, not an adaptation
    metrics.count_store_round_trips()  # pymongo's own monitoring API, not an adaptation
    for adaptation in ADAPTATIONS:
        adaptation.apply()
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
    their own port, and a node should listen only where its Tendermint is. It also starts
    the node's metrics and health endpoint (metrics.serve) in the ABCI process, once the
    ABCI server's import has patched the standard library for gevent."""
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
            from bigchaindb.lib import BigchainDB
            metrics.serve(bigchaindb.config.get(metrics.SETTINGS_KEY), BigchainDB)

    abci.server.ABCIServer = ConfigurableABCIServer


def _abci_logs_without_colour():
    """`abci/utils.py:37-62` (bigchaindb-abci 1.0.7) get_logger, run when `abci.server` is
    imported, gives the `abci.app` logger a handler of its own that writes every line to
    stderr with ANSI colour codes, which land in the node's log files, and the same line
    goes to BigchainDB's handlers through the root logger as well. Ours drops that handler:
    the lines stay, once, in BigchainDB's plain format."""
    import abci.server  # noqa: F401  (runs get_logger)

    app_logger = logging.getLogger("abci.app")
    for handler in list(app_logger.handlers):
        if type(handler.formatter).__module__.startswith("colorlog"):
            app_logger.removeHandler(handler)


def _checked_abci_app():
    """`core.py:130-186` App.check_tx/deliver_tx: parse with `json.loads` (accepts NaN,
    crashes on bad JSON) and let any non-ValidationError escape into the ABCI server,
    which drops Tendermint's connection and halts the node. Ours decodes strictly,
    refuses what a store cannot hold, reports the refusal code in the CheckTx log, and
    turns an unexpected bug into a refusal. `start.py` looks `App` up as a module global.
    At commit it also records where each transaction sits in the chain and the latest
    consensus time under keys (ledger.COMMIT_POSITIONS, ledger.CHAIN_HEAD), which upstream
    could only find by searching `blocks`. It keeps the height rules judge at
    (`validating_height`, the parameters in force there: LedgerView.height): the block
    being built from begin_block on, the next one once it has committed.

    Upstream CheckTx (`core.py:130-147`) sees only committed transactions; ours also
    validates against what it accepted and no block has carried yet (`unconfirmed`), so
    that a transaction may depend on one still in the mempool without Tendermint's
    recheck (`mempool.recheck = false`, network/README.md). A commit drops exactly the
    transactions its block carried, valid or refused, as Tendermint 0.31's mempool does
    when it does not recheck (`mempool/mempool.go` Update). So `unconfirmed` holds what
    this node's mempool holds, and is capped at the mempool's size for when the two part
    (Tendermint restarted or flushed its mempool, or turned away a transaction the app
    had accepted): past the cap the oldest goes, which only makes a transaction that
    depends on it wait until it commits. An accepted transaction that a later block made
    invalid (a conflicting play) stays until a block carries it and DeliverTx refuses it;
    one depending on it passes CheckTx and DeliverTx refuses it just the same. Both
    refusals are deterministic, as is every DeliverTx. With the recheck on (a testnet may
    choose it), a transaction checked again is validated against the others and keeps its
    place, and one refused then goes, as Tendermint evicts it. Each check, refusal code and
    commit is also counted and timed for the node's metrics (metrics.py), which only read
    what was decided.

    An accepted DeliverTx answers with a log (accepted_delivery): Tendermint 0.31.5
    cannot replay a block from saved empty answers after a kill.

    Rule versions (rule_versions.py): CheckTx refuses a proposal of a rule version this
    node lacks (RULES_VERSION_UNKNOWN), DeliverTx never does; while such a version is voted
    in, every commit logs what to do; and the node stops before delivering a block whose
    height has a rule version in force that it lacks, rather than diverge there."""
    import bigchaindb.start
    from abci import CodeTypeOk
    from bigchaindb.core import App
    from bigchaindb.models import Transaction
    from bigchaindb_resonate.testnet.config import TendermintSettings

    CodeTypeError = 1  # core.py: any non-zero code rejects

    class CheckedApp(App):
        unconfirmed_limit = TendermintSettings.mempool_size  # no more than a mempool holds

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # Raw transaction -> parsed: what CheckTx accepted and no block carried yet,
            # oldest first; and the raw transactions of the block being delivered.
            self.unconfirmed = OrderedDict()
            self.block_raw_transactions = []

        def _admit(self, raw, current_transactions, stage):
            with metrics.validating(stage) as observed:
                return self._validate(raw, current_transactions, observed, stage)

        def _validate(self, raw, current_transactions, observed, stage):
            try:
                tx = Transaction.from_dict(admission.decode(raw))
                observed.operation = tx.operation  # one of the registered operations
                if stage == metrics.CHECK_TX:  # never DeliverTx
                    rule_versions.check_proposal(tx)
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
            # Rules that need time read it from here during DeliverTx (LedgerView), and
            # the height of the block being built (the parameters in force at it).
            self.bigchaindb.consensus_time = req_begin_block.header.time.seconds
            chain_shift = 0 if self.chain is None else self.chain["height"]  # as end_block
            self.bigchaindb.validating_height = req_begin_block.header.height + chain_shift
            self.block_raw_transactions = []
            self._stop_unless_rules_known(self.bigchaindb.validating_height)
            return super().begin_block(req_begin_block)

        def _stop_unless_rules_known(self, height):
            # Rather than compute a state its peers do not, a node that lacks the rule
            # version in force stops before delivering the block (as upstream's init_chain
            # does for a chain it cannot follow); once upgraded it goes on from here.
            parameters = LedgerView(self.bigchaindb).parameters_at(height)
            version = parameters["rules_version"] if parameters else rule_versions.FIRST
            if version not in rule_versions.VERSIONS:
                logger.critical("rules version %s is in force from height %s and this node's "
                                "bigchaindb-resonate knows only versions %s: install a release "
                                "that has it and start the node again", version, height,
                                rule_versions.known())
                sys.exit(1)

        def commit(self):
            with metrics.committing():
                connection = self.bigchaindb.connection
                if self.block_txn_ids:
                    # Before upstream stores the transactions (core.py:236-237), so that every
                    # stored transaction has its position; crash recovery deletes both
                    # (delete_transactions in _lookups_by_primary_key).
                    connection.run(connection.collection(COMMIT_POSITIONS).insert_many(
                        position_documents(self.new_height, self.block_txn_ids)))
                # Kept for the HTTP pre-check and CheckTx in other processes: the latest
                # consensus time, never a local clock; per height for reports and rules
                # (a channel's close), and under one key for validation. Also before
                # upstream stores the block (core.py:240), the mark crash recovery goes
                # by: a node killed after it is not replayed the block, and would lack
                # the block's time for good. Written again alike when the block is replayed.
                block_time = {"height": self.new_height, "time": self.bigchaindb.consensus_time}
                connection.run(connection.collection(BLOCK_TIMES).replace_one(
                    {"_id": block_key(self.new_height)}, block_time, upsert=True))
                connection.run(connection.collection(CHAIN_HEAD).replace_one(
                    {"_id": LATEST_BLOCK_TIME}, block_time, upsert=True))
                response = super().commit()
                self.bigchaindb.validating_height = self.new_height + 1  # CheckTx: the next block
                for raw in self.block_raw_transactions:
                    self.unconfirmed.pop(raw, None)
                warning = rule_versions.warning(rule_versions.on_chain(self.bigchaindb))
                if warning:  # at every commit until the node is upgraded or stops
                    logger.error(warning)
            metrics.committed(self.new_height, len(self.unconfirmed))
            return response

        def check_tx(self, raw_transaction):
            self.abort_if_abci_chain_is_not_synced()
            # With mempool.recheck on, Tendermint checks what it holds again after each
            # block: a transaction must not be a duplicate or a double spend of itself.
            others = [tx for raw, tx in self.unconfirmed.items() if raw != raw_transaction]
            try:
                tx = self._admit(raw_transaction, others, metrics.CHECK_TX)
            except ValidationError as exc:
                self.unconfirmed.pop(raw_transaction, None)  # a refused recheck evicts it
                metrics.refused(metrics.CHECK_TX, error_body(exc)["code"])
                return self.abci.ResponseCheckTx(code=CodeTypeError, log=_log_line(exc))
            metrics.accepted(metrics.CHECK_TX)
            self.unconfirmed[raw_transaction] = tx  # one checked again keeps its place
            if len(self.unconfirmed) > self.unconfirmed_limit:
                self.unconfirmed.popitem(last=False)
            return self.abci.ResponseCheckTx(code=CodeTypeOk)

        def deliver_tx(self, raw_transaction):
            self.abort_if_abci_chain_is_not_synced()
            self.block_raw_transactions.append(raw_transaction)  # leaves the mempool, valid or not
            try:
                tx = self._admit(raw_transaction, self.block_transactions, metrics.DELIVER_TX)
            except ValidationError as exc:
                logger.info("deliver_tx refused: %s", _log_line(exc))
                metrics.refused(metrics.DELIVER_TX, error_body(exc)["code"])
                return self.abci.ResponseDeliverTx(code=CodeTypeError, log=_log_line(exc))
            self.block_txn_ids.append(tx.id)
            self.block_transactions.append(tx)
            metrics.accepted(metrics.DELIVER_TX)
            return accepted_delivery(self.abci)

    bigchaindb.start.App = CheckedApp


# The log of every accepted DeliverTx. Upstream answers `ResponseDeliverTx(code=0)`
# (`core.py:186`), an empty message: Tendermint 0.31.5 saves a block's DeliverTx answers
# and reads an empty one back as nil, and when the app was killed after it committed a
# block but before Tendermint saved its state, the next start replays that block from
# the saved answers (`consensus/replay.go:382-391`) and `mockProxyApp.DeliverTx`
# (`replay.go:493-497`) dereferences the nil: Tendermint panics at every start and the
# node never catches up again (0.32.0 checks for nil). A log makes the answer non-empty;
# the results hash in the next block header covers only code and data, so this changes
# nothing validators agree on.
ACCEPTED_LOG = "accepted"


def accepted_delivery(abci):
    from abci import CodeTypeOk

    return abci.ResponseDeliverTx(code=CodeTypeOk, log=ACCEPTED_LOG)


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
    mode. With `mode=commit` it waits on Tendermint's broadcast_tx_commit
    (`lib.py:80-123` post_transaction/write_transaction), so a transaction that loses a race
    after passing CheckTx, or that waits for absent validators, got 500 "Internal error"
    after 10 s. Ours applies the same admission as CheckTx, adds the stable code, field
    and expectation to the 400 body, and reports consensus refusals with their codes too.
    It keeps what it accepts for status reads (outcome.remember), and for `mode=commit`
    broadcasts in sync mode, then follows the ledger (outcome.await_outcome): 400 with the
    code once a conflicting transaction commits, 202 with the transaction once it commits,
    or 202 `pending` with the URL of its status after COMMIT_WAIT_SECONDS."""
    import requests
    from flask import current_app, jsonify, request
    from bigchaindb.common.transaction_mode_types import (
        BROADCAST_TX_ASYNC, BROADCAST_TX_COMMIT, BROADCAST_TX_SYNC,
    )
    from bigchaindb.models import Transaction
    from bigchaindb.web.views import parameters
    from bigchaindb.web.views.transactions import TransactionListApi

    def answer_with(status, body, location=None):
        response = jsonify(body)
        response.status_code = status
        if location:
            response.headers["Location"] = location
        return response

    def refuse(exc):
        body = error_body(exc)
        metrics.refused(metrics.HTTP, body["code"])
        return answer_with(400, {"status": 400, **body,
                                 "message": f"Invalid transaction ({body['error']}): {exc}"})

    def refused(body):
        metrics.refused(metrics.HTTP, body["code"])
        message = f"Invalid transaction ({body['error']}): {body['code']}: {body['detail']}"
        return answer_with(400, {"status": 400, **body, "message": message})

    def post(self):
        # The mode comes from the query string only: upstream's reqparse also looks into
        # the JSON body, and answered 500 for a body that is not an object.
        try:
            mode = str(parameters.valid_mode(request.args.get("mode", "async")))
        except ValueError as exc:
            return answer_with(400, {"status": 400, "message": {"mode": str(exc)}})
        # Pretty-printed bodies are larger than the encoded transaction; the exact limit
        # is applied to the encoding Tendermint will carry.
        if (request.content_length or 0) > admission.HTTP_BODY_LIMIT:
            return refuse(TransactionTooLarge(
                f"the request body has {request.content_length} bytes",
                expected=f"at most {admission.LARGEST_TRANSACTION_BYTES} bytes once encoded"))
        pool = current_app.config["bigchain_pool"]
        with pool() as bigchain:
            try:
                tx = admission.decode(request.get_data(), limit=admission.HTTP_BODY_LIMIT)
                admission.check_size_of(tx, admission.encoded_size(tx))
                tx_obj = Transaction.from_dict(tx)
                rule_versions.check_proposal(tx_obj)  # as CheckTx does
            except ValidationError as exc:
                return refuse(exc)
            except Exception as exc:
                logger.exception("unexpected error while parsing a posted transaction")
                return refuse(ValidationCrashed(f"{type(exc).__name__} during validation"))
            refusal = outcome.refusal_of(bigchain, tx_obj)
            if refusal is not None and not isinstance(refusal, DEPENDENCY_NOT_COMMITTED):
                return refuse(refusal)
            outcome.remember(bigchain, tx)
            # What it depends on may be in a mempool, which only CheckTx sees: then even
            # async waits for CheckTx. Commit mode waits below, on the ledger.
            broadcast = mode if mode == BROADCAST_TX_ASYNC and refusal is None else BROADCAST_TX_SYNC
            try:
                answer = bigchain.post_transaction(tx_obj, broadcast).json()
            except requests.RequestException:
                logger.exception("Tendermint did not take a transaction")
                return answer_with(503, {"status": 503, "message": (
                    "this node's Tendermint is not answering; try again, or post to another node")})
        consensus_refusal = _consensus_refusal(answer)
        if consensus_refusal is not None:
            return refused(consensus_refusal)
        error = answer.get("error")
        known = error is not None and "already exists in cache" in error.get("data", "")
        if error is not None and not (known and mode == BROADCAST_TX_COMMIT):
            # Tendermint refused to take it at all (mempool full, already in its cache, …).
            status = 400 if known else 500
            return answer_with(status, {"status": status, "message": (
                f"{error.get('message', 'Internal error')} - {error.get('data', '')}")})
        metrics.accepted(metrics.HTTP)  # Tendermint took it; its outcome is DeliverTx's
        location = outcome.status_url(tx["id"])
        if mode == BROADCAST_TX_COMMIT:
            found = outcome.await_outcome(pool, tx_obj)
            if found["status"] == outcome.REFUSED:
                return refused({key: found[key] for key in ("code", "error", "detail", "field", "expected")})
            if found["status"] == outcome.PENDING:
                return answer_with(202, {**found, "status_url": location, "message": (
                    f"accepted, not committed after {outcome.COMMIT_WAIT_SECONDS} s: "
                    f"follow status_url")}, location)
        return answer_with(202, tx, location)

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


def _root_names_the_plugin():
    """`web/views/info.py:16-29` RootIndex.get answers only BigchainDB's name and version.
    Ours adds the plugin's version and rule digest (rules.summary) under `resonate`, so
    anyone can see which rules a node enforces where they first look."""
    from flask import jsonify
    from bigchaindb.web.views.info import RootIndex

    from bigchaindb_resonate import rules

    upstream = getattr(RootIndex.get, "resonate_upstream", RootIndex.get)

    def get(self):
        return jsonify({**upstream(self).get_json(), "resonate": {
            **rules.summary(), "api": "/api/v1/resonate/"}})

    get.resonate_upstream = upstream
    RootIndex.get = get


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
    """The last of `txids` in commit order: by height and position in the block
    (ledger.commit_positions), the same on every node and every store (`$natural` is
    neither)."""
    positions = commit_positions(conn, txids)
    return max(positions, key=positions.get)


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
    `network_parameters` (_checked_abci_app), `spends` (_lookups_by_primary_key),
    `rule_index` (_rule_index) and `submitted` (_http_post_with_codes)."""
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
    mongo_schema.INDEXES[outcome.SUBMITTED] = [([("at", ASCENDING)], dict(name="at"))]
    backend_schema.TABLES = backend_schema.TABLES + tuple(
        table for table in (TEXT_TERMS, BLOCK_TIMES, NETWORK_PARAMETERS, SPENDS, RULE_INDEX,
                            outcome.SUBMITTED)
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
        found = {doc["id"]: doc for doc in documents_by_key(conn, table, ranked)}
        for doc_id in ranked:
            doc = found[doc_id]
            if text_score:
                doc["score"] = scores[doc_id]
            yield doc


_WORD = re.compile(r"\w+")


def words(text):
    """Lower-case words without accents: what the text search matches on."""
    if text.isascii():  # no accents to strip (most of what a block stores: ids and keys)
        return _WORD.findall(text.lower())
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
    outputs and a plain CREATE register any asset. A Copyright or Right must move through
    its own operation (which checks the rights-transfer rules), so a plain TRANSFER of such
    an asset is refused; and a plain CREATE whose asset's `@type` names one of our records
    is refused, naming the operation that registers it (the registry would never read it)."""
    from bigchaindb.models import Transaction

    upstream = getattr(Transaction.validate, "resonate_upstream", Transaction.validate)

    def validate(self, bigchain, current_transactions=[]):
        if self.operation == Transaction.TRANSFER:
            registry.check_plain_transfer(self, LedgerView(bigchain, current_transactions))
        elif self.operation == Transaction.CREATE:
            registry.check_plain_create(self)
        return upstream(self, bigchain, current_transactions)

    validate.resonate_upstream = upstream
    Transaction.validate = validate


def _lookups_by_primary_key():
    """`backend/localmongodb/query.py:19-30,75-82,50-55` store documents under a generated
    `_id` and find one transaction, asset or metadata by `id`; `:94-102` get_spent and
    `:176-189` get_spending_transactions use `$elemMatch` with `$and`, which FerretDB
    refuses (the first TRANSFER crashed the ABCI app); `:32-55,85-90` get_transactions,
    get_metadata and get_assets find several ids with `$in`. FerretDB 1.24 pushes only
    equality on `_id` down to its store, and with patches/ferretdb/ that is an index
    search; any other filter decodes every document (benchmarks/store_scaling.py).

    Ours stores transactions, assets and metadata with `_id` equal to `id` (store_assets
    and store_metadatas in _text_search_by_term_collection do the same), looks ids up one
    `_id` at a time, and records with each stored transaction which output each input spends
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
    def get_transactions(conn, transaction_ids):
        return documents_by_key(conn, "transactions", transaction_ids)

    @register_query(LocalMongoDBConnection)
    def get_assets(conn, asset_ids):
        return documents_by_key(conn, "assets", asset_ids)

    @register_query(LocalMongoDBConnection)
    def get_metadata(conn, transaction_ids):
        return documents_by_key(conn, "metadata", transaction_ids)

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
        conn.run(conn.collection(COMMIT_POSITIONS).delete_many({"_id": {"$in": txn_ids}}))
        unfile_rule_index(conn, txn_ids)
        conn.run(conn.collection(TEXT_TERMS).delete_many({"id": {"$in": txn_ids}}))
        upstream_query.delete_transactions(conn, txn_ids)


def _owner_index():
    """`backend/localmongodb/query.py:19-30` store_transactions (ours, from
    _lookups_by_primary_key) stores a block's transactions, in commit order; `:166-172`
    get_owned_ids (GET /api/v1/outputs?public_key=) and the registry's reads by public key
    (reads.holdings, credits) would filter `transactions` by `outputs.public_keys`, which
    FerretDB answers by reading the whole collection. Ours files each stored transaction
    under `owner|<key>` for every key its outputs name (ledger.OWNER_INDEX: a head with a
    count per key and one small document per entry, found by `_id`), and get_owned_ids
    reads it. Crash recovery (`core.py:256-272` rollback calls delete_transactions)
    unfiles a rolled-back block's transactions first, from their stored outputs."""
    from bigchaindb.backend import query as backend_query
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
    from bigchaindb.backend.localmongodb.query import register_query

    mongo_schema.INDEXES[OWNER_INDEX] = []  # found by _id only
    if OWNER_INDEX not in backend_schema.TABLES:
        backend_schema.TABLES = backend_schema.TABLES + (OWNER_INDEX,)
    storing = backend_query.store_transactions.dispatch(LocalMongoDBConnection)
    deleting = backend_query.delete_transactions.dispatch(LocalMongoDBConnection)

    @register_query(LocalMongoDBConnection)
    def store_transactions(conn, signed_transactions):
        result = storing(conn, signed_transactions)
        file_block(conn, [(tx["id"], owner_keys(tx["outputs"])) for tx in signed_transactions],
                   OWNER_INDEX)
        return result

    @register_query(LocalMongoDBConnection)
    def get_owned_ids(conn, owner):
        return documents_by_key(conn, "transactions",
                                dict.fromkeys(filed_ids(conn, owner_key(owner), OWNER_INDEX)))

    @register_query(LocalMongoDBConnection)
    def delete_transactions(conn, txn_ids):
        unfile_owner_index(conn, txn_ids)
        return deleting(conn, txn_ids)


def unfile_owner_index(conn, txn_ids):
    """Before crash recovery deletes an uncommitted block's transactions: their owner
    index entries go (see unfile_rule_index)."""
    stored = (conn.run(conn.collection("transactions").find_one({"_id": txid})) for txid in txn_ids)
    unfile(conn, [(tx["id"], owner_keys(tx["outputs"])) for tx in stored if tx is not None],
           OWNER_INDEX)


def documents_by_key(conn, table, ids):
    """The stored documents of `table` with these ids, one key lookup each: FerretDB pushes
    down `_id` equality, not `$in` (see _lookups_by_primary_key)."""
    found = (conn.run(conn.collection(table).find_one({"_id": key}, {"_id": False})) for key in ids)
    return [document for document in found if document is not None]


def keyed_by_id(documents):
    """Copies whose `_id` is their `id` (see _lookups_by_primary_key)."""
    return [{**document, "_id": document["id"]} for document in documents]


def output_key(transaction_id, output_index):
    return f"{transaction_id}:{output_index}"


def _blocks_by_key():
    """`backend/localmongodb/query.py:105-120,192-205` find the latest block by sorting
    `blocks` on height (end_block and App.info, every block), a block by `height` and the
    block of a transaction by searching every block's list: on FerretDB each reads the
    whole collection. Ours stores each block under `_id = str(height)` and keeps a copy
    of the latest under `_id = LATEST_BLOCK` in `chain_head`, written after the block,
    so that crash recovery (core.py:260-270) still compares the pre-commit height with
    the last block stored: if the node stops in between, recovery rolls the block's
    transactions back, Tendermint replays it, and store_block finds it stored and
    updates the copy. A transaction's block comes from its commit position."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import query as upstream_query
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.backend.localmongodb.connection import LocalMongoDBConnection
    from bigchaindb.backend.localmongodb.query import register_query

    for table in (COMMIT_POSITIONS, CHAIN_HEAD):
        mongo_schema.INDEXES[table] = []  # found by _id only
    backend_schema.TABLES = backend_schema.TABLES + tuple(
        table for table in (COMMIT_POSITIONS, CHAIN_HEAD) if table not in backend_schema.TABLES)

    @register_query(LocalMongoDBConnection)
    def store_block(conn, block):
        block = {key: value for key, value in block.items() if key != "_id"}
        result = upstream_query.store_block(conn, {**block, "_id": block_key(block["height"])})
        conn.run(conn.collection(CHAIN_HEAD).replace_one(
            {"_id": LATEST_BLOCK}, {**block, "_id": LATEST_BLOCK}, upsert=True))
        return result

    @register_query(LocalMongoDBConnection)
    def get_latest_block(conn):
        return conn.run(conn.collection(CHAIN_HEAD).find_one({"_id": LATEST_BLOCK}, {"_id": False}))

    @register_query(LocalMongoDBConnection)
    def get_block(conn, block_id):
        return conn.run(conn.collection("blocks").find_one({"_id": block_key(block_id)}, {"_id": False}))

    @register_query(LocalMongoDBConnection)
    def get_block_with_transaction(conn, txid):
        return [{"height": height} for height, _ in commit_positions(conn, [txid]).values()]


def block_key(height):
    """A block's `_id`: FerretDB pushes down only string (or ObjectId) `_id` equality."""
    return str(height)


def _rule_index():
    """`lib.py:130-149` BigchainDB.store_bulk_transactions stores a block's transactions
    in commit order. Ours then files each under the keys the rules look it up by
    (registry.index_keys: a record's own transfers, a type's indexed fields and metadata),
    as one small document per entry and a head per key (ledger.file_block): found by `_id`
    only, the one filter FerretDB pushes down, and no document grows with the ledger.
    Crash recovery removes a rolled-back block's entries again (unfile_rule_index, called
    from delete_transactions in _lookups_by_primary_key).

    Only the process that commits blocks (the ABCI app) calls this: it keeps the block's
    transactions among the committed ones it has read (COMMITTED), and the rule-index
    documents it reads and writes (ledger.KeptDocuments), which nothing else changes while
    it runs, so its LedgerViews read through them (ledger.keep_rule_index_reads)."""
    from bigchaindb.lib import BigchainDB

    upstream = getattr(BigchainDB.store_bulk_transactions, "resonate_upstream",
                       BigchainDB.store_bulk_transactions)

    def store_bulk_transactions(self, transactions):
        result = upstream(self, transactions)
        file_block(self.connection, [(tx.id, registry.keys_of(tx)) for tx in transactions])
        COMMITTED.keep(transactions)
        keep_rule_index_reads(self)
        return result

    store_bulk_transactions.resonate_upstream = upstream
    BigchainDB.store_bulk_transactions = store_bulk_transactions


def unfile_rule_index(conn, txn_ids):
    """Before crash recovery deletes an uncommitted block's transactions: their rule index
    entries go, and the heads count what is left. Read from the stored documents, since
    they are about to go; a transaction never stored was never filed."""
    keyed = []
    for txid in txn_ids:
        tx = conn.run(conn.collection("transactions").find_one({"_id": txid}))
        if tx is None:
            continue
        asset = tx.get("asset") or conn.run(conn.collection("assets").find_one({"_id": txid}))
        metadata = conn.run(conn.collection("metadata").find_one({"_id": txid})) or {}
        keyed.append((txid, registry.index_keys(tx["operation"], asset, metadata.get("metadata"))))
    unfile(conn, keyed)


def _committed_transactions_cached():
    """`lib.py:242-260` BigchainDB.get_transaction makes three store queries each time. A
    play's rules read the same few records (the credit token, the track, its licence and
    split) for every play. A committed transaction never changes (crash recovery only
    deletes the uncommitted block's transactions, at start, before anything is cached), so
    each process keeps the most recently read ones (COMMITTED), and the ABCI app also the
    ones it has just committed (_rule_index). A miss reads as upstream does, without
    upstream's asset lookup for a transfer: its stored document keeps its asset (`{id}`),
    only a creation's asset is stored apart."""
    from bigchaindb.backend import query
    from bigchaindb.lib import BigchainDB

    upstream = getattr(BigchainDB.get_transaction, "resonate_upstream", BigchainDB.get_transaction)

    def read(bigchain, transaction_id):
        transaction = query.get_transaction(bigchain.connection, transaction_id)
        if not transaction:
            return None
        if "asset" not in transaction:
            asset = query.get_asset(bigchain.connection, transaction_id)
            if asset:
                transaction["asset"] = asset
        metadata = query.get_metadata(bigchain.connection, [transaction_id])
        transaction["metadata"] = metadata[0].get("metadata") if metadata else None
        return parse_committed(transaction)

    def get_transaction(self, transaction_id):
        return COMMITTED.get(self, transaction_id, read)

    get_transaction.resonate_upstream = upstream
    BigchainDB.get_transaction = get_transaction


class CommittedTransactions:
    """The most recently read or committed transactions, at most `size`. Only found ones
    are kept: an absent one may commit at any moment."""

    def __init__(self, size):
        self._size = size
        self._kept = OrderedDict()

    def get(self, bigchain, transaction_id, read):
        if transaction_id in self._kept:
            self._kept.move_to_end(transaction_id)
            return self._kept[transaction_id]
        transaction = read(bigchain, transaction_id)
        if transaction is not None:
            self.keep([transaction])
        return transaction

    def keep(self, transactions):
        for transaction in transactions:
            self._kept[transaction.id] = transaction
            self._kept.move_to_end(transaction.id)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def clear(self):
        self._kept.clear()


# Committed transactions kept per process (see _committed_transactions_cached).
COMMITTED = CommittedTransactions(20_000)


def parse_committed(tx):
    """A committed transaction from its stored dict, checked as committed history is: its
    id, and its type's `validate_committed` (the host's schemas and one of the type's
    released record schemas), never the rules of a later height (rule_versions.py). A
    host type (CREATE, TRANSFER, elections) keeps its own schema check."""
    from bigchaindb.common.transaction import Transaction

    cls = Transaction.resolve_class(tx["operation"])
    cls.validate_id(tx)
    getattr(cls, "validate_committed", cls.validate_schema)(tx)
    return Transaction.from_dict(tx, skip_schema_validation=True)


def _committed_reads_under_their_own_rules():
    """`common/transaction.py:1214-1261` Transaction.from_db rebuilds stored transactions
    (spending lookups `lib.py:315`, blocks `lib.py:353`) with `cls.from_dict`, which for
    BigchainDB's models class runs the schema and stateless checks of today's rules again:
    a stricter schema version or rule would make committed history unreadable. Ours
    rebuilds them with parse_committed, as _committed_transactions_cached reads one by
    id. Upstream's from_db uses its class for nothing but `from_dict`."""
    from bigchaindb.common.transaction import Transaction

    upstream = getattr(Transaction.from_db, "resonate_upstream", Transaction.from_db)

    class Committed:
        from_dict = staticmethod(parse_committed)

    def from_db(cls, bigchain, tx_dict_list):
        return upstream.__func__(Committed, bigchain, tx_dict_list)

    from_db.resonate_upstream = upstream
    Transaction.from_db = classmethod(from_db)

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
    block's plays (PLAYs, and each voucher a channel settlement pays) into the report
    totals (reports/totals.py), at the block's height and consensus time (set by
    _checked_abci_app's begin_block), and keeps the block's report rows. Tendermint delivers a block again when its commit did not finish
    (core.py:262-271 rollback), so both are idempotent per block. Declares the
    `report_totals` and `report_rows` collections, found by `_id` only."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.elections.election import Election

    from bigchaindb_resonate.reports import compute, totals

    for collection in (totals.COLLECTION, totals.ROWS):
        mongo_schema.INDEXES[collection] = []
        if collection not in backend_schema.TABLES:
            backend_schema.TABLES = backend_schema.TABLES + (collection,)
    upstream = getattr(Election.process_block, "resonate_upstream", Election.process_block)

    def process_block(cls, bigchain, new_height, txns):
        validator_update = upstream(bigchain, new_height, txns)
        paying = [tx for tx in txns if tx.operation in compute.PAYS_PLAYS]
        if paying:
            # The block's own transactions too: a split may commit with its first play.
            ledger = LedgerView(bigchain, txns)
            parameters = ledger.parameters_at(new_height) or {}

            def split_payees(split_id):
                return [(payee["publicKey"], payee["shareBp"])
                        for payee in ledger.get_transaction(split_id).asset["data"]["payees"]]

            plays = [row for tx in paying for row in compute.play_rows(
                {"id": tx.id, "operation": tx.operation, "metadata": tx.metadata,
                 "outputs": [{"public_keys": output.public_keys, "amount": output.amount}
                             for output in tx.outputs]}, split_payees, parameters)]
            totals.fold_block(bigchain.connection, new_height,
                              getattr(bigchain, "consensus_time", None), plays,
                              parameters.get("platform_key"))
        return validator_update

    process_block.resonate_upstream = upstream
    Election.process_block = classmethod(process_block)


def _credit_balances_at_commit():
    """`core.py:218` App.end_block calls `Election.process_block` once per committed block
    (see _report_totals_at_commit, which it runs after). Ours then folds the block's
    credit moves into the balances the node keeps per key (balances.py), so that a key's
    balance and spendable outputs are a few lookups at any ledger size: the same
    transactions, the same order, on every node. A block delivered again after a commit
    that did not finish (core.py:262-271) writes its journal again instead of folding
    twice. Declares the `credit_balances` collection, found by `_id` only."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.elections.election import Election

    from bigchaindb_resonate import balances
    from bigchaindb_resonate.types.credit import Credit, credit_token

    mongo_schema.INDEXES[balances.COLLECTION] = []
    if balances.COLLECTION not in backend_schema.TABLES:
        backend_schema.TABLES = backend_schema.TABLES + (balances.COLLECTION,)
    # The process_block in place (the report totals' around upstream's), not upstream's
    # alone: both adaptations wrap it.
    current = Election.process_block
    wrapped = getattr(current, "resonate_balances_wrap", current)

    def process_block(cls, bigchain, new_height, txns):
        validator_update = wrapped.__func__(cls, bigchain, new_height, txns)
        if txns:
            # Committed, it is read once per process (ledger.settled); else this block may
            # create it, as a CREDIT.
            token = credit_token(LedgerView(bigchain))
            if token is None and any(tx.operation == Credit.OPERATION for tx in txns):
                token = credit_token(LedgerView(bigchain, txns))
            if token is not None:
                balances.fold_block(bigchain.connection, new_height, txns, token.id)
        return validator_update

    process_block.resonate_balances_wrap = wrapped
    process_block.resonate_upstream = getattr(current, "resonate_upstream", current)
    Election.process_block = classmethod(process_block)


def _parameter_elections():
    """`elections/vote.py:23-40` Vote.validate accepts any VOTE that spends its inputs, also
    once the election has concluded (upstream only stops counting it), and one in the
    election's own block, which `Election.process_block` never counts. A VOTE in a
    parameter election (types/parameter_election.py) is refused beside its election
    (ELECTION_NOT_COMMITTED), once the election has concluded (ELECTION_CONCLUDED) or once
    it reached its activation height (ELECTION_EXPIRED).
    Votes in BigchainDB's own elections are checked as upstream checks them. Also declares
    `parameter_changes` (ledger.PARAMETER_CHANGES), found by `_id` or read whole (one small
    document per concluded election)."""
    from bigchaindb.backend import schema as backend_schema
    from bigchaindb.backend.localmongodb import schema as mongo_schema
    from bigchaindb.elections.vote import Vote

    from bigchaindb_resonate.types.parameter_election import ParameterElection

    mongo_schema.INDEXES[PARAMETER_CHANGES] = []
    if PARAMETER_CHANGES not in backend_schema.TABLES:
        backend_schema.TABLES = backend_schema.TABLES + (PARAMETER_CHANGES,)
    upstream = getattr(Vote.validate, "resonate_upstream", Vote.validate)

    def validate(self, bigchain, current_transactions=[]):
        ledger = LedgerView(bigchain, current_transactions)
        election = ledger.get_transaction(self.asset["id"])
        if isinstance(election, ParameterElection):
            election.check_vote(ledger)
        return upstream(self, bigchain, current_transactions)

    validate.resonate_upstream = upstream
    Vote.validate = validate


def _store_format_checked_at_start():
    """`commands/bigchaindb.py:272-292` run_start calls run_recover(BigchainDB()) once
    the configuration is read and before crash recovery, the database's initialisation
    or any process touches the store. Ours first refuses a store that a newer release
    wrote and records this release's format in any other (store_format.py), so that an
    operator who rolls a node back to an older release is stopped with a message instead
    of a node that misreads its store. `utils.start` finds run_start in the module's
    globals, and run_start finds run_recover there too."""
    from bigchaindb.commands import bigchaindb as commands

    from bigchaindb_resonate import store_format

    upstream = getattr(commands.run_recover, "resonate_upstream", commands.run_recover)

    def run_recover(bigchain):
        try:
            store_format.check_and_record(bigchain.connection)
        except store_format.StoreTooNew as exc:
            raise SystemExit(f"error: {exc}") from None
        upstream(bigchain)

    run_recover.resonate_upstream = upstream
    commands.run_recover = run_recover


# Condition URIs kept per process (see _condition_uris_cached): channel outputs are one
# 1-of-2 condition per listener, so this covers a receiver's whole set of channels.
CONDITION_URIS_KEPT = 200_000
_CONDITION_URIS = {}


def condition_key(fulfillment):
    """What an Ed25519 or threshold fulfillment's condition URI is a function of: the public
    key; the threshold and each subcondition's key (or, unfulfilled, its URI). None for any
    other type (its URI is not kept)."""
    from cryptoconditions.types.ed25519 import Ed25519Sha256
    from cryptoconditions.types.threshold import FULFILLMENT, ThresholdSha256

    if type(fulfillment) is Ed25519Sha256:
        return ("ed25519", bytes(fulfillment.public_key))
    if type(fulfillment) is not ThresholdSha256:
        return None
    parts = []
    for sub in fulfillment.subconditions:
        part = condition_key(sub["body"]) if sub["type"] == FULFILLMENT else ("uri", sub["body"].serialize_uri())
        if part is None:
            return None
        parts.append(part)
    return ("threshold", fulfillment.threshold, tuple(parts))


class _KeptConditionUri(property):
    """Fulfillment.condition_uri, answered from _CONDITION_URIS by condition_key."""

    def __init__(self, upstream):
        super().__init__(self._uri)
        self.upstream = upstream

    def _uri(self, fulfillment):
        key = condition_key(fulfillment)
        if key is None:
            return self.upstream.fget(fulfillment)
        uri = _CONDITION_URIS.get(key)
        if uri is None:
            uri = self.upstream.fget(fulfillment)
            if len(_CONDITION_URIS) >= CONDITION_URIS_KEPT:
                _CONDITION_URIS.clear()
            _CONDITION_URIS[key] = uri
        return uri


def _condition_uris_cached():
    """`cryptoconditions/fulfillment.py:120-127` (a dependency BigchainDB 2.2.2 pins)
    Fulfillment.condition_uri derives the condition through pyasn1 each time it is asked:
    1 to 3 ms for a channel's 1-of-2 threshold, asked several times per channel of a
    CHANNEL_SETTLE_BATCH (the spent output's in `inputs_valid`, the input's own, each output
    the rules compare), which made it most of a batch's validation. The URI is a pure
    function of the key material (condition_key), so it is kept per key; the answer is the
    one upstream computes, byte for byte."""
    from cryptoconditions.fulfillment import Fulfillment

    current = Fulfillment.__dict__["condition_uri"]
    if not isinstance(current, _KeptConditionUri):
        Fulfillment.condition_uri = _KeptConditionUri(current)


class _LastMessageHash:
    """sha3_256(data) as upstream's, its state after the last large `data` of each thread
    kept and copied when the same bytes come again (the same digest)."""

    KEPT_FROM_BYTES = 4096

    def __init__(self, upstream):
        self.upstream = upstream
        self.last = threading.local()

    def __call__(self, data=b""):
        kept = getattr(self.last, "entry", None)
        if kept is not None and len(kept[0]) == len(data) and kept[0] == data:
            return kept[1].copy()
        state = self.upstream(data)
        if len(data) >= self.KEPT_FROM_BYTES:
            self.last.entry = (bytes(data), state.copy())
        return state


def _message_hashed_once_per_transaction():
    """`common/transaction.py:1052` (also `:892`, `:919`, signing) Transaction._input_valid
    hashes the whole serialized transaction again for every input, then adds the output it
    spends: for a CHANNEL_SETTLE_BATCH of a few hundred channels (inputs) and ~450 KB that
    is a hundred MB hashed per validation. The module's `sha3_256` becomes one that keeps
    the hash state of the last large message and continues from a copy of it."""
    from bigchaindb.common import transaction

    if not isinstance(transaction.sha3_256, _LastMessageHash):
        transaction.sha3_256 = _LastMessageHash(transaction.sha3_256)


def _schema_checks_match_each_condition_uri_once():
    """`common/schema/__init__.py:47-69` _validate_schema runs rapidjson's regex for the
    condition URI pattern of every output of every transaction parsed, about 0.25 ms an
    output: most of a transaction's parse. Ours (host_schemas.validate_schema, which our
    types call too) checks the rest of the schema as before and each distinct URI against
    the pattern once, and hands any transaction that fails either to upstream's function,
    whose verdict and message stand. Upstream calls it by module global from
    validate_transaction_schema (`:72-82`, CREATE and TRANSFER via `models.py:50-52`), and
    from the names `elections/election.py:20` and `elections/vote.py:7` import."""
    from bigchaindb.common import schema
    from bigchaindb.elections import election, vote

    from bigchaindb_resonate.host_schemas import UPSTREAM, validate_schema

    validate_schema.resonate_upstream = UPSTREAM
    for module in (schema, election, vote):
        module._validate_schema = validate_schema


class Adaptation(NamedTuple):
    apply: Callable[[], None]
    upstream: str        # the spot it changes, as its docstring names it
    guards: tuple        # tests in tests/unit/test_host.py that fail when it stops applying


# Every adaptation, in the order apply() runs them (tests/unit/test_host.py checks that
# each upstream spot is in its docstring and each guard exists).
ADAPTATIONS = (
    Adaptation(_add_config_defaults, "`__init__.py` config/_config",
               ("test_abci_port_and_host_come_from_config",)),
    Adaptation(_configurable_abci_server, "`start.py:66-82`",
               ("test_abci_port_and_host_come_from_config",)),
    Adaptation(_abci_logs_without_colour, "`abci/utils.py:37-62`",
               ("test_abci_logs_reach_bigchaindbs_handlers_without_colour_codes",)),
    Adaptation(_checked_abci_app, "`core.py:130-186`",
               ("test_checked_app_replaces_the_app_start_uses",
                "test_checktx_accepts_a_transaction_depending_on_one_it_accepted_and_no_block_carried",
                "test_checktx_still_accepts_a_dependent_transaction_after_a_block_carrying_others_commits",
                "test_checktx_accepts_again_what_it_holds_when_tendermint_rechecks_its_mempool",
                "test_checktx_keeps_no_more_unconfirmed_transactions_than_the_mempool_holds",
                "test_a_crash_in_validation_is_a_tx_internal_error_refusal_not_a_halt",
                "test_a_store_failure_in_validation_stops_the_node_rather_than_refusing",
                "test_commit_stores_transactions_before_the_block_and_recovery_compares_their_heights",
                "test_an_accepted_delivertx_answer_is_not_empty_so_tendermint_can_replay_it",
                "test_a_node_lacking_a_voted_rule_version_is_told_at_each_commit_then_stops_at_its_height",
                "test_checktx_refuses_a_proposal_of_a_rule_version_this_node_lacks_and_delivertx_does_not")),
    Adaptation(_websocket_server_for_python_3_11, "`web/websocket_server.py:168-185`",
               ("test_websocket_start_is_replaced_because_upstream_still_passes_loop_to_queue",)),
    Adaptation(_http_post_with_codes, "`web/views/transactions.py:60-108`",
               ("test_http_post_is_ours_and_upstream_still_parses_with_get_json",)),
    Adaptation(_root_names_the_plugin, "`web/views/info.py:16-29`",
               ("test_the_root_endpoint_names_the_plugin_and_its_rules",)),
    Adaptation(_operation_filter_knows_our_types, "`web/views/parameters.py:35-41`",
               ("test_operation_filter_accepts_our_operations",)),
    Adaptation(_registry_reads_beside_the_api, "`web/server.py:63-88`",
               ("test_registry_reads_are_mounted_where_upstream_mounts_its_routes",)),
    Adaptation(_txids_filter_knows_our_types, "`backend/localmongodb/query.py:123-137`",
               ("test_queries_are_ours_where_upstream_uses_operators_ferretdb_lacks",)),
    Adaptation(_records_move_only_by_their_own_operation, "`models.py:19-44`",
               ("test_a_plain_transfer_of_a_copyright_is_refused",
                "test_a_plain_create_of_one_of_our_records_is_refused_naming_its_operation")),
    Adaptation(_text_search_by_term_collection, "`backend/localmongodb/schema.py:17-58`",
               ("test_no_text_index_is_created_and_terms_have_their_collection",
                "test_queries_are_ours_where_upstream_uses_operators_ferretdb_lacks")),
    Adaptation(_lookups_by_primary_key, "`backend/localmongodb/query.py:19-30,75-82,50-55`",
               ("test_single_lookups_go_by_primary_key_because_ferretdb_pushes_down_only_id",)),
    Adaptation(_owner_index, "`backend/localmongodb/query.py:19-30`",
               ("test_owner_index_files_where_transactions_are_stored_and_recovery_unfiles",)),
    Adaptation(_blocks_by_key, "`backend/localmongodb/query.py:105-120,192-205`",
               ("test_blocks_are_found_by_key_where_upstream_sorts_or_searches_every_block",
                "test_latest_of_an_assets_transactions_comes_from_commit_positions")),
    Adaptation(_rule_index, "`lib.py:130-149`",
               ("test_rule_index_wraps_where_upstream_stores_a_block",)),
    Adaptation(_committed_transactions_cached, "`lib.py:242-260`",
               ("test_committed_transactions_are_cached_but_absent_ones_never",
                "test_rule_index_wraps_where_upstream_stores_a_block",
                "test_committed_reads_parse_under_released_schemas_not_the_rules_in_force")),
    Adaptation(_committed_reads_under_their_own_rules, "`common/transaction.py:1214-1261`",
               ("test_committed_reads_parse_under_released_schemas_not_the_rules_in_force",)),
    Adaptation(_pooled_instances_come_back, "`utils.py:54-104`",
               ("test_pooled_instances_come_back_when_the_block_raises_or_a_stream_is_closed",)),
    Adaptation(_report_totals_at_commit, "`core.py:218`",
               ("test_report_totals_fold_where_upstream_processes_each_committed_block",)),
    Adaptation(_credit_balances_at_commit, "`core.py:218`",
               ("test_credit_balances_fold_where_upstream_processes_each_committed_block",)),
    Adaptation(_parameter_elections, "`elections/vote.py:23-40`",
               ("test_votes_in_a_parameter_election_are_checked_where_upstream_validates_a_vote",)),
    Adaptation(_store_format_checked_at_start, "`commands/bigchaindb.py:272-292`",
               ("test_the_store_format_is_checked_where_start_recovers_before_touching_the_store",)),
    Adaptation(_condition_uris_cached, "`cryptoconditions/fulfillment.py:120-127`",
               ("test_condition_uris_are_kept_by_key_and_are_upstreams",)),
    Adaptation(_message_hashed_once_per_transaction, "`common/transaction.py:1052`",
               ("test_a_transactions_message_is_hashed_once_for_all_its_inputs",)),
    Adaptation(_schema_checks_match_each_condition_uri_once, "`common/schema/__init__.py:47-69`",
               ("test_schema_checks_match_each_condition_uri_once_where_upstream_validates_schemas",
                "test_schema_refusals_are_upstreams_word_for_word")),
)
