"""Build (or reuse) the real binaries and smoke-test them.

The first run builds from the Go module proxy and takes a minute or two;
later runs reuse the cache under RESONATE_CACHE.
"""

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from bigchaindb_resonate import binaries

pytestmark = pytest.mark.integration


def _free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_for(check, timeout=30.0):
    """Retry `check` until it returns true; re-raise its last error on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
            error = AssertionError(f"not ready after {timeout}s")
        except Exception as exc:  # not up yet
            error = exc
        if time.monotonic() > deadline:
            raise error
        time.sleep(0.3)


@pytest.fixture(scope="module")
def tendermint():
    path = binaries.ensure_tendermint()
    assert path == binaries.binary_path("tendermint", binaries.TENDERMINT_VERSION)
    return path


@pytest.fixture(scope="module")
def ferretdb():
    path = binaries.ensure_ferretdb()
    assert path == binaries.binary_path("ferretdb", binaries.FERRETDB_VERSION,
                                        binaries.digest_of(binaries.ferretdb_patches()))
    return path


def test_tendermint_version(tendermint):
    out = subprocess.run([tendermint, "version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.31.5"
    assert binaries.is_cached("tendermint", "0.31.5")


def test_tendermint_single_node_makes_blocks(tendermint, tmp_path):
    home = tmp_path / "tm"
    subprocess.run([tendermint, "init", "--home", home], check=True, capture_output=True)
    p2p, rpc = _free_ports(2)
    log = open(tmp_path / "node.log", "w")
    proc = subprocess.Popen(
        [tendermint, "node", "--home", home, "--proxy_app=kvstore",
         f"--p2p.laddr=tcp://127.0.0.1:{p2p}", f"--rpc.laddr=tcp://127.0.0.1:{rpc}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        def height():
            with urllib.request.urlopen(f"http://127.0.0.1:{rpc}/status", timeout=2) as r:
                status = json.load(r)["result"]
            assert status["node_info"]["version"] == "0.31.5"
            return int(status["sync_info"]["latest_block_height"]) >= 2

        _wait_for(height)
    finally:
        _stop(proc)
        log.close()


def test_ferretdb_version(ferretdb):
    out = subprocess.run([ferretdb, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0] == "version: v1.24.2"
    assert binaries.is_cached("ferretdb", "1.24.2", binaries.digest_of(binaries.ferretdb_patches()))


def test_ferretdb_sqlite_answers_ping(ferretdb, tmp_path):
    pymongo = pytest.importorskip("pymongo")
    data, state = tmp_path / "data", tmp_path / "state"
    data.mkdir()
    state.mkdir()
    port, debug_port = _free_ports(2)
    log = open(tmp_path / "ferretdb.log", "w")
    proc = subprocess.Popen(
        [ferretdb, "--handler=sqlite", f"--sqlite-url=file:{data}/", "--telemetry=disable",
         f"--listen-addr=127.0.0.1:{port}", f"--debug-addr=127.0.0.1:{debug_port}",
         f"--state-dir={state}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=20000)
        assert client.admin.command("ping")["ok"] == 1.0
        client.smoke.things.insert_one({"id": "x"})
        assert client.smoke.things.find_one({"id": "x"}, {"_id": 0}) == {"id": "x"}
        # Our SQLite files, so it was our process (not a stray one on that port) that answered.
        assert (data / "smoke.sqlite").exists()
        client.close()
    finally:
        _stop(proc)
        log.close()
