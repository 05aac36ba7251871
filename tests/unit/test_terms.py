"""Properties of the licence-term arithmetic in validators/terms.py, checked against simple
oracles: a territory is the set of countries it covers, a period the set of days."""
import datetime

from hypothesis import given, strategies as st

from bigchaindb_resonate.validators.terms import (
    COUNTRY_CODES, WORLDWIDE, covers_country, period_covers, period_within, periods_overlap,
    territories_overlap, territory_within,
)

# A few codes keep overlaps likely; Worldwide and exclusions exercise the set algebra.
CODES = sorted(COUNTRY_CODES)[:6]
SOME = st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True)
territories = st.one_of(
    SOME.map(lambda include: {"include": include}),
    st.builds(lambda include, exclude: {"include": include, "exclude": exclude},
              SOME, st.lists(st.sampled_from(CODES), max_size=3, unique=True)),
    st.lists(st.sampled_from(CODES), max_size=4, unique=True).map(
        lambda exclude: {"include": [WORLDWIDE], "exclude": exclude}),
)

START = datetime.date(2024, 1, 1)
DAYS = [(START + datetime.timedelta(days=offset)).isoformat() for offset in range(40)]


@st.composite
def periods(draw):
    first = draw(st.integers(0, len(DAYS) - 1))
    period = {"validFrom": DAYS[first]}
    if draw(st.booleans()):
        period["validThrough"] = DAYS[draw(st.integers(first, len(DAYS) - 1))]
    return period


def countries(territory):
    return {code for code in COUNTRY_CODES if covers_country(territory, code)}


def days(period):
    # An open-ended period covers every later day; the last sampled day stands for them.
    return {day for day in DAYS if period_covers(period, day)} | (
        {"open"} if "validThrough" not in period else set())


@given(territories, territories)
def test_territory_within_and_overlap_match_the_countries_covered(first, second):
    assert territory_within(first, second) == (countries(first) <= countries(second))
    assert territories_overlap(first, second) == bool(countries(first) & countries(second))
    assert territories_overlap(first, second) == territories_overlap(second, first)


@given(territories)
def test_every_territory_is_within_itself_and_the_world(territory):
    assert territory_within(territory, territory)
    assert territory_within(territory, {"include": [WORLDWIDE]})


@given(territories, territories, territories)
def test_territory_within_is_transitive(first, second, third):
    if territory_within(first, second) and territory_within(second, third):
        assert territory_within(first, third)


@given(territories, territories)
def test_a_nonempty_territory_within_another_overlaps_it(inner, outer):
    if countries(inner) and territory_within(inner, outer):
        assert territories_overlap(inner, outer)


@given(periods(), periods())
def test_period_within_and_overlap_match_the_days_covered(first, second):
    assert period_within(first, second) == (days(first) <= days(second))
    assert periods_overlap(first, second) == bool(days(first) & days(second))
    assert periods_overlap(first, second) == periods_overlap(second, first)


@given(periods(), periods(), periods())
def test_period_within_is_reflexive_and_transitive(first, second, third):
    assert period_within(first, first)
    if period_within(first, second) and period_within(second, third):
        assert period_within(first, third)
