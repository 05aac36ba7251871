"""Reads of the registry from a node's committed storage, shared by the HTTP API (api.py),
the client's tests and anything else that inspects the ledger.

Each function takes a bigchain (anything with a backend `connection`) and returns plain
JSON-ready values, or None when the asked-for record does not exist or is of another kind.
They work on the stored documents directly: the `transactions` collection (inputs,
outputs, and `asset.id` for transfers), `assets` (a record's `data` under its id),
`metadata` and `blocks` (commit order).

The store may scan a whole collection for every find (FerretDB uses no index for filters),
so each function issues a small, fixed number of queries, batching ids with `$in`; none
loops over the ledger with one query per item.
"""
import re

from bigchaindb_resonate import registry
from bigchaindb_resonate.types.base import ResonateRecord
from bigchaindb_resonate.types.manifestation import WORK_LINKS, Manifestation, work_link
from bigchaindb_resonate.types.right import SOURCE_FIELDS, SOURCES, Right, source_id
from bigchaindb_resonate.types.work import Work

# Identifier lookups: the record property that holds each, and the operation carrying it.
IDENTIFIERS = {"iswc": ("iswcCode", Work.OPERATION),
               "isrc": ("isrcCode", Manifestation.OPERATION)}

_RECORD_ID = re.compile(r"[0-9a-f]{64}")


def is_record_id(value):
    return bool(_RECORD_ID.fullmatch(value))


def record_operations():
    """Our CREATE-like operations: the transactions that register a record."""
    return {cls.OPERATION for cls in registry.TYPES if issubclass(cls, ResonateRecord)}


# -- queries: each is one find

def _find(conn, collection, match, fields=None):
    projection = {"_id": False, **{field: True for field in fields or ()}}
    return list(conn.run(conn.collection(collection).find(match, projection=projection)))


def _asset_transactions(conn, asset_ids):
    """The creations and every transfer of these assets."""
    return _find(conn, "transactions", {"$or": [{"id": {"$in": asset_ids}},
                                                {"asset.id": {"$in": asset_ids}}]})


def _data(conn, ids):
    return {doc["id"]: doc["data"] for doc in _find(conn, "assets", {"id": {"$in": ids}})}


def _operations(conn, ids):
    return {doc["id"]: doc["operation"]
            for doc in _find(conn, "transactions", {"id": {"$in": ids}}, ("id", "operation"))}


def _commit_positions(conn, txids):
    """(height, position in its block) of each of `txids`, the order every node agrees on.

    Like host._latest_committed: a transaction stored by App.commit before its block is
    stored belongs to the height of the pre-commit state."""
    positions = {}
    for block in _find(conn, "blocks", {"transactions": {"$in": txids}}):
        for index, txid in enumerate(block["transactions"]):
            positions[txid] = (block["height"], index)
    pending = conn.run(conn.collection("pre_commit").find_one({})) or {}
    for index, txid in enumerate(pending.get("transactions", [])):
        positions.setdefault(txid, (pending["height"], index))
    return {txid: positions[txid] for txid in txids if txid in positions}


# -- pure helpers over stored transaction documents

def asset_id_of(tx):
    """A transfer names its asset; a creation is its own asset."""
    return (tx.get("asset") or {}).get("id", tx["id"])


def _replay(transactions):
    """After each of `transactions` (in commit order): the unspent outputs so far, as
    {(txid, output index): output}."""
    unspent = {}
    for tx in transactions:
        for input_ in tx["inputs"]:
            fulfills = input_.get("fulfills")
            if fulfills:
                unspent.pop((fulfills["transaction_id"], fulfills["output_index"]), None)
        for index, output in enumerate(tx["outputs"]):
            unspent[(tx["id"], index)] = output
        yield tx, dict(unspent)


def _spent_outputs(transactions):
    return {(input_["fulfills"]["transaction_id"], input_["fulfills"]["output_index"])
            for tx in transactions for input_ in tx["inputs"] if input_.get("fulfills")}


def holders_from(unspent):
    """Unspent outputs as holder entries, in a fixed order."""
    entries = [{"public_keys": sorted(output["public_keys"]), "amount": int(output["amount"]),
                "transaction_id": txid, "output_index": index}
               for (txid, index), output in unspent.items()]
    return sorted(entries, key=lambda entry: (entry["public_keys"], entry["transaction_id"],
                                              entry["output_index"]))


def current_holders(transactions):
    """The holders of an asset, given its creation and every transfer (in any order)."""
    spent = _spent_outputs(transactions)
    return holders_from({(tx["id"], index): output for tx in transactions
                         for index, output in enumerate(tx["outputs"])
                         if (tx["id"], index) not in spent})


def _creation(transactions, record_id, operations):
    return next((tx for tx in transactions
                 if tx["id"] == record_id and tx["operation"] in operations), None)


# -- the reads

def record(bigchain, record_id):
    """A record with its data and current holders, or None."""
    conn = bigchain.connection
    transactions = _asset_transactions(conn, [record_id])
    created = _creation(transactions, record_id, record_operations())
    if created is None:
        return None
    return {"id": record_id, "operation": created["operation"],
            "data": _data(conn, [record_id])[record_id],
            "holders": current_holders(transactions)}


def holders(bigchain, record_id):
    """Who holds a record now: its unspent outputs, or None."""
    transactions = _asset_transactions(bigchain.connection, [record_id])
    created = _creation(transactions, record_id, record_operations())
    if created is None:
        return None
    return {"id": record_id, "operation": created["operation"],
            "holders": current_holders(transactions)}


