"""PAYOUT_CANCEL, the client part (rules: types/payout_cancel.py; spec:
docs/spec/payout_cancel.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move
from bigchaindb_resonate.operations.payout_request import HELD

OPERATION = "PAYOUT_CANCEL"
SCHEMA = "payout_cancel_v1.0"


def cancel(payout_request):
    """An unsigned PAYOUT_CANCEL of the committed `payout_request`, signed by its payee
    (who changed their mind) or its treasury key (refusing it): the held tokens return to
    the payee."""
    payout_request = as_transaction(payout_request)
    asked = payout_request.metadata
    record = {"@context": COALAIP_CONTEXT, "@type": "PayoutCancellation",
              "request": payout_request.id, "payee": asked["payee"]}
    return move(OPERATION, payout_request.to_inputs([HELD]), [([asked["payee"]], asked["amount"])],
                payout_request.asset_id, record)
