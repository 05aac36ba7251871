"""Reads of the registry from a node's committed storage, shared by the HTTP API (api.py),
the client's tests and anything else that inspects the ledger.

Each function takes a bigchain (anything with a backend `connection`) and returns plain
JSON-ready values, or None when the asked-for record does not exist or is of another kind.
They work on the stored documents directly: the `transactions` collection (inputs,
outputs, and `asset.id` for transfers), `assets` (a record's `data` under its id),
`metadata`, `spends` (who spent an output), `commit_positions` (commit order) and the
rule index (records by an indexed field).

FerretDB serves only a filter that is one `_id` equality with an index and reads the whole
collection for any other (docs/storage.md), so every read here looks each document up by
its key: its cost follows the history of the record or key asked about, not the
ledger's size. Reads by public key go through the owner index (host._owner_index).
"""
import re

from bigchaindb_resonate import balances, registry
from bigchaindb_resonate.host import SPENDS, block_key, documents_by_key, output_key
from bigchaindb_resonate.ledger import (
    BLOCK_TIMES, OWNER_INDEX, LedgerView, commit_positions, filed_ids, metadata_key, owner_key,
    record_key)
from bigchaindb_resonate.types.base import ResonateRecord
from bigchaindb_resonate.types.credit import credit_token
from bigchaindb_resonate.types.manifestation import WORK_LINKS, Manifestation, work_link
from bigchaindb_resonate.types.payout_request import HELD, PayoutRequest
from bigchaindb_resonate.types.payout_settle import PayoutSettle
from bigchaindb_resonate.types.play import count_earlier_plays
from bigchaindb_resonate.types.right import SOURCES, Right
from bigchaindb_resonate.types.split import Split, copyright_splits, split_in_force
from bigchaindb_resonate.types.work import Work
from bigchaindb_resonate.validators.royalties import owns, price

# Identifier lookups: the record property that holds each, and the operation carrying it.
IDENTIFIERS = {"iswc": ("iswcCode", Work.OPERATION),
               "isrc": ("isrcCode", Manifestation.OPERATION)}

_RECORD_ID = re.compile(r"[0-9a-f]{64}")


def is_record_id(value):
    return bool(_RECORD_ID.fullmatch(value))


def record_operations():
    """Our CREATE-like operations: the transactions that register a record."""
    return {cls.OPERATION for cls in registry.TYPES if issubclass(cls, ResonateRecord)}


# -- queries

def find_documents(conn, collection, match, fields=None):
    """Stored documents of `collection` matching `match`, with `fields` (all when None):
    one find, which FerretDB answers by reading the whole collection."""
    projection = {"_id": False, **{field: True for field in fields or ()}}
    return list(conn.run(conn.collection(collection).find(match, projection=projection)))


def _document(conn, collection, document_id):
    """The document of `collection` whose `_id` is `document_id`, or None."""
    return conn.run(conn.collection(collection).find_one({"_id": document_id}, {"_id": False}))


def _by_key(conn, collection, ids):
    """The stored documents of `collection` with these ids, by id: one key lookup each."""
    return {doc["id"]: doc for doc in documents_by_key(conn, collection, ids)}


def _record_creation(conn, record_id, operations):
    """The stored transaction registering `record_id`, if its operation is one of
    `operations`."""
    created = _document(conn, "transactions", record_id)
    return created if created is not None and created["operation"] in operations else None


def _spender(conn, txid, index):
    """The id of the transaction that spent an output, or None."""
    spend = _document(conn, SPENDS, output_key(txid, index))
    return spend and spend["spender"]


def _asset_transactions(conn, creation):
    """An asset's creation and every transfer of it (in no fixed order): from the creation,
    each spender of an output found so far, since a transfer spends only outputs of its
    own asset. One `spends` lookup per output and one lookup per transfer."""
    found, pending = {creation["id"]: creation}, [creation]
    while pending:
        tx = pending.pop()
        for index in range(len(tx["outputs"])):
            spender_id = _spender(conn, tx["id"], index)
            if spender_id is None or spender_id in found:
                continue
            spender = _document(conn, "transactions", spender_id)
            if spender is not None:  # None while App.commit stores it (spends go first)
                found[spender_id] = spender
                pending.append(spender)
    return list(found.values())