def history(bigchain, record_id):
    """The record's creation and every transfer of it in commit order, each with its block
    height, metadata (a RightsTransferAction for an assignment) and the holders after it."""
    conn = bigchain.connection
    transactions = _asset_transactions(conn, [record_id])
    created = _creation(transactions, record_id, record_operations())
    if created is None:
        return None
    positions = _commit_positions(conn, [tx["id"] for tx in transactions])
    ordered = sorted((tx for tx in transactions if tx["id"] in positions),
                     key=lambda tx: positions[tx["id"]])
    metadata = {doc["id"]: doc.get("metadata") for doc in _find(
        conn, "metadata", {"id": {"$in": [tx["id"] for tx in ordered]}})}
    steps = [{"transaction_id": tx["id"], "operation": tx["operation"],
              "height": positions[tx["id"]][0], "metadata": metadata.get(tx["id"]),
              "holders": holders_from(unspent)}
             for tx, unspent in _replay(ordered)]
    return {"id": record_id, "operation": created["operation"], "steps": steps}


def _descendants(children, root, keep):
    """Breadth-first below `root` through `children`, visiting only ids `keep` accepts:
    [(id, parent, depth)], each level in id order."""
    found, level, depth = [], [root], 0
    while level:
        depth += 1
        level_found = sorted((child, parent) for parent in level
                             for child in children.get(parent, ()) if keep(child))
        found += [(child, parent, depth) for child, parent in level_found]
        level = [child for child, _ in level_found]
    return found


def rights(bigchain, root_id, whole_tree=False):
    """The Rights derived from a Copyright or Right: its direct children, or with
    `whole_tree` every Right below it. None when `root_id` is neither."""
    conn = bigchain.connection
    # The whole tree: every link on the ledger in one scan (ids only), rather than one
    # query per level.
    wanted = {"$exists": True} if whole_tree else root_id
    links = _find(conn, "assets", {"$or": [{f"data.{link}": wanted} for link in SOURCE_FIELDS]},
                  ["id"] + [f"data.{link}" for link in SOURCE_FIELDS])
    children = {}
    for doc in links:
        children.setdefault(source_id(doc["data"]), []).append(doc["id"])
    candidates = [child for child, _, _ in _descendants(children, root_id, lambda _: True)]
    transactions = _asset_transactions(conn, [root_id] + candidates)
    root = _creation(transactions, root_id, SOURCES)
    if root is None:
        return None
    is_right = {tx["id"] for tx in transactions if tx["operation"] == Right.OPERATION}
    tree = _descendants(children, root_id, is_right.__contains__)
    data = _data(conn, [right_id for right_id, _, _ in tree])
    by_asset = {}
    for tx in transactions:
        by_asset.setdefault(asset_id_of(tx), []).append(tx)
    return {"id": root_id, "operation": root["operation"],
            "rights": [{"id": right_id, "source": parent, "depth": depth, "data": data[right_id],
                        "holders": current_holders(by_asset[right_id])}
                       for right_id, parent, depth in tree]}


def holdings(bigchain, public_key):
    """Every record asset with an unspent output `public_key` is one of the owners of:
    the asset, its operation, the total amount (shares) and those outputs."""
    conn = bigchain.connection
    owned = _find(conn, "transactions", {"outputs.public_keys": public_key})
    spenders = _find(conn, "transactions",
                     {"inputs.fulfills.transaction_id": {"$in": [tx["id"] for tx in owned]}},
                     ("inputs",))
    spent = _spent_outputs(spenders)
    by_asset = {}
    for tx in owned:
        for index, output in enumerate(tx["outputs"]):
            if public_key in output["public_keys"] and (tx["id"], index) not in spent:
                by_asset.setdefault(asset_id_of(tx), {})[(tx["id"], index)] = output
    operations = _operations(conn, sorted(by_asset))
    records = record_operations()
    found = []
    for asset_id in sorted(by_asset):
        if operations.get(asset_id) in records:
            outputs = holders_from(by_asset[asset_id])
            found.append({"asset_id": asset_id, "operation": operations[asset_id],
                          "amount": sum(output["amount"] for output in outputs),
                          "outputs": outputs})
    return found


def recordings(bigchain, work_id):
    """The Manifestations naming a Work under any of the work-link properties, or None when
    `work_id` is not a Work."""
    conn = bigchain.connection
    linked = _find(conn, "assets", {"$or": [{f"data.{link}": work_id} for link in WORK_LINKS]})
    operations = _operations(conn, [work_id] + [doc["id"] for doc in linked])
    if operations.get(work_id) != Work.OPERATION:
        return None
    return {"id": work_id,
            "recordings": [{"id": doc["id"], "operation": Manifestation.OPERATION,
                            "link": work_link(doc["data"]), "data": doc["data"]}
                           for doc in sorted(linked, key=lambda doc: doc["id"])
                           if operations.get(doc["id"]) == Manifestation.OPERATION]}


def lookup(bigchain, identifier, canonical):
    """The records registered under an identifier (`iswc` or `isrc`, in canonical form)."""
    field, operation = IDENTIFIERS[identifier]
    conn = bigchain.connection
    found = _find(conn, "assets", {f"data.{field}": canonical})
    operations = _operations(conn, [doc["id"] for doc in found])
    return [{"id": doc["id"], "operation": operation, "data": doc["data"]}
            for doc in sorted(found, key=lambda doc: doc["id"])
            if operations.get(doc["id"]) == operation]
