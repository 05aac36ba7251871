"""CREDIT, the client part (rules: types/credit.py; spec: docs/spec/credit.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move, register
from bigchaindb_resonate.transaction import MAX_AMOUNT

OPERATION = "CREDIT"
SCHEMA = "credit_v1.0"
# Credits are sold by BigchainDB's own TRANSFER, from the treasury to a listener.
SOLD_BY = "TRANSFER"
# The whole supply starts in one output, so it is the most one output may carry.
MAX_SUPPLY = MAX_AMOUNT


def build(signers, data=None, metadata=None, supply=MAX_SUPPLY):
    """The credit token, created by one treasury key (`signers`) with `supply` tokens."""
    record = {"@context": COALAIP_CONTEXT, "@type": "ResonateCredit",
              "name": "Resonate credit", "tokensPerCredit": 1000, **(data or {})}
    return register(OPERATION, signers, record, metadata, holders=[(list(signers), supply)])


def sell(credits, treasury, listener, amount, credit_id):
    """A treasury's sale of `amount` tokens (1 token = 0.001 credit) to the public key
    `listener`: a plain TRANSFER of the credit token `credit_id` spending `credits`, the
    treasury's (committed transaction, output index) pairs; the rest returns to `treasury`."""
    credits = [(as_transaction(tx), index) for tx, index in credits]
    spent = sum(tx.outputs[index].amount for tx, index in credits)
    if spent < amount:
        raise ValueError(f"the credits given hold {spent} tokens, not {amount}")
    recipients = [([listener], amount)] + ([([treasury], spent - amount)] if spent > amount else [])
    inputs = [input_ for tx, index in credits for input_ in tx.to_inputs([index])]
    return move(SOLD_BY, inputs, recipients, credit_id, None)