def _data(conn, ids):
    return {record_id: doc["data"] for record_id, doc in _by_key(conn, "assets", ids).items()}


def operations_of(conn, ids):
    """The operation of each committed transaction among `ids`."""
    return {txid: doc["operation"] for txid, doc in _by_key(conn, "transactions", ids).items()}


def _paid(conn, public_key):
    """The committed transactions with an output naming `public_key`, in commit order."""
    ids = list(dict.fromkeys(filed_ids(conn, owner_key(public_key), OWNER_INDEX)))
    found = _by_key(conn, "transactions", ids)
    return [found[txid] for txid in ids if txid in found]


def _filed_records(conn, operation, field, value):
    """The ids of the `operation` records whose `field` (one the type indexes) is `value`:
    what the rule index files them under at commit."""
    return list(dict.fromkeys(filed_ids(conn, record_key(operation, field, value))))


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


# -- the reads

def record(bigchain, record_id):
    """A record with its data and current holders, or None."""
    conn = bigchain.connection
    created = _record_creation(conn, record_id, record_operations())
    if created is None:
        return None
    return {"id": record_id, "operation": created["operation"],
            "data": _data(conn, [record_id])[record_id],
            "holders": current_holders(_asset_transactions(conn, created))}


def holders(bigchain, record_id):
    """Who holds a record now: its unspent outputs, or None."""
    conn = bigchain.connection
    created = _record_creation(conn, record_id, record_operations())
    if created is None:
        return None
    return {"id": record_id, "operation": created["operation"],
            "holders": current_holders(_asset_transactions(conn, created))}


def history(bigchain, record_id):
    """The record's creation and every transfer of it in commit order, each with its block
    height, metadata (a RightsTransferAction for an assignment) and the holders after it."""
    conn = bigchain.connection
    created = _record_creation(conn, record_id, record_operations())
    if created is None:
        return None
    transactions = _asset_transactions(conn, created)
    positions = commit_positions(conn, [tx["id"] for tx in transactions])
    ordered = sorted((tx for tx in transactions if tx["id"] in positions),
                     key=lambda tx: positions[tx["id"]])
    metadata = {txid: doc.get("metadata")
                for txid, doc in _by_key(conn, "metadata", [tx["id"] for tx in ordered]).items()}
    steps = [{"transaction_id": tx["id"], "operation": tx["operation"],
              "height": positions[tx["id"]][0], "metadata": metadata.get(tx["id"]),
              "holders": holders_from(unspent)}
             for tx, unspent in _replay(ordered)]
    return {"id": record_id, "operation": created["operation"], "steps": steps}


def _descendants(children_of, root, deepest):
    """Breadth-first below `root` through `children_of`, down to `deepest` levels:
    [(id, parent, depth)], each level in id order."""
    found, level, depth = [], [root], 0
    while level and depth < deepest:
        depth += 1
        level_found = sorted((child, parent) for parent in level for child in children_of(parent))
        found += [(child, parent, depth) for child, parent in level_found]
        level = [child for child, _ in level_found]
    return found


def rights(bigchain, root_id, whole_tree=False):
    """The Rights derived from a Copyright or Right: its direct children, or with
    `whole_tree` every Right below it. None when `root_id` is neither."""
    conn = bigchain.connection
    root = _record_creation(conn, root_id, SOURCES)
    if root is None:
        return None
    # A Right is filed under its link (`source`, or `allowedBy` as an alias of it).
    tree = _descendants(lambda parent: _filed_records(conn, Right.OPERATION, "source", parent),
                        root_id, float("inf") if whole_tree else 1)
    found = _by_key(conn, "transactions", [right_id for right_id, _, _ in tree])
    data = _data(conn, list(found))
    return {"id": root_id, "operation": root["operation"],
            "rights": [{"id": right_id, "source": parent, "depth": depth, "data": data[right_id],
                        "holders": current_holders(_asset_transactions(conn, found[right_id]))}
                       for right_id, parent, depth in tree]}


