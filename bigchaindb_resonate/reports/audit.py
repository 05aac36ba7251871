"""Auditing a report against nodes: recompute it from each node's ledger over HTTP and
pinpoint every line that differs.

For each node, `NodeLedger` walks the report's blocks through the node's API (our
`/api/v1/resonate/reports/blocks` for heights, times and transaction order; BigchainDB's
own `/api/v1/blocks/<height>` for the transactions; `/api/v1/transactions/<id>` for the
outputs they spend) and checks every PLAY and channel settlement it covers: its id is the
hash of its body, every input is signed by the owner of the output it spends (whose own id
is checked too), its outputs add up to those inputs, and each voucher a settlement pays is
signed by its listener and proven included in the settlement's Merkle root. `report_lines` then recomputes the report from those
transactions, and the audit compares, line by line and in step, the report with every
node's recomputation: nodes that disagree with each other, and report lines that differ
from the ledger, are named with the field and both values. A JSON or CSV report's digest
is also checked against its own lines. Memory stays flat: everything streams.
"""
import collections
import itertools
import json

from bigchaindb.common.exceptions import InvalidHash
from bigchaindb.common.transaction import Output, Transaction

from bigchaindb_resonate import balances
from bigchaindb_resonate.client import Client, NotFoundError
from bigchaindb_resonate.reports import dsr, totals
from bigchaindb_resonate.reports.compute import SETTLE, SETTLES, Digest, Period, Scope, play_rows, report_lines
from bigchaindb_resonate.reports.formats import ReportFormatError, detect, read_lines, render
from bigchaindb_resonate.vouchers import (
    VoucherSignatureError, inclusion_proof, proves_inclusion, verify_signature,
)

MAX_DIFFERENCES = 20  # after a missing or extra line every later line differs too
MAX_TOTALS_KEYS = 100  # per request (api.MAX_TOTALS_KEYS)
SPENT_CACHE = 10000   # a listener's play usually spends the change of a recent one
BALANCE_PAGE = 1000  # outputs per balance read (api: reads.MAX_OUTPUTS_PER_PAGE)


class AuditError(RuntimeError):
    """The audit could not run (a node unreachable, a report unreadable)."""


