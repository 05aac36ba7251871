"""The read-only view of the ledger that stateful rules see.

It answers from committed storage and from the earlier transactions of the block being
built (`current_transactions`), so that two dependent transactions in one block validate
the same way on every node. Rules never write through it.
"""


class LedgerView:
    def __init__(self, bigchain, current_transactions=()):
        self._bigchain = bigchain
        self._pending = {tx.id: tx for tx in current_transactions}

    def contains(self, txid):
        """True when the transaction is committed or earlier in this block."""
        return txid in self._pending or self._bigchain.is_committed(txid)

    def get_transaction(self, txid):
        """The committed or same-block transaction with this id, or None."""
        if txid in self._pending:
            return self._pending[txid]
        return self._bigchain.get_transaction(txid)