def holdings(bigchain, public_key):
    """Every record asset with an unspent output `public_key` is one of the owners of:
    the asset, its operation, the total amount (shares) and those outputs."""
    conn = bigchain.connection
    by_asset = {}
    for tx in _paid(conn, public_key):
        for index, output in enumerate(tx["outputs"]):
            if public_key in output["public_keys"] and _spender(conn, tx["id"], index) is None:
                by_asset.setdefault(asset_id_of(tx), {})[(tx["id"], index)] = output
    operations = operations_of(conn, sorted(by_asset))
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
    if _record_creation(conn, work_id, (Work.OPERATION,)) is None:
        return None
    # Filed under the last work link name, whichever one each record uses (Manifestation).
    data = _data(conn, sorted(_filed_records(conn, Manifestation.OPERATION, WORK_LINKS[-1], work_id)))
    return {"id": work_id,
            "recordings": [{"id": record_id, "operation": Manifestation.OPERATION,
                            "link": work_link(data[record_id]), "data": data[record_id]}
                           for record_id in sorted(data)]}


def lookup(bigchain, identifier, canonical):
    """The records registered under an identifier (`iswc` or `isrc`, in canonical form)."""
    field, operation = IDENTIFIERS[identifier]
    conn = bigchain.connection
    data = _data(conn, sorted(_filed_records(conn, operation, field, canonical)))
    return [{"id": record_id, "operation": operation, "data": data[record_id]}
            for record_id in sorted(data)]


# -- credits, splits and stream to own. Rules that consensus applies (which token is the
# credit, which split is in force, how plays are counted) are asked of a LedgerView over
# committed storage, so a read can never disagree with what validators enforce.

def network(bigchain):
    """The genesis parameters and the credit token's id (each None until they exist)."""
    ledger = LedgerView(bigchain)
    token = credit_token(ledger)
    return {"parameters": ledger.network_parameters(), "credit": token.id if token else None}


# Outputs a balance read lists by default, and at most (reads answer in milliseconds).
OUTPUTS_PER_PAGE = 20
MAX_OUTPUTS_PER_PAGE = 1000


def credit_balance(bigchain, public_key, amount=None, start=0, limit=OUTPUTS_PER_PAGE):
    """A key's credit tokens: its unspent outputs of the credit asset that it holds alone
    (not a payout request's tokens, which its payee or treasury key move only by a
    settlement or a cancellation, nor a channel's), as kept at commit (balances.py): the
    balance, the number of those outputs, and a page of them, from slot `start` on: at
    most `limit`, fewer when `amount` tokens are reached sooner; `next` is the slot to ask
    from for more, None after the last. None before the credit token exists."""
    token = credit_token(LedgerView(bigchain))
    if token is None:
        return None
    conn = bigchain.connection
    balances.check_kept(conn)
    kept = balances.kept_balance(conn, public_key)
    outputs, held = [], 0
    for output in balances.kept_outputs(conn, public_key, start, min(limit, kept["outputs"] - start)):
        if amount is not None and outputs and held >= amount:
            break
        outputs.append(output)
        held += output["amount"]
    following = start + len(outputs)
    return {"public_key": public_key, "asset_id": token.id, "balance": kept["balance"],
            "output_count": kept["outputs"], "outputs": outputs,
            "next": following if following < kept["outputs"] else None}


def _is_channel_output(tx, index):
    """A payment channel's output is its channel's, not the listener's (read it with
    `channel`); a payout request's held output still counts as its payee's."""
    from bigchaindb_resonate.types.channels import ChannelTransaction

    cls = registry.type_for(tx["operation"])
    return cls is not None and issubclass(cls, ChannelTransaction) and \
        cls.held_for(tx, index) is not None


