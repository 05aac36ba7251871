"""Rule tables for PLAY over an in-memory market: Alice's recording, its Copyright and
split (Alice 70%, Bob 30%), a streaming licence held by the platform (Bob), the credit
token issued by the treasury (Alice) and 5000 tokens bought by the listener (Carol)."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import LinkWrongKind, SchemaViolation
from bigchaindb_resonate.types.credit import Credit, NetworkHasNoParameters
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.play import (
    Play, PlayNoSplit, PlayNotCredit, PlayNotListener, PlayNumberMismatch, PlayRightNotInForce,
    PlayRightNotPlatform, PlayRightNotStreaming, PlayRightOtherTrack, PlayRightTerritory,
    PlayUnknownTerritory, PlayWrongOutputs, PlayWrongPrice, PlayWrongSplit,
)
from bigchaindb_resonate.types.right import Right
from bigchaindb_resonate.types.split import payees_of
from .test_copyright import ALICE, BOB, CAROL, WORK, a_copyright, a_ledger, parsed
from .test_split import COPYRIGHT, TRACK, a_split

PARAMETERS = {"treasury_keys": [ALICE.public_key], "platform_key": BOB.public_key,
              "coop_share_bp": 3000}
LICENCE_TERMS = {"usageType": ["on_demand_stream"], "territory": {"include": ["GB", "FR"]},
                 "validFrom": "2020-01-01", "validThrough": "2030-12-31", "exclusive": False,
                 "license": {"uri": "https://resonate.coop/l.pdf", "hash": "ab" * 32}}


def a_licence(source=COPYRIGHT, holder=BOB, **terms):
    return parsed(Right.build([ALICE.public_key], {"source": source.id, **LICENCE_TERMS, **terms},
                              holders=[(holder.public_key, 100)]))


CREDIT = parsed(Credit.build([ALICE.public_key], supply=10 ** 6))
PURCHASE = parsed(Transaction.transfer(CREDIT.to_inputs(), [([CAROL.public_key], 5000),
                                                           ([ALICE.public_key], 10 ** 6 - 5000)],
                                       asset_id=CREDIT.id))
LICENCE = a_licence()
SPLIT = a_split([(ALICE, 7000), (BOB, 3000)])
MARKET = [WORK, TRACK, COPYRIGHT, LICENCE, CREDIT, PURCHASE, SPLIT]


def a_play(number=0, credits=((PURCHASE, 0),), listener=CAROL, split=SPLIT, **play):
    return parsed(Play.pay([(tx, index) for tx, index in credits], listener.public_key, {
        "track": TRACK.id, "territory": "GB", "right": LICENCE.id, "playNumber": number,
        "split": split.id, **play}, payees_of(split), PARAMETERS))


def plays(count):
    """The listener's first `count` plays, each spending the change of the one before."""
    done, wallet = [], (PURCHASE, 0)
    for number in range(count):
        done.append(a_play(number, credits=(wallet,)))
        wallet = (done[-1], len(done[-1].outputs) - 1)
    return done, wallet


def market(*extra, pending=(), parameters=PARAMETERS, day="2026-06-01"):
    return a_ledger([*MARKET, *extra], pending, parameters=parameters, day=day)


def test_the_first_play_pays_2_tokens_to_alice_and_the_coop():
    tx = a_play()
    assert tx.metadata["price"] == 2 and tx.metadata["listener"] == CAROL.public_key
    assert [(output.public_keys, output.amount) for output in tx.outputs] == [
        ([ALICE.public_key], 1), ([BOB.public_key], 1), ([CAROL.public_key], 4998)]
    tx.check_stateful(market())


def test_ten_plays_in_one_block_then_the_track_is_owned_and_free():
    done, _ = plays(10)
    for number, tx in enumerate(done):
        tx.check_stateful(market(pending=done[:number]))
    assert [tx.metadata["price"] for tx in done] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 0]
    free = done[9]
    assert "split" not in free.metadata
    assert [(output.public_keys, output.amount) for output in free.outputs] == [
        ([CAROL.public_key], 5000 - 1022)]


