"""Credit balances kept as blocks commit, so that a key's balance, and the outputs it
spends, answer from a few documents however many times the key was paid.

What is kept is what `reads.credit_balance` always meant: the unspent outputs of the
network's credit token that name one key alone (a payout request's held output names its
payee and treasury, a channel's its listener and receiver: neither counts, as before).
In the `credit_balances` collection, every document found by `_id` (the one filter
FerretDB serves from its index, docs/storage.md), none growing with history:

    key|<public key>            {balance, outputs, slots}: the tokens and the number of
                                unspent outputs the key holds alone, and of slot documents
                                stored for it (the most outputs it ever held at once)
    key|<public key>#<n>        its n-th unspent output, 0 <= n < outputs:
                                {transaction_id, output_index, amount}; a slot from
                                `outputs` to `slots` holds an output since spent, never
                                read, rewritten when the key's outputs grow again
    output|<txid>:<index>       where an unspent output is kept: {key, slot, amount}
    journal, journal#<n>        the last folded block (see fold_block)

The slots of a key are dense: an output received takes the next one; an output spent
leaves its slot to the key's last output, which moves there. So the first N slots are N
unspent outputs, whatever the key spent before, and a spend costs a few lookups. Their
order is deterministic (the same on every node at the same height) but not the order of
receipt.

Folding runs in the committing process, at each block's end (host._credit_balances_at_commit,
beside the report totals), through the documents it keeps (ledger.KeptDocuments). A
block's changes are computed in memory first and written as whole documents, after a
journal of them (JSON text, in parts of JOURNAL_PART changes): Tendermint delivers again
a block whose commit did not finish, and that block then writes the journal's changes
again, whatever part of them the store already held, instead of folding twice. `rebuild` folds
every committed block again from the ledger (`bigchaindb-resonate rebuild-totals` runs it
with the report totals'); `audit_balances` in reports/audit.py recomputes them over HTTP.

All integers, from the transactions alone: every node holds the same documents.
"""
import json

from bigchaindb_resonate.ledger import forget_kept, kept

COLLECTION = "credit_balances"
JOURNAL = "journal"
JOURNAL_PART = 2000  # changed documents per journal part (a few hundred KiB of text)
FOLDED_PER_WRITE = 1000  # blocks a rebuild folds per write


class BalancesNotKept(LookupError):
    """The store holds a credit token but no kept balances: written by a release that did
    not keep them."""


def head_id(public_key):
    return f"key|{public_key}"


def slot_id(public_key, slot):
    return f"key|{public_key}#{slot}"


def locator_id(txid, index):
    return f"output|{txid}:{index}"


def credit_moves(transactions, token_id):
    """(id, spent outputs as (txid, index), outputs as (public keys, amount)) of each of
    `transactions` (parsed, or dicts as stored) that moves the credit token `token_id`,
    in the order given."""
    moves = []
    for tx in transactions:
        if isinstance(tx, dict):
            txid, asset = tx["id"], tx.get("asset") or {}
            spent = [(i["fulfills"]["transaction_id"], i["fulfills"]["output_index"])
                     for i in tx["inputs"] if i.get("fulfills")]
            outputs = [(o["public_keys"], int(o["amount"])) for o in tx["outputs"]]
        else:
            txid, asset = tx.id, tx.asset or {}
            spent = [(i.fulfills.txid, i.fulfills.output) for i in tx.inputs if i.fulfills]
            outputs = [(o.public_keys, int(o.amount)) for o in tx.outputs]
        if asset.get("id", txid) == token_id:
            moves.append((txid, spent, outputs))
    return moves


class Fold:
    """One block's changes to the kept balances: documents read through `read(id)` (the
    stored one, or None), changed in `changed` ({id: the new document, or None to
    delete}), in the order the block's transactions make them. `created`: the ids it knows
    the store lacks (a key's slots above those stored, the block's own outputs' locators),
    inserted rather than replaced, and never deleted."""

    def __init__(self, read):
        self._read, self.changed, self.created = read, {}, set()
        self._stored_slots = {}  # per key, its slot documents as stored before this block

    def _get(self, document_id):
        if document_id in self.changed:
            document = self.changed[document_id]
        else:
            document = self._read(document_id)
        return None if document is None else dict(document)

    def _set(self, document_id, document):
        self.changed[document_id] = None if document is None else {"_id": document_id, **document}

    def _head(self, public_key):
        head = self._get(head_id(public_key)) or {"balance": 0, "outputs": 0, "slots": 0}
        self._stored_slots.setdefault(public_key, head["slots"])  # first read: as stored
        return head

    def move(self, txid, spent, outputs):
        for spent_txid, index in spent:
            locator = self._get(locator_id(spent_txid, index))
            if locator is not None:
                self._spend(spent_txid, index, locator)
        for index, (public_keys, amount) in enumerate(outputs):
            if len(public_keys) == 1:
                self._receive(public_keys[0], txid, index, amount)

    def _receive(self, public_key, txid, index, amount):
        head = self._head(public_key)
        slot = head["outputs"]
        if slot >= self._stored_slots[public_key]:
            self.created.add(slot_id(public_key, slot))
        self.created.add(locator_id(txid, index))
        self._set(slot_id(public_key, slot),
                  {"transaction_id": txid, "output_index": index, "amount": amount})
        self._set(locator_id(txid, index), {"key": public_key, "slot": slot, "amount": amount})
        self._set(head_id(public_key), {"balance": head["balance"] + amount, "outputs": slot + 1,
                                        "slots": max(head["slots"], slot + 1)})

    def _spend(self, txid, index, locator):
        public_key, slot = locator["key"], locator["slot"]
        head = self._head(public_key)
        last = head["outputs"] - 1
        if slot != last:  # the last output takes the freed slot (the only read a spend adds)
            moved = self._get(slot_id(public_key, last))
            self._set(slot_id(public_key, slot), {k: v for k, v in moved.items() if k != "_id"})
            self._set(locator_id(moved["transaction_id"], moved["output_index"]),
                      {"key": public_key, "slot": slot, "amount": moved["amount"]})
        # Slot `last` stays as it is (beyond the count: never read), saving its deletion.
        self._set(locator_id(txid, index), None)
        self._set(head_id(public_key), {"balance": head["balance"] - locator["amount"],
                                        "outputs": last, "slots": head["slots"]})


