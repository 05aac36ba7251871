"""Rule tables for PAYOUT_REQUEST, PAYOUT_SETTLE and PAYOUT_CANCEL over the in-memory
market of test_play: the treasury (Alice) issued the credit token and sold the listener
(Carol) 5000 tokens; Carol asks for 2000 of them to be paid out, the treasury settles or
someone cancels."""
import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import registry
from bigchaindb_resonate.errors import LinkWrongKind, OutputHeld, SchemaViolation
from bigchaindb_resonate.money import format_money, money_minor
from bigchaindb_resonate.operations.common import move
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.credit import NetworkHasNoParameters
from bigchaindb_resonate.types.payout_cancel import PayoutCancel
from bigchaindb_resonate.types.payout_request import (
    PayoutBelowThreshold, PayoutNotCredit, PayoutNotTreasury, PayoutPayeeIsTreasury,
    PayoutRequest, PayoutRequestNotOpen, PayoutRequestNotPayee, PayoutRequestWrongOutputs,
    PayoutTermsMismatch, PayoutWrongInput, PayoutWrongOutputs, open_request, signed_by,
)
from bigchaindb_resonate.types.payout_settle import (
    PayoutBadReference, PayoutReferenceUsed, PayoutSettle, PayoutSettleNotTreasury, PayoutWrongMoney,
    PayoutWrongRate,
)
from .test_copyright import ALICE, BOB, CAROL, a_ledger
from .test_play import CREDIT, MARKET, PURCHASE, a_play, market

DAVE = generate_key_pair()
PARAMETERS = {"treasury_keys": [ALICE.public_key, DAVE.public_key], "platform_key": BOB.public_key,
              "coop_share_bp": 3000, "payout_threshold": 1000, "payout_rate": 800,
              "payout_currency": "EUR"}
IN_FORCE = {"payout_rate": 800, "payout_currency": "EUR"}


def signed(tx, keypair):
    """`tx` signed by one key pair with the client library (which signs one key of a
    1-of-2 condition), then parsed as a node does."""
    return Transaction.from_dict(LightTransaction.from_dict(tx.to_dict()).sign([keypair.private_key]).to_dict())


def a_request(amount=2000, credits=((PURCHASE, 0),), payee=CAROL, treasury=ALICE, signer=None):
    return signed(PayoutRequest.request(list(credits), payee.public_key, treasury.public_key, amount,
                                      credits[0][0].asset_id if hasattr(credits[0][0], "asset_id")
                                      else CREDIT.id), signer or payee)


REQUEST = a_request()


def a_settlement(request=REQUEST, reference="SEPA-0001", parameters=IN_FORCE, signer=ALICE):
    return signed(PayoutSettle.settle(request, reference, parameters), signer)


def a_cancellation(request=REQUEST, signer=CAROL):
    return signed(PayoutCancel.cancel(request), signer)


def payouts(*committed, pending=(), parameters=PARAMETERS):
    return market(*committed, pending=pending, parameters=parameters)


def rebuilt(operation, tx, signer, metadata=None, outputs=None, inputs=None):
    """`tx` with other metadata, outputs or inputs ((transaction, output index) pairs),
    signed again by `signer`."""
    sources = {PURCHASE.id: PURCHASE, REQUEST.id: REQUEST}
    spent = inputs or [(sources[input_.fulfills.txid], input_.fulfills.output) for input_ in tx.inputs]
    unsigned = move(operation, [LightTransaction.from_dict(source.to_dict()).to_inputs([index])[0]
                                for source, index in spent],
                    outputs or [(output.public_keys, output.amount) for output in tx.outputs],
                    tx.asset["id"], {**tx.metadata, **(metadata or {})})
    return Transaction.from_dict(unsigned.sign([signer.private_key]).to_dict())


# -- money

@pytest.mark.parametrize("tokens, rate, currency, minor, shown", [
    (8000, 800, "EUR", 1000, "10.00 EUR"),
    (2000, 800, "EUR", 250, "2.50 EUR"),
    (799, 800, "EUR", 99, "0.99 EUR"),      # 99.875 cents, rounded down
    (1, 800, "EUR", 0, "0.00 EUR"),
    (8000, 8, "JPY", 1000, "1000 JPY"),     # no minor unit
    (8000, 800, "KWD", 10000, "10.000 KWD"),  # thousandths
])
def test_money_at_the_rate_is_rounded_down_in_minor_units(tokens, rate, currency, minor, shown):
    assert money_minor(tokens, rate, currency) == minor
    assert format_money(minor, currency) == shown


# -- PAYOUT_REQUEST

