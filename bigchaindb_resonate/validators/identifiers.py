"""Music-industry identifiers: normalise the display forms people type, verify check digits.

Each `normalise_*` returns the canonical compact form stored on the ledger, or raises the
identifier's own refusal naming `field`.
"""
import re

from bigchaindb_resonate.errors import InvalidIpiNameNumber, InvalidIsni, InvalidIsrc, InvalidIswc

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


def iswc_check_digit(nine_digits):
    """ISWC: S = 1 + sum(i * d_i for i = 1..9); C = (10 - S mod 10) mod 10."""
    total = 1 + sum(index * int(digit) for index, digit in enumerate(nine_digits, start=1))
    return (10 - total % 10) % 10


def normalise_iswc(value, field):
    compact = _SEPARATORS.sub("", value).upper()
    if compact.startswith("ISWC"):
        compact = compact[4:]
    if not re.fullmatch(r"T\d{10}", compact):
        raise InvalidIswc(f"`{value}` is not T followed by 10 digits", field=field,
                          expected="e.g. T-034.524.680-1")
    if iswc_check_digit(compact[1:10]) != int(compact[10]):
        raise InvalidIswc(f"`{value}` fails its check digit", field=field,
                          expected=f"check digit {iswc_check_digit(compact[1:10])}")
    return compact


def normalise_isrc(value, field):
    """ISRC: country (2 letters), registrant (3 letters or digits), year (2 digits),
    designation (5 digits). It has no check digit."""
    compact = _compact(value, "ISRC")
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{2}\d{5}", compact):
        raise InvalidIsrc(f"`{value}` is not an ISRC", field=field, expected="e.g. GB-AYE-69-00531")
    return compact
