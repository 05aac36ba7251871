"""Through a real local network of 4 validators: Tendermint, FerretDB and node processes on
loopback, spoken to over HTTP exactly as an integrator would."""
import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest
import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import TransactionPending, TransactionRefused
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.party import Party

from .conftest import local_testnet, quiet, wait_everywhere
from .drills import assert_one_history

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("testnet"), first_port=30000) as network:
        yield network


def wait_until(condition, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def chain_states(testnet):
    states = []
    for node in testnet.nodes:
        info = requests.get(f"{node.rpc_url}/status", timeout=5).json()["result"]["sync_info"]
        states.append((int(info["latest_block_height"]), info["latest_app_hash"]))
    return states


def all_agree(testnet):
    return len(set(chain_states(testnet))) == 1


def create_and_transfer(owner, receiver, amount=5):
    create = Transaction.create([owner.public_key], [([owner.public_key], amount)],
                                asset={"made": time.time_ns()}).sign([owner.private_key])
    transfer = Transaction.transfer(create.to_inputs(), [([receiver.public_key], amount)],
                                    asset_id=create.id).sign([owner.private_key])
    return create, transfer


def test_create_and_transfer_posted_to_one_node_are_read_back_from_another(testnet, clients):
    alice, bob = generate_key_pair(), generate_key_pair()
    create, transfer = create_and_transfer(alice, bob)
    clients[0].submit(create)
    clients[1].submit(transfer)
    wait_everywhere(clients, transfer.id)
    assert clients[3].get_transaction(create.id) == create.to_dict()
    assert clients[2].get_transaction(transfer.id) == transfer.to_dict()
    outputs = requests.get(f"{testnet.nodes[2].api_url}/api/v1/outputs",
                           params={"public_key": bob.public_key, "spent": "false"}).json()
    assert outputs == [{"transaction_id": transfer.id, "output_index": 0}]
    wait_until(lambda: all_agree(testnet), what="every node at the same height and app hash")


def test_every_node_reports_the_plugin_and_the_rules_it_enforces(testnet):
    from bigchaindb_resonate import rule_versions, rules
    from bigchaindb_resonate.testnet import differing_rules

    expected = rules.digest(rules.rule_set())
    report = testnet.status()
    assert [node["rules"] for node in report] == [expected] * len(testnet.nodes)
    assert differing_rules(report) is None
    node = testnet.nodes[2]
    assert requests.get(f"{node.api_url}/", timeout=5).json()["resonate"]["rules"] == expected
    index = requests.get(f"{node.api_url}/api/v1/resonate/", timeout=5).json()
    chain = index.pop("chain_rule_versions")
    assert index == rules.summary()
    known = rule_versions.known()
    assert (chain["known"], chain["in_force"], chain["unknown_voted_in"]) == (known, 1, [])
    assert all(entry["rule_versions"] == known and entry["unknown_rule_versions"] == []
               for entry in report)


def test_party_round_trip_with_operation_filter_and_search(testnet, clients):
    keypair = generate_key_pair()
    tx = clients[1].register_party(keypair, {"@type": "MusicGroup", "name": "Ezra Collective Quartet"})
    wait_everywhere(clients, tx["id"])
    assert [t["id"] for t in clients[2].transactions_for_asset(tx["id"], "PARTY")] == [tx["id"]]
    assert clients[2].transactions_for_asset(tx["id"], "CREATE") == []
    assert [a["id"] for a in clients[3].search_assets("ezra quartet")] == [tx["id"]]


def test_a_party_breaking_a_rule_is_refused_with_its_code_by_every_node(clients):
    keypair = generate_key_pair()
    tx = Party.create([keypair.public_key], [([keypair.public_key], 1)],
                      asset={"@context": COALAIP_CONTEXT, "@type": "Person", "givenName": "Solo"})
    signed = tx.sign([keypair.private_key]).to_dict()
    for client in clients:
        with pytest.raises(TransactionRefused) as refused:
            client.submit(signed)
        assert refused.value.code == "PARTY_NAME_MISSING"
        assert refused.value.status == 400


@pytest.mark.parametrize("body, code", [
    (b'{"asset": {"data": {"level": NaN}}}', "TX_NON_FINITE_NUMBER"),
    (b'{"id": ', "TX_MALFORMED"),
    (b'[{"operation": "CREATE"}]', "TX_MALFORMED"),
    (b'{"pad": "' + b"x" * 300_000 + b'"}', "TX_TOO_LARGE"),
])
def test_hostile_bodies_get_a_400_with_a_code_and_every_node_keeps_running(testnet, clients, body, code):
    for node in testnet.nodes:
        response = requests.post(f"{node.api_url}/api/v1/transactions", data=body,
                                 headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 400
        assert response.json()["code"] == code
    alice, bob = generate_key_pair(), generate_key_pair()
    create, _ = create_and_transfer(alice, bob)
    clients[3].submit(create)  # and the network still commits


def test_an_oversized_signed_transaction_is_refused_even_straight_to_tendermint(testnet, clients):
    keypair = generate_key_pair()
    tx = Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                            metadata={"pad": "x" * 70_000}).sign([keypair.private_key]).to_dict()
    with pytest.raises(TransactionRefused) as refused:
        clients[0].submit(tx)
    assert refused.value.code == "TX_TOO_LARGE"
    # Bypassing the HTTP API: CheckTx refuses it with the same code.
    import base64
    payload = base64.b64encode(json.dumps(tx).encode()).decode()
    result = requests.post(testnet.nodes[1].rpc_url, json={
        "jsonrpc": "2.0", "id": "oversized", "method": "broadcast_tx_sync", "params": [payload]},
        timeout=10).json()["result"]
    assert result["code"] != 0 and result["log"].startswith("TX_TOO_LARGE")


def test_a_double_spend_sent_to_two_nodes_at_once_commits_exactly_once(testnet, clients):
    alice, bob, carol = generate_key_pair(), generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 1)]).sign([alice.private_key])
    clients[0].submit(create)
    wait_everywhere(clients, create.id)
    to_bob = Transaction.transfer(create.to_inputs(), [([bob.public_key], 1)], asset_id=create.id)
    to_carol = Transaction.transfer(create.to_inputs(), [([carol.public_key], 1)], asset_id=create.id)
    spends = [to_bob.sign([alice.private_key]).to_dict(), to_carol.sign([alice.private_key]).to_dict()]

    def submit(pair):
        client, tx = pair
        try:
            client.submit(tx, mode="sync")
            return True
        except TransactionRefused:
            return False

    posted = [(clients[1], spends[0]), (clients[2], spends[1])]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(submit, posted))
    wait_until(lambda: any(clients[0].is_committed(tx["id"]) for tx in spends), what="one spend")
    time.sleep(3)  # several more blocks' time for the other to (wrongly) land
    wait_until(lambda: all_agree(testnet), what="agreement")
    for client in clients:
        committed = [tx["id"] for tx in spends if client.is_committed(tx["id"])]
        assert len(committed) == 1
    spent = requests.get(f"{testnet.nodes[3].api_url}/api/v1/outputs",
                         params={"public_key": alice.public_key, "spent": "true"}).json()
    assert spent == [{"transaction_id": create.id, "output_index": 0}]
    # Each sender learns from the node it posted to which one won, and why the other never will.
    statuses = sorted((client.status(tx["id"]) for client, tx in posted), key=lambda s: s["status"])
    assert [status["status"] for status in statuses] == ["committed", "refused"]
    assert statuses[0]["height"] == block_of(testnet, statuses[0]["id"])
    assert statuses[1]["code"] == "HOST_DOUBLE_SPEND"


