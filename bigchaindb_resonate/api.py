"""Reads of the registry over HTTP, served by every node next to BigchainDB's own API
under /api/v1/resonate/ (documented in docs/openapi.yaml).

Every answer is computed from the node's committed ledger only (reads.py), so any member
can ask any node and compare. Errors are JSON `{"status", "message"}`: 400 for a bad
query, 404 when nothing matches.
"""
from pathlib import Path

import base58
from flask import Blueprint, Response, current_app, jsonify, request

from bigchaindb_resonate import balances, dashboard, governance, outcome, reads, rule_versions, rules
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.reports import compute, formats, statements, totals
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


@blueprint.errorhandler(balances.BalancesNotKept)
def _balances_not_kept(exc):
    return _refusal(Refusal(503, str(exc)))  # the node's operator must act, not the client


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


@blueprint.route("/")
def index():
    """The plugin's version and the digest of the rules this node enforces (rules.py), and
    the rule versions of its chain: in force, voted in, and any voted in it lacks."""
    return jsonify({**rules.summary(), "chain_rule_versions": _on_ledger(rule_versions.on_chain)})


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


def _public_key(value):
    try:
        valid = len(base58.b58decode(value)) == 32
    except ValueError:
        valid = False
    if not valid:
        raise Refusal(400, f"`{value}` is not an Ed25519 public key (base58, 32 bytes)")
    return value


@blueprint.route("/holders/<public_key>")
def holdings(public_key):
    # Holding nothing is an answer, not a miss: any valid key may ask.
    return jsonify({"public_key": _public_key(public_key),
                    "holdings": _on_ledger(reads.holdings, public_key)})


@blueprint.route("/network")
def network():
    return jsonify(_on_ledger(reads.network))


@blueprint.route("/credits/<public_key>")
def credit_balance(public_key):
    """The balance kept at commit and a page of the outputs holding it: `limit` of them
    (default reads.OUTPUTS_PER_PAGE) from slot `start`, or fewer once they hold `amount`."""
    args = request.args
    try:
        amount = compute.parse_count(args.get("amount"), "amount")
        start = compute.parse_count(args.get("start", "0"), "start")
        limit = compute.parse_count(args.get("limit", str(reads.OUTPUTS_PER_PAGE)), "limit")
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    if limit > reads.MAX_OUTPUTS_PER_PAGE:
        raise Refusal(400, f"limit must be at most {reads.MAX_OUTPUTS_PER_PAGE}")
    return jsonify(_read(reads.credit_balance, _public_key(public_key), amount, start, limit,
                         missing="credit token yet"))


@blueprint.route("/credits/<public_key>/history")
def credit_history(public_key):
    return jsonify(_read(reads.credit_history, _public_key(public_key), missing="credit token yet"))


@blueprint.route("/payees/<public_key>/account")
def payee_account(public_key):
    """Owed and paid: balance, open payout requests, settled payouts, the rate in force."""
    return jsonify(_on_ledger(reads.payee_account, _public_key(public_key)))


@blueprint.route("/tracks/<track_id>/splits")
def splits(track_id):
    return jsonify(_read(reads.splits, _record_id(track_id), missing=f"track {track_id}"))


@blueprint.route("/tracks/<track_id>/listeners/<public_key>")
def ownership(track_id, public_key):
    return jsonify(_read(reads.ownership, _record_id(track_id), _public_key(public_key),
                         missing=f"track {track_id}"))


@blueprint.route("/channels/<channel_id>")
def channel(channel_id):
    return jsonify(_read(reads.channel, _record_id(channel_id), missing=f"channel {channel_id}"))


MAX_CHANNELS_READ = 1000


@blueprint.route("/channels", methods=["POST"])
def channels():
    """Many channels' states at once (a read: the ids do not fit in a URL)."""
    body = request.get_json(silent=True)
    ids = body.get("channels") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_CHANNELS_READ or \
            not all(isinstance(value, str) for value in ids):
        raise Refusal(400, f"send {{\"channels\": [1 to {MAX_CHANNELS_READ} channel ids]}}")
    return jsonify({"channels": _on_ledger(reads.channels, [_record_id(value) for value in ids])})


@blueprint.route("/listeners/<public_key>/channel")
def listener_channel(public_key):
    return jsonify(_read(reads.listener_channel, _public_key(public_key),
                         missing=f"open or closing channel of {public_key}"))


@blueprint.route("/works/<work_id>/recordings")
def recordings(work_id):
    return jsonify(_read(reads.recordings, _record_id(work_id), missing=f"work {work_id}"))


