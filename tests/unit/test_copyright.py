"""Rule tables for COPYRIGHT, and the in-memory ledger the rights tests share.

Every transaction is built and signed for real and parsed as a node parses it; stateful
rules run through the real LedgerView over the in-memory ledger filed by the real index.
"""
import copy

import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import host
from bigchaindb_resonate.errors import (
    EmptyTerritory, InvalidDate, InvalidPeriod, LinkNotFound, LinkWrongKind, SchemaViolation,
)
from bigchaindb_resonate.schemas import CompiledSchema
from bigchaindb_resonate.types.copyright import (
    Copyright, CopyrightConflict, CopyrightNotRegistrant, terms_overlap,
)
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.shares import InvalidShares
from bigchaindb_resonate.types.work import Work
from bigchaindb_resonate.validators.terms import COUNTRY_CODES, USAGE_TYPES
from .memory_store import memory_ledger

# The fixtures below are transactions parsed at import, before the session fixture runs.
host.apply()
ALICE, BOB, CAROL = (generate_key_pair() for _ in range(3))
TODAY = "2026-06-01"


def a_ledger(committed=(), pending=(), day=TODAY, parameters=None):
    """The one in-memory ledger (memory_store.py), on a fixed consensus date by default."""
    return memory_ledger(committed, pending, parameters=parameters, day=day)


def parsed(tx):
    """Sign with every key the transaction names, then parse as a node does."""
    keys = {pair.public_key: pair.private_key for pair in (ALICE, BOB, CAROL)}
    signers = sorted({key for input_ in tx.inputs for key in input_.owners_before})
    return Transaction.from_dict(tx.sign([keys[key] for key in signers]).to_dict())


def a_work(*registrants):
    party = parsed(Party.build([ALICE.public_key], {"@type": "Person", "name": "Ada"}))
    work = Work.build([key.public_key for key in registrants],
                      {"@type": "MusicComposition", "name": "Song", "composer": [party.id]})
    return parsed(work)


WORK = a_work(ALICE)
TERMS = {"territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01"}


def a_copyright(signers=(ALICE,), subject=WORK, holders=None, **terms):
    data = {"rightsOf": subject.id, **TERMS, **terms}
    holders = holders and [(key.public_key, share) for key, share in holders]
    return Copyright.build([key.public_key for key in signers], data, holders=holders)


def reparsed(tx_dict):
    """A hand-edited transaction dict, re-identified and parsed."""
    tx = copy.deepcopy(tx_dict)
    tx["id"] = None
    tx["id"] = Transaction._to_hash(Transaction._to_str(tx))
    return Transaction.from_dict(tx)


@pytest.mark.parametrize("terms, holders", [
    ({}, None),
    ({"validThrough": "2095-12-31"}, [(ALICE, 60), (BOB, 40)]),
    ({"territory": {"include": ["Worldwide"], "exclude": ["US", "CA"]}}, [(BOB, 100)]),
    ({"territory": {"include": ["GB", "IE"]}, "validThrough": "2020-01-01"}, [(ALICE, 1), (BOB, 99)]),
])
def test_valid_copyrights_parse(terms, holders):
    tx = parsed(a_copyright(holders=holders, **terms))
    assert type(tx) is Copyright and tx.asset["data"]["@type"] == "Copyright"
    assert sum(output.amount for output in tx.outputs) == 100


@pytest.mark.parametrize("terms, error, field", [
    ({"territory": {"include": ["GB"], "exclude": ["GB"]}}, EmptyTerritory, "asset.data.territory"),
    ({"territory": {"include": []}}, SchemaViolation, "asset.data.territory.include"),
    ({"territory": {"include": ["ZZ"]}}, SchemaViolation, "asset.data.territory.include[0]"),
    ({"territory": {"include": ["GB"], "exclude": ["Worldwide"]}}, SchemaViolation,
     "asset.data.territory.exclude[0]"),
    ({"territory": {"include": ["GB"], "region": "EU"}}, SchemaViolation, "asset.data.territory"),
    ({"validFrom": "2026-02-30"}, InvalidDate, "asset.data.validFrom"),
    ({"validFrom": "2026-1-1"}, InvalidDate, "asset.data.validFrom"),
    ({"validThrough": "2019-12-31"}, InvalidPeriod, "asset.data.validThrough"),
    ({"rightsOf": "not-an-id"}, SchemaViolation, "asset.data.rightsOf"),
    ({"@type": "Right"}, SchemaViolation, "asset.data.@type"),
    ({"percentageShares": 50}, SchemaViolation, "asset.data"),
])
def test_invalid_copyrights_are_refused_with_their_code(terms, error, field):
    with pytest.raises(error) as caught:
        parsed(a_copyright(**terms))
    assert caught.value.field == field


