import json
from pathlib import Path

import pytest

from bigchaindb_resonate.parameters import (
    PARAMETERS, GenesisParametersError, ParameterValueError, check_value, read_genesis_parameters, with_defaults)

KEY = "5JqNezKMc9uWMJZnTXdzGB8M4arrmoMP9UM1XzauEeZG"
GOOD = {"treasury_keys": [KEY], "platform_key": KEY, "coop_share_bp": 3000}


def app_state(parameters):
    return json.dumps({"resonate": parameters}).encode()


def test_no_app_state_means_no_parameters():
    assert read_genesis_parameters(b"") == {}


def test_good_parameters_are_returned():
    assert read_genesis_parameters(app_state(GOOD)) == GOOD


@pytest.mark.parametrize("change", [
    {"treasury_keys": []},
    {"treasury_keys": ["not a key"]},
    {"platform_key": 7},
    {"coop_share_bp": 10001},
    {"coop_share_bp": -1},
    {"coop_share_bp": 30.0},
    {"coop_share_bp": True},
    {"surprise": 1},
])
def test_bad_parameters_stop_the_node(change):
    with pytest.raises(GenesisParametersError):
        read_genesis_parameters(app_state({**GOOD, **change}))


def test_app_state_that_is_not_json():
    with pytest.raises(GenesisParametersError):
        read_genesis_parameters(b"\xff")


def test_absent_optional_parameters_take_their_defaults():
    in_force = with_defaults(GOOD)
    assert in_force["receiver_keys"] == [] and in_force["payout_currency"] == "EUR"
    assert {name: in_force[name] for name in GOOD} == GOOD


@pytest.mark.parametrize("change", [
    {"receiver_keys": [KEY, KEY]},
    {"channel_settle_delay_s": 9},
    {"payout_threshold": 0},
    {"payout_rate": 1.5},
    {"payout_currency": "eur"},
])
def test_optional_parameters_are_range_checked(change):
    with pytest.raises(GenesisParametersError):
        read_genesis_parameters(app_state({**GOOD, **change}))


def test_check_value_names_the_range():
    with pytest.raises(ParameterValueError, match="from 0 to 10000"):
        check_value("coop_share_bp", 10001)
    with pytest.raises(ParameterValueError, match="unknown parameter"):
        check_value("surprise", 1)


def test_every_parameter_is_in_the_spec_with_its_range_and_default():
    spec = (Path(__file__).parents[2] / "docs" / "spec" / "parameters.md").read_text()
    for parameter in PARAMETERS.values():
        assert f"| `{parameter.name}` | {parameter.range} |" in spec
        assert parameter.default is None or f"`{json.dumps(parameter.default)}`" in spec
