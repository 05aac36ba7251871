"""Rule tables for PARAMETER_ELECTION and its VOTEs on the in-memory ledger: four
validators of power 10 (BigchainDB's validator set format), blocks delivered as the node
delivers them (each transaction validated against the earlier ones, then upstream's
Election.process_block, then the commit), and the parameters in force read through the
real LedgerView."""
import base64

import base58
import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.common.exceptions import ValidationError
from bigchaindb.elections.election import Election
from bigchaindb.elections.vote import Vote
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import error_body
from bigchaindb_resonate.ledger import PARAMETER_CHANGES, LedgerView
from bigchaindb_resonate.operations import parameter_election as client_part
from bigchaindb_resonate.parameters import in_force, with_defaults
from bigchaindb_resonate.types.parameter_election import (
    ACTIVE, CONCLUDED, EXPIRED, ONGOING, ParameterElection, passes, status,
)
from .memory_store import MemoryStore
from .test_copyright import ALICE, BOB

GENESIS = {"treasury_keys": [ALICE.public_key], "platform_key": BOB.public_key,
           "coop_share_bp": 3000, "activation_lead_blocks": 5}
VALIDATORS = [generate_key_pair() for _ in range(4)]
POWER = 10
LEAD = GENESIS["activation_lead_blocks"]


def tendermint_key(keypair):
    return base64.b64encode(base58.b58decode(keypair.public_key)).decode()


def a_network(validators=VALIDATORS):
    """A store at height 1 (an empty first block) with the genesis parameters and validators."""
    store = MemoryStore()
    store.collection("network_parameters").documents.append({"chain_id": "memory", **GENESIS})
    store.collection("validators").documents.append({"height": 0, "validators": [
        {"public_key": {"type": "ed25519-base64", "value": tendermint_key(validator)},
         "voting_power": POWER} for validator in validators]})
    store.commit(1)
    store.validating_height = 2
    return store


def deliver(store, *transactions):
    """One block as the node delivers it: validate, end the block, commit; the next
    block is then the one being validated. The refusal of a transaction, if any."""
    height = store.validating_height
    accepted = []
    for tx in transactions:
        parsed = Transaction.from_dict(tx.to_dict())
        parsed.validate(store, accepted)
        accepted.append(parsed)
    Election.process_block(store, height, accepted)
    store.commit(height, *accepted)
    store.validating_height = height + 1


def empty_blocks(store, count):
    for _ in range(count):
        deliver(store)


def proposal(parameter="coop_share_bp", value=1500, activation=None, proposer=VALIDATORS[0],
             voters=VALIDATORS, seed="1", store=None):
    activation = activation if activation is not None else store.validating_height + LEAD
    tx = ParameterElection.build(proposer.public_key,
                                 [(voter.public_key, POWER) for voter in voters],
                                 parameter, value, activation, seed=seed)
    return tx.sign([proposer.private_key])


def a_vote(election, voter):
    return Vote.from_dict(client_part.vote(election.to_dict(), voter.public_key)
                          .sign([voter.private_key]).to_dict())


def voted(voters=(), *args, **kwargs):
    """A network where a proposal (of `args`, `kwargs`) is committed, then the votes of
    `voters` in one block (none: no block): the store and the election."""
    store = a_network()
    election = proposal(*args, store=store, **kwargs)
    deliver(store, election)
    if voters:
        deliver(store, *(a_vote(election, validator) for validator in voters))
    return store, election


def refusal(store, tx, pending=()):
    with pytest.raises(ValidationError) as refused:
        Transaction.from_dict(tx.to_dict()).validate(store, list(pending))
    return error_body(refused.value)["code"]


def in_force_at(store, height):
    return LedgerView(store).parameters_at(height)["coop_share_bp"]


@pytest.mark.parametrize("votes, total, passed", [
    (20, 30, False),  # exactly two thirds: upstream's float test (>=) would pass it
    (21, 30, True), (26, 40, False), (27, 40, True), (30, 40, True), (40, 40, True),
    (0, 40, False)])