@pytest.mark.parametrize("outputs, field", [
    ([([ALICE], 60), ([BOB], 30)], "outputs"),
    ([([ALICE], 60), ([BOB], 41)], "outputs"),
    ([([ALICE], 50), ([ALICE], 50)], "outputs[1].public_keys"),
    ([([ALICE, BOB], 100)], "outputs[0].public_keys"),
])
def test_shares_must_be_single_holders_summing_to_100(outputs, field):
    tx = Copyright.create([ALICE.public_key], [
        ([key.public_key for key in holders], amount) for holders, amount in outputs],
        asset=a_copyright().asset["data"])
    with pytest.raises(InvalidShares) as caught:
        parsed(tx)
    assert caught.value.field == field


def test_a_zero_share_is_refused():
    tx = parsed(a_copyright(holders=[(ALICE, 60), (BOB, 40)])).to_dict()
    tx = copy.deepcopy(tx)
    tx["outputs"][1]["amount"], tx["outputs"][0]["amount"] = "0", "100"
    with pytest.raises(InvalidShares) as caught:
        reparsed(tx)
    assert caught.value.field == "outputs[1].amount"


def test_schema_codes_are_those_frozen_in_terms():
    document = CompiledSchema("copyright_v1.0").document
    assert set(document["definitions"]["country"]["enum"]) == COUNTRY_CODES
    right = CompiledSchema("right_v1.0").document
    assert right["definitions"]["country"] == document["definitions"]["country"]
    assert tuple(right["properties"]["usageType"]["items"]["enum"]) == USAGE_TYPES


GB = {"include": ["GB"]}
EUROPE_NOT_GB = {"include": ["Worldwide"], "exclude": ["GB"]}


@pytest.mark.parametrize("first, second, overlap", [
    ({"territory": GB, "validFrom": "2020-01-01"}, {"territory": GB, "validFrom": "2030-01-01"}, True),
    ({"territory": GB, "validFrom": "2020-01-01", "validThrough": "2029-12-31"},
     {"territory": GB, "validFrom": "2030-01-01"}, False),
    ({"territory": GB, "validFrom": "2020-01-01", "validThrough": "2030-01-01"},
     {"territory": GB, "validFrom": "2030-01-01"}, True),  # both ends inclusive
    ({"territory": GB, "validFrom": "2020-01-01"}, {"territory": EUROPE_NOT_GB, "validFrom": "2020-01-01"},
     False),
])
def test_terms_overlap_needs_a_shared_country_and_day(first, second, overlap):
    assert terms_overlap(first, second) is overlap
    assert terms_overlap(second, first) is overlap


def test_the_registrant_registers_a_copyright():
    tx = parsed(a_copyright())
    tx.check_stateful(a_ledger([WORK]))
    # the subject may be earlier in the same block
    tx.check_stateful(a_ledger(pending=[WORK]))


@pytest.mark.parametrize("signers", [(BOB,), (ALICE, BOB)])
def test_only_the_registrant_registers_a_copyright(signers):
    tx = parsed(a_copyright(signers=signers, holders=[(ALICE, 100)]))
    with pytest.raises(CopyrightNotRegistrant) as caught:
        tx.check_stateful(a_ledger([WORK]))
    assert caught.value.field == "inputs[0].owners_before"


def test_joint_registrants_register_together():
    joint = a_work(ALICE, BOB)
    together = a_copyright(signers=(BOB, ALICE), subject=joint, holders=[(ALICE, 50), (BOB, 50)])
    parsed(together).check_stateful(a_ledger([joint]))
    with pytest.raises(CopyrightNotRegistrant):
        parsed(a_copyright(subject=joint)).check_stateful(a_ledger([joint]))


def test_the_subject_is_a_work_or_manifestation():
    party = parsed(Party.build([ALICE.public_key], {"@type": "Person", "name": "Ada"}))
    with pytest.raises(LinkWrongKind):
        parsed(a_copyright(subject=party)).check_stateful(a_ledger([party]))
    with pytest.raises(LinkNotFound):
        parsed(a_copyright()).check_stateful(a_ledger())


@pytest.mark.parametrize("existing, new, conflict", [
    ({}, {"validFrom": "2024-01-01"}, True),
    ({"territory": GB}, {"territory": {"include": ["GB", "FR"]}}, True),
    ({"territory": GB}, {"territory": EUROPE_NOT_GB}, False),
    ({"validThrough": "2023-12-31"}, {"validFrom": "2024-01-01"}, False),
])
def test_one_copyright_per_subject_country_and_day(existing, new, conflict):
    first = parsed(a_copyright(holders=[(BOB, 100)], **existing))
    second = parsed(a_copyright(**new))
    for ledger in (a_ledger([WORK, first]), a_ledger([WORK], [first])):
        if conflict:
            with pytest.raises(CopyrightConflict):
                second.check_stateful(ledger)
        else:
            second.check_stateful(ledger)
