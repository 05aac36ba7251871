"""A node joins a running 4-validator network: it syncs as a non-validator, is elected
through BigchainDB's upsert-validator election, and then signs blocks."""
import time

import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import Client
from bigchaindb_resonate.testnet import Testnet, TestnetError
from bigchaindb_resonate.testnet.description import free_base_port

pytestmark = pytest.mark.integration

NEW_POWER = 3  # 4 x 10 + 3: under 1/3 of the total


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    # Room for the fifth node's ports too.
    base_port = free_base_port(5)
    if base_port is None:
        pytest.skip("no free block of loopback ports for five nodes")
    net = Testnet(tmp_path_factory.mktemp("join") / "net")
    try:
        net.up(nodes=4, base_port=base_port)
        yield net
    finally:
        net.down(purge=True)


@pytest.fixture(scope="module")
def added(testnet):
    return testnet.add_node()


def by_name(report):
    return {node["name"]: node for node in report}


def test_added_node_syncs_as_a_non_validator(testnet, added):
    assert added.name == "node5"
    report = by_name(testnet.status())
    assert report["node5"]["validator"] is False
    assert report["node5"]["catching_up"] is False
    assert report["node5"]["height"] >= report["node1"]["height"] - 1
    assert all(report[name]["validator"] for name in ("node1", "node2", "node3", "node4"))
    assert set(testnet.validators()) == {"node1", "node2", "node3", "node4"}


def test_too_large_power_is_refused_with_the_rule(testnet, added):
    with pytest.raises(TestnetError, match=r"under 1/3 .* total power \(40\).* allowed now is 13"):
        testnet.join_as_validator(added.name, power=14)
    assert "node5" not in testnet.validators()


def test_joins_as_validator_and_signs(testnet, added):
    joined = testnet.join_as_validator(added.name, power=NEW_POWER)
    assert len(joined.approved_by) == 3  # 30 of 40 votes pass 2/3
    for node in testnet.nodes:
        validators = testnet.validators(node.name)
        assert len(validators) == 5, node.name
        assert validators["node5"] == NEW_POWER, node.name
    assert joined.signed >= joined.validator_from
    assert by_name(testnet.status())["node5"]["validator"] is True


def test_transaction_posted_to_the_new_node_is_read_from_node1(testnet, added):
    alice = generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 1)],
                                asset={"joined": "posted to node5"}).sign([alice.private_key])
    Client(added.api_url).submit(create)
    node1 = Client(testnet.network.node("node1").api_url)
    deadline = time.monotonic() + 30
    while not node1.is_committed(create.id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert node1.get_transaction(create.id)["id"] == create.id
