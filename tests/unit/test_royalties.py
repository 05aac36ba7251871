"""The stream-to-own arithmetic (validators/royalties.py): the price curve, payouts and the
outputs a play must have. Property tests: for any split, co-op share and play sequence,
every token lands with exactly one recipient and each payee gets exactly its share."""
import pytest
from hypothesis import given, strategies as st

from bigchaindb_resonate.validators.royalties import (
    BASIS_POINTS, PAID_PLAYS, owns, payouts, play_outputs, price,
)


@pytest.mark.parametrize("play_number, tokens", [
    (0, 2), (1, 4), (2, 8), (3, 16), (4, 32), (5, 64), (6, 128), (7, 256), (8, 512),
    (9, 0), (10, 0), (1000, 0),
])
def test_price_vectors(play_number, tokens):
    assert price(play_number) == tokens


def test_nine_paid_plays_cost_1022_tokens_then_the_track_is_owned():
    assert sum(price(number) for number in range(PAID_PLAYS)) == 1022
    assert [owns(plays) for plays in (0, 8, 9, 10)] == [False, False, True, True]


def test_a_negative_play_number_is_a_bug():
    with pytest.raises(ValueError):
        price(-1)


@pytest.mark.parametrize("amount, payees, coop_share_bp, paid, coop", [
    # 30% of 2 rounds down to 0; 70% of 2 to the 70% payee is 1; the remainder goes to the co-op.
    (2, [("a", 7000), ("b", 3000)], 3000, [("a", 1), ("b", 0)], 1),
    (512, [("a", 7000), ("b", 3000)], 3000, [("a", 251), ("b", 107)], 154),
    (512, [("a", 10000)], 3000, [("a", 359)], 153),
    (4, [("a", 3333), ("b", 3333), ("c", 3334)], 3000, [("a", 0), ("b", 0), ("c", 1)], 3),
    (256, [("a", 5000), ("b", 5000)], 0, [("a", 128), ("b", 128)], 0),
    (256, [("a", 5000), ("b", 5000)], 10000, [("a", 0), ("b", 0)], 256),
    (0, [("a", 10000)], 3000, [("a", 0)], 0),
])
def test_payout_vectors(amount, payees, coop_share_bp, paid, coop):
    assert payouts(amount, payees, {"coop_share_bp": coop_share_bp}) == (paid, coop)
    assert payouts(amount, payees, version_1(coop_share_bp)) == (paid, coop)


def version_1(coop_share_bp):
    return {"coop_share_bp": coop_share_bp, "rules_version": 1, "min_play_payout": 8}


def penny_per_play(coop_share_bp, min_play_payout=8):
    return {"coop_share_bp": coop_share_bp, "rules_version": 2, "min_play_payout": min_play_payout}


@pytest.mark.parametrize("amount, payees, coop_share_bp, minimum, paid, coop", [
    # The co-op's share cannot cover the minimum: the payees get the whole price, no more.
    (2, [("a", 7000), ("b", 3000)], 3000, 8, [("a", 2), ("b", 0)], 0),
    (4, [("a", 7000), ("b", 3000)], 3000, 8, [("a", 3), ("b", 1)], 0),
    # Topped up from the co-op's 2 to exactly 8: 5.6 and 2.4 round to 5 and 2, the remainder
    # goes to the first payee, so the payees together get the minimum.
    (8, [("a", 7000), ("b", 3000)], 3000, 8, [("a", 6), ("b", 2)], 0),
    (16, [("a", 7000), ("b", 3000)], 3000, 8, [("a", 9), ("b", 3)], 4),
    (16, [("a", 7000), ("b", 3000)], 5000, 10, [("a", 7), ("b", 3)], 6),
    # At or above the minimum the co-op keeps its share; the pool is paid out whole.
    (512, [("a", 7000), ("b", 3000)], 3000, 8, [("a", 252), ("b", 107)], 153),
    (4, [("a", 3333), ("b", 3333), ("c", 3334)], 3000, 8, [("a", 2), ("b", 1), ("c", 1)], 0),
    (256, [("a", 5000), ("b", 5000)], 10000, 8, [("a", 4), ("b", 4)], 248),
    (256, [("a", 5000), ("b", 5000)], 10000, 0, [("a", 0), ("b", 0)], 256),
    (0, [], 3000, 8, [], 0),
])
def test_penny_per_play_vectors(amount, payees, coop_share_bp, minimum, paid, coop):
    assert payouts(amount, payees, penny_per_play(coop_share_bp, minimum)) == (paid, coop)


