"""The one in-memory ledger of the unit tests: an imitation of a BigchainDB 2.2.2 node's
MongoDB store, filed by the node's real rule index code, read through the real LedgerView.

It imitates:
- how `lib.store_bulk_transactions` stores a transaction: a creation's asset in `assets`
  ({id, data}), its metadata in `metadata` ({id, metadata}, also when None) and the rest
  in `transactions`, each with `_id` equal to `id`, and the output each input spends in
  `spends` (as host._lookups_by_primary_key stores them); then, as our host does, files
  each block's transactions with `ledger.file_block`, the function the node runs: under
  `registry.index_keys` (host._rule_index) and under their outputs' keys in the owner
  index (host._owner_index); `App.commit` then stores a block of ids in `blocks`, and our
  host writes each transaction's commit position (before storing it), the block's
  consensus time to `block_times` and the latest one to `chain_head`;
- the window inside `App.commit` after the transactions are stored and before their
  block is, when `pre_commit` names the height being committed; and the report rows our
  host keeps for a block with plays (reports/totals.rows_document), and the credit
  balances it keeps (balances.fold_block, the node's own function);
- the queries our code issues through BigchainDB's lazy connection: `find` (with sort
  and limit replayed by `connection.run`) and `find_one`, with MongoDB's dotted paths
  that descend into arrays, the operators `$or $eq $in $gte $lte $lt $exists`, and
  inclusion or top-level exclusion projections; and the writes the rule index makes
  (`bulk_write` of ReplaceOne, `replace_one`, `delete_one`), and `insert_many` and
  `delete_many`, which the host's store queries use.

Every query run is recorded in `finds` (its collection's name), so a test can bound how
many queries a read makes, and each that is not one `_id` equality (what FerretDB serves
with its index, docs/storage.md) also in `scans` (collection and filter). `memory_ledger`
gives a LedgerView over committed transactions (in commit order, one block) and the
earlier transactions of the block being built."""
import copy
import datetime
import hashlib
import itertools
import operator

from bigchaindb.models import Transaction
from pymongo import DeleteOne
from pymongo.errors import BulkWriteError

from bigchaindb_resonate import registry
from bigchaindb_resonate.host import SPENDS, output_key
from bigchaindb_resonate.ledger import (
    CHAIN_HEAD, COMMIT_POSITIONS, LATEST_BLOCK_TIME, NETWORK_PARAMETERS, OWNER_INDEX, LedgerView,
    file_block, owner_keys, position_documents)
from bigchaindb_resonate.reports import totals

_ORDER = {"$gte": operator.ge, "$lte": operator.le, "$lt": operator.lt}


def _elements(value):
    return value if isinstance(value, list) else [value]


def _reached(document, path):
    """The values a dotted path reaches, descending into arrays at every step."""
    values = [document]
    for key in path.split("."):
        values = [item[key] for value in values for item in _elements(value)
                  if isinstance(item, dict) and key in item]
    return values


def _holds(reached, condition):
    elements = [item for value in reached for item in _elements(value)]
    # Equality matches an array's elements or the array itself; order only its elements.
    candidates = elements + [value for value in reached if isinstance(value, list)]
    if not isinstance(condition, dict):
        condition = {"$eq": condition}
    for name, operand in condition.items():
        if name == "$exists":
            found = bool(reached) == operand
        elif name == "$eq":
            found = operand in candidates
        elif name == "$in":
            found = any(value in operand for value in candidates)
        else:
            found = any(not isinstance(value, list) and _ORDER[name](value, operand)
                        for value in elements)
        if not found:
            return False
    return True


def _matches(document, match):
    return all(any(_matches(document, branch) for branch in condition) if key == "$or"
               else _holds(_reached(document, key), condition)
               for key, condition in match.items())


