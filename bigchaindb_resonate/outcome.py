"""What became of a transaction posted to this node: committed, refused, or still pending.

A transaction that passed CheckTx can still lose: a conflicting one (the same output spent,
the same play number, the same new ISWC) commits first, and every mempool then drops it.
Tendermint tells nobody. The node learns it the way CheckTx does: by validating the
transaction again against the committed ledger. A refusal that more commits cannot undo
is final; one that only says "what it depends on is not committed yet" is not.

The HTTP API answers `mode=commit` from here as soon as the outcome is known (see
host._http_post_with_codes), and `GET /api/v1/resonate/transactions/<id>/status` for any
transaction posted to this node (api.py). Runs in the API processes, never in consensus:
the clocks here only bound how long a request waits and how long the node remembers.
"""
import logging
import time

import pymongo.errors
from bigchaindb.backend.exceptions import BackendError
from bigchaindb.common.exceptions import InputDoesNotExist, ValidationError

from bigchaindb_resonate.errors import LinkNotFound, ValidationCrashed, error_body
from bigchaindb_resonate.ledger import commit_positions

logger = logging.getLogger(__name__)

# Failures of the node's own store: never the transaction's fault.
STORE_ERRORS = (pymongo.errors.PyMongoError, BackendError)
# Refusals that only mean "what it depends on is not committed (yet)".
DEPENDENCY_NOT_COMMITTED = (InputDoesNotExist, LinkNotFound)

COMMITTED, PENDING, REFUSED = "committed", "pending", "refused"
# Where the API processes keep what was posted to this node, `_id` = transaction id, so
# that a status read can validate it again; kept SUBMISSIONS_KEPT_SECONDS.
SUBMITTED = "submitted"
SUBMISSIONS_KEPT_SECONDS = 600
# How long `mode=commit` waits before answering "pending" (Tendermint's own
# timeout_broadcast_tx_commit), and how often it looks meanwhile.
COMMIT_WAIT_SECONDS = 10
POLL_SECONDS = 0.2


def status_url(txid):
    return f"/api/v1/resonate/transactions/{txid}/status"


def refusal_of(bigchain, tx):
    """The refusal `tx` meets against the committed ledger now, or None if it is valid.
    A crash in a rule is a refusal, as in CheckTx; a store failure is not."""
    try:
        bigchain.validate_transaction(tx)
    except ValidationError as exc:
        return exc
    except STORE_ERRORS:
        raise
    except Exception as exc:
        logger.exception("unexpected error while validating a transaction")
        return ValidationCrashed(f"{type(exc).__name__} during validation")
    return None


def outcome(bigchain, tx):
    """The status body of `tx`: committed with its height, refused with the refusal body,
    or pending (with `waiting_for`, the refusal body of a missing dependency)."""
    if bigchain.is_committed(tx.id):
        return _committed(bigchain, tx.id)
    refusal = refusal_of(bigchain, tx)
    if refusal is not None and bigchain.is_committed(tx.id):
        return _committed(bigchain, tx.id)  # it committed while being validated
    if refusal is None or isinstance(refusal, DEPENDENCY_NOT_COMMITTED):
        body = {"id": tx.id, "status": PENDING,
                "detail": "accepted, not committed yet: still valid against every committed block"}
        if refusal is not None:
            body["waiting_for"] = error_body(refusal)
        return body
    return {"id": tx.id, "status": REFUSED, **error_body(refusal)}


def _committed(bigchain, txid):
    position = commit_positions(bigchain.connection, [txid]).get(txid)
    return {"id": txid, "status": COMMITTED, "height": position[0] if position else None}


def await_outcome(pool, tx, timeout=COMMIT_WAIT_SECONDS):
    """The outcome once it is committed or refused, or pending after `timeout` seconds.
    The pooled connection is taken for each look only, never while waiting."""
    deadline = time.monotonic() + timeout
    while True:
        with pool() as bigchain:
            found = outcome(bigchain, tx)
        if found["status"] != PENDING or time.monotonic() >= deadline:
            return found
        time.sleep(POLL_SECONDS)


def remember(bigchain, tx_dict):
    """Keep a posted transaction for status reads, and forget those kept long enough."""
    now = int(time.time())
    collection = bigchain.connection.collection
    bigchain.connection.run(collection(SUBMITTED).replace_one(
        {"_id": tx_dict["id"]}, {"_id": tx_dict["id"], "at": now, "transaction": tx_dict},
        upsert=True))
    _forget_old(bigchain, now)


_last_forgotten = 0


def _forget_old(bigchain, now):
    # Once a minute per process: the filter is not on `_id`, so the store scans.
    global _last_forgotten
    if now - _last_forgotten < 60:
        return
    _last_forgotten = now
    bigchain.connection.run(bigchain.connection.collection(SUBMITTED).delete_many(
        {"at": {"$lt": now - SUBMISSIONS_KEPT_SECONDS}}))


def status(bigchain, txid):
    """The status body of the transaction `txid`, or None when this node has neither
    committed it nor kept it from a post."""
    from bigchaindb.models import Transaction

    if bigchain.is_committed(txid):
        return _committed(bigchain, txid)
    kept = bigchain.connection.run(bigchain.connection.collection(SUBMITTED).find_one({"_id": txid}))
    if kept is None:
        return None
    return outcome(bigchain, Transaction.from_dict(kept["transaction"]))
