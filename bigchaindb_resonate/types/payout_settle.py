"""PAYOUT_SETTLE: the treasury paid a payout request off the ledger.

Spec: docs/spec/payout_settle.md. TRANSFER-like on the credit token: spends the open
request's held output, signed by the treasury key the request names, which must still be
one of the network's treasury keys; the tokens return to that key. `metadata` records the
payment's reference and its amount in money at the payout rate in force (money.py:
minor units, rounded down), so a payee's history reads the same whatever the rate later
becomes.
"""
import re

from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.money import money_minor
from bigchaindb_resonate.operations import payout_settle as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.credit import parameters_in_force
from bigchaindb_resonate.types.payout_request import RequestSpender, signed_by

# Printable ASCII, no space at either end: what a bank or provider's transfer id looks like.
REFERENCE = re.compile(r"[!-~]([ -~]*[!-~])?")


class PayoutBadReference(ResonateValidationError):
    code = "PAYOUT_BAD_REFERENCE"
    meaning = "the payment reference is printable ASCII without a space at either end"


class PayoutWrongMoney(ResonateValidationError):
    code = "PAYOUT_WRONG_MONEY"
    meaning = "moneyMinor is not the amount at the rate, in minor units, rounded down"


class PayoutWrongRate(ResonateValidationError):
    code = "PAYOUT_WRONG_RATE"
    meaning = "the currency or rate differ from the network's payout_currency and payout_rate in force"


class PayoutSettleNotTreasury(ResonateValidationError):
    code = "PAYOUT_SETTLE_NOT_TREASURY"
    meaning = ("a settlement is signed by the treasury key the request names, and that key "
               "is one of the network's treasury_keys in force")


class PayoutReferenceUsed(ResonateValidationError):
    code = "PAYOUT_REFERENCE_USED"
    meaning = "another settlement already records this payment reference: one payment pays one request"


class PayoutSettle(RequestSpender):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_METADATA = (("request",), ("payee",), ("reference",))

    @classmethod
    def check_stateless(cls, tx):
        super().check_stateless(tx)
        paid = tx["metadata"]
        if not REFERENCE.fullmatch(paid["reference"]):
            raise PayoutBadReference(f"{paid['reference']!r}", field="metadata.reference",
                                     expected="printable ASCII, no space at either end")
        expected = money_minor(paid["amount"], paid["rate"], paid["currency"])
        if paid["moneyMinor"] != expected:
            raise PayoutWrongMoney(f"{paid['moneyMinor']}", field="metadata.moneyMinor",
                                   expected=f"{expected} ({paid['amount']} tokens at {paid['rate']} "
                                            f"per {paid['currency']}, rounded down)")

    def check_stateful(self, ledger):
        paid = self.metadata
        parameters = parameters_in_force(ledger)
        request = self.check_request(ledger, lambda asked: asked["treasury"])
        treasury = request.metadata["treasury"]
        if signed_by(self.inputs[0]) != [treasury] or treasury not in parameters["treasury_keys"]:
            raise PayoutSettleNotTreasury(f"signed by {signed_by(self.inputs[0])}",
                                          field="inputs[0].fulfillment",
                                          expected=f"signed by `{treasury}`, a treasury key in force")
        in_force = (parameters["payout_currency"], parameters["payout_rate"])
        if (paid["currency"], paid["rate"]) != in_force:
            raise PayoutWrongRate(f"{paid['rate']} tokens per {paid['currency']}", field="metadata.rate",
                                  expected=f"{in_force[1]} tokens per {in_force[0]}")
        used = self.find_reference(ledger, paid["reference"])
        if len(used):
            raise PayoutReferenceUsed(f"settlement {used[0].id}", field="metadata.reference",
                                      expected="a reference no settlement has recorded")

    @classmethod
    def find_reference(cls, ledger, reference):
        return ledger.find_by_metadata(cls.OPERATION, {"reference": reference})

    settle = client_builder(client_part.settle)