def _project(document, projection):
    """A copy of `document` with only the fields set true in `projection` (dotted paths
    through nested documents), or without the top-level fields set false."""
    fields = [field for field, keep in projection.items() if keep and field != "_id"]
    if not fields:
        return {key: copy.deepcopy(value) for key, value in document.items()
                if projection.get(key, True)}
    projected = {}
    for field in fields:
        source, target = document, projected
        *parents, last = field.split(".")
        for key in parents:
            if not isinstance(source.get(key), dict):
                break
            source, target = source[key], target.setdefault(key, {})
        else:
            if last in source:
                target[last] = copy.deepcopy(source[last])
    return projected


class Query:
    """A find, with the sort and limit calls BigchainDB's lazy connection replays."""

    def __init__(self, collection, match, projection):
        self.collection, self.match, self.projection = collection, match or {}, projection or {}
        self._sort, self._limit = [], None

    def sort(self, keys):
        self._sort = keys or []
        return self

    def limit(self, count):
        self._limit = count
        return self

    def batch_size(self, count):  # how many documents a round trip carries: all here
        return self

    def run(self):
        self.collection.store.finds.append(self.collection.name)
        if list(self.match) != ["_id"] or not isinstance(self.match["_id"], str):
            self.collection.store.scans.append((self.collection.name, self.match))
        found = [doc for doc in self.collection.documents if _matches(doc, self.match)]
        for key, direction in reversed(self._sort):
            found.sort(key=lambda doc: doc[key], reverse=direction < 0)
        return [_project(doc, self.projection) for doc in found[:self._limit]]


class Collection:
    def __init__(self, store, name):
        self.store, self.name, self.documents = store, name, []

    def find(self, match=None, projection=None):
        return Query(self, match, projection)

    def find_one(self, match=None, projection=None, sort=None):
        return next(iter(self.find(match, projection).sort(sort).limit(1).run()), None)

    def replace_one(self, match, document, upsert=False):
        found = [index for index, doc in enumerate(self.documents) if _matches(doc, match)][:1]
        if found:
            self.documents[found[0]] = copy.deepcopy(document)
        elif upsert:
            self.documents.append(copy.deepcopy(document))

    def insert_many(self, documents, ordered=True):
        # As a store with a unique `_id` does: an ordered insert stops at a duplicate.
        for index, document in enumerate(copy.deepcopy(list(documents))):
            if "_id" in document and any(doc.get("_id") == document["_id"] for doc in self.documents):
                raise BulkWriteError({"writeErrors": [{"index": index, "code": 11000}]})
            self.documents.append(document)

    def delete_many(self, match):
        self.documents[:] = [doc for doc in self.documents if not _matches(doc, match)]

    def delete_one(self, match):
        found = [index for index, doc in enumerate(self.documents) if _matches(doc, match)][:1]
        for index in found:
            del self.documents[index]

    def bulk_write(self, requests, ordered=True):
        for request in requests:  # pymongo's ReplaceOne and DeleteOne keep their arguments in slots
            if isinstance(request, DeleteOne):
                self.delete_one(request._filter)
            else:
                self.replace_one(request._filter, request._doc, request._upsert)


