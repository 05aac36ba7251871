"""The read-only view of the ledger that stateful rules see.

It answers from committed storage and from the earlier transactions of the block being
built (`current_transactions`), so that two dependent transactions in one block validate
the same way on every node. Rules never write through it.

Time comes from consensus only: during DeliverTx it is the time in the header of the block
being built (Tendermint's BFT time, identical on every node); during CheckTx and the HTTP
pre-check it is the time of the latest committed block. Never the local clock.
"""

from bigchaindb_resonate.errors import LinkNotFound, LinkWrongKind
from bigchaindb_resonate.validators.terms import date_of

# Where the node records each committed block's consensus time, and the genesis parameters
# of the network (host._checked_abci_app writes both).
BLOCK_TIMES = "block_times"
NETWORK_PARAMETERS = "network_parameters"
# Where each committed transaction sits in the chain, keyed `_id = txid`, and the chain's
# latest block and block time, keyed `_id = LATEST_BLOCK` / `LATEST_BLOCK_TIME` (written at
# commit by host._checked_abci_app and host._blocks_by_key): what would otherwise be a
# search of `blocks` or `block_times` is one key lookup (docs/storage.md).
COMMIT_POSITIONS = "commit_positions"
CHAIN_HEAD = "chain_head"
LATEST_BLOCK = "block"
LATEST_BLOCK_TIME = "block_time"
# Where the node files each committed transaction under the keys rules look it up by
# (host._rule_index): FerretDB answers a lookup by `_id` without decoding every document.
RULE_INDEX = "rule_index"


def record_key(operation, field, value):
    return f"{operation}|{field}|{value}"


def metadata_key(operation, values):
    fields = sorted(values)
    return f"{operation}|{','.join(fields)}|" + "|".join(str(values[field]) for field in fields)


def asset_key(asset_id):
    """Transfers of an asset, of any operation."""
    return f"asset|{asset_id}"


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


class LedgerView:
    def __init__(self, bigchain, current_transactions=()):
        self._bigchain = bigchain
        self._pending = list(current_transactions)
        self._pending_by_id = {tx.id: tx for tx in self._pending}

    def contains(self, txid):
        """True when the transaction is committed or earlier in this block."""
        return txid in self._pending_by_id or self._bigchain.is_committed(txid)

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
        """Records of `operation` whose `asset.data[field]` equals `value`: committed ones in
        commit order, then those earlier in this block. `field` must be one the type
        indexes (INDEXED_FIELDS), so that this is a key lookup, never a scan."""
        committed = self._indexed(record_key(operation, field, value))
        pending = [tx for tx in self._pending
                   if tx.operation == operation and tx.asset.get("data", {}).get(field) == value]
        return committed + pending

    def find_by_metadata(self, operation, values):
        """Ids of transactions of `operation` whose `metadata` has each field of `values`
        with its value: committed ones in commit order, then those earlier in this block.
        The fields must be a group the type indexes (INDEXED_METADATA)."""
        committed = [tx.id for tx in self._indexed(metadata_key(operation, values))]
        pending = [tx.id for tx in self._pending if tx.operation == operation
                   and all((tx.metadata or {}).get(field) == value for field, value in values.items())]
        return committed + pending

    def _indexed(self, key):
        """The committed transactions filed under `key`, in commit order."""
        connection = self._bigchain.connection
        entry = connection.run(connection.collection(RULE_INDEX).find_one({"_id": key}))
        return [self._bigchain.get_transaction(txid) for txid in (entry or {}).get("ids", [])]

    def in_commit_order(self, transactions):
        """`transactions` (committed or earlier in this block) in the order they commit:
        by block height and position in the block; this block's last."""
        pending = {tx.id: index for index, tx in enumerate(self._pending)}
        committed = commit_positions(self._bigchain.connection,
                                     [tx.id for tx in transactions if tx.id not in pending])
        return sorted(transactions, key=lambda tx: (1, pending[tx.id]) if tx.id in pending
                      else (0, committed[tx.id]))

    def asset_transactions(self, asset_id):
        """Every transaction of an asset: its creation and every transfer (commit order),
        committed or earlier in this block."""
        creation = self.get_transaction(asset_id)
        committed = ([creation] if creation is not None and creation.id not in self._pending_by_id
                     else []) + self._indexed(asset_key(asset_id))
        pending = [tx for tx in self._pending
                   if tx.id == asset_id or (tx.asset or {}).get("id") == asset_id]
        return committed + pending

    def current_holders(self, asset_id):
        """The unspent outputs of an asset as (sorted public keys, amount), in a fixed order."""
        transactions = self.asset_transactions(asset_id)
        spent = {(input_.fulfills.txid, input_.fulfills.output)
                 for tx in transactions for input_ in tx.inputs if input_.fulfills}
        holders = [(tuple(sorted(output.public_keys)), output.amount)
                   for tx in transactions for index, output in enumerate(tx.outputs)
                   if (tx.id, index) not in spent]
        return sorted(holders)

    def consensus_time(self):
        """Seconds since the epoch by consensus, or None before the first block."""
        block_time = getattr(self._bigchain, "consensus_time", None)
        if block_time is not None:
            return block_time
        connection = self._bigchain.connection
        latest = connection.run(connection.collection(CHAIN_HEAD).find_one({"_id": LATEST_BLOCK_TIME}))
        return latest["time"] if latest else None

    def network_parameters(self):
        """The genesis parameters (treasury_keys, platform_key, coop_share_bp), or None on
        a chain whose genesis carried none."""
        connection = self._bigchain.connection
        document = connection.run(connection.collection(NETWORK_PARAMETERS).find_one(
            {}, projection={"_id": False, "chain_id": False}))
        return document or None

    def consensus_date(self):
        seconds = self.consensus_time()
        return None if seconds is None else date_of(seconds)
