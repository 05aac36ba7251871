"""The read-only view of the ledger that stateful rules see.

It answers from committed storage and from the earlier transactions of the block being
built (`current_transactions`), so that two dependent transactions in one block validate
the same way on every node. Rules never write through it.

Time comes from consensus only: during DeliverTx it is the time in the header of the block
being built (Tendermint's BFT time, identical on every node); during CheckTx and the HTTP
pre-check it is the time of the latest committed block. Never the local clock.
"""

from collections import OrderedDict
from collections.abc import Sequence

from bigchaindb_resonate.errors import LinkNotFound, LinkWrongKind
from bigchaindb_resonate.parameters import in_force
from bigchaindb_resonate.rule_versions import FIRST, check_known
from bigchaindb_resonate.validators.terms import date_of

# Where the node records each committed block's consensus time, and the genesis parameters
# of the network (host._checked_abci_app writes both).
BLOCK_TIMES = "block_times"
NETWORK_PARAMETERS = "network_parameters"
# The parameter changes elections have voted in (types/parameter_election.py), one document
# per concluded election, `_id` its id: {parameter, value, activation_height, election,
# concluded_height}. Written at the concluding block's end_block, removed by crash recovery.
PARAMETER_CHANGES = "parameter_changes"
# Where each committed transaction sits in the chain, keyed `_id = txid`, and the chain's
# latest block and block time, keyed `_id = LATEST_BLOCK` / `LATEST_BLOCK_TIME` (written at
# commit by host._checked_abci_app and host._blocks_by_key): what would otherwise be a
# search of `blocks` or `block_times` is one key lookup (docs/storage.md).
COMMIT_POSITIONS = "commit_positions"
CHAIN_HEAD = "chain_head"
LATEST_BLOCK = "block"
LATEST_BLOCK_TIME = "block_time"
# Where the node files each committed transaction under the keys rules look it up by
# (registry.index_keys, file_block below). Every document is found by `_id` equality, the
# one filter FerretDB pushes down, and none grows with the ledger: a key has one head
# document, `{_id: key, count, latest}`, and one small document per transaction filed under
# it, `{_id: "<key>#<n>", id}`, numbered from 0 in commit order.
RULE_INDEX = "rule_index"
# The same layout, for the registry's reads by public key (host._owner_index): every
# committed transaction filed under `owner|<public key>` for each key an output names.
OWNER_INDEX = "owner_index"


class UnindexedLookup(RuntimeError):
    """A rule asked for a lookup the node does not index: a bug in the rule, never the
    transaction's fault (committed records would be silently missed)."""


def record_key(operation, field, value):
    return f"{operation}|{field}|{value}"


def metadata_key(operation, values):
    fields = sorted(values)
    return f"{operation}|{','.join(fields)}|" + "|".join(str(values[field]) for field in fields)


def asset_key(asset_id):
    """Transfers of an asset by the operation its type moves by (TRANSFERRED_BY)."""
    return f"asset|{asset_id}"


def owner_key(public_key):
    return f"owner|{public_key}"


def owner_keys(outputs):
    """The OWNER_INDEX keys of a transaction with these outputs (stored form)."""
    return sorted({owner_key(public_key) for output in outputs for public_key in output["public_keys"]})


def entry_id(key, number):
    return f"{key}#{number}"


def _head(conn, key, collection=RULE_INDEX):
    return conn.run(conn.collection(collection).find_one({"_id": key}))


def _entry(conn, key, number, collection=RULE_INDEX):
    return conn.run(conn.collection(collection).find_one({"_id": entry_id(key, number)}))["id"]


def file_block(conn, keyed_transactions, collection=RULE_INDEX):
    """File a block's transactions, given in commit order as (txid, keys) pairs, under
    their keys: the entries first (new documents, one insert), then the heads (kept by the
    committing process, see KeptDocuments), so that a reader (who trusts only the heads)
    never sees a count whose entries are missing. A head not kept is read once."""
    keys = list(dict.fromkeys(key for _, keys in keyed_transactions for key in keys))
    kept_heads = kept(conn, collection)
    heads = {key: head or {"_id": key, "count": 0}
             for key, head in kept_heads.read(conn, collection, keys).items()}
    entries = []
    for txid, keys in keyed_transactions:
        for key in keys:
            head = heads[key]
            entries.append({"_id": entry_id(key, head["count"]), "id": txid})
            head["count"], head["latest"] = head["count"] + 1, txid
    if entries:
        insert_new(conn, collection, entries)
        kept_heads.write(conn, collection, list(heads.values()))