def test_an_election_passes_with_more_than_two_thirds(votes, total, passed):
    assert passes(votes, total) is passed


def test_three_of_four_validators_change_the_coop_share_from_the_activation_height():
    store, election = voted(VALIDATORS[:2])
    activation = election.asset["data"]["activation_height"]
    assert LedgerView(store).parameter_change(election.id) is None  # 20 of 40
    deliver(store, a_vote(election, VALIDATORS[2]))
    change = LedgerView(store).parameter_change(election.id)
    assert change["concluded_height"] == 4 and change["activation_height"] == activation
    assert status(LedgerView(store), election, 5) == CONCLUDED
    assert [in_force_at(store, height) for height in (activation - 1, activation, activation + 1)] \
        == [3000, 1500, 1500]
    assert LedgerView(store).network_parameters()["coop_share_bp"] == 3000  # next block: 5
    empty_blocks(store, activation - store.validating_height)
    assert store.validating_height == activation
    assert LedgerView(store).network_parameters()["coop_share_bp"] == 1500
    assert status(LedgerView(store), election, activation) == ACTIVE
    # Votes after it concluded are refused, whether the voter voted or not.
    assert refusal(store, a_vote(election, VALIDATORS[3])) == "ELECTION_CONCLUDED"


def test_two_of_four_never_activate_and_votes_expire_at_the_activation_height():
    store, election = voted(VALIDATORS[:2])
    activation = election.asset["data"]["activation_height"]
    empty_blocks(store, activation - store.validating_height)
    assert status(LedgerView(store), election, activation) == EXPIRED
    assert refusal(store, a_vote(election, VALIDATORS[2])) == "ELECTION_EXPIRED"
    assert in_force_at(store, activation + 100) == 3000
    assert store.collection(PARAMETER_CHANGES).documents == []


def test_the_last_vote_one_block_before_the_activation_height_still_counts():
    store, election = voted(VALIDATORS[:2])
    activation = election.asset["data"]["activation_height"]
    empty_blocks(store, activation - 1 - store.validating_height)
    deliver(store, a_vote(election, VALIDATORS[2]))
    assert in_force_at(store, activation) == 1500


@pytest.mark.parametrize("parameter, value, lead, code", [
    ("coop_share_bp", 1500, LEAD, None),
    ("payout_currency", "GBP", LEAD, None),
    ("treasury_keys", [BOB.public_key], LEAD, None),
    ("activation_lead_blocks", 20, LEAD, None),
    ("surprise", 1, LEAD, "PARAMETER_UNKNOWN"),
    ("coop_share_bp", 10001, LEAD, "PARAMETER_OUT_OF_RANGE"),
    ("coop_share_bp", "1500", LEAD, "PARAMETER_OUT_OF_RANGE"),
    ("coop_share_bp", True, LEAD, "PARAMETER_OUT_OF_RANGE"),
    ("platform_key", "not a key", LEAD, "PARAMETER_OUT_OF_RANGE"),
    ("coop_share_bp", 1500, LEAD - 1, "PARAMETER_ACTIVATION_TOO_SOON"),
    ("coop_share_bp", 1500, 0, "PARAMETER_ACTIVATION_TOO_SOON"),
    ("coop_share_bp", 1500, 10 ** 6, None),
    ("coop_share_bp", 1500, 10 ** 6 + 1, "PARAMETER_ACTIVATION_TOO_LATE"),
])
def test_a_proposal_names_a_parameter_a_value_in_range_and_a_height_far_enough_ahead(
        parameter, value, lead, code):
    store = a_network()
    tx = proposal(parameter, value, store.validating_height + lead, store=store)
    if code is None:
        deliver(store, tx)
    else:
        assert refusal(store, tx) == code


def test_only_a_validator_proposes_and_every_validator_holds_its_power():
    store = a_network()
    outsider = generate_key_pair()
    assert refusal(store, proposal(proposer=outsider, store=store)) == "HOST_INVALID_PROPOSER"
    assert refusal(store, proposal(voters=VALIDATORS[:3], store=store)) == "HOST_UNEQUAL_VALIDATOR_SET"


