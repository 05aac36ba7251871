"""Fault drill: a 2/2 partition of 4 validators and its heal, through TCP proxies in front
of each node's P2P port that the test controls (never the host's firewall). Neither half
has 2/3 of the voting power, so neither commits; healed, the network goes on with one
history and commits what it had accepted. Its own network: the proxies are routed into
its nodes' configuration. Runs under `-m drills` (network/README.md, Drills)."""
import time

import pytest

from .conftest import local_testnet, quiet
from .drills import Links, Load, assert_none_lost, assert_one_history, chain_state

pytestmark = [pytest.mark.integration, pytest.mark.drills(ci=False)]


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("partition"), first_port=30800) as network:
        yield network


def test_a_2_2_partition_commits_nothing_and_heals_into_one_history(testnet, clients):
    links = Links(testnet)
    try:
        links.route(progress=quiet)
        with Load([clients[0], clients[3]]) as load:
            time.sleep(3)
            links.partition(["node1", "node2"], ["node3", "node4"])
            time.sleep(3)  # answers to what committed before the cut
            # A node may still fetch the last block from a peer on its side; no new one
            # is made on either side.
            last = max(chain_state(node) for node in testnet.nodes)
            acknowledged = len(load.acknowledged)
            time.sleep(15)  # longer than a commit-mode wait: posts answer pending
            assert {chain_state(node)[0] for node in testnet.nodes} <= {last[0], last[0] - 1}
            assert max(chain_state(node) for node in testnet.nodes) == last
            assert len(load.acknowledged) == acknowledged
            links.heal()
            deadline = time.monotonic() + 120
            while len(load.acknowledged) == acknowledged:
                assert time.monotonic() < deadline, "no commit after the heal"
                time.sleep(0.5)
        assert load.pending
        assert_one_history(testnet)
        assert_none_lost(clients, load.acknowledged + load.pending)
    finally:
        links.close()
