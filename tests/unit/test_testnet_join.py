"""Growing a testnet: nodes outside the genesis, BigchainDB's election arithmetic."""
import json
import tomllib

import pytest

from bigchaindb_resonate.testnet import config, election
from bigchaindb_resonate.testnet.description import (MAX_NODES, Network, PORTS_PER_NODE,
                                                     describe_hosts, describe_loopback)

GENESIS_TIME = "2024-05-01T12:00:00.000000Z"


@pytest.fixture
def network():
    return describe_loopback(4, base_port=29000, genesis_time=GENESIS_TIME)


# -- the description -----------------------------------------------------------------------


def test_added_node_is_outside_the_genesis_on_the_next_ports(network):
    grown = network.with_node()
    node = grown.nodes[-1]
    assert node.name == "node5" and node.power == 0
    assert node.ports.p2p == 29000 + 4 * PORTS_PER_NODE
    assert grown.nodes[:4] == network.nodes
    assert grown.genesis_validators == network.nodes
    assert Network.from_dict(grown.to_dict()) == grown


def test_added_node_takes_the_first_free_name(network):
    grown = network.with_node("edge").with_node()
    assert grown.names[-2:] == ["edge", "node5"]


def test_relocating_a_grown_network_keeps_its_layout(network):
    grown = network.with_node()
    assert grown.relocated(29000) == grown
    assert grown.relocated(40000).nodes[-1].ports.p2p == 40000 + 4 * PORTS_PER_NODE


@pytest.mark.parametrize("name", ["node1", "", "../x", "a b", "-x", "x" * 33])
def test_added_node_needs_a_new_plain_name(network, name):
    with pytest.raises(ValueError):
        network.with_node(name)


def test_added_nodes_are_bounded():
    with pytest.raises(ValueError, match=f"1 to {MAX_NODES}"):
        describe_loopback(MAX_NODES).with_node()


def test_added_node_ports_must_fit():
    with pytest.raises(ValueError, match="do not fit"):
        describe_loopback(2, base_port=65510).with_node()  # a third node would end at 65539


def test_nodes_are_added_only_on_loopback():
    with pytest.raises(ValueError, match="loopback"):
        describe_hosts(2).with_node()


# -- the files -----------------------------------------------------------------------------


def test_added_node_gets_the_existing_genesis_and_dials_everyone(network, tmp_path):
    written = config.write_network(network, tmp_path)
    genesis = written["node1"].genesis.read_text()
    grown = network.with_node()
    written = config.write_network(grown, tmp_path)
    assert {files.genesis.read_text() for files in written.values()} == {genesis}
    assert [v["name"] for v in json.loads(genesis)["validators"]] == network.names
    ids = config.node_ids(grown, tmp_path)
    settings = tomllib.loads(written["node5"].tendermint_config.read_text())
    assert set(settings["p2p"]["persistent_peers"].split(",")) == {
        f"{ids[node.name]}@{node.p2p_address}" for node in network.nodes}
    # The others learn of it on their next start.
    settings = tomllib.loads(written["node1"].tendermint_config.read_text())
    assert f"{ids['node5']}@{grown.node('node5').p2p_address}" in settings["p2p"][
        "persistent_peers"]


def test_genesis_is_never_rewritten(network, tmp_path):
    written = config.write_network(network, tmp_path)
    genesis = written["node1"].genesis.read_text()
    later = describe_loopback(4, base_port=29000, genesis_time="2030-01-01T00:00:00.000000Z")
    config.write_network(later, tmp_path)
    assert written["node3"].genesis.read_text() == genesis


def test_description_is_saved_after_the_node_files(network, tmp_path, monkeypatch):
    # A running supervisor starts whatever the description lists.
    seen = []
    monkeypatch.setattr(Network, "save", lambda self, directory: seen.append(
        all(config.node_dir(directory, node).tendermint_config.exists()
            for node in self.nodes)))
    config.write_network(network.with_node(), tmp_path)
    assert seen == [True]


# -- election arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize("total, largest", [(40, 13), (43, 14), (39, 12), (3, 0), (4, 1),
                                            (30, 9), (100, 33)])
def test_largest_allowed_power_is_under_a_third(total, largest):
    assert election.largest_allowed_power(total) == largest


@pytest.mark.parametrize("total", range(1, 200))
def test_largest_allowed_power_agrees_with_the_check(total):
    largest = election.largest_allowed_power(total)
    if largest >= 1:
        election.check_power(largest, total)
    with pytest.raises(election.PowerTooLarge):
        election.check_power(largest + 1, total)


def test_too_large_power_names_the_rule_and_the_limit():
    with pytest.raises(election.PowerTooLarge) as refused:
        election.check_power(14, 40)  # under 1/3 of 54, but not of the current 40
    message = str(refused.value)
    assert "under 1/3" in message and "(40)" in message and "allowed now is 13" in message


@pytest.mark.parametrize("power", [0, -1])
def test_power_is_positive(power):
    with pytest.raises(election.ElectionError, match="positive"):
        election.check_power(power, 40)


@pytest.mark.parametrize("voters, total, chosen", [
    ([("a", 10), ("b", 10), ("c", 10), ("d", 10)], 40, ["a", "b", "c"]),
    ([("a", 10), ("b", 10), ("c", 10), ("d", 10), ("e", 3)], 43, ["a", "b", "c"]),
    ([("a", 10), ("b", 10), ("c", 10)], 30, ["a", "b"]),  # exactly 2/3 concludes
    ([("a", 1)], 1, ["a"]),
])
def test_approvers_reach_two_thirds(voters, total, chosen):
    assert election.approvers(voters, total) == chosen


def test_approvers_report_too_few_votes():
    with pytest.raises(election.ElectionError, match="2/3"):
        election.approvers([("a", 10), ("b", 10)], 40)