@blueprint.route("/transactions/<transaction_id>/status")
def transaction_status(transaction_id):
    """What became of a transaction: committed (its height), refused (the code it will
    always meet now) or pending; outcome.py."""
    if not reads.is_record_id(transaction_id):
        raise Refusal(400, f"`{transaction_id}` is not a transaction id (64 lowercase hex digits)")
    found = _on_ledger(outcome.status, transaction_id)
    if found is None:
        raise Refusal(404, f"transaction {transaction_id} is not committed and was not posted to this node "
                           f"in the last {outcome.SUBMISSIONS_KEPT_SECONDS // 60} minutes: ask "
                           f"the node it was posted to, or post it again")
    return jsonify(found)


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


# -- reports (bigchaindb_resonate/reports/): the report, and what an audit walks

BLOCKS_PER_PAGE = 1000


def _report_query():
    try:
        scope = compute.Scope.parse(request.args.get("scope", "network"))
        period = compute.Period.parse(request.args)
        at_height = compute.parse_count(request.args.get("at_height"), "at_height")
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    return scope, period, at_height


def _on_store(function, store=compute.StoreLedger):
    """`function(store)` on this node's ledger; 404 when its scope or height is not."""
    try:
        return _on_ledger(lambda bigchain: function(store(bigchain)))
    except compute.ScopeNotFound as exc:
        raise Refusal(404, str(exc)) from None


@blueprint.route("/reports")
def report():
    """A usage and royalty report, streamed as it is computed."""
    scope, period, at_height = _report_query()
    fmt = request.args.get("format", "json")
    if fmt not in formats.FORMATS:
        raise Refusal(400, f"format must be one of {', '.join(formats.FORMATS)}, not `{fmt}`")
    # Fix the height first, so that a missing scope is a 404 before the stream starts and
    # every part of the report reads the same blocks.
    at_height = _on_store(lambda ledger: ledger.context(scope, at_height)["at_height"])
    pool = current_app.config["bigchain_pool"]

    def stream():
        with pool() as bigchain:
            yield from formats.render(compute.report_lines(
                compute.StoreLedger(bigchain), scope, period, at_height), fmt)

    return Response(stream(), mimetype=formats.MEDIA_TYPES[fmt])


@blueprint.route("/reports/context")
def report_context():
    """The chain id, block, network parameters and tracks a report of this scope uses."""
    scope, _, at_height = _report_query()
    return jsonify(_on_store(lambda ledger: ledger.context(scope, at_height)))


@blueprint.route("/reports/blocks")
def report_blocks():
    """The heights a period covers, and a page of those blocks (height, app hash,
    consensus time, transaction ids in block order)."""
    _, period, at_height = _report_query()
    try:
        limit = compute.parse_count(request.args.get("limit", BLOCKS_PER_PAGE), "limit")
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    if limit > BLOCKS_PER_PAGE:
        raise Refusal(400, f"limit must be at most {BLOCKS_PER_PAGE}")

    def page(ledger):
        tip = ledger.tip(at_height)
        first, last = ledger.heights(period, tip["height"] if tip else 0)
        end = min(last, first + limit - 1)
        return {"from_height": first, "to_height": last,
                "blocks": list(ledger.blocks(first, end)) if limit else [],
                "next": end + 1 if limit and end < last else None}

    return jsonify(_on_store(page))


MAX_TOTALS_KEYS = 100
MAX_SUMMARY_LOOKUPS = 2000  # tracks x days of a party's daily summary


def _stored_totals(keys):
    return _on_ledger(lambda bigchain: totals.read(bigchain.connection, keys))


@blueprint.route("/reports/summary")
def report_summary():
    """Summary figures from the totals every node keeps as blocks commit: a few lookups
    whatever the ledger's size. `scope` as for reports, or `payee=<public key>`; with
    from_date and to_date (YYYY-MM-DD, UTC), also per consensus day."""
    args = request.args
    try:
        dates = None
        if "from_date" in args or "to_date" in args:
            dates = totals.dates_between(args.get("from_date"), args.get("to_date"))
        if "payee" in args:
            if dates or "scope" in args:
                raise compute.ReportError("a payee's summary takes no scope and no dates")
            kind, ids, scope = "payee", [_public_key(args["payee"])], f"payee:{args['payee']}"
        else:
            parsed = compute.Scope.parse(args.get("scope", "network"))
            kind, scope = parsed.kind, str(parsed)
            ids = _on_store(lambda ledger: ledger.scope_tracks(parsed))
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    if dates and ids and len(ids) * len(dates) > MAX_SUMMARY_LOOKUPS:
        raise Refusal(400, f"{len(ids)} tracks over {len(dates)} days: ask for at most "
                           f"{MAX_SUMMARY_LOOKUPS // len(ids)} days at a time")
    network = _stored_totals(["network"]).get("network", {})
    return jsonify({"scope": scope, "last_play_height": network.get("height", 0),
                    **totals.summary(_stored_totals, kind, ids, dates)})