def test_a_request_holds_the_tokens_for_payee_or_treasury_and_returns_the_change():
    assert [(output.public_keys, output.amount) for output in REQUEST.outputs] == [
        ([CAROL.public_key, ALICE.public_key], 2000), ([CAROL.public_key], 3000)]
    assert REQUEST.outputs[0].fulfillment.threshold == 1
    REQUEST.check_stateful(payouts())


def test_a_request_of_the_whole_balance_has_no_change():
    whole = a_request(5000)
    assert len(whole.outputs) == 1
    whole.check_stateful(payouts())


OTHER_ASSET = signed(Transaction.create([CAROL.public_key], [([CAROL.public_key], 5000)]), CAROL)


@pytest.mark.parametrize("request_, ledger, error", [
    (lambda: a_request(), lambda: payouts(parameters=None), NetworkHasNoParameters),
    (lambda: a_request(999), lambda: payouts(), PayoutBelowThreshold),
    (lambda: a_request(1000), lambda: payouts(), None),
    (lambda: a_request(treasury=BOB), lambda: payouts(), PayoutNotTreasury),
    (lambda: a_request(treasury=DAVE), lambda: payouts(), None),
    (lambda: a_request(payee=ALICE, treasury=DAVE, credits=((PURCHASE, 1),)), lambda: payouts(),
     PayoutPayeeIsTreasury),
    (lambda: a_request(credits=((PURCHASE, 1),), signer=ALICE), lambda: payouts(), PayoutRequestNotPayee),
    (lambda: a_request(credits=((OTHER_ASSET, 0),)), lambda: payouts(OTHER_ASSET), PayoutNotCredit),
])
def test_request_rules(request_, ledger, error):
    tx = request_()
    if error is None:
        tx.check_stateful(ledger())
    else:
        with pytest.raises(error):
            tx.check_stateful(ledger())


@pytest.mark.parametrize("outputs", [
    [([CAROL.public_key], 2000), ([CAROL.public_key], 3000)],          # not held at all
    [([CAROL.public_key, ALICE.public_key], 2000), ([CAROL.public_key], 3000)],  # both must sign
    [([CAROL.public_key], 3000)],
])
def test_a_request_whose_tokens_are_not_held_for_either_party_is_refused(outputs):
    with pytest.raises(PayoutRequestWrongOutputs):
        rebuilt(PayoutRequest.OPERATION, REQUEST, CAROL, outputs=outputs)


def test_a_request_whose_change_goes_elsewhere_is_refused():
    from bigchaindb_resonate.transaction import AnyOf

    with pytest.raises(PayoutRequestWrongOutputs) as refused:
        rebuilt(PayoutRequest.OPERATION, REQUEST, CAROL, outputs=[
            (AnyOf([CAROL.public_key, ALICE.public_key]), 2000), ([BOB.public_key], 3000)])
    assert refused.value.field == "outputs"


def test_a_request_stating_another_amount_than_it_holds_is_refused():
    with pytest.raises(PayoutRequestWrongOutputs):
        rebuilt(PayoutRequest.OPERATION, REQUEST, CAROL, metadata={"amount": 1500})


# -- PAYOUT_SETTLE

def test_the_treasury_settles_at_the_rate_and_the_tokens_return_to_it():
    settlement = a_settlement()
    assert settlement.metadata["moneyMinor"] == 250 and settlement.metadata["currency"] == "EUR"
    assert [(output.public_keys, output.amount) for output in settlement.outputs] == [
        ([ALICE.public_key], 2000)]
    assert signed_by(settlement.inputs[0]) == [ALICE.public_key]
    settlement.check_stateful(payouts(REQUEST))


def test_a_settlement_later_in_the_same_block_as_its_request_is_valid():
    a_settlement().check_stateful(payouts(pending=[REQUEST]))


SECOND = a_request(1000, credits=((REQUEST, 1),))


