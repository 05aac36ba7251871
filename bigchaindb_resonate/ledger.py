"""The read-only view of the ledger that stateful rules see.

It answers from committed storage and from the earlier transactions of the block being
built (`current_transactions`), so that two dependent transactions in one block validate
the same way on every node. Rules never write through it.

Time comes from consensus only: during DeliverTx it is the time in the header of the block
being built (Tendermint's BFT time, identical on every node); during CheckTx and the HTTP
pre-check it is the time of the latest committed block. Never the local clock.
"""
from bigchaindb.backend import query
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import LinkNotFound, LinkWrongKind
from bigchaindb_resonate.validators.terms import date_of

# Where the node records each committed block's consensus time, and the genesis parameters
# of the network (host._checked_abci_app writes both).
BLOCK_TIMES = "block_times"
NETWORK_PARAMETERS = "network_parameters"


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
        """Records of `operation` whose `asset.data[field]` equals `value`, committed first,
        then those earlier in this block, each in a deterministic order."""
        connection = self._bigchain.connection
        cursor = connection.run(connection.collection("assets").find(
            {f"data.{field}": value}, projection={"_id": False, "id": True}))
        ids = sorted(doc["id"] for doc in cursor)
        found = [tx for tx in self._committed(ids) if tx.operation == operation]
        found.sort(key=lambda tx: tx.id)
        found += [tx for tx in self._pending
                  if tx.operation == operation and tx.asset.get("data", {}).get(field) == value]
        return found

    def asset_transactions(self, asset_id):
        """Every transaction of an asset: its creation and every transfer, committed or
        earlier in this block."""
        connection = self._bigchain.connection
        ids = sorted(query.get_txids_filtered(connection, asset_id))
        committed = self._committed(ids)
        pending = [tx for tx in self._pending
                   if tx.id == asset_id or (tx.asset or {}).get("id") == asset_id]
        return list(committed) + pending

    def current_holders(self, asset_id):
        """The unspent outputs of an asset as (sorted public keys, amount), in a fixed order."""
        transactions = self.asset_transactions(asset_id)
        spent = {(input_.fulfills.txid, input_.fulfills.output)
                 for tx in transactions for input_ in tx.inputs if input_.fulfills}
        holders = [(tuple(sorted(output.public_keys)), output.amount)
                   for tx in transactions for index, output in enumerate(tx.outputs)
                   if (tx.id, index) not in spent]
        return sorted(holders)

    def _committed(self, ids):
        """Committed transactions with these ids, as Transaction objects, in id order."""
        if not ids:
            return []
        documents = list(query.get_transactions(self._bigchain.connection, ids))
        transactions = Transaction.from_db(self._bigchain, documents)
        return sorted(transactions, key=lambda tx: tx.id)

    def consensus_time(self):
        """Seconds since the epoch by consensus, or None before the first block."""
        block_time = getattr(self._bigchain, "consensus_time", None)
        if block_time is not None:
            return block_time
        connection = self._bigchain.connection
        latest = connection.run(connection.collection(BLOCK_TIMES).find_one(
            {}, sort=[("height", -1)]))
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
