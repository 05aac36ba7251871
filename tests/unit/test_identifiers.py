import pytest
from hypothesis import given, strategies as st

from bigchaindb_resonate.errors import InvalidIpiNameNumber, InvalidIsni
from bigchaindb_resonate.validators.identifiers import (
    ipi_name_check, isni_check_character, normalise_ipi_name_number, normalise_isni,
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