@pytest.mark.parametrize("settlement, ledger, error", [
    (lambda: a_settlement(signer=CAROL), lambda: payouts(REQUEST), PayoutSettleNotTreasury),
    (lambda: a_settlement(), lambda: payouts(REQUEST, parameters={**PARAMETERS, "treasury_keys": [DAVE.public_key]}),
     PayoutSettleNotTreasury),
    (lambda: a_settlement(parameters={"payout_rate": 1000, "payout_currency": "EUR"}),
     lambda: payouts(REQUEST), PayoutWrongRate),
    (lambda: a_settlement(parameters={"payout_rate": 800, "payout_currency": "GBP"}),
     lambda: payouts(REQUEST), PayoutWrongRate),
    (lambda: a_settlement(), lambda: payouts(REQUEST, a_settlement()), PayoutRequestNotOpen),
    (lambda: a_settlement(), lambda: payouts(REQUEST, pending=[a_settlement(reference="SEPA-0002")]),
     PayoutRequestNotOpen),
    (lambda: a_settlement(), lambda: payouts(REQUEST, a_cancellation()), PayoutRequestNotOpen),
    (lambda: a_settlement(), lambda: payouts(REQUEST, pending=[a_cancellation(signer=ALICE)]),
     PayoutRequestNotOpen),
    (lambda: a_settlement(SECOND), lambda: payouts(REQUEST, SECOND, a_settlement()), PayoutReferenceUsed),
    (lambda: a_settlement(SECOND), lambda: payouts(REQUEST, SECOND, pending=[a_settlement()]),
     PayoutReferenceUsed),
    (lambda: a_settlement(SECOND, "SEPA-0002"), lambda: payouts(REQUEST, SECOND, a_settlement()), None),
])
def test_settlement_rules(settlement, ledger, error):
    tx = settlement()
    if error is None:
        tx.check_stateful(ledger())
    else:
        with pytest.raises(error):
            tx.check_stateful(ledger())


@pytest.mark.parametrize("change, error", [
    ({"moneyMinor": 251}, PayoutWrongMoney),
    ({"reference": " SEPA-0001"}, PayoutBadReference),
    ({"reference": "SEPA\n0001"}, PayoutBadReference),
    ({"reference": ""}, SchemaViolation),
    ({"currency": "eur"}, SchemaViolation),
    ({"rate": 0}, SchemaViolation),
])
def test_settlement_stateless_refusals(change, error):
    with pytest.raises(error):
        rebuilt(PayoutSettle.OPERATION, a_settlement(), ALICE, metadata=change)


def test_a_settlement_must_match_the_request_it_pays():
    with pytest.raises(PayoutTermsMismatch) as refused:
        rebuilt(PayoutSettle.OPERATION, a_settlement(), ALICE,
                metadata={"payee": BOB.public_key}).check_stateful(payouts(REQUEST))
    assert refused.value.field == "metadata.payee"


def test_a_settlement_paying_the_tokens_elsewhere_is_refused():
    with pytest.raises(PayoutWrongOutputs):
        rebuilt(PayoutSettle.OPERATION, a_settlement(), ALICE,
                outputs=[([BOB.public_key], 2000)]).check_stateful(payouts(REQUEST))


def test_a_settlement_names_a_payout_request():
    with pytest.raises(LinkWrongKind):
        rebuilt(PayoutSettle.OPERATION, a_settlement(), CAROL, metadata={"request": PURCHASE.id},
                inputs=[(PURCHASE, 0)]).check_stateful(payouts(REQUEST))


def test_a_settlement_spends_the_held_output_and_nothing_else():
    with pytest.raises(PayoutWrongInput):
        rebuilt(PayoutSettle.OPERATION, a_settlement(), CAROL, inputs=[(REQUEST, 1)])


# -- PAYOUT_CANCEL

@pytest.mark.parametrize("signer", [CAROL, ALICE], ids=["by the payee", "by the treasury"])
def test_either_party_cancels_and_the_tokens_return_to_the_payee(signer):
    cancellation = a_cancellation(signer=signer)
    assert signed_by(cancellation.inputs[0]) == [signer.public_key]
    assert [(output.public_keys, output.amount) for output in cancellation.outputs] == [
        ([CAROL.public_key], 2000)]
    cancellation.check_stateful(payouts(REQUEST))


@pytest.mark.parametrize("committed, pending", [
    ([a_settlement()], []), ([], [a_settlement()]), ([a_cancellation()], []),
], ids=["settled", "settled earlier in the block", "cancelled"])
def test_a_request_no_longer_open_cannot_be_cancelled(committed, pending):
    with pytest.raises(PayoutRequestNotOpen):
        a_cancellation().check_stateful(payouts(REQUEST, *committed, pending=pending))


def test_a_cancellation_returning_the_tokens_elsewhere_is_refused():
    with pytest.raises(PayoutWrongOutputs):
        rebuilt(PayoutCancel.OPERATION, a_cancellation(), ALICE,
                outputs=[([ALICE.public_key], 2000)]).check_stateful(payouts(REQUEST))


def test_an_open_request_is_found_with_two_head_lookups():
    ledger = payouts(REQUEST)
    store = ledger._bigchain
    store.finds.clear()
    assert open_request(ledger, REQUEST.id).id == REQUEST.id
    assert [name for name in store.finds if name == "rule_index"] == ["rule_index"] * 2


# -- the held tokens move only by a settlement or a cancellation

