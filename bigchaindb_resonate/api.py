"""Reads of the registry over HTTP, served by every node next to BigchainDB's own API
under /api/v1/resonate/ (documented in docs/openapi.yaml).

Every answer is computed from the node's committed ledger only (reads.py), so any member
can ask any node and compare. Errors are JSON `{"status", "message"}`: 400 for a bad
query, 404 when nothing matches.
"""
import base58
from flask import Blueprint, current_app, jsonify, request

from bigchaindb_resonate import reads
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.validators.identifiers import normalise_isrc, normalise_iswc

PREFIX = "/api/v1/resonate"
blueprint = Blueprint("resonate", __name__)
NORMALISE = {"iswc": normalise_iswc, "isrc": normalise_isrc}


class Refusal(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.body = {"status": status, "message": message, **extra}


@blueprint.errorhandler(Refusal)
def _refusal(exc):
    response = jsonify(exc.body)
    response.status_code = exc.body["status"]
    return response


def _on_ledger(function, *args):
    with current_app.config["bigchain_pool"]() as bigchain:
        return function(bigchain, *args)


def _read(function, *args, missing):
    """Run a read against this node's ledger; 404 naming `missing` when it finds nothing."""
    found = _on_ledger(function, *args)
    if not found:
        raise Refusal(404, f"no {missing}")
    return found


def _record_id(value):
    if not reads.is_record_id(value):
        raise Refusal(400, f"`{value}` is not a record id (64 lowercase hex digits)")
    return value


@blueprint.route("/records/<record_id>")
def record(record_id):
    """A record (any of our CREATE-like types) with its current holders."""
    return jsonify(_read(reads.record, _record_id(record_id), missing=f"record {record_id}"))


@blueprint.route("/records/<record_id>/history")
def history(record_id):
    return jsonify(_read(reads.history, _record_id(record_id), missing=f"record {record_id}"))


@blueprint.route("/records/<record_id>/holders")
def holders(record_id):
    return jsonify(_read(reads.holders, _record_id(record_id), missing=f"record {record_id}"))


@blueprint.route("/records/<record_id>/rights")
def rights(record_id):
    depth = request.args.get("depth", "1")
    if depth not in ("1", "all"):
        raise Refusal(400, f"depth must be 1 or all, not `{depth}`")
    return jsonify(_read(reads.rights, _record_id(record_id), depth == "all",
                         missing=f"copyright or right {record_id}"))


@blueprint.route("/holders/<public_key>")
def holdings(public_key):
    try:
        valid = len(base58.b58decode(public_key)) == 32
    except ValueError:
        valid = False
    if not valid:
        raise Refusal(400, f"`{public_key}` is not an Ed25519 public key (base58, 32 bytes)")
    # Holding nothing is an answer, not a miss: any valid key may ask.
    return jsonify({"public_key": public_key,
                    "holdings": _on_ledger(reads.holdings, public_key)})


@blueprint.route("/works/<work_id>/recordings")
def recordings(work_id):
    return jsonify(_read(reads.recordings, _record_id(work_id), missing=f"work {work_id}"))


@blueprint.route("/lookup")
def lookup():
    asked = [name for name in NORMALISE if name in request.args]
    if len(asked) != 1:
        raise Refusal(400, "ask for exactly one of iswc= or isrc=")
    identifier = asked[0]
    try:
        canonical = NORMALISE[identifier](request.args[identifier], identifier)
    except ResonateValidationError as exc:
        raise Refusal(400, exc.describe(), code=exc.code) from None
    found = _read(reads.lookup, identifier, canonical,
                  missing=f"record with {identifier.upper()} {canonical}")
    return jsonify({identifier: canonical, "records": found})


def register(app):
    app.register_blueprint(blueprint, url_prefix=PREFIX)
