"""Rule tables for SPLIT, and the records the PLAY tests share: a recording with its
Copyright, royalty splits, and the split in force (latest in commit order)."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import LinkWrongKind, RecordShape, SchemaViolation
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.split import (
    Split, SplitNoCopyright, SplitNotHolders, SplitPayeesInvalid, SplitTotalInvalid, split_in_force,
)
from .test_copyright import ALICE, BOB, CAROL, WORK, a_ledger, a_copyright, parsed


TRACK = parsed(Manifestation.build([ALICE.public_key], {
    "@type": "MusicRecording", "name": "Song", "recordingOf": WORK.id,
    "byArtist": WORK.asset["data"]["composer"]}))
COPYRIGHT = parsed(a_copyright(subject=TRACK))  # Alice holds all 100 shares


def a_split(payees, subject=TRACK, signers=(ALICE,)):
    return parsed(Split.build([key.public_key for key in signers], {
        "subject": subject.id, "payees": [(key.public_key, bp) for key, bp in payees]}))


def raw_split(payees, holder=None):
    """A split whose payees are written as given (the builder would sort them)."""
    record = {"@context": COALAIP_CONTEXT, "@type": "RoyaltySplit", "subject": TRACK.id,
              "payees": [{"publicKey": key, "shareBp": bp} for key, bp in payees]}
    tx = Split.create([ALICE.public_key], [([holder or ALICE.public_key], 1)], asset=record)
    return parsed(tx)


def keys_in_order():
    return sorted(key.public_key for key in (ALICE, BOB, CAROL))


def test_the_builder_puts_payees_in_canonical_order():
    tx = a_split([(CAROL, 2000), (BOB, 3000), (ALICE, 5000)])
    assert [payee["publicKey"] for payee in tx.asset["data"]["payees"]] == keys_in_order()
    assert tx.asset["data"]["@type"] == "RoyaltySplit"
    tx.check_stateful(a_ledger([WORK, TRACK, COPYRIGHT]))


@pytest.mark.parametrize("payees, error", [
    (lambda first, second: [(second, 5000), (first, 5000)], SplitPayeesInvalid),
    (lambda first, second: [(first, 5000), (first, 5000)], SplitPayeesInvalid),
    (lambda first, second: [("2" * 32, 5000), (second, 5000)], SplitPayeesInvalid),
    (lambda first, second: [(first, 5000), (second, 4999)], SplitTotalInvalid),
    (lambda first, second: [(first, 5000), (second, 5001)], SplitTotalInvalid),
    (lambda first, second: [(first, 10000), (second, 0)], SchemaViolation),
    (lambda first, second: [(first, 10001)], SchemaViolation),
    (lambda first, second: [], SchemaViolation),
    (lambda first, second: [(first, 1)] * 51, SchemaViolation),
])
def test_invalid_payees_are_refused(payees, error):
    first, second = keys_in_order()[:2]
    with pytest.raises(error):
        raw_split(payees(first, second))


def test_a_split_is_held_by_its_signers():
    with pytest.raises(RecordShape):
        raw_split([(ALICE.public_key, 10000)], holder=BOB.public_key)


@pytest.mark.parametrize("subject, signers, history, error", [
    (TRACK, (ALICE,), [WORK, TRACK, COPYRIGHT], None),
    (COPYRIGHT, (ALICE,), [WORK, TRACK, COPYRIGHT], None),
    (TRACK, (BOB,), [WORK, TRACK, COPYRIGHT], SplitNotHolders),
    (TRACK, (ALICE, BOB), [WORK, TRACK, COPYRIGHT], SplitNotHolders),
    (TRACK, (ALICE,), [WORK, TRACK], SplitNoCopyright),
    (WORK, (ALICE,), [WORK, TRACK, COPYRIGHT], LinkWrongKind),
])
def test_only_all_current_holders_of_the_copyright_set_the_split(subject, signers, history, error):
    tx = a_split([(BOB, 10000)], subject=subject, signers=signers)
    if error is None:
        tx.check_stateful(a_ledger(history))
    else:
        with pytest.raises(error):
            tx.check_stateful(a_ledger(history))


def test_every_holder_of_every_copyright_of_the_track_signs():
    shared = parsed(a_copyright(subject=TRACK, holders=((ALICE, 60), (BOB, 40)),
                                territory={"include": ["US"]}))
    history = [WORK, TRACK, COPYRIGHT, shared]
    with pytest.raises(SplitNotHolders) as refused:
        a_split([(BOB, 10000)]).check_stateful(a_ledger(history))
    assert refused.value.expected == f"exactly {sorted([ALICE.public_key, BOB.public_key])}"
    a_split([(BOB, 10000)], signers=(ALICE, BOB)).check_stateful(a_ledger(history))


def test_the_latest_split_of_the_track_is_in_force_else_the_copyrights():
    by_copyright = a_split([(CAROL, 10000)], subject=COPYRIGHT)
    first, second = a_split([(ALICE, 10000)]), a_split([(BOB, 10000)])
    assert split_in_force(a_ledger([WORK, TRACK, COPYRIGHT]), TRACK.id) is None
    assert split_in_force(a_ledger([WORK, TRACK, COPYRIGHT, by_copyright]), TRACK.id) is by_copyright
    committed = [WORK, TRACK, COPYRIGHT, second, by_copyright]
    assert split_in_force(a_ledger(committed), TRACK.id) is second
    assert split_in_force(a_ledger(committed, [first]), TRACK.id) is first


def test_a_split_record_reads_back():
    tx = a_split([(ALICE, 10000)])
    assert Transaction.from_dict(tx.to_dict()).asset["data"]["payees"] == [
        {"publicKey": ALICE.public_key, "shareBp": 10000}]