def credit_history(bigchain, public_key):
    """Every committed credit transaction that paid the key or spent its outputs, in commit
    order, with what it received, spent and held after (a PLAY's metadata says which play)."""
    token = credit_token(LedgerView(bigchain))
    if token is None:
        return None
    conn = bigchain.connection
    paid = [tx for tx in _paid(conn, public_key) if asset_id_of(tx) == token.id]
    owned = {(tx["id"], index): int(output["amount"]) for tx in paid
             for index, output in enumerate(tx["outputs"]) if public_key in output["public_keys"]
             and not _is_channel_output(tx, index)}
    spenders = sorted({spender for spender in (_spender(conn, *link) for link in sorted(owned)) if spender})
    transactions = {**_by_key(conn, "transactions", spenders), **{tx["id"]: tx for tx in paid}}
    positions = commit_positions(conn, sorted(transactions))
    metadata = {txid: doc.get("metadata")
                for txid, doc in _by_key(conn, "metadata", sorted(positions)).items()}
    steps, balance = [], 0
    for txid in sorted(positions, key=positions.get):
        tx = transactions[txid]
        received = sum(owned.get((txid, index), 0) for index in range(len(tx["outputs"])))
        spent = sum(owned.get((input_["fulfills"]["transaction_id"], input_["fulfills"]["output_index"]), 0)
                    for input_ in tx["inputs"] if input_.get("fulfills"))
        balance += received - spent
        steps.append({"transaction_id": txid, "operation": tx["operation"],
                      "height": positions[txid][0], "received": received, "spent": spent,
                      "balance": balance, "metadata": metadata.get(txid)})
    return {"public_key": public_key, "asset_id": token.id, "balance": balance, "steps": steps}


def splits(bigchain, track_id):
    """The royalty splits of a track, its own and its Copyrights', in commit order, and
    the one in force. None when `track_id` is not a Manifestation."""
    ledger = LedgerView(bigchain)
    if ledger.record(track_id, (Manifestation.OPERATION,)) is None:
        return None
    found = ledger.in_commit_order(list(ledger.find_records(Split.OPERATION, "subject", track_id))
                                   + copyright_splits(ledger, track_id))
    positions = commit_positions(bigchain.connection, [split.id for split in found])
    in_force = split_in_force(ledger, track_id)
    return {"track": track_id, "in_force": in_force.id if in_force else None,
            "splits": [{"id": split.id, "subject": split.asset["data"]["subject"],
                        "height": positions[split.id][0],
                        "signers": sorted(split.inputs[0].owners_before),
                        "payees": split.asset["data"]["payees"]} for split in found]}


def ownership(bigchain, track_id, listener):
    """How far a listener is on a track's stream-to-own curve. None when `track_id` is
    not a Manifestation."""
    ledger = LedgerView(bigchain)
    if ledger.record(track_id, (Manifestation.OPERATION,)) is None:
        return None
    plays = count_earlier_plays(ledger, listener, track_id)
    return {"track": track_id, "listener": listener, "plays": plays,
            "tokens_paid": sum(price(number) for number in range(plays)),
            "owned": owns(plays), "next_price": price(plays)}


# -- payouts (docs/spec/payout_request.md, payout_settle.md, payout_cancel.md)

def _block_time(conn, height):
    """The consensus time of the block at `height` (one key lookup), or None."""
    found = _document(conn, BLOCK_TIMES, block_key(height))
    return found and found["time"]


