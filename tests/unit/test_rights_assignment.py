"""Rule tables for RIGHTS_ASSIGNMENT: moving a Copyright or Right, or some of its shares."""
import pytest

from bigchaindb_resonate.errors import SchemaViolation
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.rights_assignment import (
    AssignmentNotARight, AssignmentNotInForce, RightsAssignment,
)
from bigchaindb_resonate.types.shares import InvalidShares
from .test_copyright import ALICE, BOB, CAROL, WORK, a_ledger, a_copyright, parsed
from .test_right import a_right

COPYRIGHT = parsed(a_copyright(validThrough="2030-12-31"))  # Alice holds all 100
RIGHT = a_right(COPYRIGHT, validThrough="2030-12-31")  # Bob holds all 100
ACTION = {"@context": COALAIP_CONTEXT, "@type": "RightsTransferAction"}
CONTRACT = {"uri": "https://resonate.coop/contracts/42.pdf", "hash": "0f" * 32}


def transfer(holding, outputs, metadata=ACTION):
    """A hand-made assignment of every output of `holding` to `outputs`."""
    return RightsAssignment.build(holding.to_inputs(), [
        ([key.public_key for key in keys], amount) for keys, amount in outputs],
        holding.id, metadata)


@pytest.mark.parametrize("holding, shares, holders", [
    (COPYRIGHT, None, [((CAROL.public_key,), 100)]),
    (COPYRIGHT, 40, sorted([((ALICE.public_key,), 60), ((CAROL.public_key,), 40)])),
    (RIGHT, 100, [((CAROL.public_key,), 100)]),
    (RIGHT, 1, sorted([((BOB.public_key,), 99), ((CAROL.public_key,), 1)])),
])
def test_a_holder_assigns_all_or_part_and_holders_follow(holding, shares, holders):
    holder = holding.outputs[0].public_keys[0]
    tx = parsed(RightsAssignment.assign(holding, holder, CAROL.public_key, shares,
                                        {"transferContract": CONTRACT, "description": "label deal"}))
    assert type(tx) is RightsAssignment and tx.metadata["@type"] == "RightsTransferAction"
    ledger = a_ledger([WORK, COPYRIGHT, RIGHT], [tx])
    tx.check_stateful(a_ledger([WORK, COPYRIGHT, RIGHT]))
    assert ledger.current_holders(holding.id) == holders


def test_shares_of_an_earlier_assignment_move_on():
    first = parsed(RightsAssignment.assign(RIGHT, BOB.public_key, CAROL.public_key, 30))
    second = parsed(RightsAssignment.assign(first, CAROL.public_key, ALICE.public_key, 10))
    assert second.asset["id"] == RIGHT.id
    second.check_stateful(a_ledger([WORK, COPYRIGHT, RIGHT, first]))
    assert a_ledger([WORK, COPYRIGHT, RIGHT, first, second]).current_holders(RIGHT.id) == sorted(
        [((BOB.public_key,), 70), ((CAROL.public_key,), 20), ((ALICE.public_key,), 10)])


@pytest.mark.parametrize("shares", [0, 101])
def test_the_builder_refuses_shares_not_held(shares):
    with pytest.raises(ValueError):
        RightsAssignment.assign(RIGHT, BOB.public_key, CAROL.public_key, shares)
    with pytest.raises(ValueError):
        RightsAssignment.assign(RIGHT, ALICE.public_key, CAROL.public_key)


@pytest.mark.parametrize("outputs, field", [
    ([([CAROL], 50), ([CAROL], 50)], "outputs[1].public_keys"),
    ([([CAROL, ALICE], 100)], "outputs[0].public_keys"),
])
def test_outputs_stay_single_holder_shares(outputs, field):
    with pytest.raises(InvalidShares) as caught:
        parsed(transfer(COPYRIGHT, outputs))
    assert caught.value.field == field


@pytest.mark.parametrize("metadata, field", [
    (None, "metadata"),
    ({**ACTION, "@type": "TransferAction"}, "metadata.@type"),
    ({"@type": "RightsTransferAction"}, "metadata"),
    ({**ACTION, "transferContract": {**CONTRACT, "hash": "0F" * 32}}, "metadata.transferContract.hash"),
    ({**ACTION, "transferContract": {"uri": "https://resonate.coop/c 42.pdf", "hash": "0f" * 32}},
     "metadata.transferContract.uri"),
    ({**ACTION, "price": 10}, "metadata"),
])
def test_the_metadata_is_a_rights_transfer_action(metadata, field):
    with pytest.raises(SchemaViolation) as caught:
        parsed(transfer(COPYRIGHT, [([CAROL], 100)], metadata))
    assert caught.value.field == field


def test_only_copyrights_and_rights_are_assigned():
    party = parsed(Party.build([ALICE.public_key], {"@type": "Person", "name": "Ada"}))
    tx = parsed(transfer(party, [([CAROL], 1)]))
    with pytest.raises(AssignmentNotARight) as caught:
        tx.check_stateful(a_ledger([party]))
    assert caught.value.expected == "COPYRIGHT or RIGHT"


@pytest.mark.parametrize("day, in_force", [
    ("2019-12-31", False), ("2020-01-01", True), ("2030-12-31", True), ("2031-01-01", False),
    (None, False),
])
def test_only_what_is_in_force_is_assigned(day, in_force):
    tx = parsed(RightsAssignment.assign(RIGHT, BOB.public_key, CAROL.public_key))
    ledger = a_ledger([WORK, COPYRIGHT, RIGHT], day=day)
    if in_force:
        tx.check_stateful(ledger)
    else:
        with pytest.raises(AssignmentNotInForce):
            tx.check_stateful(ledger)