def test_a_second_change_of_a_parameter_waits_until_the_first_is_settled():
    store = a_network()
    first = proposal(store=store)
    again = proposal(value=2000, seed="2", store=store)
    assert refusal(store, again, pending=[Transaction.from_dict(first.to_dict())]) \
        == "PARAMETER_CHANGE_PENDING"
    deliver(store, first)
    assert refusal(store, proposal(value=2000, seed="2", store=store)) == "PARAMETER_CHANGE_PENDING"
    deliver(store, proposal("payout_threshold", 9000, seed="3", store=store))  # another parameter
    deliver(store, *(a_vote(first, validator) for validator in VALIDATORS[:3]))
    # Passed, not in force yet: still pending.
    assert refusal(store, proposal(value=2000, seed="2", store=store)) == "PARAMETER_CHANGE_PENDING"
    empty_blocks(store, first.asset["data"]["activation_height"] - store.validating_height)
    deliver(store, proposal(value=2000, seed="2", store=store))


def test_an_expired_election_no_longer_holds_its_parameter():
    store, first = voted()
    empty_blocks(store, first.asset["data"]["activation_height"] - store.validating_height)
    assert status(LedgerView(store), first, store.validating_height) == EXPIRED
    deliver(store, proposal(value=2000, seed="2", store=store))


def test_an_election_is_ongoing_until_then():
    store, election = voted()
    assert status(LedgerView(store), election, store.validating_height) == ONGOING
    assert election.votes(LedgerView(store)) == 0
    deliver(store, a_vote(election, VALIDATORS[1]))
    assert election.votes(LedgerView(store)) == POWER


def test_a_plain_transfer_of_vote_tokens_is_refused():
    store, election = voted()
    voter = VALIDATORS[1]
    index = next(i for i, output in enumerate(election.outputs) if output.public_keys == [voter.public_key])
    moved = Transaction.transfer(election.to_inputs([index]), [([ALICE.public_key], POWER)],
                                 asset_id=election.id).sign([voter.private_key])
    assert refusal(store, moved) == "ASSET_NEEDS_OWN_OPERATION"


def test_crash_recovery_removes_the_change_its_block_concluded():
    store, election = voted(VALIDATORS[:2])
    concluding = a_vote(election, VALIDATORS[2])
    deliver(store, concluding)
    assert LedgerView(store).parameter_change(election.id) is not None
    Election.rollback(store, 4, [concluding.id])
    assert LedgerView(store).parameter_change(election.id) is None


@pytest.mark.parametrize("height, share, currency", [
    (1, 3000, "EUR"), (9, 3000, "EUR"), (10, 1500, "EUR"), (19, 1500, "EUR"), (20, 1000, "GBP")])
def test_values_in_force_by_activation_height(height, share, currency):
    changes = [{"parameter": "coop_share_bp", "value": 1000, "activation_height": 20},
               {"parameter": "payout_currency", "value": "GBP", "activation_height": 20},
               {"parameter": "coop_share_bp", "value": 1500, "activation_height": 10}]
    values = in_force(GENESIS, changes, height)
    assert (values["coop_share_bp"], values["payout_currency"]) == (share, currency)
    assert values["payout_rate"] == with_defaults({})["payout_rate"]


def test_changes_are_read_once_per_new_height_not_per_validation():
    store, election = voted(VALIDATORS[:3])
    store.commit(4, time=86400)  # the chain head's height, as the node keeps it
    del store.validating_height  # as in the HTTP API's processes: the next block is read
    store.finds.clear()
    for _ in range(5):
        assert LedgerView(store).network_parameters()["coop_share_bp"] == 3000
    assert store.finds.count(PARAMETER_CHANGES) == 1
    for _ in range(5):
        LedgerView(store).parameters_at(4)
    assert store.finds.count(PARAMETER_CHANGES) == 1
    LedgerView(store).parameters_at(50)  # beyond what the store had committed: read again
    assert store.finds.count(PARAMETER_CHANGES) == 2