class NodeLedger:
    """A node's ledger read over its HTTP API, checking each PLAY it yields; what fails a
    check is added to `findings`."""

    def __init__(self, url, client=None):
        self.url = url
        self.client = client or Client(url)
        self.findings = []
        self.verified = 0
        self._known = collections.OrderedDict()
        self._histories = {}
        self._network = None

    def _answer(self, path, **params):
        try:
            return self.client._get(path, **params)
        except NotFoundError:
            raise AuditError(f"{self.url}: nothing at {path} {params or ''}") from None

    def context(self, scope, at_height=None):
        params = {"scope": str(scope)}
        if at_height is not None:
            params["at_height"] = at_height
        return self._answer("resonate/reports/context", **params)

    def parameter_at(self, name, height):
        """The network parameter `name` in force at `height`, from the node's history of
        it (read once), or None on a chain whose genesis set no parameters."""
        if name not in self._histories:
            try:
                self._histories[name] = self.client._get(
                    f"resonate/parameters/{name}/history")["history"]
            except NotFoundError:
                self._histories[name] = []
        steps = [step for step in self._histories[name] if step["from_height"] <= height]
        return steps[-1]["value"] if steps else None

    def heights(self, period, at_height):
        page = self._answer("resonate/reports/blocks", at_height=at_height, limit=0,
                            **period.query())
        return page["from_height"], page["to_height"]

    def _blocks(self, first, last):
        while first is not None and first <= last:
            page = self._answer("resonate/reports/blocks", from_height=first, to_height=last,
                                at_height=last)
            yield from page["blocks"]
            first = page["next"]

    def _block_transactions(self, block):
        """A block's transactions in block order, from BigchainDB's API, checked against
        the ids the report routes list."""
        if not block["transactions"]:
            return []
        found = {tx["id"]: tx for tx in self._answer(f"blocks/{block['height']}")["transactions"]}
        if set(found) != set(block["transactions"]):
            self.findings.append(
                f"{self.url}: block {block['height']} holds {sorted(found)} in BigchainDB's "
                f"API but {sorted(block['transactions'])} in the report routes")
        return [found[txid] for txid in block["transactions"] if txid in found]

    def transactions(self, first, last):
        """(height, transaction) of every transaction from height `first` to `last`."""
        for block in self._blocks(first, last):
            for tx in self._block_transactions(block):
                yield block["height"], tx

    def plays(self, first, last, tracks):
        wanted = None if tracks is None else set(tracks)
        for block in self._blocks(first, last):
            for tx in self._block_transactions(block):
                self._remember(tx)
                rows = play_rows(tx, self._split_payees,
                                 self._parameters() if tx["operation"] in SETTLES else {})
                rows = [row for row in rows if wanted is None or row["metadata"]["track"] in wanted]
                if not rows:
                    continue
                self.check(tx, block["height"])
                for row in rows:
                    yield block["height"], block["time"], row

    plays_from_transactions = plays  # over HTTP, `plays` reads the transactions themselves

    def _parameters(self):
        if self._network is None:
            self._network = self._answer("resonate/network")["parameters"] or {}
        return self._network

    def _split_payees(self, split_id):
        return [(payee["publicKey"], payee["shareBp"])
                for payee in self._transaction(split_id)["asset"]["data"]["payees"]]

    def _remember(self, tx):
        self._known[tx["id"]] = tx
        self._known.move_to_end(tx["id"])
        if len(self._known) > SPENT_CACHE:
            self._known.popitem(last=False)

    def _transaction(self, txid):
        if txid not in self._known:
            self._remember(self._answer(f"transactions/{txid}"))
        return self._known[txid]

    def check(self, tx, height):
        """The transaction's id, its signatures against the outputs it spends, and that it
        conserves tokens."""
        where = f"{self.url}: transaction {tx['id']} (height {height})"
        problems = []
        spent = []
        for input_ in tx["inputs"]:
            fulfills = input_["fulfills"]
            source = self._transaction(fulfills["transaction_id"])
            problems += _id_problems(source, f"the transaction it spends, {source['id']},")
            spent.append(source["outputs"][fulfills["output_index"]])
        problems += _id_problems(tx, "its id")
        try:
            signed = Transaction.from_dict(tx).inputs_valid([Output.from_dict(o) for o in spent])
        except Exception as exc:  # a body the host cannot even parse is a finding, not a crash
            signed, problems = False, problems + [f"cannot be parsed ({type(exc).__name__}: {exc})"]
        if not signed:
            problems.append("its signatures do not fulfil the outputs it spends")
        outputs = sum(int(output["amount"]) for output in tx["outputs"])
        inputs = sum(int(output["amount"]) for output in spent)
        if outputs != inputs:
            problems.append(f"its outputs hold {outputs} tokens but its inputs {inputs}")
        if tx["operation"] == SETTLE:
            problems += _voucher_problems(tx["metadata"])
        elif tx["operation"] in SETTLES:
            problems += _batch_problems(tx["metadata"])
        self.findings += [f"{where}: {problem}" for problem in problems]
        self.verified += 1

    def records(self, record_ids):
        return {record_id: self._transaction(record_id)["asset"]["data"]
                for record_id in record_ids}

    def registrants(self, record_ids):
        return {record_id: sorted(self._transaction(record_id)["outputs"][0]["public_keys"])
                for record_id in record_ids}


def _voucher_problems(settlement):
    """Each voucher of a settlement is signed by its listener and proven included in the
    settlement's commitment (its Merkle root over `count` vouchers)."""
    vouchers, problems = settlement["vouchers"], []
    if settlement["count"] != len(vouchers):
        problems.append(f"it commits to {settlement['count']} vouchers but carries {len(vouchers)}")
    for index, voucher in enumerate(vouchers):
        try:
            verify_signature(voucher)
        except VoucherSignatureError:
            problems.append(f"voucher {voucher.get('sequence')} is not signed by its listener")
        if not proves_inclusion(voucher, inclusion_proof(vouchers, index), settlement["root"]):
            problems.append(f"voucher {voucher.get('sequence')} is not included in its root")
    return problems


def _batch_problems(batch):
    """Each channel of a batch settlement, checked as a settlement of its whole vouchers."""
    from bigchaindb_resonate.operations.channel_settle_batch import whole_vouchers

    try:
        settlements = [{**entry, "vouchers": whole_vouchers(batch, entry)} for entry in batch["channels"]]
    except (KeyError, IndexError, TypeError, ValueError):
        return ["its channels' vouchers cannot be read whole"]
    return [problem for settlement in settlements for problem in _voucher_problems(settlement)]


