import json

import pytest

from bigchaindb_resonate.parameters import GenesisParametersError, read_genesis_parameters

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