def test_a_plain_transfer_of_held_tokens_is_refused_even_signed_by_a_party():
    taken = signed(Transaction.transfer(REQUEST.to_inputs([0]), [([CAROL.public_key], 2000)],
                                        asset_id=CREDIT.id), CAROL)
    with pytest.raises(OutputHeld) as refused:
        registry.check_plain_transfer(taken, payouts(REQUEST))
    assert refused.value.expected == "PAYOUT_SETTLE or PAYOUT_CANCEL"


def test_a_play_or_another_request_cannot_spend_held_tokens():
    # A play's credits must be free tokens: its own rules refuse held ones, as the shared
    # input rules do first (types/channels.py listener_credits).
    with pytest.raises(OutputHeld):
        a_play(credits=((REQUEST, 0),)).check_stateful(payouts(REQUEST))
    again = a_request(2000, credits=((REQUEST, 0),))
    with pytest.raises(PayoutRequestNotPayee):
        again.check_stateful(payouts(REQUEST))
    with pytest.raises(OutputHeld):
        registry.check_held_outputs(again, payouts(REQUEST))
    registry.check_held_outputs(a_settlement(), payouts(REQUEST))
    registry.check_held_outputs(a_cancellation(), payouts(REQUEST))


# -- what a payee is owed and was paid (reads.payee_account, GET /payees/<key>/account)

DAY = 86400
T0 = 1_796_000_000


def history_store():
    """Carol asks for 2000 tokens (block 2); the treasury settles that and she asks for
    1000 more (block 3); she asks for 1000 again and cancels it (block 4)."""
    from .memory_store import MemoryStore
    from bigchaindb_resonate.ledger import NETWORK_PARAMETERS

    store = MemoryStore()
    store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **PARAMETERS})
    third = a_request(1000, credits=((SECOND, 1),))
    store.commit(1, *MARKET, time=T0)
    store.commit(2, REQUEST, time=T0 + DAY)
    store.commit(3, a_settlement(), SECOND, time=T0 + 2 * DAY)
    store.commit(4, third, a_cancellation(third), time=T0 + 3 * DAY)
    return store


def test_the_account_adds_open_requests_to_the_balance_and_lists_settled_payouts():
    from bigchaindb_resonate import reads

    store = history_store()
    store.finds.clear(), store.scans.clear()
    account = reads.payee_account(store, CAROL.public_key)
    assert account == {
        "public_key": CAROL.public_key, "balance": 2000,
        "open_requests": [{"id": SECOND.id, "amount": 1000, "requested_at": T0 + 2 * DAY}],
        "owed": 3000, "paid": 2000,
        "payouts": [{"request": REQUEST.id, "settlement": a_settlement().id, "amount": 2000,
                     "money_minor": 250, "currency": "EUR", "reference": "SEPA-0001",
                     "height": 3, "time": T0 + 2 * DAY}],
        "currency": "EUR", "rate": 800}
    # Every document is found by key (what FerretDB serves from its index), but the
    # parameters in force: the genesis document and the concluded parameter changes (one
    # small document per election), read once per process and block (docs/storage.md).
    assert [collection for collection, _ in store.scans] == ["network_parameters", "parameter_changes"]


def test_a_key_with_no_history_has_an_empty_account():
    from bigchaindb_resonate import reads

    account = reads.payee_account(history_store(), BOB.public_key)
    assert (account["balance"], account["owed"], account["paid"], account["open_requests"],
            account["payouts"]) == (0, 0, 0, [], [])


def test_held_tokens_are_in_neither_partys_credit_balance():
    from bigchaindb_resonate import reads

    store = committed_blocks(MARKET, [REQUEST])
    assert reads.credit_balance(store, CAROL.public_key)["balance"] == 3000
    treasury = reads.credit_balance(store, ALICE.public_key)
    assert treasury["balance"] == 10 ** 6 - 5000
    assert all(output["public_keys"] == [ALICE.public_key] for output in treasury["outputs"])


def committed_blocks(*blocks):
    from .memory_store import MemoryStore
    from bigchaindb_resonate.ledger import NETWORK_PARAMETERS

    store = MemoryStore()
    store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **PARAMETERS})
    for height, block in enumerate(blocks, 1):
        store.commit(height, *block, time=T0 + height)
    return store


def test_the_account_route_answers_the_documented_schema():
    import jsonschema

    from bigchaindb_resonate import api, reads
    from .test_reads import api_client, documented

    store = history_store()
    http = api_client(store)
    response = http.get(f"{api.PREFIX}/payees/{CAROL.public_key}/account")
    assert response.status_code == 200
    assert response.get_json() == reads.payee_account(store, CAROL.public_key)
    jsonschema.validate(response.get_json(), documented("/payees/{public_key}/account"))
    refused = http.get(f"{api.PREFIX}/payees/not-a-key/account")
    assert refused.status_code == 400 and refused.get_json()["message"]
