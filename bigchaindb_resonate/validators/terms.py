"""Licence terms as pure set and interval arithmetic: territories, validity periods, usages.

Territories are sets of ISO 3166-1 alpha-2 codes; `Worldwide` stands for all of them. A
record writes ``{"include": ["Worldwide"], "exclude": ["US"]}`` or ``{"include": ["GB", "IE"]}``.
Periods are ``validFrom`` / ``validThrough`` dates (YYYY-MM-DD, both inclusive;
``validThrough`` may be absent: open-ended). ISO dates compare correctly as strings.
"""
import datetime

from bigchaindb_resonate.errors import EmptyTerritory, InvalidDate, InvalidPeriod

WORLDWIDE = "Worldwide"
# ISO 3166-1 alpha-2, frozen here rather than read from a package: a validator's idea of
# "the world" must not change with a dependency upgrade. Changing it is a consensus change.
COUNTRY_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
ZW
""".split())

USAGE_TYPES = ("on_demand_stream", "non_interactive_stream", "download", "sync", "performance",
               "mechanical", "print")


def normalise_country(value):
    """The form a record stores for a country code or Worldwide as people type it
    (` gb ` is GB); whether it names a country stays the validators' check."""
    text = value.strip()
    return WORLDWIDE if text.lower() == WORLDWIDE.lower() else text.upper()


def territory_codes(territory):
    include = territory["include"]
    codes = COUNTRY_CODES if WORLDWIDE in include else frozenset(include)
    return codes - frozenset(territory.get("exclude", ()))


def check_territory(territory, field):
    if not territory_codes(territory):
        raise EmptyTerritory(field=field, expected="at least one country left after exclusions")


def territory_within(inner, outer):
    return territory_codes(inner) <= territory_codes(outer)


def territories_overlap(first, second):
    return bool(territory_codes(first) & territory_codes(second))


def covers_country(territory, code):
    return code in territory_codes(territory)


def check_date(value, field):
    try:
        if datetime.date.fromisoformat(value).isoformat() != value:
            raise ValueError(value)
    except ValueError:
        raise InvalidDate(f"`{value}` is not a calendar date", field=field,
                          expected="YYYY-MM-DD") from None


def check_period(record, field):
    """validFrom is required; validThrough, when present, is not before it."""
    check_date(record["validFrom"], f"{field}.validFrom")
    if "validThrough" in record:
        check_date(record["validThrough"], f"{field}.validThrough")
        if record["validThrough"] < record["validFrom"]:
            raise InvalidPeriod(field=f"{field}.validThrough",
                                expected=f"on or after {record['validFrom']}")


def _end(record):
    return record.get("validThrough", "9999-12-31")


def period_within(inner, outer):
    return outer["validFrom"] <= inner["validFrom"] and _end(inner) <= _end(outer)


def periods_overlap(first, second):
    return first["validFrom"] <= _end(second) and second["validFrom"] <= _end(first)


def period_covers(record, day):
    return record["validFrom"] <= day <= _end(record)


def date_of(seconds):
    """The UTC calendar day of a consensus timestamp, as YYYY-MM-DD."""
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=seconds // 86400)).isoformat()