def test_the_minimum_is_no_rule_before_version_2():
    assert payouts(8, [("a", 10000)], version_1(3000)) == ([("a", 6)], 2)
    assert payouts(8, [("a", 10000)], penny_per_play(3000)) == ([("a", 8)], 0)


def test_outputs_leave_out_zero_amounts_and_end_with_the_change():
    def outputs(amount, payees, coop_share_bp, spent, rules=version_1):
        return play_outputs(amount, payees, {**rules(coop_share_bp), "platform_key": "coop"},
                            "me", spent)

    assert outputs(2, [("a", 7000), ("b", 3000)], 3000, 10) == [(["a"], 1), (["coop"], 1), (["me"], 8)]
    assert outputs(0, [("a", 10000)], 3000, 5) == [(["me"], 5)]
    assert outputs(4, [("a", 10000)], 0, 4) == [(["a"], 4)]
    assert outputs(2, [("a", 7000), ("b", 3000)], 3000, 10, penny_per_play) == [(["a"], 2), (["me"], 8)]


@st.composite
def splits(draw):
    """Payees with shares above 0 summing to exactly 10000."""
    count = draw(st.integers(1, 50))
    cuts = sorted(draw(st.sets(st.integers(1, BASIS_POINTS - 1), min_size=count - 1,
                               max_size=count - 1)))
    bounds = [0] + cuts + [BASIS_POINTS]
    return [(f"payee{index:02d}", bounds[index + 1] - bounds[index]) for index in range(count)]


@given(payees=splits(), coop_share_bp=st.integers(0, BASIS_POINTS),
       plays=st.lists(st.integers(0, 12), max_size=30), wallet=st.integers(0, 10 ** 6))
def test_every_token_lands_and_each_payee_gets_exactly_its_share(payees, coop_share_bp, plays, wallet):
    received = {}
    for play_number in plays:
        amount = price(play_number)
        spent = wallet + amount
        outputs = play_outputs(amount, payees, {**version_1(coop_share_bp), "platform_key": "coop"},
                               "listener", spent)
        assert sum(tokens for _, tokens in outputs) == spent
        assert all(tokens > 0 for _, tokens in outputs)
        pool = amount - amount * coop_share_bp // BASIS_POINTS
        paid, coop = payouts(amount, payees, version_1(coop_share_bp))
        for key, share in payees:
            assert dict(paid)[key] == pool * share // BASIS_POINTS
        assert coop == amount - sum(pool * share // BASIS_POINTS for _, share in payees)
        # The remainder of rounding is smaller than one token per payee.
        assert 0 <= coop - amount * coop_share_bp // BASIS_POINTS < len(payees)
        for keys, tokens in outputs:
            received[keys[0]] = received.get(keys[0], 0) + tokens
    assert sum(received.values()) == sum(price(number) for number in plays) + len(plays) * wallet


@given(payees=splits(), coop_share_bp=st.integers(0, BASIS_POINTS),
       minimum=st.integers(0, 10 ** 6), play_number=st.integers(0, 8))
def test_penny_per_play_pays_the_payees_at_least_the_minimum_or_the_whole_price(
        payees, coop_share_bp, minimum, play_number):
    amount = price(play_number)
    paid, coop = payouts(amount, payees, penny_per_play(coop_share_bp, minimum))
    together = sum(tokens for _, tokens in paid)
    assert together + coop == amount and coop >= 0
    assert together == max(amount - amount * coop_share_bp // BASIS_POINTS, min(minimum, amount))
    # The co-op gives up only what the top-up needs, never more than its share.
    assert coop <= amount * coop_share_bp // BASIS_POINTS
    for key, share in payees:  # each payee its share of the pool, rounded down, or one more
        assert 0 <= dict(paid)[key] - together * share // BASIS_POINTS <= 1