def _journal_parts(height, changed):
    """The journal of a block's changes: its parts, then its head (written last: a head
    at a height says every part of that height is stored)."""
    items = sorted(changed.items())
    parts = [{"_id": f"{JOURNAL}#{number}", "height": height,
              "changes": json.dumps(items[start:start + JOURNAL_PART], sort_keys=True,
                                    separators=(",", ":"))}
             for number, start in enumerate(range(0, len(items), JOURNAL_PART))]
    return parts, {"_id": JOURNAL, "height": height, "parts": len(parts)}


def _apply(conn, changed, created=frozenset()):
    """Slots and locators first (those `created` inserted, far cheaper on FerretDB than a
    replacement), then the heads, then what goes: a reader (who trusts a head's count)
    never meets a missing slot below it."""
    kept_documents = kept(conn, COLLECTION)
    written = [document for _, document in sorted(changed.items()) if document is not None]
    kept_documents.insert(conn, COLLECTION, [document for document in written
                                             if document["_id"] in created])
    kept_documents.write(conn, COLLECTION, [document for document in written
                                            if "balance" not in document and document["_id"] not in created])
    kept_documents.write(conn, COLLECTION, [document for document in written if "balance" in document])
    kept_documents.delete(conn, COLLECTION, sorted(document_id for document_id, document in changed.items()
                                                   if document is None and document_id not in created))


def _replay_journal(conn, journal):
    kept_documents = kept(conn, COLLECTION)
    changed = {}
    for number in range(journal["parts"]):
        part = kept_documents.read_one(conn, COLLECTION, f"{JOURNAL}#{number}")
        changed.update((document_id, document) for document_id, document in json.loads(part["changes"]))
    _apply(conn, changed)


def fold_block(conn, height, transactions, token_id):
    """Fold the credit moves among a block's `transactions` (in block order) into the
    kept balances, the block being at `height`; the number of credit moves folded. Safe to
    repeat for a block: a block at the journal's height writes the journal's changes again;
    one below it was folded already."""
    kept_documents = kept(conn, COLLECTION)
    journal = kept_documents.read_one(conn, COLLECTION, JOURNAL)
    if journal is not None and journal["height"] >= height:
        if journal["height"] == height:
            _replay_journal(conn, journal)
        return 0
    moves = credit_moves(transactions, token_id)
    if not moves:
        return 0
    fold = Fold(lambda document_id: kept_documents.read_one(conn, COLLECTION, document_id))
    for move in moves:
        fold.move(*move)
    parts, head = _journal_parts(height, fold.changed)
    kept_documents.write(conn, COLLECTION, parts)
    kept_documents.write(conn, COLLECTION, [head])
    _apply(conn, fold.changed, fold.created)
    return len(moves)


def rebuild(bigchain, progress=None):
    """Replace the kept balances with ones folded again from every committed block, in
    height order, FOLDED_PER_WRITE blocks at a time; returns (height, credit transactions
    folded). Run it with the node stopped: a block committing meanwhile could be missed."""
    from bigchaindb_resonate.ledger import LedgerView
    from bigchaindb_resonate.types.credit import credit_token

    conn = bigchain.connection
    forget_kept(conn, COLLECTION)
    conn.run(conn.collection(COLLECTION).delete_many({}))
    token = credit_token(LedgerView(bigchain))
    if token is None:
        return 0, 0
    blocks = conn.run(conn.collection("blocks").find(
        {}, projection={"_id": False, "height": True, "transactions": True}).sort([("height", 1)]))
    pending, height, folded = [], 0, 0
    for done, block in enumerate(blocks, start=1):
        height = block["height"]
        pending += [bigchain.get_transaction(txid) for txid in block["transactions"]]
        if done % FOLDED_PER_WRITE == 0:
            folded += fold_block(conn, height, pending, token.id)
            pending = []
            if progress:
                progress(f"{done:,} blocks folded into credit balances")
    folded += fold_block(conn, height, pending, token.id)
    return height, folded


def kept_balance(conn, public_key):
    """The kept head of `public_key`: {balance, outputs} (zeros for a key never paid)."""
    found = conn.run(conn.collection(COLLECTION).find_one({"_id": head_id(public_key)}))
    return {"balance": found["balance"], "outputs": found["outputs"]} if found else \
        {"balance": 0, "outputs": 0}


def check_kept(conn):
    """BalancesNotKept when the store was never folded (no journal): called once a
    credit token exists, which its own block folds."""
    if conn.run(conn.collection(COLLECTION).find_one({"_id": JOURNAL})) is None:
        raise BalancesNotKept("this node's store keeps no credit balances (a release before "
                              "them wrote it): stop the node and run `bigchaindb-resonate "
                              "rebuild-totals`")


def kept_outputs(conn, public_key, start, count):
    """The key's unspent outputs in slots start .. start + count - 1 (those that exist),
    as reads answer them, one lookup each as they are taken."""
    for slot in range(start, start + count):
        document = conn.run(conn.collection(COLLECTION).find_one({"_id": slot_id(public_key, slot)}))
        if document is None:
            return
        yield {"public_keys": [public_key], "amount": document["amount"],
               "transaction_id": document["transaction_id"], "output_index": document["output_index"]}