@blueprint.route("/reports/totals")
def report_totals():
    """Stored totals documents by key (reports/totals.py), for an audit to compare."""
    keys = request.args.getlist("key")
    if not 1 <= len(keys) <= MAX_TOTALS_KEYS:
        raise Refusal(400, f"ask for 1 to {MAX_TOTALS_KEYS} keys (key=...&key=...)")
    return jsonify({"totals": _stored_totals(keys)})


# -- governance (bigchaindb_resonate/governance.py): parameters by height, their elections

@blueprint.route("/parameters")
def parameters():
    """Every network parameter in force at `height` (default: the next block), with the
    height since which and the election by which."""
    height = request.args.get("height")
    if height is not None and not (height.isdigit() and int(height) >= 1):
        raise Refusal(400, f"height must be a block height (1 or more), not `{height}`")
    return jsonify(_read(governance.parameters_at, height and int(height),
                         missing="network parameters: the genesis set none"))


@blueprint.route("/parameters/<name>/history")
def parameter_history(name):
    return jsonify(_read(governance.parameter_history, name, missing=f"network parameter `{name}`"))


@blueprint.route("/governance/elections")
def elections():
    """The parameter elections open now, or passed and not yet in force."""
    return jsonify(_on_ledger(governance.elections))


@blueprint.route("/governance/elections/<election_id>")
def election(election_id):
    return jsonify(_read(governance.election, _record_id(election_id),
                         missing=f"parameter election {election_id}"))
@blueprint.route("/statements")
def statement():
    """A payee's statement for a period (reports/statements.py): JSON, CSV or a printable
    HTML page."""
    args = request.args
    fmt = args.get("format", "json")
    if fmt not in statements.FORMATS:
        raise Refusal(400, f"format must be one of {', '.join(statements.FORMATS)}, not `{fmt}`")
    if "payee" not in args:
        raise Refusal(400, "name the payee: payee=<public key>")
    payee = _public_key(args["payee"])
    try:
        period = compute.Period.parse(args)
        at_height = compute.parse_count(args.get("at_height"), "at_height")
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    text = "".join(_on_store(lambda ledger: statements.render(statements.statement_lines(
        ledger, payee, period, at_height), fmt), statements.StoreStatements))
    return Response(text, mimetype=statements.MEDIA_TYPES[fmt])


def register(app):
    app.register_blueprint(blueprint, url_prefix=PREFIX)


# -- the artist and label dashboard (bigchaindb_resonate/dashboard/): its page and reads

DASHBOARD_PAGE = Path(dashboard.__file__).parent / "page"
DASHBOARD_FILES = {"index.html": "text/html", "dashboard.js": "text/javascript",
                   "dashboard.css": "text/css"}


@blueprint.route("/dashboard/")
@blueprint.route("/dashboard/<file>")
def dashboard_page(file="index.html"):
    """The page and its assets, shipped in the package: it needs nothing from elsewhere."""
    if file not in DASHBOARD_FILES:
        raise Refusal(404, f"no dashboard file {file}")
    return Response((DASHBOARD_PAGE / file).read_bytes(), mimetype=DASHBOARD_FILES[file])


def _on_dashboard(function, *args):
    try:
        return _on_ledger(function, *args)
    except dashboard.DashboardError as exc:
        raise Refusal(400, str(exc)) from None
    except dashboard.SubjectNotFound as exc:
        raise Refusal(404, str(exc)) from None


@blueprint.route("/dashboard/subject")
def dashboard_subject():
    """Whom a dashboard is about (party=<PARTY id> or key=<public key>): name, keys, tracks."""
    party, key = request.args.get("party"), request.args.get("key")
    return jsonify(_on_dashboard(dashboard.subject, party and _record_id(party),
                                 key and _public_key(key)))


@blueprint.route("/dashboard/figures")
def dashboard_figures():
    """What the page draws for track=... (and the subject's key=...), over `days` days."""
    try:
        days = compute.parse_count(request.args.get("days", dashboard.DEFAULT_DAYS), "days")
    except compute.ReportError as exc:
        raise Refusal(400, str(exc)) from None
    tracks = [_record_id(track) for track in request.args.getlist("track")]
    keys = [_public_key(key) for key in request.args.getlist("key")]
    return jsonify(_on_dashboard(dashboard.figures, tracks, keys, days))
