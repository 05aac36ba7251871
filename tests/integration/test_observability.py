"""A real one-validator network: the node's metrics endpoint (fed by its ABCI and API
processes), Tendermint's Prometheus metrics, the health endpoint and probes, and logs
without colour codes."""
import os
import re
import signal
import time

import pytest
import requests

from bigchaindb_resonate import health, rules
from bigchaindb_resonate.client import generate_key_pair
from bigchaindb_resonate.testnet import supervisor
from bigchaindb_resonate.testnet.config import node_dir

from .conftest import local_testnet

pytestmark = pytest.mark.integration
SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("observed"), first_port=31000, nodes=1) as network:
        yield network


@pytest.fixture(scope="module")
def node(testnet):
    return testnet.nodes[0]


@pytest.fixture(scope="module")
def traffic(testnet, node):
    """One party committed through the API and one body refused by the HTTP pre-check."""
    from bigchaindb_resonate.client import Client

    party = Client(node.api_url).register_party(
        generate_key_pair(), {"@type": "MusicGroup", "name": "Nubya Garcia Trio"})
    refused = requests.post(f"{node.api_url}/api/v1/transactions", data=b'{"id": ',
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert refused.status_code == 400
    return party, refused.json()["code"]


def samples(url):
    """{(name, labels): value} of a Prometheus text page."""
    text = requests.get(url, timeout=10).text
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            name, labels, value = match.groups()
            found[(name, labels or "")] = float(value)
    return found


def value(found, name, **labels):
    wanted = {f'{key}="{label}"' for key, label in labels.items()}
    return sum(number for (sample, sample_labels), number in found.items()
               if sample == name and wanted <= set(sample_labels.split(",")))


def wait_for(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_the_node_counts_what_its_abci_and_api_processes_did(node, traffic):
    _, refusal_code = traffic
    url = f"http://127.0.0.1:{node.ports.metrics}/metrics"
    wait_for(lambda: value(samples(url), "resonate_transactions_total", stage="deliver_tx",
                           outcome="accepted") >= 1, "DeliverTx's acceptance counted")
    found = samples(url)
    # The API process: its pre-check refused one and passed one on to Tendermint.
    assert value(found, "resonate_transactions_total", stage="http", outcome="refused",
                 code=refusal_code) == 1
    assert value(found, "resonate_transactions_total", stage="http", outcome="accepted") >= 1
    # The ABCI process: CheckTx and DeliverTx, timed per type, and the commit.
    assert value(found, "resonate_transactions_total", stage="check_tx", outcome="accepted") >= 1
    assert value(found, "resonate_validation_seconds_count", stage="deliver_tx",
                 operation="PARTY") >= 1
    assert value(found, "resonate_commit_seconds_count") >= 1
    assert value(found, "resonate_block_height") >= 1
    # Both processes talk to the store.
    assert value(found, "resonate_store_round_trips_total", command="find") > 0
    assert value(found, "resonate_store_round_trips_total", command="insert") > 0
    summary = rules.summary()
    assert value(found, "resonate_build_info", version=summary["version"],
                 rules=summary["rules"]) == 1


def test_tendermint_serves_its_own_metrics(node, traffic):
    found = samples(f"http://127.0.0.1:{node.ports.tendermint_metrics}/metrics")
    assert value(found, "tendermint_consensus_height") >= 2
    assert ("tendermint_mempool_size", "") in found or any(
        name == "tendermint_mempool_size" for name, _ in found)


def test_health_endpoint_and_probes_report_a_healthy_node(node, traffic):
    answer = requests.get(f"http://127.0.0.1:{node.ports.metrics}/health", timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["height"] >= 1
    assert body["rules"] == rules.summary()["rules"]
    assert health.node_problem(f"http://127.0.0.1:{node.ports.metrics}/health",
                               f"{node.api_url}/") is None
    assert health.tendermint_problem(node.rpc_url) is None


def test_the_tendermint_probe_fails_while_its_app_does_not_answer(testnet, node, traffic):
    app = supervisor.read_state(testnet.directory)["nodes"][node.name]["bigchaindb"]
    os.killpg(app["pid"], signal.SIGSTOP)  # the app holds its connections but answers nothing
    try:
        problem = health.tendermint_problem(node.rpc_url, timeout=3)
    finally:
        os.killpg(app["pid"], signal.SIGCONT)
    assert problem is not None and "abci_info" in problem
    wait_for(lambda: health.tendermint_problem(node.rpc_url) is None, "healthy again")


def test_log_files_hold_no_colour_codes(testnet, node, traffic):
    logs = node_dir(testnet.directory, node).logs
    files = sorted(logs.glob("*.log"))
    assert {path.name for path in files} >= {"bigchaindb.log", "tendermint.log", "ferretdb.log"}
    for path in files:
        assert "\x1b[" not in path.read_text(errors="replace"), path.name