def _id_problems(tx, what):
    try:
        Transaction.validate_id(tx)
    except InvalidHash:
        return [f"{what} is not the hash of its body"]
    return []


def _fields(item):
    """A line's fields; a DSR record's are its cells, by the names the profile gives them."""
    if item is None or isinstance(item, dict):
        return item or {}
    record_type, *values = dsr.cells(item)
    names = dsr.COLUMNS.get(record_type, [])
    return {f"{record_type} {names[index] if index < len(names) else f'cell {index + 1}'}": value
            for index, value in enumerate(values)}


def _describe(item):
    if item is None:
        return "no line"
    if isinstance(item, str):
        return item.split("\t", 1)[0] + " record"
    label = item.get("kind", "?")
    for field in ("tx", "track", "territory", "payee"):
        if field in item:
            label += f" {field} {item[field]}"
    return label


def _line_finding(number, found, expected, found_at, expected_at):
    """What differs at line `number` between `found` (in `found_at`) and `expected`."""
    where = f"line {number} ({_describe(found if found is not None else expected)})"
    if found is None or expected is None:
        return f"{where}: {found_at} has {_describe(found)}, {expected_at} has {_describe(expected)}"
    found, expected = _fields(found), _fields(expected)
    return where + ": " + "; ".join(
        f"`{field}` is {json.dumps(found.get(field))} in {found_at} but "
        f"{json.dumps(expected.get(field))} on {expected_at}"
        for field in sorted(set(found) | set(expected)) if found.get(field) != expected.get(field))


class Audit:
    def __init__(self, findings, lines, transactions, nodes):
        self.findings, self.lines, self.transactions, self.nodes = findings, lines, transactions, nodes

    @property
    def ok(self):
        return not self.findings


def _header(fmt, items):
    """The scope, period and height the report was computed for, and the items."""
    try:
        if fmt == "dsr":
            # The HEAD, then the #Ledger comment (see dsr.py)
            first = [next(items, ""), next(items, "")]
            ledger = dsr.ledger_of(first)
            scope, period, at_height = ledger["scope"], ledger["period"], ledger["height"]
        else:
            first = [next(items, None)]
            scope, period, at_height = first[0]["scope"], first[0]["period"], first[0]["at_height"]
        return Scope.parse(scope), Period(**period), at_height, itertools.chain(first, items)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ReportFormatError(f"not a report: its first line states no scope, period and "
                                f"height ({exc!r})") from None


def _report_items(fmt, text_lines):
    if fmt == "dsr":
        return iter(text_lines)
    return read_lines(text_lines, fmt)


def _node_items(fmt, lines):
    if fmt == "dsr":
        return (text for chunk in render(lines, "dsr") for text in chunk.splitlines(True))
    return lines


def audit(text_lines, node_urls, clients=None):
    """Audit a report (an iterable of its text lines) against every node in `node_urls`."""
    text_lines = iter(text_lines)
    first = next(text_lines, "")
    fmt = detect(first)
    scope, period, at_height, items = _header(
        fmt, _report_items(fmt, itertools.chain([first], text_lines)))
    ledgers = [NodeLedger(url, (clients or {}).get(url)) for url in node_urls]
    computed = [_node_items(fmt, report_lines(ledger, scope, period, at_height))
                for ledger in ledgers]
    findings, digest, stated, number = [], Digest(), None, 0
    # Findings name the line of the file: JSON and CSV open with a line of their own.
    first_line = 1 if fmt == "dsr" else 2
    for number, (report_item, *node_items) in enumerate(
            itertools.zip_longest(items, *computed), first_line):
        if len(findings) >= MAX_DIFFERENCES:
            findings.append(f"stopped after {MAX_DIFFERENCES} differences")
            break
        if isinstance(report_item, dict) and report_item.get("kind") == "digest":
            stated = report_item
        elif isinstance(report_item, dict):
            digest.add(report_item)
        for url, item in zip(node_urls[1:], node_items[1:]):
            if item != node_items[0]:
                findings.append("nodes disagree: " + _line_finding(
                    number, item, node_items[0], url, node_urls[0]))
        if report_item != node_items[0]:
            findings.append(_line_finding(number, report_item, node_items[0], "the report",
                                          node_urls[0]))
    if stated is not None and stated != digest.line():
        findings.append(f"digest: the report states {stated['sha256']} over {stated['lines']} "
                        f"lines, but its lines hash to {digest.line()['sha256']} over "
                        f"{digest.count}")
    for ledger in ledgers:
        findings += ledger.findings
    return Audit(findings, number, sum(ledger.verified for ledger in ledgers), node_urls)


