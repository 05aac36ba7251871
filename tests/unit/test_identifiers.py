import re

import pytest
from hypothesis import given, strategies as st

from bigchaindb_resonate.errors import InvalidIpiNameNumber, InvalidIsni, InvalidIsrc, InvalidIswc
from bigchaindb_resonate.validators.identifiers import (
    ipi_name_check, isni_check_character, iswc_check_digit, normalise_ipi_name_number,
    normalise_isni, normalise_isrc, normalise_iswc,
)


@pytest.mark.parametrize("value, canonical", [
    ("0000 0001 2103 2683", "0000000121032683"),      # a published ISNI
    ("ISNI 0000-0000-9600-4479", "0000000096004479"),
    ("000000012146438X", "000000012146438X"),         # check character X
    ("isni 0000 0001 2146 438x", "000000012146438X"),
])
def test_isni_display_forms_normalise(value, canonical):
    assert normalise_isni(value, "isni") == canonical


@pytest.mark.parametrize("value", ["0000000121032684", "000000012103268", "00000001210326833",
                                   "000000012103268Y", "ABCD000121032683"])
def test_isni_invalid(value):
    with pytest.raises(InvalidIsni):
        normalise_isni(value, "isni")


@pytest.mark.parametrize("value, canonical", [
    ("00014107338", "00014107338"),
    ("IPI 000.141.073.38", "00014107338"),
])
def test_ipi_name_number_display_forms(value, canonical):
    assert normalise_ipi_name_number(value, "ipi") == canonical


@pytest.mark.parametrize("value", ["00014107339", "0001410733", "000141073380", "0001410733A"])
def test_ipi_name_number_invalid(value):
    with pytest.raises(InvalidIpiNameNumber):
        normalise_ipi_name_number(value, "ipi")


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_isni_any_single_digit_change_is_caught(first15):
    valid = first15 + isni_check_character(first15)
    assert normalise_isni(valid, "isni") == valid
    for position in range(15):
        digit = (int(valid[position]) + 1) % 10
        mutated = valid[:position] + str(digit) + valid[position + 1:]
        with pytest.raises(InvalidIsni):
            normalise_isni(mutated, "isni")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_ipi_name_check_round_trip(first9):
    valid = f"{first9}{ipi_name_check(first9):02d}"
    assert normalise_ipi_name_number(valid, "ipi") == valid


# -- ISWC and ISRC (WORK and MANIFESTATION)

def iswc_display(compact, separator):
    """`T0345246801` written as people do: `T-034.524.680-1` (or with another separator)."""
    digits = compact[1:]
    return f"T{separator}{digits[0:3]}.{digits[3:6]}.{digits[6:9]}{separator}{digits[9]}"


@pytest.mark.parametrize("value, canonical", [
    ("T-034.524.680-1", "T0345246801"),
    ("T0345246801", "T0345246801"),
    ("ISWC T-034.524.680-1", "T0345246801"),
    ("t 034 524 680 1", "T0345246801"),
])
def test_iswc_display_forms_normalise(value, canonical):
    assert normalise_iswc(value, "iswc") == canonical


@pytest.mark.parametrize("value", ["T0345246802", "T034524680", "T03452468011", "X0345246801",
                                   "T03452468O1", ""])
def test_iswc_invalid(value):
    with pytest.raises(InvalidIswc):
        normalise_iswc(value, "iswc")


@pytest.mark.parametrize("value, canonical", [
    ("GB-AYE-69-00531", "GBAYE6900531"),
    ("ISRC US-RC1-76-07839", "USRC17607839"),
    ("usrc17607839", "USRC17607839"),
])
def test_isrc_display_forms_normalise(value, canonical):
    assert normalise_isrc(value, "isrc") == canonical


@pytest.mark.parametrize("value", ["GBAYE690053", "GBAYE69005311", "G1AYE6900531",
                                   "GBAYEX900531", "GB_AYE6900531"])
def test_isrc_invalid(value):
    with pytest.raises(InvalidIsrc):
        normalise_isrc(value, "isrc")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.sampled_from(["-", " ", ""]))
def test_iswc_display_forms_round_trip_and_single_digit_changes_are_caught(nine, separator):
    valid = f"T{nine}{iswc_check_digit(nine)}"
    assert normalise_iswc(valid, "iswc") == valid
    assert normalise_iswc(iswc_display(valid, separator), "iswc") == valid
    assert normalise_iswc(valid.lower(), "iswc") == valid
    for position in range(1, 11):
        mutated = valid[:position] + str((int(valid[position]) + 1) % 10) + valid[position + 1:]
        with pytest.raises(InvalidIswc):
            normalise_iswc(mutated, "iswc")


ISRC_PARTS = st.tuples(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=3, max_size=3),
    st.text(alphabet="0123456789", min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=5, max_size=5),
)


@given(ISRC_PARTS, st.sampled_from(["-", " ", ""]), st.booleans())
def test_isrc_display_forms_normalise_to_the_compact_form(parts, separator, prefixed):
    compact = "".join(parts)
    display = ("ISRC " if prefixed else "") + separator.join(parts)
    assert normalise_isrc(display, "isrc") == compact
    assert normalise_isrc(display.lower(), "isrc") == compact
    # normalising is idempotent: the canonical form is its own canonical form
    assert normalise_isrc(compact, "isrc") == compact


@given(st.text(max_size=20))
def test_normalisers_either_return_a_canonical_form_or_refuse(text):
    for normalise, error, pattern in [(normalise_iswc, InvalidIswc, r"T\d{10}"),
                                      (normalise_isrc, InvalidIsrc, r"[A-Z]{2}[A-Z0-9]{3}\d{7}")]:
        try:
            canonical = normalise(text, "field")
        except error:
            continue
        assert re.fullmatch(pattern, canonical)
        assert normalise(canonical, "field") == canonical
