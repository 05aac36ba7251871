"""Fault drills a member's network must survive, on a real local network of 4 validators.
Each ends by checking that every node has one app hash at every height and that every
transaction a node acknowledged is committed on every node (drills.py).

All are marked `drills`; those marked `drills(ci=False)` take minutes and run only when
asked for: `scripts/test -m drills` runs every drill (network/README.md, "Drills")."""
import base64
import email.utils
import json
import os
import shutil
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from bigchaindb_resonate import backup
from bigchaindb_resonate.testnet import supervisor
from bigchaindb_resonate.testnet.config import node_dir

from .conftest import local_testnet, quiet
from .drills import Load, assert_none_lost, assert_one_history, new_create

pytestmark = [pytest.mark.integration, pytest.mark.drills]


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("drills"), first_port=30600) as network:
        yield network


def commit_some(clients, count=3):
    """`count` CREATEs committed through the nodes in turn; their ids."""
    txids = []
    for index in range(count):
        tx = new_create("committed before the drill")
        clients[index % len(clients)].submit(tx, mode="commit")
        txids.append(tx["id"])
    return txids


# -- backup, wipe, restore

def test_a_validator_backed_up_wiped_and_restored_on_a_fresh_machine_catches_up_and_agrees(
        testnet, clients, tmp_path):
    from bigchaindb_resonate import cli

    before = commit_some(clients)
    archive = tmp_path / "node3.tar.gz"
    manifest = testnet.backup_node("node3", archive, progress=quiet)
    assert manifest.height >= 1 and manifest.app_hash
    assert manifest.chain_id == testnet.network.chain_id
    assert os.stat(archive).st_mode & 0o777 == 0o600
    import tarfile
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert not [name for name in names if "key" in name.rsplit("/", 1)[-1]]  # no key travels
    assert "store/bigchain.sqlite" in names

    # The network moves on while node3's copy ages.
    after = commit_some(clients[:2] + clients[3:])
    # A fresh machine: node3's configuration and keys are put back from their private
    # backup, its chain, store and last-signed state are gone.
    files = node_dir(testnet.directory, testnet.network.node("node3"))
    testnet.stop_node("node3")
    for folder in (files.store, files.ferretdb_state, files.tendermint_home / "data"):
        shutil.rmtree(folder)
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.restore(tmp_path / "missing.tar.gz", files.root, progress=quiet)
    assert cli.main(["node", "restore", str(archive), str(files.root)]) == 0
    assert json.loads(files.validator_state.read_text())["height"] != "0"
    with pytest.raises(backup.BackupError, match="already holds a chain or store"):
        backup.restore(archive, files.root, progress=quiet)
    testnet.start_node("node3", progress=quiet)

    node3 = clients[2]
    assert all(node3.is_committed(txid) for txid in before)
    tx = new_create("through the restored node")
    node3.submit(tx, mode="commit")
    assert assert_one_history(testnet) > manifest.height
    assert_none_lost(clients, before + after + [tx["id"]])


def test_a_backup_is_refused_while_the_node_runs_and_into_another_chain(testnet, tmp_path):
    files = node_dir(testnet.directory, testnet.network.node("node2"))
    with pytest.raises(backup.BackupError) as running:
        backup.backup(files.root, tmp_path / "running.tar.gz", progress=quiet)
    assert "stop the node first" in str(running.value) and "tendermint" in str(running.value)
    assert not (tmp_path / "running.tar.gz").exists()

    archive = tmp_path / "node2.tar.gz"
    testnet.backup_node("node2", archive, progress=quiet)
    other = tmp_path / "other" / "tendermint" / "config"
    other.mkdir(parents=True)
    (other / "genesis.json").write_text(json.dumps({"chain_id": "another-chain"}))
    with pytest.raises(backup.BackupError, match="is a backup of chain .* another-chain"):
        backup.restore(archive, tmp_path / "other", progress=quiet)


# -- invalid transactions straight to Tendermint's RPC, past the HTTP pre-check

def rpc(node, method, payload):
    return requests.post(node.rpc_url, json={"jsonrpc": "2.0", "id": method, "method": method,
                                             "params": [base64.b64encode(payload).decode()]},
                         timeout=30).json()


def test_invalid_transactions_sent_straight_to_tendermint_are_refused_with_codes(
        testnet, clients):
    valid = new_create("signed, then tampered with")
    tampered = {**valid, "metadata": {"changed": "after signing"}}
    double = new_create("sent twice")
    clients[0].submit(double, mode="commit")
    hostile = {
        b"\x00\xff not json": "TX_MALFORMED",
        b'{"asset": {"data": {"level": NaN}}}': "TX_NON_FINITE_NUMBER",
        json.dumps(tampered).encode(): None,  # its own code: the id no longer matches
        # committed already; other bytes than the node sent, which Tendermint's cache
        # would turn away before CheckTx
        json.dumps(double, indent=1).encode(): None,
    }
    node = testnet.nodes[1]
    for method in ("broadcast_tx_sync", "broadcast_tx_commit"):
        for payload, code in hostile.items():
            answer = rpc(node, method, payload)
            assert "result" in answer, (method, payload[:40], answer)
            answer = answer["result"]
            check = answer["check_tx"] if method == "broadcast_tx_commit" else answer
            assert check["code"] != 0, (method, payload[:40])
            refusal = json.loads(check["log"].split(": ", 1)[1])
            assert refusal["code"] == (code or refusal["code"]), refusal
            assert check["log"].startswith(refusal["code"] + ": ")
    # async answers before CheckTx: nothing it sent commits, and the node keeps going.
    for payload in hostile:
        assert rpc(node, "broadcast_tx_async", payload)["result"]["code"] == 0, payload[:40]
    tx = new_create("after the hostile ones")
    clients[1].submit(tx, mode="commit")
    assert not any(client.is_committed(valid["id"]) for client in clients)
    assert_one_history(testnet)
    assert_none_lost(clients, [double["id"], tx["id"]])
    for entry in supervisor.read_state(testnet.directory)["nodes"]["node2"].values():
        assert entry["restarts"] == 0


