"""The network description: port layouts, JSON round trip, busy-port reporting."""
import dataclasses
import socket

import pytest

from bigchaindb_resonate.testnet import description
from bigchaindb_resonate.testnet.description import (MAX_NODES, Network, Ports, PortsBusy,
                                                     check_ports_free, describe_hosts,
                                                     describe_loopback)


def all_ports(network):
    return [port for node in network.nodes for _, port in node.ports.items()]


@pytest.mark.parametrize("nodes", range(1, MAX_NODES + 1))
def test_loopback_ports_never_collide(nodes):
    network = describe_loopback(nodes, base_port=29000)
    ports = all_ports(network)
    assert len(ports) == len(set(ports)) == nodes * len(dataclasses.fields(Ports))
    assert all(1024 <= port <= 65535 for port in ports)


def test_loopback_nodes_are_named_and_powered():
    network = describe_loopback(4)
    assert network.names == ["node1", "node2", "node3", "node4"]
    assert {node.power for node in network.nodes} == {10}
    assert {node.host for node in network.nodes} == {"127.0.0.1"}
    assert network.shares_one_host


def test_urls_follow_the_ports():
    node = describe_loopback(2, base_port=30000).node("node2")
    assert node.api_url == "http://127.0.0.1:30013"
    assert node.rpc_url == "http://127.0.0.1:30011"
    assert node.ws_url == "ws://127.0.0.1:30014"
    assert node.p2p_address == "127.0.0.1:30010"


def test_hosts_layout_gives_every_node_its_own_host_and_standard_ports():
    network = describe_hosts(3)
    assert [node.host for node in network.nodes] == ["node1", "node2", "node3"]
    assert {node.ports for node in network.nodes} == {description.STANDARD_PORTS}
    assert {node.bind for node in network.nodes} == {"0.0.0.0"}
    assert not network.shares_one_host


@pytest.mark.parametrize("nodes", [0, MAX_NODES + 1])
def test_node_count_is_bounded(nodes):
    with pytest.raises(ValueError):
        describe_loopback(nodes)


def test_ports_must_fit():
    with pytest.raises(ValueError, match="--base-port"):
        describe_loopback(16, base_port=65500)


@pytest.mark.parametrize("make", [lambda: describe_loopback(5, base_port=31000),
                                  lambda: describe_hosts(2)])
def test_json_round_trip(tmp_path, make):
    network = make()
    network.save(tmp_path)
    assert Network.load(tmp_path) == network
    assert Network.from_dict(network.to_dict()) == network


def test_relocated_keeps_everything_but_the_ports():
    network = describe_loopback(3, base_port=29000, genesis_time="2024-01-01T00:00:00.000000Z")
    moved = network.relocated(40000)
    assert moved.chain_id == network.chain_id
    assert moved.genesis_time == network.genesis_time
    assert moved.names == network.names
    assert moved.node("node1").ports.p2p == 40000
    assert moved.relocated(29000) == network


def test_unknown_node_names_the_known_ones():
    with pytest.raises(KeyError, match="node1, node2"):
        describe_loopback(2).node("node9")


def test_busy_port_is_named_with_a_free_alternative():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        # A layout whose node1 store port is the one held.
        network = describe_loopback(2, base_port=busy - 5)
        with pytest.raises(PortsBusy) as raised:
            check_ports_free(network)
    message = str(raised.value)
    assert f"port {busy} (node1 store)" in message
    assert "--base-port" in message


def test_free_ports_pass():
    base = description.free_base_port(2, start=29500)
    check_ports_free(describe_loopback(2, base_port=base))
