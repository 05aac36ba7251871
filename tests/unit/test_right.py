"""Rule tables for RIGHT: a licence never carries more than its source."""
import pytest

from bigchaindb_resonate.errors import LinkWrongKind, SchemaViolation
from bigchaindb_resonate.types.right import (
    Right, RightExceedsPeriod, RightExceedsTerritory, RightExceedsUsage, RightExceedsUses,
    RightExclusivityConflict, RightNotHolder, RightSourceNotInForce, remaining_uses,
)
from bigchaindb_resonate.types.rights_assignment import RightsAssignment
from .test_copyright import ALICE, BOB, CAROL, WORK, a_ledger, a_copyright, parsed

LICENSE = {"uri": "https://resonate.coop/licences/stream-v1.pdf", "hash": "ab" * 32}
TERMS = {"usageType": ["on_demand_stream", "download"], "territory": {"include": ["GB", "FR"]},
         "validFrom": "2020-01-01", "validThrough": "2030-12-31", "exclusive": False,
         "numberOfUses": 1000, "license": LICENSE}
COPYRIGHT = parsed(a_copyright())  # Alice's, worldwide from 2020, all usages, unlimited


def a_right(parent, signers=(ALICE,), holders=((BOB, 100),), link="source", **terms):
    """A Right on TERMS changed by `terms`; a term given as None is left out."""
    data = {key: value for key, value in {link: parent.id, **TERMS, **terms}.items()
            if value is not None}
    return parsed(Right.build([key.public_key for key in signers], data,
                              holders=[(key.public_key, share) for key, share in holders]))


PARENT = a_right(COPYRIGHT)  # Bob's licence: GB and FR, streams and downloads, 2020-2030, 1000 uses


def child(**terms):
    return a_right(PARENT, signers=(BOB,), holders=((CAROL, 100),), **terms)


def history(*pending):
    return a_ledger([WORK, COPYRIGHT, PARENT], pending)


@pytest.mark.parametrize("link", ["source", "allowedBy"])
def test_a_right_names_its_source_by_either_name(link):
    tx = a_right(COPYRIGHT, link=link)
    assert type(tx) is Right and tx.asset["data"]["@type"] == "Right"
    tx.check_stateful(history())


@pytest.mark.parametrize("change, field", [
    ({"allowedBy": "ab" * 32}, "asset.data"),
    ({"usageType": []}, "asset.data.usageType"),
    ({"usageType": ["download", "download"]}, "asset.data.usageType"),
    ({"usageType": ["piracy"]}, "asset.data.usageType[0]"),
    ({"exclusive": "yes"}, "asset.data.exclusive"),
    ({"numberOfUses": 0}, "asset.data.numberOfUses"),
    ({"numberOfUses": 2.5}, "asset.data.numberOfUses"),
    ({"license": {"uri": "ftp://x.org/l.pdf", "hash": "ab" * 32}}, "asset.data.license.uri"),
    ({"license": {"uri": LICENSE["uri"], "hash": "AB" * 32}}, "asset.data.license.hash"),
    ({"license": {"uri": LICENSE["uri"]}}, "asset.data.license"),
    ({"rightContext": ["x"]}, "asset.data"),
])
def test_invalid_rights_are_refused_by_the_schema(change, field):
    with pytest.raises(SchemaViolation) as caught:
        a_right(COPYRIGHT, **change)
    assert caught.value.field == field


def test_the_source_link_is_required():
    with pytest.raises(SchemaViolation):
        a_right(COPYRIGHT, source=None)


@pytest.mark.parametrize("terms, error", [
    ({}, None),
    ({"territory": {"include": ["GB"]}, "usageType": ["download"], "numberOfUses": 1}, None),
    ({"validFrom": "2030-12-31"}, None),
    ({"territory": {"include": ["GB", "DE"]}}, RightExceedsTerritory),
    ({"territory": {"include": ["Worldwide"], "exclude": ["DE"]}}, RightExceedsTerritory),
    ({"usageType": ["download", "sync"]}, RightExceedsUsage),
    ({"numberOfUses": 1001}, RightExceedsUses),
    ({"numberOfUses": None}, RightExceedsUses),  # unlimited under a limited source
])
def test_a_derived_right_stays_within_its_source(terms, error):
    tx = child(**terms)
    if error is None:
        tx.check_stateful(history())
    else:
        with pytest.raises(error):
            tx.check_stateful(history())


@pytest.mark.parametrize("terms, field", [
    ({"validFrom": "2019-12-31"}, "asset.data.validFrom"),
    ({"validThrough": "2031-01-01"}, "asset.data.validThrough"),
    ({"validThrough": None}, "asset.data.validThrough"),  # open-ended under a source that ends
])
def test_a_period_beyond_the_source_names_the_end_that_reaches_beyond(terms, field):
    with pytest.raises(RightExceedsPeriod) as refused:
        child(**terms).check_stateful(history())
    assert refused.value.field == field