# -- kill -9 of each process under load

def kill_9(testnet, name, process):
    """SIGKILL one process of node `name`, as the kernel's OOM killer would; returns once
    the supervisor runs a new one."""
    state = supervisor.read_state(testnet.directory)["nodes"][name][process]
    os.kill(state["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        now = supervisor.read_state(testnet.directory)["nodes"][name][process]
        if now["pid"] not in (None, state["pid"]) and now["state"] == "running":
            return
        assert time.monotonic() < deadline, f"{name}'s {process} was not restarted: {now}"
        time.sleep(0.5)


@pytest.mark.parametrize("process", [
    "bigchaindb",
    pytest.param("tendermint", marks=pytest.mark.drills(ci=False)),
    pytest.param("ferretdb", marks=pytest.mark.drills(ci=False)),
])
def test_kill_9_of_a_process_under_load_loses_nothing_acknowledged(testnet, clients, process):
    with Load(clients) as load:
        time.sleep(4)
        kill_9(testnet, "node2", process)
        time.sleep(4)
    assert load.acknowledged
    # Node2 first catches up (or is reported stuck, with its processes' states); only
    # then is a transaction it lacks lost rather than late.
    assert_one_history(testnet)
    assert_none_lost(clients, load.acknowledged)


# -- two of four validators down and back, under load

@pytest.mark.drills(ci=False)
def test_two_of_four_validators_down_and_back_under_load_lose_nothing(testnet, clients):
    with Load(clients[:2]) as load:
        time.sleep(3)
        committed_before = len(load.acknowledged)
        for name in ("node3", "node4"):
            testnet.stop_node(name)
        time.sleep(2)  # answers to what committed before the second stop
        halted = len(load.acknowledged)
        time.sleep(13)  # longer than a commit-mode wait: posts answer pending
        assert len(load.acknowledged) == halted, "2 of 4 validators cannot commit"
        for name in ("node3", "node4"):
            testnet.start_node(name, progress=quiet)
        time.sleep(5)
    assert committed_before and load.pending
    assert len(load.acknowledged) > halted  # committing again
    # What the halted network accepted into its mempool commits once it is back.
    assert_one_history(testnet)
    assert_none_lost(clients, load.acknowledged + load.pending)


# -- wipe and replay from genesis

@pytest.mark.drills(ci=False)
def test_a_validator_wiped_replays_from_genesis_and_agrees(testnet, clients):
    before = commit_some(clients)
    testnet.wipe_node("node4", progress=quiet)
    files = node_dir(testnet.directory, testnet.network.node("node4"))
    assert not any(files.store.iterdir())
    during = commit_some(clients[:3])
    testnet.start_node("node4", progress=quiet)
    assert_one_history(testnet)
    assert_none_lost(clients, before + during)


# -- a node whose clock is wrong

FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


@pytest.mark.drills(ci=False)
def test_a_node_whose_clock_is_400_days_ahead_decides_as_the_others(testnet, clients):
    """The node's BigchainDB process (our rules, its commit-time bookkeeping, its API) runs
    with libfaketime preloaded, its clock 400 days ahead; the host's clock is untouched.
    Tendermint is a static Go binary, which an LD_PRELOAD does not reach (network/README.md,
    Drills). Licences' validity dates, plays and totals all go through it."""
    from bigchaindb.common.crypto import generate_key_pair

    from .story import catalogue

    assert FAKETIME.exists(), ("libfaketime is not installed: `scripts/drills` installs it "
                               "(Debian's libfaketime) and runs every drill")
    files = node_dir(testnet.directory, testnet.network.node("node2"))
    skew = supervisor.environment_path(files.root, "bigchaindb")
    skew.write_text(json.dumps({"LD_PRELOAD": str(FAKETIME), "FAKETIME": "+400d"}))
    try:
        testnet.stop_node("node2")
        testnet.start_node("node2", progress=quiet)
        served = requests.get(testnet.nodes[1].api_url, timeout=5).headers["Date"]
        ahead = email.utils.parsedate_to_datetime(served) - datetime.now(timezone.utc)
        assert ahead > timedelta(days=399), f"node2's clock is not skewed: {served}"

        shop = catalogue(testnet, clients)
        listener = generate_key_pair()
        bought = clients[1].buy_credits(shop["treasury"], listener.public_key, 100)
        plays = [clients[number % 2].play(listener, shop["track"]["id"], shop["licence"]["id"],
                                          "GB") for number in range(4)]
        assert_none_lost(clients, [bought["id"]] + [play["id"] for play in plays])
        assert ([clients[1].balance(listener.public_key)["balance"]] ==
                [clients[0].balance(listener.public_key)["balance"]] == [100 - 2 - 4 - 8 - 16])
        assert_one_history(testnet)
    finally:
        skew.unlink()
        testnet.stop_node("node2")
        testnet.start_node("node2", progress=quiet)
