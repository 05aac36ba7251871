"""Reads of the registry over HTTP, served by every node next to BigchainDB's own API
under /api/v1/resonate/ (documented in docs/openapi.yaml).

Every answer is computed from the node's committed ledger only, so any member can ask
any node and compare.
"""
from flask import Blueprint, current_app, jsonify

from bigchaindb_resonate.ledger import LedgerView

PREFIX = "/api/v1/resonate"
blueprint = Blueprint("resonate", __name__)


def _ledger():
    return current_app.config["bigchain_pool"]()


def _not_found(what):
    response = jsonify({"status": 404, "message": f"no {what}"})
    response.status_code = 404
    return response


@blueprint.route("/records/<record_id>")
def record(record_id):
    """A record (any of our CREATE-like types) with its current holders."""
    with _ledger() as bigchain:
        ledger = LedgerView(bigchain)
        tx = ledger.get_transaction(record_id)
        if tx is None or tx.operation != getattr(type(tx), "CREATE", None):
            return _not_found(f"record {record_id}")
        return jsonify({"id": tx.id, "operation": tx.operation, "data": tx.asset["data"],
                        "holders": [{"public_keys": list(keys), "amount": amount}
                                    for keys, amount in ledger.current_holders(tx.id)]})


def register(app):
    app.register_blueprint(blueprint, url_prefix=PREFIX)