class MemoryStore:
    """A bigchain whose `connection` is itself: `collection(name)` and `run(query)`."""

    _stores = itertools.count()

    def __init__(self):
        self.collections, self.finds, self.scans = {}, [], []
        self.connection = self
        # What LedgerView's per-store caches (ledger.settled) tell stores apart by.
        self.host, self.port, self.dbname = "memory", None, f"store-{next(self._stores)}"

    def run(self, query):
        # find_one has already run, as pymongo's does when BigchainDB replays it
        return query.run() if isinstance(query, Query) else query

    def collection(self, name):
        return self.collections.setdefault(name, Collection(self, name))

    def store(self, *transactions):
        transactions = [tx if isinstance(tx, dict) else tx.to_dict() for tx in transactions]
        file_block(self, [(tx["id"], registry.index_keys(tx["operation"], tx["asset"], tx["metadata"]))
                          for tx in transactions])
        file_block(self, [(tx["id"], owner_keys(tx.get("outputs", ()))) for tx in transactions],
                   OWNER_INDEX)
        for tx in copy.deepcopy(transactions):
            self.collection(SPENDS).documents.extend(
                {"_id": output_key(input_["fulfills"]["transaction_id"],
                                   input_["fulfills"]["output_index"]), "spender": tx["id"]}
                for input_ in tx.get("inputs", ()) if input_.get("fulfills"))
            if "data" in tx["asset"]:
                self.collection("assets").documents.append(
                    {"_id": tx["id"], "id": tx["id"], **tx.pop("asset")})
            self.collection("metadata").documents.append(
                {"_id": tx["id"], "id": tx["id"], "metadata": tx.pop("metadata")})
            self.collection("transactions").documents.append({"_id": tx["id"], **tx})

    def commit(self, height, *transactions, time=None):
        """Store `transactions` and their block; `time`: its consensus seconds."""
        transactions = [tx if isinstance(tx, dict) else tx.to_dict() for tx in transactions]
        self.stored_before_its_block(height, *transactions)
        self.collection("blocks").documents.append(
            {"height": height, "app_hash": hashlib.sha256(str(height).encode()).hexdigest().upper(),
             "transactions": [tx["id"] for tx in transactions]})
        if time is not None:
            self.collection("block_times").documents.append(
                {"_id": str(height), "height": height, "time": time})
            self.collection(CHAIN_HEAD).documents[:] = [
                {"_id": LATEST_BLOCK_TIME, "height": height, "time": time}]
        plays = self.play_rows(transactions)
        if plays:  # what the node's commit keeps for reports (reports/totals.py)
            rows = self.collection(totals.ROWS).documents
            previous = max((doc["height"] for doc in rows), default=0)
            rows.append(totals.rows_document(height, time, previous, plays))

    def play_rows(self, transactions):
        """The plays a block pays (compute.play_rows), as the node's commit finds them."""
        from bigchaindb_resonate.reports.compute import play_rows

        ledger = LedgerView(self)

        def split_payees(split_id):
            return [(payee["publicKey"], payee["shareBp"])
                    for payee in ledger.get_transaction(split_id).asset["data"]["payees"]]

        settles = any(tx["operation"] in ("CHANNEL_SETTLE", "CHANNEL_SETTLE_BATCH") for tx in transactions)
        parameters = (ledger.network_parameters() or {}) if settles else {}
        return [row for tx in transactions for row in play_rows(tx, split_payees, parameters)]

    def stored_before_its_block(self, height, *transactions):
        """App.commit stores the transactions, then the block: the window in between."""
        txids = [tx["id"] if isinstance(tx, dict) else tx.id for tx in transactions]
        self.collection(COMMIT_POSITIONS).documents.extend(position_documents(height, txids))
        self.store(*transactions)
        self.fold_balances(height, transactions)
        self.collection("pre_commit").documents[:] = [{"height": height, "transactions": txids}]

    def fold_balances(self, height, transactions):
        """What the node's end_block keeps of a block's credit moves (balances.py)."""
        from bigchaindb_resonate import balances
        from bigchaindb_resonate.ledger import filed_ids, record_key

        # The credit token as credit.credit_token finds it, without parsing it (some tests
        # store records that only look like one).
        token = filed_ids(self, record_key("CREDIT", "@type", "ResonateCredit"))[:1]
        if token:
            balances.fold_block(self, height, [tx if isinstance(tx, dict) else tx.to_dict()
                                               for tx in transactions], token[0])

    def transaction(self, txid):
        """A transaction as BigchainDB's API returns it (asset and metadata put back)."""
        tx = copy.deepcopy(next(doc for doc in self.collection("transactions").documents
                                if doc["id"] == txid))
        del tx["_id"]
        tx["metadata"] = next(doc["metadata"] for doc in self.collection("metadata").documents
                              if doc["id"] == txid)
        if "asset" not in tx:
            tx["asset"] = {"data": next(doc["data"] for doc in self.collection("assets").documents
                                        if doc["id"] == txid)}
        return tx

    def is_committed(self, txid):
        return any(doc["id"] == txid for doc in self.collection("transactions").documents)

    def get_transaction(self, txid):
        """What BigchainDB.get_transaction answers: the parsed transaction, or None."""
        return Transaction.from_dict(self.transaction(txid)) if self.is_committed(txid) else None

    def get_spent(self, txid, output, current_transactions=()):
        """What BigchainDB.get_spent answers (lib.py): the committed or same-block
        transaction spending an output, DoubleSpend when both or two in the block do."""
        from bigchaindb.common.exceptions import DoubleSpend

        spends = [doc["spender"] for doc in self.collection(SPENDS).documents
                  if doc["_id"] == output_key(txid, output)]
        in_block = [tx for tx in current_transactions for input_ in tx.inputs
                    if input_.fulfills and (input_.fulfills.txid, input_.fulfills.output) == (txid, output)]
        if len(spends) + len(in_block) > 1:
            raise DoubleSpend(f'tx "{txid}" spends inputs twice')
        return self.get_transaction(spends[0]) if spends else (in_block[0] if in_block else None)


    def get_spent(self, txid, output, current_transactions=()):
        """lib.BigchainDB.get_spent: the transaction spending an output, committed (by
        `spends`) or among `current_transactions`."""
        for tx in current_transactions:
            if any(input_.fulfills and (input_.fulfills.txid, input_.fulfills.output) == (txid, output)
                   for input_ in tx.inputs):
                return tx
        spend = next((doc for doc in self.collection(SPENDS).documents
                      if doc["_id"] == output_key(txid, output)), None)
        return spend and self.get_transaction(spend["spender"])

    # BigchainDB's validator sets and election records (lib.BigchainDB, over the
    # `validators` and `elections` collections), for elections.

    def get_validator_change(self, height=None):
        sets = [doc for doc in self.collection("validators").documents
                if height is None or doc["height"] <= height]
        return max(sets, key=lambda doc: doc["height"], default=None)

    def get_validators(self, height=None):
        change = self.get_validator_change(height)
        return [] if change is None else change["validators"]

    def get_latest_block(self):
        return max(self.collection("blocks").documents, key=lambda doc: doc["height"], default=None)

    def get_election(self, election_id):
        records = [doc for doc in self.collection("elections").documents
                   if doc["election_id"] == election_id]
        return max(records, key=lambda doc: doc["height"], default=None)

    def store_elections(self, elections):
        self.collection("elections").insert_many(elections)

    def delete_elections(self, height):
        self.collection("elections").delete_many({"height": height})

    def store_election(self, election_id, height, is_concluded):
        self.collection("elections").replace_one(
            {"election_id": election_id, "height": height},
            {"election_id": election_id, "height": height, "is_concluded": is_concluded}, upsert=True)


def seconds_of(day):
    """The consensus time at the start of an ISO date."""
    return (datetime.date.fromisoformat(day) - datetime.date(1970, 1, 1)).days * 86400


def committed_store(*transactions, parameters=None, day=None):
    """A store holding `transactions` committed in one block, in the order given, under the
    genesis `parameters` and with `day` as its consensus date (none when None)."""
    store = MemoryStore()
    if parameters is not None:
        store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **parameters})
    store.commit(1, *transactions, time=None if day is None else seconds_of(day))
    return store


def memory_ledger(committed=(), pending=(), parameters=None, day=None):
    """The real LedgerView over `committed` (one block, in that order) and `pending` (the
    earlier transactions of the block being built)."""
    return LedgerView(committed_store(*committed, parameters=parameters, day=day), pending)
