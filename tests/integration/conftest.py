import socket
import subprocess
import time

import pytest


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ferretdb(tmp_path_factory):
    """A real FerretDB (SQLite backend) on a loopback port, for tests below the network."""
    from bigchaindb_resonate.binaries import ensure_ferretdb

    binary = ensure_ferretdb(progress=lambda line: None)
    home = tmp_path_factory.mktemp("ferretdb")
    (home / "store").mkdir()
    port = free_port()
    log = open(home / "ferretdb.log", "w")
    process = subprocess.Popen(
        [str(binary), "--telemetry=disable", "--handler=sqlite", f"--sqlite-url=file:{home}/store/",
         f"--listen-addr=127.0.0.1:{port}", f"--debug-addr=127.0.0.1:{free_port()}",
         f"--state-dir={home}"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"FerretDB did not start; see {home}/ferretdb.log")
            time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(timeout=10)
    log.close()