def payee_account(bigchain, public_key):
    """What a payee is owed and was paid: its balance, its open payout requests, owed
    (the two together) and paid (its settled payouts), each settlement with its money,
    currency and reference, and the payout rate in force. Keyed lookups only: the rule
    index lists the payee's requests and settlements; each request's held output says
    whether it is still open (`spends`)."""
    conn = bigchain.connection
    parameters = LedgerView(bigchain).network_parameters() or {}
    balance = (credit_balance(bigchain, public_key, limit=0) or {"balance": 0})["balance"]
    requests = filed_ids(conn, metadata_key(PayoutRequest.OPERATION, {"payee": public_key}))
    open_ids = [txid for txid in requests if _spender(conn, txid, HELD) is None]
    settlements = filed_ids(conn, metadata_key(PayoutSettle.OPERATION, {"payee": public_key}))
    positions = commit_positions(conn, open_ids + settlements)
    metadata = {txid: doc["metadata"]
                for txid, doc in _by_key(conn, "metadata", open_ids + settlements).items()}
    open_requests = [{"id": txid, "amount": metadata[txid]["amount"],
                      "requested_at": _block_time(conn, positions[txid][0])} for txid in open_ids]
    payouts = [{"request": metadata[txid]["request"], "settlement": txid,
                "amount": metadata[txid]["amount"], "money_minor": metadata[txid]["moneyMinor"],
                "currency": metadata[txid]["currency"], "reference": metadata[txid]["reference"],
                "height": positions[txid][0], "time": _block_time(conn, positions[txid][0])}
               for txid in settlements]
    return {"public_key": public_key, "balance": balance, "open_requests": open_requests,
            "owed": balance + sum(entry["amount"] for entry in open_requests),
            "paid": sum(entry["amount"] for entry in payouts), "payouts": payouts,
            "currency": parameters.get("payout_currency"), "rate": parameters.get("payout_rate")}
# -- payment channels: their state as the rules see it (types/channels.py)

def _channel_answer(ledger, latest, channel=None, listener=None):
    """The state of the channel `channel` (else the listener's) after its latest transaction."""
    from bigchaindb_resonate.operations.channels import holds
    from bigchaindb_resonate.types.channels import channel_part, closes_at, state_of, status_of

    state = state_of(latest, channel, listener)
    status = status_of(latest, channel, listener)
    return {"channel": state["channel"], "listener": state["listener"], "receiver": state["receiver"],
            "status": status, "deposit": state["deposit"], "settled": state["settled"],
            "remaining": state["deposit"] - state["settled"], "sequence": state["sequence"],
            "closing": state.get("closing"),
            "closes_at": closes_at(ledger, state, ledger.network_parameters() or {}) if "closing" in state else None,
            "latest_transaction": latest.id,
            "channel_output": None if status == "closed" else {
                "transaction_id": latest.id, "output_index": channel_part(latest, state["channel"])[0],
                "amount": holds(state)}}


def channel(bigchain, channel_id):
    """A payment channel's state: deposit, settled total, status, close time, last settled
    sequence and the output its next transaction spends. None when `channel_id` is no
    CHANNEL_OPEN."""
    from bigchaindb_resonate.operations.channels import OPEN
    from bigchaindb_resonate.types.channels import latest_of

    ledger = LedgerView(bigchain)
    if ledger.record(channel_id, (OPEN,)) is None:
        return None
    return _channel_answer(ledger, latest_of(ledger, channel_id, "channel"), channel=channel_id)


def channels(bigchain, channel_ids):
    """`channel` of each id, in order (None for an id that is not a CHANNEL_OPEN), read
    through one LedgerView."""
    from bigchaindb_resonate.operations.channels import OPEN
    from bigchaindb_resonate.types.channels import latest_of

    ledger = LedgerView(bigchain)
    return [None if ledger.record(channel_id, (OPEN,)) is None else
            _channel_answer(ledger, latest_of(ledger, channel_id, "channel"), channel=channel_id)
            for channel_id in channel_ids]


def listener_channel(bigchain, public_key):
    """The listener's live (open or closing) channel, as `channel` answers; None when none."""
    from bigchaindb_resonate.types.channels import live_channel

    ledger = LedgerView(bigchain)
    latest = live_channel(ledger, public_key)
    return None if latest is None else _channel_answer(ledger, latest, listener=public_key)
