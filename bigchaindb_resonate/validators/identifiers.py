"""Music-industry identifiers: normalise the display forms people type, verify check digits.

Each `normalise_*` returns the canonical compact form stored on the ledger, or raises the
identifier's own refusal naming `field`.
"""
import re

from bigchaindb_resonate.errors import InvalidIpiNameNumber, InvalidIsni

# Separators found in display forms ("0000 0001 2103 2683", "ISNI 0000-0001-...").
_SEPARATORS = re.compile(r"[\s.\-]")


def _compact(value, prefix):
    text = _SEPARATORS.sub("", value).upper()
    return text[len(prefix):] if text.startswith(prefix) else text


def isni_check_character(first15):
    """ISO 7064 MOD 11-2 over 15 digits; 10 is written X."""
    total = 0
    for digit in first15:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalise_isni(value, field):
    compact = _compact(value, "ISNI")
    if not re.fullmatch(r"\d{15}[\dX]", compact):
        raise InvalidIsni(f"`{value}` is not 16 characters of digits (last may be X)",
                          field=field, expected="e.g. 0000 0001 2103 2683")
    if isni_check_character(compact[:15]) != compact[15]:
        raise InvalidIsni(f"`{value}` fails its check character", field=field,
                          expected=f"check character {isni_check_character(compact[:15])}")
    return compact


def ipi_name_check(first9):
    """The two check digits of an IPI name number (mod 101 over weights 10..2)."""
    total = sum(int(digit) * (10 - index) for index, digit in enumerate(first9)) % 101
    return 0 if total == 0 else (101 - total) % 100


def normalise_ipi_name_number(value, field):
    compact = _compact(value, "IPI")
    if not re.fullmatch(r"\d{11}", compact):
        raise InvalidIpiNameNumber(f"`{value}` is not 11 digits", field=field,
                                   expected="11 digits, e.g. 00014107338")
    expected = ipi_name_check(compact[:9])
    if int(compact[9:]) != expected:
        raise InvalidIpiNameNumber(f"`{value}` fails its check digits", field=field,
                                   expected=f"check digits {expected:02d}")
    return compact
