"""The network's parameters: one table, read from the genesis file's `app_state.resonate`.

Every validator reads the same genesis, so these are consensus values. Three must be in
every genesis (who may issue credits, which key holds the co-op's licences and receives its
share of plays, and that share); the others have a documented default that applies when the
genesis leaves them out. A genesis without the required ones starts a chain on which credits
and plays are refused (`NETWORK_HAS_NO_PARAMETERS`). docs/spec/parameters.md lists them.

`check_value` is the one range check: the genesis and anything that proposes a new value
use it, so that a value the genesis would refuse can never come in any other way.
"""
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

_KEY = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")  # base58 Ed25519 public key
_CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217 alphabetic code
_DPID = re.compile(r"PADPIDA[A-Za-z0-9]{1,57}")  # a DDEX Party Id, as DSRF's HEAD requires
_PLAIN_TEXT = re.compile(r"[^\x00-\x1f\x7f|\\]{1,200}")  # one DSR cell, nothing to escape
MAX_KEYS = 32
DAY = 86_400


class GenesisParametersError(ValueError):
    """The genesis app_state is unusable: the node must not start on it."""


class ParameterValueError(ValueError):
    """A value outside a parameter's documented range, or an unknown parameter."""


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_key(value):
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def _is_key_list(value, minimum):
    return (isinstance(value, list) and minimum <= len(value) <= MAX_KEYS
            and all(_is_key(key) for key in value) and len(set(value)) == len(value))


@dataclass(frozen=True)
class Parameter:
    name: str
    valid: Callable[[Any], bool]
    range: str  # the documented range, as the refusal and the spec say it
    default: Any  # None: the genesis must set it
    meaning: str


PARAMETERS = {parameter.name: parameter for parameter in (
    Parameter("treasury_keys", lambda value: _is_key_list(value, 1),
              f"1 to {MAX_KEYS} distinct public keys", None,
              "The keys that alone issue credits and settle payouts."),
    Parameter("platform_key", _is_key, "a public key", None,
              "The key that holds the co-op's licences, receives its share of plays and "
              "receives payment channels."),
    Parameter("coop_share_bp", lambda value: _is_int(value, 0, 10_000),
              "an integer from 0 to 10000 (basis points)", None,
              "The co-op's share of each paid play."),
    Parameter("receiver_keys", lambda value: _is_key_list(value, 0),
              f"0 to {MAX_KEYS} distinct public keys", [],
              "Keys besides platform_key that may receive payment channels (member "
              "organisations running receivers)."),
    Parameter("channel_settle_delay_s", lambda value: _is_int(value, 10, 30 * DAY),
              f"an integer from 10 to {30 * DAY} (seconds of consensus time)", DAY,
              "How long after a channel starts closing its receiver may still settle, "
              "before the remainder returns to the listener."),
    Parameter("payout_threshold", lambda value: _is_int(value, 1, 10 ** 12),
              "an integer from 1 to 10^12 (tokens)", 8_000,
              "The fewest tokens a payee may ask to be paid out."),
    Parameter("payout_rate", lambda value: _is_int(value, 1, 10 ** 9),
              "an integer from 1 to 10^9 (tokens per unit of payout_currency)", 800,
              "Tokens per unit of money at which payouts are made and statements priced "
              "(800: 1 token = 0.001 credit at 1.25 EUR per credit)."),
    Parameter("payout_currency", lambda value: isinstance(value, str) and _CURRENCY.fullmatch(value) is not None,
              "an ISO 4217 alphabetic code (three capital letters)", "EUR",
              "The currency of payouts and of money shown in statements."),
    Parameter("ddex_sender_id", lambda value: isinstance(value, str) and _DPID.fullmatch(value) is not None,
              "PADPIDA and 1 to 57 letters or digits (a DDEX Party Id)", "PADPIDAUNREGISTERED",
              "The co-op's DDEX Party Id, the sender of its sales reports (DSR); the "
              "default says none is registered yet."),
    Parameter("ddex_sender_name", lambda value: isinstance(value, str) and _PLAIN_TEXT.fullmatch(value) is not None,
              "1 to 200 characters without control characters, vertical bars or backslashes",
              "Resonate",
              "The sender's name in the co-op's sales reports (DSR)."),
)}
REQUIRED = tuple(name for name, parameter in PARAMETERS.items() if parameter.default is None)


def check_value(name, value):
    """Raise ParameterValueError unless `name` is a parameter and `value` is in its range."""
    parameter = PARAMETERS.get(name)
    if parameter is None:
        raise ParameterValueError(f"unknown parameter `{name}`")
    if not parameter.valid(value):
        raise ParameterValueError(f"{name} must be {parameter.range}")


def with_defaults(parameters):
    """The values in force for `parameters` as stored: each absent one at its default."""
    return {name: parameters.get(name, parameter.default) for name, parameter in PARAMETERS.items()}


def read_genesis_parameters(app_state_bytes):
    """The parameters the genesis sets (defaults not filled in), or {} for none."""
    if not app_state_bytes:
        return {}
    try:
        parameters = json.loads(app_state_bytes.decode("utf8")).get("resonate", {})
    except (UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise GenesisParametersError(f"genesis app_state is not a JSON object: {exc}") from None
    check_parameters(parameters)
    return parameters


def check_parameters(parameters):
    missing = [name for name in REQUIRED if name not in parameters]
    if missing:
        raise GenesisParametersError(f"genesis parameters {missing} are missing")
    for name, value in parameters.items():
        try:
            check_value(name, value)
        except ParameterValueError as exc:
            raise GenesisParametersError(str(exc)) from None