# FerretDB 1.24 keeps the query of each replacement in one update command open, on its own
# pooled SQLite connection, until the whole command ends (handler/msg_update.go), and its
# pool holds 100: a command that replaces 100 existing documents waits for a connection
# forever. A block's heads are existing documents, so they go at most this many a command.
REPLACEMENTS_PER_COMMAND = 50
# Documents one insert command carries (each an entry of a few dozen bytes).
INSERTS_PER_COMMAND = 1000
DUPLICATE_KEY = 11000


def _replace_in_batches(conn, collection, replacements):
    for start in range(0, len(replacements), REPLACEMENTS_PER_COMMAND):
        conn.run(conn.collection(collection).bulk_write(
            replacements[start:start + REPLACEMENTS_PER_COMMAND], ordered=True))


def insert_new(conn, collection, documents):
    """Store documents that should not exist yet, in order: inserted, far cheaper on
    FerretDB than an upsert (one statement, no query first). One left over in the store
    (a recovery interrupted before it removed it) is replaced instead, as an upsert would."""
    from pymongo import ReplaceOne
    from pymongo.errors import BulkWriteError

    for start in range(0, len(documents), INSERTS_PER_COMMAND):
        batch = documents[start:start + INSERTS_PER_COMMAND]
        try:
            conn.run(conn.collection(collection).insert_many(batch, ordered=True))
        except BulkWriteError as exc:
            if any(error["code"] != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            _replace_in_batches(conn, collection, [
                ReplaceOne({"_id": document["_id"]}, document, upsert=True) for document in batch])


# Documents the committing process keeps per collection (see KeptDocuments).
KEPT_DOCUMENTS = 20_000
ABSENT = object()


class KeptDocuments:
    """The documents of one collection that only the committing process writes while the
    node runs (rule-index and owner-index heads and entries, report totals), as it last
    read or wrote them, absent ones as None: nothing else changes them meanwhile (crash
    recovery and the rebuilds run before or without it, and forget what is kept: forget),
    so a block reads only those it has not met, and each is written once, whole. At most
    KEPT_DOCUMENTS, the least recently used forgotten first. A failed write forgets them
    all: the store may hold part of it."""

    def __init__(self):
        self._kept = OrderedDict()

    def _keep(self, document_id, document):
        self._kept[document_id] = document
        self._kept.move_to_end(document_id)
        while len(self._kept) > KEPT_DOCUMENTS:
            self._kept.popitem(last=False)

    def read(self, conn, collection, ids):
        """{id: a copy of its stored document, or None} for each of `ids`, in order: those
        not kept read by `_id`, one lookup each."""
        found = {}
        for document_id in ids:
            document = self._kept.get(document_id, ABSENT)
            if document is ABSENT:
                document = conn.run(conn.collection(collection).find_one({"_id": document_id}))
                document = None if document is None else dict(document)
            self._keep(document_id, document)
            found[document_id] = None if document is None else dict(document)
        return found

    def read_one(self, conn, collection, document_id):
        return self.read(conn, collection, [document_id])[document_id]

    def write(self, conn, collection, documents):
        """Store `documents` (whole, with their `_id`): those known absent inserted, the
        others replaced; then keep them."""
        from pymongo import ReplaceOne

        new = [document for document in documents if self._kept.get(document["_id"], ABSENT) is None]
        known = {document["_id"] for document in new}
        try:
            insert_new(conn, collection, new)
            _replace_in_batches(conn, collection, [
                ReplaceOne({"_id": document["_id"]}, document, upsert=True)
                for document in documents if document["_id"] not in known])
        except BaseException:
            self.forget()
            raise
        for document in documents:
            self._keep(document["_id"], dict(document))

    def forget(self):
        self._kept.clear()

    def insert(self, conn, collection, documents):
        """Store `documents` the caller knows are not stored (insert_new); then keep them."""
        try:
            insert_new(conn, collection, documents)
        except BaseException:
            self.forget()
            raise
        for document in documents:
            self._keep(document["_id"], dict(document))

    def delete(self, conn, collection, ids):
        """Remove the documents `ids` (one `_id` filter each, REPLACEMENTS_PER_COMMAND a
        command); then keep them as absent."""
        from pymongo import DeleteOne

        try:
            for start in range(0, len(ids), REPLACEMENTS_PER_COMMAND):
                conn.run(conn.collection(collection).bulk_write(
                    [DeleteOne({"_id": document_id})
                     for document_id in ids[start:start + REPLACEMENTS_PER_COMMAND]], ordered=True))
        except BaseException:
            self.forget()
            raise
        for document_id in ids:
            self._keep(document_id, None)


def kept(conn, collection):
    """The KeptDocuments of `collection` on this connection (the committing process's
    connection is its own)."""
    by_collection = conn.__dict__.setdefault("resonate_kept", {})
    return by_collection.setdefault(collection, KeptDocuments())


def forget_kept(conn, collection):
    """Before anything but the committing path writes `collection` (crash recovery, a
    rebuild)."""
    kept(conn, collection).forget()


def unfile(conn, keyed_transactions, collection=RULE_INDEX):
    """Crash recovery: remove the entries of an uncommitted block's transactions, given as
    (txid, keys) pairs, and make each head count what is left. They are the newest entries
    of each key; the crash may have come before or after the heads were written."""
    forget_kept(conn, collection)
    rolled_back = {}
    for txid, keys in keyed_transactions:
        for key in keys:  # a key listed n times was filed n times
            rolled_back.setdefault(key, []).append(txid)
    for key, entries in rolled_back.items():
        txids = set(entries)
        head = _head(conn, key, collection) or {"_id": key, "count": 0}
        kept = head["count"]
        while kept and _entry(conn, key, kept - 1, collection) in txids:
            kept -= 1
        for number in range(kept, kept + len(entries)):
            conn.run(conn.collection(collection).delete_one({"_id": entry_id(key, number)}))
        if kept:
            conn.run(conn.collection(collection).replace_one(
                {"_id": key}, {"_id": key, "count": kept,
                               "latest": _entry(conn, key, kept - 1, collection)}))
        else:
            conn.run(conn.collection(collection).delete_one({"_id": key}))


def filed_ids(conn, key, collection=RULE_INDEX):
    """The ids of the committed transactions filed under `key`, in commit order: the head,
    then one lookup per entry but the latest (the head names it). For the registry's
    reads, as Filed is for rules."""
    head = _head(conn, key, collection)
    if head is None:
        return []
    return [_entry(conn, key, number, collection)
            for number in range(head["count"] - 1)] + [head["latest"]]


def position_documents(height, txids):
    """What App.commit records for a block before storing its transactions (host.py)."""
    return [{"_id": txid, "height": height, "position": index} for index, txid in enumerate(txids)]


def commit_positions(conn, txids):
    """(height, position in its block) of each committed one of `txids`, the order every
    node agrees on: one key lookup each. A transaction is positioned before it is stored,
    so one stored by App.commit before its block is already here."""
    positions = {}
    for txid in txids:
        found = conn.run(conn.collection(COMMIT_POSITIONS).find_one({"_id": txid}))
        if found:
            positions[txid] = (found["height"], found["position"])
    return positions


# Values that never change once committed, kept per store for the life of the process:
# the genesis parameters and the network's credit token. Only found values are kept (an
# absent one may commit at any moment). When parameters come to change by height (through
# governance), this is the one place to key them by height as well.
_SETTLED = {}


def settled(conn, name, read):
    """`read()` once per store and `name`, unless it answers None."""
    key = (conn.host, conn.port, conn.dbname, name)
    if key not in _SETTLED:
        value = read()
        if value is None:
            return None
        _SETTLED[key] = value
    return _SETTLED[key]


def rebuild_rule_index(bigchain, progress=lambda blocks: None):
    """File every committed transaction again, block by block in height order, from the
    stored transactions: for a store whose rule index an older version wrote (one growing
    list per key). Run it with the node stopped; `progress` hears every 1,000 blocks."""
    from bigchaindb_resonate.registry import keys_of

    _refile(bigchain, RULE_INDEX, keys_of, progress)


def rebuild_owner_index(bigchain, progress=lambda blocks: None):
    """The same for OWNER_INDEX: for a store committed before the node kept it."""
    _refile(bigchain, OWNER_INDEX, lambda tx: owner_keys(tx.to_dict()["outputs"]), progress)


def _refile(bigchain, collection, keys_of, progress):
    conn = bigchain.connection
    forget_kept(conn, collection)
    conn.run(conn.collection(collection).delete_many({}))
    blocks = conn.run(conn.collection("blocks").find(
        {}, projection={"_id": False, "height": True, "transactions": True}).sort("height", 1))
    for done, block in enumerate(blocks, start=1):
        file_block(conn, [(txid, keys_of(bigchain.get_transaction(txid)))
                          for txid in block["transactions"]], collection)
        if done % 1000 == 0:
            progress(done)


def keep_rule_index_reads(bigchain):
    """Called by the process that files blocks (host._rule_index). Only it writes the rule
    index, through the KeptDocuments of its connection, so what it has read or written
    stays current: this bigchain's LedgerViews read through them too. Other processes (the
    HTTP API) never file, so they always read the store."""
    bigchain.rule_index_reads = kept(bigchain.connection, RULE_INDEX)


def forget_settled():
    """Forget every settled value: what a new process starts from (for measurements)."""
    _SETTLED.clear()
    _CHANGES.clear()


# The committed parameter changes, per store, with the latest committed height when they
# were read: (height, changes). A change concluded at height c activates above c (its
# votes count only below its activation height) and is stored during c's end_block, before
# c's block, so changes read once block K is the latest hold every change in force at any
# height up to K + 1: the values in force are read again only when a later height is asked.
_CHANGES = {}


def parameter_changes(conn, height, latest=None):
    """Every committed parameter change that can be in force at `height` (and perhaps
    later ones), in activation order; read from the store at most once per new height.
    `latest`: the latest committed height, when the caller knows it (the ABCI app does),
    else read with the changes."""
    key = (conn.host, conn.port, conn.dbname)
    known = _CHANGES.get(key)
    if known is None or height > known[0] + 1:
        if latest is None:
            head = conn.run(conn.collection(CHAIN_HEAD).find_one(
                {"_id": LATEST_BLOCK_TIME}, projection={"_id": False, "height": True}))
            latest = (head or {}).get("height", 0)
        changes = conn.run(conn.collection(PARAMETER_CHANGES).find({}, projection={"_id": False}))
        known = _CHANGES[key] = (latest, sorted(changes, key=lambda change: (
            change["activation_height"], change["parameter"])))
    return known[1]


def genesis_parameters(conn):
    """The parameters the genesis set (defaults not filled in), or None for none."""
    def read():
        return conn.run(conn.collection(NETWORK_PARAMETERS).find_one(
            {}, projection={"_id": False, "chain_id": False})) or None

    return settled(conn, "network parameters", read)


class Filed(Sequence):
    """The transactions filed under one key: committed ones in commit order, then those
    earlier in this block. It reads only what is asked of it: its length is the head's
    count (one lookup), its last committed item is named by the head, any other item is
    one more lookup. Iterating it reads every entry: only for records' own short lists."""

    def __init__(self, ledger, key):
        self._ledger, self.key = ledger, key
        self._pending = ledger._pending_under(key)
        self._head = None

    def _committed(self):
        if self._head is None:
            self._head = self._ledger._read(self.key) or {"count": 0}
        return self._head

    def __len__(self):
        return self._committed()["count"] + len(self._pending)

    def __getitem__(self, index):
        if not isinstance(index, int):
            raise TypeError("Filed takes an integer index")
        count, total = self._committed()["count"], len(self)
        if index < 0:
            index += total
        if not 0 <= index < total:
            raise IndexError(index)
        if index >= count:
            return self._pending[index - count]
        txid = self._head["latest"] if index == count - 1 else self._ledger._read(
            entry_id(self.key, index))["id"]
        return self._ledger._bigchain.get_transaction(txid)


class LedgerView:
    def __init__(self, bigchain, current_transactions=()):
        self._bigchain = bigchain
        self._pending = list(current_transactions)
        self._pending_by_id = {tx.id: tx for tx in self._pending}
        self._pending_keys = None

    def _read(self, document_id):
        """A committed rule-index document, or None (kept by the committing process, see
        keep_rule_index_reads)."""
        kept_reads = getattr(self._bigchain, "rule_index_reads", None)
        connection = self._bigchain.connection
        if kept_reads is None:
            return connection.run(connection.collection(RULE_INDEX).find_one({"_id": document_id}))
        return kept_reads.read_one(connection, RULE_INDEX, document_id)

    def _pending_under(self, key):
        """The transactions earlier in this block filed under `key`, by the same rule
        (registry.index_keys) that files committed ones."""
        from bigchaindb_resonate.registry import keys_of

        if self._pending_keys is None:
            self._pending_keys = {}
            for tx in self._pending:
                for filed_under in keys_of(tx):
                    self._pending_keys.setdefault(filed_under, []).append(tx)
        return self._pending_keys.get(key, [])

    def contains(self, txid):
        """True when the transaction is committed or earlier in this block."""
        return txid in self._pending_by_id or self._bigchain.is_committed(txid)

    def in_this_block(self, txid):
        """True for a transaction earlier in the block being built (or, in CheckTx, among
        those accepted and not in a block yet)."""
        return txid in self._pending_by_id

    def get_transaction(self, txid):
        """The committed or same-block transaction with this id, or None."""
        if txid in self._pending_by_id:
            return self._pending_by_id[txid]
        return self._bigchain.get_transaction(txid)

    def record(self, record_id, operations):
        """The record (a CREATE-like transaction) with this id if its operation is one of
        `operations`, else None."""
        tx = self.get_transaction(record_id)
        return tx if tx is not None and tx.operation in operations else None

    def linked(self, record_id, operations, field):
        """The record a link names, checked to be of one of `operations`."""
        tx = self.get_transaction(record_id)
        if tx is None:
            raise LinkNotFound(f"no record `{record_id}`", field=field)
        if tx.operation not in operations:
            raise LinkWrongKind(f"`{record_id}` is a {tx.operation}", field=field,
                                expected=" or ".join(operations))
        return tx

    def find_records(self, operation, field, value):
        """Records of `operation` whose `asset.data[field]` equals `value` (Filed: in
        commit order, then those earlier in this block). `field` must be one the type
        indexes (INDEXED_FIELDS): anything else is a bug, raised as UnindexedLookup."""
        from bigchaindb_resonate.registry import type_for

        cls = type_for(operation)
        if cls is None or field not in cls.INDEXED_FIELDS:
            raise UnindexedLookup(f"{operation} records are not indexed by `{field}`")
        return Filed(self, record_key(operation, field, value))

    def first_record(self, operation, field, value):
        """The first of `find_records`, or None. A committed first never changes (crash
        recovery only runs at start), so it is read once per process (`settled`)."""
        found = self.find_records(operation, field, value)
        connection = self._bigchain.connection
        committed = settled(connection, ("first", found.key),
                            lambda: _entry(connection, found.key, 0) if _head(connection, found.key) else None)
        if committed is not None:
            return self._bigchain.get_transaction(committed)
        return found[0] if found else None

    def find_by_metadata(self, operation, values):
        """Transactions of `operation` whose `metadata` has each field of `values` with
        its value (Filed: in commit order, then those earlier in this block; its length is
        one lookup). The fields must be a group the type indexes (INDEXED_METADATA)."""
        from bigchaindb_resonate.registry import type_for

        cls = type_for(operation)
        if cls is None or sorted(values) not in [sorted(group) for group in cls.INDEXED_METADATA]:
            raise UnindexedLookup(f"{operation} is not indexed by metadata {sorted(values)}")
        return Filed(self, metadata_key(operation, values))

    def filed_under(self, key):
        """The transactions filed under `key` (Filed), for a key a type files under by
        its own rule (extra_index_keys)."""
        return Filed(self, key)

    def block_time_of(self, txid):
        """The consensus seconds of the block holding a transaction: this block's for one
        earlier in it, else its committed block's; None when unknown."""
        if txid in self._pending_by_id:
            return self.consensus_time()
        connection = self._bigchain.connection
        position = commit_positions(connection, [txid]).get(txid)
        if position is None:
            return None
        block = connection.run(connection.collection(BLOCK_TIMES).find_one({"_id": str(position[0])}))
        return block and block["time"]

    def in_commit_order(self, transactions):
        """`transactions` (committed or earlier in this block) in the order they commit:
        by block height and position in the block; this block's last."""
        pending = {tx.id: index for index, tx in enumerate(self._pending)}
        committed = commit_positions(self._bigchain.connection,
                                     [tx.id for tx in transactions if tx.id not in pending])
        return sorted(transactions, key=lambda tx: (1, pending[tx.id]) if tx.id in pending
                      else (0, committed[tx.id]))

    def asset_transactions(self, asset_id):
        """A record's creation and every transfer of it (commit order), committed or earlier
        in this block. Only for records that move by their own operation (TRANSFERRED_BY),
        whose histories the node files; any other asset (the credit token) raises
        UnindexedLookup: its transfers are never enumerated."""
        from bigchaindb_resonate.registry import type_for

        creation = self.get_transaction(asset_id)
        if creation is None:
            return []
        owner = type_for(creation.operation)
        if owner is None or owner.TRANSFERRED_BY is None:
            raise UnindexedLookup(f"transfers of a {creation.operation} asset are not indexed")
        return [creation, *Filed(self, asset_key(asset_id))]

    def current_holders(self, asset_id):
        """The unspent outputs of a record (see asset_transactions) as (sorted public keys,
        amount), in a fixed order."""
        transactions = self.asset_transactions(asset_id)
        spent = {(input_.fulfills.txid, input_.fulfills.output)
                 for tx in transactions for input_ in tx.inputs if input_.fulfills}
        holders = [(tuple(sorted(output.public_keys)), output.amount)
                   for tx in transactions for index, output in enumerate(tx.outputs)
                   if (tx.id, index) not in spent]
        return sorted(holders)

    def parameter_change(self, election_id):
        """The change a concluded parameter election recorded (PARAMETER_CHANGES), or None."""
        connection = self._bigchain.connection
        return connection.run(connection.collection(PARAMETER_CHANGES).find_one(
            {"_id": election_id}, projection={"_id": False}))

    def validators_changed_since(self, election_id):
        """True when the validator set changed after the election was recorded (at the end
        of its block), so that its vote tokens no longer match the validators' powers:
        upstream's Election.has_validator_set_changed, and False for one not recorded yet."""
        recorded = self._bigchain.get_election(election_id)
        latest = self._bigchain.get_latest_block()
        change = latest and self._bigchain.get_validator_change(latest["height"])
        return bool(recorded and change) and change["height"] > recorded["height"]

    def consensus_time(self):
        """Seconds since the epoch by consensus, or None before the first block."""
        block_time = getattr(self._bigchain, "consensus_time", None)
        if block_time is not None:
            return block_time
        connection = self._bigchain.connection
        latest = connection.run(connection.collection(CHAIN_HEAD).find_one({"_id": LATEST_BLOCK_TIME}))
        return latest["time"] if latest else None

    def height(self):
        """The height of the block these rules are for: during DeliverTx the block being
        built, during CheckTx and the HTTP pre-check the next one. The ABCI app keeps it
        (`validating_height`, host._checked_abci_app); elsewhere it is read."""
        height = getattr(self._bigchain, "validating_height", None)
        if height is not None:
            return height
        connection = self._bigchain.connection
        latest = connection.run(connection.collection(CHAIN_HEAD).find_one(
            {"_id": LATEST_BLOCK_TIME}, projection={"_id": False, "height": True}))
        return (latest or {}).get("height", 0) + 1

    def network_parameters(self):
        """The parameters in force at the height being validated (parameters.PARAMETERS,
        absent ones at their default, changed by parameter elections), or None on a chain
        whose genesis carried none."""
        return self.parameters_at(self.height())

    def parameters_at(self, height):
        """The parameters in force at `height`, or None on a chain whose genesis carried
        none: the genesis read once per process, the changes once per new height."""
        connection = self._bigchain.connection
        genesis = genesis_parameters(connection)
        if genesis is None:
            return None
        # The ABCI app validates the block after the latest it committed (DeliverTx, and
        # CheckTx once it committed), whose changes end_block has stored.
        validating = getattr(self._bigchain, "validating_height", None)
        latest = None if validating is None else validating - 1
        return in_force(genesis, parameter_changes(connection, height, latest), height)

    def rules_version(self):
        """The rule version in force (rule_versions.py; the first on a chain without
        parameters), or RulesVersionUnknown when this node's plugin lacks it: the node stops
        at that height before delivering a block (host._checked_abci_app), so only CheckTx
        and the HTTP pre-check can meet it."""
        parameters = self.network_parameters()
        return check_known(parameters["rules_version"] if parameters else FIRST)

    def consensus_date(self):
        seconds = self.consensus_time()
        return None if seconds is None else date_of(seconds)
