"""PAYOUT_REQUEST: a payee asks for tokens to be paid out in money.

Spec: docs/spec/payout_request.md. TRANSFER-like on the network's CREDIT asset: the payee
spends their own credit outputs; output 0 (HELD) holds the amount asked for, locked to
the payee or the treasury key the request names, either alone (a 1-of-2 threshold
condition), and it moves only by PAYOUT_SETTLE (the treasury paid; the tokens return to
it) or PAYOUT_CANCEL (the tokens return to the payee): `HELD_OUTPUTS`, which every
transfer's validation applies (registry.check_held_outputs). So once the request commits,
its tokens are out of the payee's balance and in neither party's free hands.

The refusals and helpers the settlement and the cancellation share live here too:
`RequestSpender` is their common part.
"""
import base58

from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import payout_cancel, payout_settle
from bigchaindb_resonate.operations import payout_request as client_part
from bigchaindb_resonate.operations.payout_request import HELD
from bigchaindb_resonate.types.base import ResonateTransfer, client_builder
from bigchaindb_resonate.types.credit import check_credit_asset, parameters_in_force


class PayoutNotCredit(ResonateValidationError):
    code = "PAYOUT_NOT_CREDIT"
    meaning = "a payout request spends the network's credit token and nothing else"


class PayoutRequestNotPayee(ResonateValidationError):
    code = "PAYOUT_REQUEST_NOT_PAYEE"
    meaning = "every input of a payout request must spend a credit output held by the payee alone"


class PayoutRequestWrongOutputs(ResonateValidationError):
    code = "PAYOUT_REQUEST_WRONG_OUTPUTS"
    meaning = ("output 0 must hold the amount for the payee or the treasury key, either "
               "alone; the only other output is the payee's change")


class PayoutBelowThreshold(ResonateValidationError):
    code = "PAYOUT_BELOW_THRESHOLD"
    meaning = "the amount is below the network's payout_threshold"


class PayoutNotTreasury(ResonateValidationError):
    code = "PAYOUT_NOT_TREASURY"
    meaning = "the request names a key that is not one of the network's treasury_keys"


class PayoutPayeeIsTreasury(ResonateValidationError):
    code = "PAYOUT_PAYEE_IS_TREASURY"
    meaning = "a treasury key cannot ask itself for a payout"


# -- shared by PAYOUT_SETTLE and PAYOUT_CANCEL

class PayoutRequestNotOpen(ResonateValidationError):
    code = "PAYOUT_REQUEST_NOT_OPEN"
    meaning = ("the request was settled or cancelled already (committed, or earlier in the "
               "block): a request is paid or cancelled once")


class PayoutWrongInput(ResonateValidationError):
    code = "PAYOUT_WRONG_INPUT"
    meaning = "a settlement or cancellation spends the request's output 0 and nothing else"


class PayoutTermsMismatch(ResonateValidationError):
    code = "PAYOUT_TERMS_MISMATCH"
    meaning = "the payee or amount differ from the request's"


class PayoutWrongOutputs(ResonateValidationError):
    code = "PAYOUT_WRONG_OUTPUTS"
    meaning = ("a settlement returns the whole amount to the request's treasury key, a "
               "cancellation to the payee, in one output")


def is_held(details, payee, treasury):
    """True when an output's condition `details` lets the payee or the treasury key, and
    no one else, spend it alone."""
    return details == {"type": "threshold-sha-256", "threshold": 1, "subconditions": [
        {"type": "ed25519-sha-256", "public_key": key} for key in (payee, treasury)]}


def signed_by(input_):
    """The public keys whose signatures fulfil an input (the host has checked them): the
    one that signed a held output's 1-of-2 condition."""
    fulfillment = input_.fulfillment
    leaves = [sub["body"] for sub in getattr(fulfillment, "subconditions", ())
              if sub["type"] == "fulfillment"] or [fulfillment]
    return sorted(base58.b58encode(leaf.public_key).decode() for leaf in leaves
                  if hasattr(leaf, "public_key"))