def test_the_event_stream_reports_committed_transactions(testnet, clients):
    received, ready = [], threading.Event()

    async def listen():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                    f"{testnet.nodes[2].ws_url}/api/v1/streams/valid_transactions") as socket:
                ready.set()
                async for message in socket:
                    received.append(json.loads(message.data))
                    return

    listener = threading.Thread(target=asyncio.run, args=(listen(),), daemon=True)
    listener.start()
    assert ready.wait(10)
    alice = generate_key_pair()
    create, _ = create_and_transfer(alice, alice)
    clients[0].submit(create)
    listener.join(15)
    assert received and received[0]["transaction_id"] == create.id
    assert received[0]["asset_id"] == create.id


@pytest.mark.drills
def test_with_one_validator_stopped_the_others_commit_and_it_catches_up(testnet, clients):
    testnet.stop_node("node4")
    try:
        alice, bob = generate_key_pair(), generate_key_pair()
        create, transfer = create_and_transfer(alice, bob)
        clients[0].submit(create)
        clients[1].submit(transfer)
        # committed by the three running validators; each stores it as it commits
        wait_everywhere(clients[:3], transfer.id)
    finally:
        testnet.start_node("node4", progress=quiet)
    wait_everywhere(clients, transfer.id, timeout=60)
    assert_one_history(testnet)