def audit_totals(node_urls, clients=None, attempts=3):
    """Recompute, from each node's ledger over HTTP (each PLAY checked as for a report),
    the report totals that node keeps at commit (reports/totals.py), and compare them
    document by document. A block that commits while the audit reads is why it tries
    again, up to `attempts` times. `lines` of the result counts the documents compared."""
    findings, compared, verified = [], 0, 0
    for url in node_urls:
        for attempt in range(attempts):
            ledger = NodeLedger(url, (clients or {}).get(url))
            height = ledger.client.report_summary()["last_play_height"]
            expected = totals.recompute(ledger, height).documents
            keys = sorted(expected)
            stored = {}
            for start in range(0, len(keys), MAX_TOTALS_KEYS):
                stored.update(ledger.client.report_totals(keys[start:start + MAX_TOTALS_KEYS]))
            if ledger.client.report_summary()["last_play_height"] == height:
                break
        differing = [key for key in keys if _figures(stored.get(key)) != expected[key]]
        findings += [f"{url}: totals `{key}` are {json.dumps(_figures(stored.get(key)), sort_keys=True)} on the "
                     f"node but {json.dumps(expected[key], sort_keys=True)} recomputed from its "
                     f"ledger up to height {height}" for key in differing[:MAX_DIFFERENCES]]
        findings += ledger.findings
        compared += len(keys)
        verified += ledger.verified
    return Audit(findings, compared, verified, node_urls)


def recompute_balances(ledger, at_height, token_id):
    """{public key: (balance, {(txid, output index): amount})}: the credit outputs each key
    holds alone after height `at_height`, folded from `ledger`'s transactions as the node
    folds them at commit (balances.Fold), in memory."""
    fold = balances.Fold(lambda document_id: None)
    for _, tx in ledger.transactions(1, at_height):
        for move in balances.credit_moves([tx], token_id):
            fold.move(*move)
    held = {}
    for document_id, document in fold.changed.items():
        if document is not None and "transaction_id" in document:
            key = document_id[len("key|"):].rsplit("#", 1)[0]
            held.setdefault(key, (0, {}))[1][(document["transaction_id"], document["output_index"])] = \
                document["amount"]
    return {key: (sum(outputs.values()), outputs) for key, (_, outputs) in held.items()}


def node_balance(client, public_key):
    """(balance, {(txid, output index): amount}) as a node keeps them, every page read;
    and the output count it states."""
    answer, outputs, start = None, {}, 0
    while start is not None:
        answer = client._get(f"resonate/credits/{public_key}", start=start, limit=BALANCE_PAGE)
        outputs.update(((entry["transaction_id"], entry["output_index"]), entry["amount"])
                       for entry in answer["outputs"])
        start = answer["next"]
    return (answer["balance"], outputs), answer["output_count"]


def audit_balances(node_urls, clients=None, attempts=3):
    """Recompute, from each node's ledger over HTTP, the credit balances that node keeps
    at commit (balances.py) and compare them key by key: balance, number of outputs and
    which outputs. A block that commits while the audit reads is why it tries again, up
    to `attempts` times. `lines` of the result counts the keys compared."""
    findings, compared = [], 0
    for url in node_urls:
        for attempt in range(attempts):
            ledger = NodeLedger(url, (clients or {}).get(url))
            token = ledger._answer("resonate/network")["credit"]
            height = ledger.context(Scope.parse("network"))["at_height"]
            expected = recompute_balances(ledger, height, token) if token else {}
            stored = {key: node_balance(ledger.client, key) for key in sorted(expected)}
            if ledger.context(Scope.parse("network"))["at_height"] == height:
                break
        for key in sorted(expected):
            (balance, outputs), count = stored[key]
            if (balance, outputs) != expected[key] or count != len(outputs):
                findings.append(f"{url}: credit balance of {key} is {balance} in {count} outputs "
                                f"({len(outputs)} listed) on the node but {expected[key][0]} in "
                                f"{len(expected[key][1])} outputs recomputed from its ledger up to "
                                f"height {height}")
        findings += ledger.findings
        compared += len(expected)
    return Audit(findings[:MAX_DIFFERENCES], compared, 0, node_urls)


def _figures(document):
    return None if document is None else {name: value for name, value in document.items()
                                          if name != "height"}