def forged(tx, metadata=None, outputs=None):
    """`tx` rebuilt with other metadata or outputs."""
    return parsed(Play.build([input_ for input_ in PURCHASE.to_inputs([0])],
                             outputs or [(output.public_keys, output.amount) for output in tx.outputs],
                             tx.asset["id"], {**tx.metadata, **(metadata or {})}))


@pytest.mark.parametrize("change, error", [
    ({"price": 4}, PlayWrongPrice),
    ({"price": 0}, PlayWrongPrice),
    ({"territory": "XX"}, PlayUnknownTerritory),
    ({"territory": "gb"}, SchemaViolation),
    ({"playNumber": -1}, SchemaViolation),
    ({"listener": "not a key"}, SchemaViolation),
])
def test_stateless_refusals(change, error):
    with pytest.raises(error):
        forged(a_play(), change)


def test_more_than_the_price_to_a_payee_is_refused_with_the_expected_outputs():
    tx = a_play()
    outputs = [([ALICE.public_key], 2), ([CAROL.public_key], 4998)]
    with pytest.raises(PlayWrongOutputs) as refused:
        forged(tx, outputs=outputs).check_stateful(market())
    assert refused.value.expected == str([(output.public_keys, output.amount) for output in tx.outputs])


OTHER_TRACK = parsed(Manifestation.build([ALICE.public_key], {
    "@type": "MusicRecording", "name": "Other", "recordingOf": WORK.id,
    "byArtist": WORK.asset["data"]["composer"]}))
OTHER_COPYRIGHT = parsed(a_copyright(subject=OTHER_TRACK))
WORK_COPYRIGHT = parsed(a_copyright(territory={"include": ["GB"]}))
NOT_PLATFORMS = a_licence(holder=CAROL)
NOT_STREAMING = a_licence(usageType=["download"])
OTHER_TRACKS = a_licence(source=OTHER_COPYRIGHT)
WORKS = a_licence(source=WORK_COPYRIGHT, territory={"include": ["GB"]})
SUBLICENCE = parsed(Right.build([BOB.public_key], {"source": LICENCE.id, **LICENCE_TERMS},
                                holders=[(BOB.public_key, 100)]))
LICENCES = [OTHER_TRACK, OTHER_COPYRIGHT, WORK_COPYRIGHT, NOT_PLATFORMS, NOT_STREAMING,
            OTHER_TRACKS, WORKS, SUBLICENCE]


@pytest.mark.parametrize("play, ledger, error", [
    (lambda: a_play(), lambda: market(parameters=None), NetworkHasNoParameters),
    (lambda: a_play(credits=((COPYRIGHT, 0),), listener=ALICE), lambda: market(), PlayNotCredit),
    (lambda: a_play(listener=BOB), lambda: market(), PlayNotListener),
    (lambda: a_play(1), lambda: market(), PlayNumberMismatch),
    (lambda: a_play(split=a_split([(CAROL, 10000)])), lambda: market(), PlayWrongSplit),
    (lambda: a_play(), lambda: a_ledger([WORK, TRACK, COPYRIGHT, LICENCE, CREDIT, PURCHASE],
                                            parameters=PARAMETERS), PlayNoSplit),
    (lambda: a_play(right=TRACK.id), lambda: market(), LinkWrongKind),
    (lambda: a_play(right=NOT_PLATFORMS.id), lambda: market(*LICENCES), PlayRightNotPlatform),
    (lambda: a_play(right=NOT_STREAMING.id), lambda: market(*LICENCES), PlayRightNotStreaming),
    (lambda: a_play(territory="US"), lambda: market(), PlayRightTerritory),
    (lambda: a_play(), lambda: market(day="2031-01-01"), PlayRightNotInForce),
    (lambda: a_play(right=OTHER_TRACKS.id), lambda: market(*LICENCES), PlayRightOtherTrack),
    (lambda: a_play(right=WORKS.id), lambda: market(*LICENCES), None),
    (lambda: a_play(right=SUBLICENCE.id), lambda: market(*LICENCES), None),
])
def test_stateful_rules(play, ledger, error):
    tx = play()
    if error is None:
        tx.check_stateful(ledger())
    else:
        with pytest.raises(error):
            tx.check_stateful(ledger())