@pytest.mark.parametrize("terms", [
    {"territory": {"include": ["Worldwide"]}, "validThrough": "2099-12-31"},
    {"usageType": ["sync", "performance", "print"], "numberOfUses": 5},
])
def test_a_copyright_source_allows_every_usage_any_uses_within_its_terms(terms):
    a_right(COPYRIGHT, **terms).check_stateful(history())


def test_only_the_current_holders_derive():
    with pytest.raises(RightNotHolder) as caught:
        a_right(PARENT, signers=(ALICE,)).check_stateful(history())
    assert caught.value.field == "inputs[0].owners_before"
    # After Bob assigns 40 shares to Carol, both hold the licence and both must sign.
    assignment = parsed(RightsAssignment.assign(PARENT, BOB.public_key, CAROL.public_key, 40))
    with pytest.raises(RightNotHolder):
        child().check_stateful(history(assignment))
    a_right(PARENT, signers=(BOB, CAROL), holders=((ALICE, 100),)).check_stateful(
        history(assignment))


def test_a_work_is_no_source():
    with pytest.raises(LinkWrongKind):
        a_right(WORK).check_stateful(history())


@pytest.mark.parametrize("day, in_force", [
    ("2019-12-31", False), ("2020-01-01", True), ("2030-12-31", True), ("2031-01-01", False),
    (None, False),  # no block yet: nothing to judge by
])
def test_the_source_must_be_in_force_on_the_consensus_date(day, in_force):
    tx = child(validFrom="2030-12-31")
    ledger = a_ledger([WORK, COPYRIGHT, PARENT], day=day)
    if in_force:
        tx.check_stateful(ledger)
    else:
        with pytest.raises(RightSourceNotInForce):
            tx.check_stateful(ledger)


def test_uses_already_given_to_siblings_count_committed_or_same_block():
    first = child(numberOfUses=600)
    older = a_right(PARENT, signers=(BOB,), holders=((ALICE, 100),), link="allowedBy",
                    numberOfUses=300)
    for ledger in (a_ledger([WORK, COPYRIGHT, PARENT, first, older]),
                   a_ledger([WORK, COPYRIGHT, PARENT, older], [first])):
        child(numberOfUses=100, territory={"include": ["FR"]}).check_stateful(ledger)
        with pytest.raises(RightExceedsUses) as caught:
            child(numberOfUses=101).check_stateful(ledger)
        assert caught.value.expected == "at most 100"


@pytest.mark.parametrize("source_data, siblings, remaining", [
    ({}, [], None),
    ({}, [{"numberOfUses": 5}], None),
    ({"numberOfUses": 10}, [], 10),
    ({"numberOfUses": 10}, [{"numberOfUses": 4}, {"numberOfUses": 6}], 0),
])
def test_remaining_uses(source_data, siblings, remaining):
    class Sibling:
        def __init__(self, data):
            self.asset = {"data": data}
    assert remaining_uses(source_data, [Sibling(data) for data in siblings]) == remaining


@pytest.mark.parametrize("existing, new, conflict", [
    ({"exclusive": True}, {"exclusive": False}, True),
    ({"exclusive": False}, {"exclusive": True}, True),
    ({"exclusive": False}, {"exclusive": False}, False),
    ({"exclusive": True}, {"exclusive": True, "territory": {"include": ["FR"]},
                           "numberOfUses": 1}, False),
    ({"exclusive": True, "territory": {"include": ["GB"]}}, {"exclusive": True}, True),
    ({"exclusive": True, "usageType": ["download"]},
     {"exclusive": True, "usageType": ["on_demand_stream"], "territory": {"include": ["GB"]}}, False),
    ({"exclusive": True, "validThrough": "2024-12-31"},
     {"exclusive": True, "validFrom": "2025-01-01"}, False),
    ({"exclusive": True, "validThrough": "2025-01-01"},
     {"exclusive": True, "validFrom": "2025-01-01"}, True),
])
def test_an_exclusive_right_overlaps_no_sibling(existing, new, conflict):
    base = {"territory": {"include": ["GB"]}, "numberOfUses": 1}
    sibling = child(**{**base, **existing})
    tx = a_right(PARENT, signers=(BOB,), holders=((ALICE, 100),), **{**base, **new})
    for ledger in (history(sibling), a_ledger([WORK, COPYRIGHT, PARENT, sibling])):
        if conflict:
            with pytest.raises(RightExclusivityConflict):
                tx.check_stateful(ledger)
        else:
            tx.check_stateful(ledger)


def test_rights_of_another_source_do_not_conflict():
    other = a_right(COPYRIGHT, exclusive=True, holders=((CAROL, 100),))
    child(exclusive=True).check_stateful(history(other))