def test_a_maximum_lead_below_the_minimum_still_lets_the_earliest_height_through():
    store, shortened = voted(VALIDATORS[:3], "activation_max_lead_blocks", 1)
    empty_blocks(store, shortened.asset["data"]["activation_height"] - store.validating_height)
    assert LedgerView(store).network_parameters()["activation_max_lead_blocks"] == 1
    deliver(store, proposal("activation_max_lead_blocks", 1000, seed="2", store=store))
    assert refusal(store, proposal(activation=store.validating_height + LEAD + 1, store=store)) \
        == "PARAMETER_ACTIVATION_TOO_LATE"


def test_a_vote_waits_until_its_election_is_in_a_block():
    store = a_network()
    election = proposal(store=store)
    pending = [Transaction.from_dict(election.to_dict())]
    assert refusal(store, a_vote(election, VALIDATORS[1]), pending) == "ELECTION_NOT_COMMITTED"


def test_the_abci_app_reads_the_changes_once_a_block_without_the_chain_head():
    store = a_network()  # the ABCI app's state: validating block 2, block 1 committed
    store.finds.clear()
    for _ in range(5):
        LedgerView(store).network_parameters()
    assert store.finds == ["network_parameters", PARAMETER_CHANGES]  # the genesis: once
    deliver(store)  # block 2; now validating 3
    store.finds.clear()
    for _ in range(5):
        LedgerView(store).network_parameters()
    assert store.finds == [PARAMETER_CHANGES]


def test_the_reads_give_each_value_with_its_height_and_election_and_the_open_ones():
    from bigchaindb_resonate import governance

    store = a_network()
    passed, open_one = proposal(store=store), proposal("payout_currency", "GBP", seed="2", store=store)
    deliver(store, passed, open_one)
    deliver(store, *(a_vote(passed, validator) for validator in VALIDATORS[:3]),
            a_vote(open_one, VALIDATORS[3]))
    activation = passed.asset["data"]["activation_height"]
    assert governance.parameters_at(store, activation - 1)["parameters"]["coop_share_bp"] == {
        "value": 3000, "since_height": 1, "election": None}
    assert governance.parameters_at(store, activation)["parameters"]["coop_share_bp"] == {
        "value": 1500, "since_height": activation, "election": passed.id}
    history = governance.parameter_history(store, "coop_share_bp")
    assert history["history"] == [
        {"value": 3000, "from_height": 1, "to_height": activation - 1, "election": None},
        {"value": 1500, "from_height": activation, "to_height": None, "election": passed.id}]
    assert history["open_election"]["status"] == CONCLUDED  # passed, not in force yet
    summary = governance.election(store, open_one.id)
    assert (summary["status"], summary["votes"], summary["total"], summary["needed"]) == (ONGOING, 10, 40, 27)
    assert [voter["voted"] for voter in summary["voters"]] == [
        key == VALIDATORS[3].public_key for key in sorted(v.public_key for v in VALIDATORS)]
    assert {entry["id"] for entry in governance.elections(store)["elections"]} == {passed.id, open_one.id}
    assert governance.parameter_history(store, "surprise") is None
    assert governance.election(store, "0" * 64) is None


def test_the_concluding_vote_is_not_refused_as_late_while_its_block_commits():
    # end_block records the change before commit stores the block's votes: an answer to the
    # concluding vote's sender read in between must not call that vote late.
    store = a_network()
    election = proposal(store=store)
    deliver(store, election)
    deliver(store, a_vote(election, VALIDATORS[0]), a_vote(election, VALIDATORS[1]))
    deliver(store, a_vote(election, VALIDATORS[2]))
    concluded = LedgerView(store).parameter_change(election.id)["concluded_height"]
    store.validating_height = concluded  # the rules of the block still committing
    Transaction.from_dict(a_vote(election, VALIDATORS[3]).to_dict()).validate(store, [])
    store.validating_height = concluded + 1  # the next block's
    assert refusal(store, a_vote(election, VALIDATORS[3])) == "ELECTION_CONCLUDED"
