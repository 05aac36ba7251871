"""PAYOUT_SETTLE, the client part (rules: types/payout_settle.py; spec:
docs/spec/payout_settle.md)."""
from bigchaindb_resonate.money import money_minor
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move
from bigchaindb_resonate.operations.payout_request import HELD

OPERATION = "PAYOUT_SETTLE"
SCHEMA = "payout_settle_v1.0"


def settle(payout_request, reference, parameters):
    """An unsigned PAYOUT_SETTLE of the committed `payout_request`, which its treasury key
    signs once it has paid the payee off the ledger: `reference` is that payment's
    (a bank or payment provider's transfer id); the money is the request's tokens at the
    network's `parameters` in force (payout_rate, payout_currency), rounded down. The
    tokens return to the treasury key."""
    payout_request = as_transaction(payout_request)
    asked = payout_request.metadata
    rate, currency = parameters["payout_rate"], parameters["payout_currency"]
    record = {"@context": COALAIP_CONTEXT, "@type": "PayoutSettlement",
              "request": payout_request.id, "payee": asked["payee"], "amount": asked["amount"],
              "currency": currency, "rate": rate,
              "moneyMinor": money_minor(asked["amount"], rate, currency), "reference": reference}
    return move(OPERATION, payout_request.to_inputs([HELD]), [([asked["treasury"]], asked["amount"])],
                payout_request.asset_id, record)