def test_a_paid_play_built_without_a_split_in_force_is_refused_as_play_no_split():
    """What the client builds when no split is in force: no `split` at all, which the schema
    accepts, so that the rule answers with its own code."""
    tx = parsed(Play.pay([(PURCHASE, 0)], CAROL.public_key, {
        "track": TRACK.id, "territory": "GB", "right": LICENCE.id, "playNumber": 0}, [], PARAMETERS))
    assert "split" not in tx.metadata and tx.metadata["price"] > 0
    with pytest.raises(PlayNoSplit):
        tx.check_stateful(a_ledger([WORK, TRACK, COPYRIGHT, LICENCE, CREDIT, PURCHASE],
                                   parameters=PARAMETERS))


def test_a_free_play_names_no_split():
    done, wallet = plays(9)
    free = a_play(9, credits=(wallet,))
    with pytest.raises(PlayWrongSplit):
        forged(free, {"split": SPLIT.id}).check_stateful(market(*done))
    free.check_stateful(market(*done))


def test_two_plays_with_the_same_number_conflict_even_in_one_block():
    first = a_play()
    with pytest.raises(PlayNumberMismatch) as refused:
        a_play().check_stateful(market(pending=[first]))
    assert refused.value.expected == "1"


PENNY_PER_PLAY = {**PARAMETERS, "rules_version": 2, "min_play_payout": 8}


def a_play_under(parameters, number=0, credits=((PURCHASE, 0),)):
    return parsed(Play.pay(list(credits), CAROL.public_key, {
        "track": TRACK.id, "territory": "GB", "right": LICENCE.id, "playNumber": number,
        "split": SPLIT.id}, payees_of(SPLIT), parameters))


@pytest.mark.parametrize("number, version_1, version_2", [
    # (Alice 70%, Bob 30%, the co-op's tokens, rounding remainder to the split's first
    # payee). Version 1: the co-op's share and the remainder; version 2: the payees' pool
    # topped up to 8 tokens, or to the whole price, and paid out whole.
    (0, (1, 0, 1, 0), (1, 0, 0, 1)),
    (2, (4, 1, 3, 0), (5, 2, 0, 1)),
    (3, (8, 3, 5, 0), (8, 3, 4, 1)),  # at or above the minimum only the rounding changes
])
def test_penny_per_play_from_version_2_and_not_before(number, version_1, version_2):
    wallet = [(PURCHASE, 0)]
    earlier = []
    for done in range(number):  # the listener's earlier plays, under version 1
        earlier.append(a_play_under(PARAMETERS, done, wallet))
        wallet = [(earlier[-1], len(earlier[-1].outputs) - 1)]
    old, new = a_play_under(PARAMETERS, number, wallet), a_play_under(PENNY_PER_PLAY, number, wallet)
    change = 5000 - sum(2 ** (done + 1) for done in range(number + 1))

    def outputs(alice, bob, coop, remainder):
        tokens = {ALICE.public_key: alice, BOB.public_key: bob}
        first = payees_of(SPLIT)[0][0]  # the split orders its payees by key
        tokens[first] += remainder
        return [([key], tokens[key]) for key, _ in payees_of(SPLIT) if tokens[key]] + [
            ([BOB.public_key], coop)] * (coop > 0) + [([CAROL.public_key], change)]

    assert [(o.public_keys, o.amount) for o in old.outputs] == outputs(*version_1)
    assert [(o.public_keys, o.amount) for o in new.outputs] == outputs(*version_2)
    old.check_stateful(market(pending=earlier))
    new.check_stateful(market(pending=earlier, parameters=PENNY_PER_PLAY))
    with pytest.raises(PlayWrongOutputs):
        new.check_stateful(market(pending=earlier))
    with pytest.raises(PlayWrongOutputs):
        old.check_stateful(market(pending=earlier, parameters=PENNY_PER_PLAY))


def test_a_play_under_a_rule_version_this_node_lacks_is_refused_with_its_code():
    from bigchaindb_resonate.rule_versions import RulesVersionUnknown

    with pytest.raises(RulesVersionUnknown) as refused:
        a_play().check_stateful(market(parameters={**PARAMETERS, "rules_version": 999}))
    assert refused.value.code == "RULES_VERSION_UNKNOWN"