class PayoutRequest(ResonateTransfer):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_METADATA = (("payee",),)
    HELD_OUTPUTS = {HELD: (payout_settle.OPERATION, payout_cancel.OPERATION)}

    @classmethod
    def check_stateless(cls, tx):
        asked = tx["metadata"]
        payee, treasury = asked["payee"], asked["treasury"]
        held, *change = tx["outputs"]
        if (payee == treasury or not is_held(held["condition"]["details"], payee, treasury)
                or held["public_keys"] != [payee, treasury] or held["amount"] != str(asked["amount"])):
            raise PayoutRequestWrongOutputs(field="outputs[0]", expected=(
                f"{asked['amount']} tokens held by any one of [{payee!r}, {treasury!r}]"))
        if len(change) > 1 or any(output["public_keys"] != [payee] for output in change):
            raise PayoutRequestWrongOutputs(field="outputs", expected=f"at most one change output to [{payee!r}]")

    def check_stateful(self, ledger):
        asked = self.metadata
        parameters = parameters_in_force(ledger)
        check_credit_asset(self, ledger, PayoutNotCredit)
        for index, input_ in enumerate(self.inputs):
            output = ledger.get_transaction(input_.fulfills.txid).outputs[input_.fulfills.output]
            if output.public_keys != [asked["payee"]]:
                raise PayoutRequestNotPayee(f"the output is held by {output.public_keys}",
                                            field=f"inputs[{index}].fulfills",
                                            expected=f"[{asked['payee']!r}]")
        if asked["amount"] < parameters["payout_threshold"]:
            raise PayoutBelowThreshold(f"{asked['amount']} tokens", field="metadata.amount",
                                       expected=f"at least {parameters['payout_threshold']}")
        if asked["treasury"] not in parameters["treasury_keys"]:
            raise PayoutNotTreasury(f"`{asked['treasury']}`", field="metadata.treasury",
                                    expected="one of the network's treasury_keys")
        if asked["payee"] in parameters["treasury_keys"]:
            raise PayoutPayeeIsTreasury(field="metadata.payee", expected="a key outside the treasury")

    request = client_builder(client_part.request)


class RequestSpender(ResonateTransfer):
    """What PAYOUT_SETTLE and PAYOUT_CANCEL share: each spends one open request's held
    output, whole, into one output; `metadata.request` names the request."""

    @classmethod
    def check_stateless(cls, tx):
        request_id = tx["metadata"]["request"]
        spent = [input_["fulfills"] for input_ in tx["inputs"]]
        if spent != [{"transaction_id": request_id, "output_index": HELD}]:
            raise PayoutWrongInput(f"spends {spent}", field="inputs",
                                   expected=f"one input spending output {HELD} of {request_id}")
        if len(tx["outputs"]) != 1:
            raise PayoutWrongOutputs(f"{len(tx['outputs'])} outputs", field="outputs",
                                     expected="one output")

    def _check_not_a_duplicate_then_inputs(self, ledger, bigchain, current_transactions):
        # Before the host's double-spend check, so that a second settlement or a
        # cancellation racing a settlement hears why.
        if ledger.contains(self.id):
            raise self.already_exists()
        open_request(ledger, self.metadata["request"])
        super()._check_not_a_duplicate_then_inputs(ledger, bigchain, current_transactions)

    def check_request(self, ledger, recipient):
        """The request it spends, checked open and matching; `recipient(request metadata)`
        is the key the tokens must go to."""
        request = open_request(ledger, self.metadata["request"])
        asked = request.metadata
        for field in ("payee", "amount"):  # a cancellation states no amount
            if field in self.metadata and self.metadata[field] != asked[field]:
                raise PayoutTermsMismatch(f"{field} {self.metadata[field]!r}", field=f"metadata.{field}",
                                          expected=repr(asked[field]))
        outputs = [(output.public_keys, output.amount) for output in self.outputs]
        if outputs != [([recipient(asked)], asked["amount"])]:
            raise PayoutWrongOutputs(f"{outputs}", field="outputs",
                                     expected=f"{[([recipient(asked)], asked['amount'])]}")
        return request


def open_request(ledger, request_id):
    """The PAYOUT_REQUEST `request_id`, refused unless no settlement or cancellation of it
    is committed or earlier in the block: two head lookups."""
    request = ledger.linked(request_id, (PayoutRequest.OPERATION,), "metadata.request")
    for operation in (payout_settle.OPERATION, payout_cancel.OPERATION):
        closed = ledger.find_by_metadata(operation, {"request": request_id})
        if len(closed):
            raise PayoutRequestNotOpen(f"{operation} {closed[-1].id}", field="metadata.request",
                                       expected="an open PAYOUT_REQUEST")
    return request