@pytest.mark.drills
def test_with_half_the_validators_down_commit_mode_answers_pending_then_the_status_follows(
        testnet, clients):
    alice = generate_key_pair()
    create, _ = create_and_transfer(alice, alice)
    for name in ("node3", "node4"):
        testnet.stop_node(name)
    try:
        answer = requests.post(f"{testnet.nodes[0].api_url}/api/v1/transactions",
                               params={"mode": "commit"}, json=create.to_dict(), timeout=30)
        assert answer.status_code == 202
        body = answer.json()
        assert (body["status"], body["id"]) == ("pending", create.id)
        assert answer.headers["Location"] == body["status_url"] == (
            f"/api/v1/resonate/transactions/{create.id}/status")
        assert clients[0].status(create.id)["status"] == "pending"
        with pytest.raises(TransactionPending) as pending:  # posting it again follows it
            clients[0].submit(create, mode="commit")
        assert pending.value.status_url == body["status_url"]
    finally:
        for name in ("node3", "node4"):
            testnet.start_node(name, progress=quiet)
    wait_until(lambda: clients[0].status(create.id)["status"] == "committed", timeout=60,
               what="the pending transaction to commit once the validators are back")
    assert clients[0].status(create.id)["height"] == block_of(testnet, create.id)
    # Any node knows a committed one, once it has caught up (node4 was restarted just now).
    wait_until(lambda: clients[3].is_committed(create.id), timeout=60, what="node4 to catch up")
    assert clients[3].status(create.id)["status"] == "committed"
    assert_one_history(testnet)


def block_of(testnet, txid):
    heights = requests.get(f"{testnet.nodes[0].api_url}/api/v1/blocks",
                           params={"transaction_id": txid}, timeout=5).json()
    return heights[0] if heights else None


def test_a_transfer_of_an_uncommitted_create_is_accepted_through_the_mempool(testnet, clients):
    """The HTTP pre-check sees only committed state; CheckTx also sees the mempool, so two
    dependent transactions posted back to back can commit, usually in one block."""
    same_block = 0
    for _ in range(3):
        alice, bob = generate_key_pair(), generate_key_pair()
        create, transfer = create_and_transfer(alice, bob)
        # An idle chain proposes a block for the first transaction at once. While the
        # warm-up's block is being agreed, the pair waits in the mempool for the next one.
        warm_up, _ = create_and_transfer(bob, bob)
        clients[0].submit(warm_up, mode="async")
        time.sleep(0.1)
        clients[0].submit(create, mode="sync")
        clients[0].submit(transfer, mode="sync")
        wait_everywhere(clients, transfer.id)
        same_block += block_of(testnet, create.id) == block_of(testnet, transfer.id)
    assert same_block >= 1


def test_a_transfer_of_an_unknown_input_is_refused_by_checktx_with_its_code(clients):
    alice, bob = generate_key_pair(), generate_key_pair()
    _, transfer = create_and_transfer(alice, bob)  # its CREATE is never posted
    with pytest.raises(TransactionRefused) as refused:
        clients[1].submit(transfer, mode="async")
    assert refused.value.code == "HOST_INPUT_DOES_NOT_EXIST"
