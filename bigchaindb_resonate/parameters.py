"""The network's parameters, fixed in the genesis file's `app_state.resonate`.

Every validator reads the same genesis, so these are consensus values: who may issue
credits (treasury keys), which key holds the co-op's licences and receives its share of
plays (platform key), and that share in basis points. A genesis without them starts a
chain on which credits and plays are refused (`NETWORK_HAS_NO_PARAMETERS`).
"""
import json
import re

_KEY = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")  # base58 Ed25519 public key


class GenesisParametersError(ValueError):
    """The genesis app_state is unusable: the node must not start on it."""


def read_genesis_parameters(app_state_bytes):
    if not app_state_bytes:
        return {}
    try:
        parameters = json.loads(app_state_bytes.decode("utf8")).get("resonate", {})
    except (UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise GenesisParametersError(f"genesis app_state is not a JSON object: {exc}") from None
    check_parameters(parameters)
    return parameters


def check_parameters(parameters):
    unknown = set(parameters) - {"treasury_keys", "platform_key", "coop_share_bp"}
    if unknown:
        raise GenesisParametersError(f"unknown genesis parameters {sorted(unknown)}")
    keys = parameters.get("treasury_keys", [])
    if not keys or not all(isinstance(key, str) and _KEY.fullmatch(key) for key in keys):
        raise GenesisParametersError("treasury_keys must be a non-empty list of public keys")
    if not (isinstance(parameters.get("platform_key"), str) and _KEY.fullmatch(parameters["platform_key"])):
        raise GenesisParametersError("platform_key must be a public key")
    share = parameters.get("coop_share_bp")
    if not (isinstance(share, int) and not isinstance(share, bool) and 0 <= share <= 10000):
        raise GenesisParametersError("coop_share_bp must be an integer from 0 to 10000")
