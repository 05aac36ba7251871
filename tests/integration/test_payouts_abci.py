"""PAYOUT_REQUEST, PAYOUT_SETTLE and PAYOUT_CANCEL through the node's ABCI application over
a real FerretDB store (the market of test_plays_abci: default payout parameters, 8000
tokens at least, 800 tokens per EUR): what one block may hold, and what the payee's account
reads after it."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate import reads
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.payout_cancel import PayoutCancel
from bigchaindb_resonate.types.payout_request import PayoutRequest
from bigchaindb_resonate.types.payout_settle import PayoutSettle

from .abci import commit_block, raw
from .test_plays_abci import Market, chain  # noqa: F401 (the fixture)
from .test_registry_abci import codes
from .test_rights_abci import delivered, signed

pytestmark = pytest.mark.integration
RATE = {"payout_rate": 800, "payout_currency": "EUR"}


def light_signed(tx, keypair):
    """Signed by one key with the client library (one key of a held output's 1-of-2)."""
    return LightTransaction.from_dict(tx.to_dict()).sign([keypair.private_key]).to_dict()


class Payouts(Market):
    """The market, and an artist who holds 20000 tokens (sold from the treasury's change,
    for brevity: output 0 is the artist's, output 1 the treasury's change)."""

    def __init__(self, app):
        super().__init__(app)
        treasury, holding = app.treasury, Transaction.from_dict(self.wallet[0])
        self.earnings = signed(Transaction.transfer(holding.to_inputs([1]), [
            ([self.artist.public_key], 20000), ([treasury.public_key], holding.outputs[1].amount - 20000)],
            asset_id=holding.asset["id"]), treasury)
        assert codes(commit_block(app, [raw(self.earnings)])) == ["OK"]

    def request(self, amount, wallet=None):
        spending, index = wallet or (self.earnings, 0)
        return light_signed(PayoutRequest.request([(Transaction.from_dict(spending), index)],
                                                  self.artist.public_key,
                                                  self.app.treasury.public_key, amount,
                                                  spending["asset"]["id"]), self.artist)

    def settle(self, request, reference="SEPA-1"):
        return light_signed(PayoutSettle.settle(Transaction.from_dict(request), reference, RATE),
                            self.app.treasury)

    def cancel(self, request, by=None):
        return light_signed(PayoutCancel.cancel(Transaction.from_dict(request)), by or self.artist)

    def account(self):
        return reads.payee_account(self.app.bigchaindb, self.artist.public_key)


@pytest.fixture
def payouts(chain):  # noqa: F811 (the fixture imported above)
    return Payouts(chain)


def test_two_settlements_of_one_request_in_one_block_pay_it_once(payouts):
    request = payouts.request(8000)
    assert delivered(payouts.app, request) == ["OK"]
    first, second = payouts.settle(request, "SEPA-1"), payouts.settle(request, "SEPA-2")
    assert delivered(payouts.app, first, second) == ["OK", "PAYOUT_REQUEST_NOT_OPEN"]
    account = payouts.account()
    assert (account["balance"], account["owed"], account["paid"]) == (12000, 12000, 8000)
    assert [(payout["settlement"], payout["money_minor"], payout["reference"])
            for payout in account["payouts"]] == [(first["id"], 1000, "SEPA-1")]
    assert reads.credit_balance(payouts.app.bigchaindb, payouts.app.treasury.public_key)["balance"] \
        == Transaction.from_dict(payouts.earnings).outputs[1].amount + 8000


def test_a_cancellation_and_a_settlement_in_one_block_close_the_request_once(payouts):
    request = payouts.request(9000)
    cancelled, settled = payouts.cancel(request), payouts.settle(request)
    # The request, its cancellation and the late settlement all in one block.
    assert delivered(payouts.app, request, cancelled, settled) == ["OK", "OK", "PAYOUT_REQUEST_NOT_OPEN"]
    account = payouts.account()
    assert (account["balance"], account["open_requests"], account["paid"]) == (20000, [], 0)


def test_an_open_request_counts_as_owed_and_its_tokens_move_only_by_settle_or_cancel(payouts):
    request = payouts.request(8000)
    below = payouts.request(7999, wallet=(request, 1))
    assert delivered(payouts.app, request, below) == ["OK", "PAYOUT_BELOW_THRESHOLD"]
    account = payouts.account()
    assert (account["balance"], account["owed"], account["currency"], account["rate"]) == (
        12000, 20000, "EUR", 800)
    assert [entry["id"] for entry in account["open_requests"]] == [request["id"]]
    held = Transaction.from_dict(request)
    taken = light_signed(Transaction.transfer(held.to_inputs([0]), [([payouts.artist.public_key], 8000)],
                                              asset_id=held.asset["id"]), payouts.artist)
    by_payee = light_signed(PayoutSettle.settle(held, "SEPA-9", RATE), payouts.artist)
    assert codes(commit_block(payouts.app, [raw(taken), raw(by_payee)])) == [
        "OUTPUT_HELD", "PAYOUT_SETTLE_NOT_TREASURY"]
    refused = payouts.cancel(request, by=payouts.app.treasury)
    assert delivered(payouts.app, refused) == ["OK"]
    assert payouts.account()["balance"] == 20000
