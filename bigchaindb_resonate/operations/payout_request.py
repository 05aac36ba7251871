"""PAYOUT_REQUEST, the client part (rules: types/payout_request.py; spec:
docs/spec/payout_request.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move
from bigchaindb_resonate.transaction import AnyOf

OPERATION = "PAYOUT_REQUEST"
SCHEMA = "payout_request_v1.0"
# The output holding the requested tokens until the request is settled or cancelled.
HELD = 0


def held_by(payee, treasury):
    """Who may spend a request's held tokens: the payee (to cancel) or the treasury key
    (to settle or refuse it), either alone."""
    return AnyOf([payee, treasury])


def request(credits, payee, treasury, amount, credit_id):
    """An unsigned PAYOUT_REQUEST by the public key `payee` of `amount` tokens, spending
    `credits`: (committed transaction, output index) pairs of the payee's own credit
    outputs, holding at least `amount`. The tokens are held for the treasury key
    `treasury` to settle; the rest returns to the payee as change."""
    credits = [(as_transaction(tx), index) for tx, index in credits]
    spent = sum(tx.outputs[index].amount for tx, index in credits)
    if spent < amount:
        raise ValueError(f"a payout of {amount} tokens needs that many; the credits given hold {spent}")
    record = {"@context": COALAIP_CONTEXT, "@type": "PayoutRequest", "payee": payee,
              "treasury": treasury, "amount": amount}
    recipients = [(held_by(payee, treasury), amount)]
    if spent > amount:
        recipients.append(([payee], spent - amount))
    inputs = [input_ for tx, index in credits for input_ in tx.to_inputs([index])]
    return move(OPERATION, inputs, recipients, credits[0][0].asset_id, record)
