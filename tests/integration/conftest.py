import base64
import contextlib
import itertools
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
    with running_ferretdb(tmp_path_factory.mktemp("ferretdb")) as port:
        yield port


@contextlib.contextmanager
def running_ferretdb(home, *options):
    """A FerretDB with its store under `home` and any further command-line `options`;
    its port while it runs."""
    from bigchaindb_resonate.binaries import ensure_ferretdb

    binary = ensure_ferretdb(progress=lambda line: None)
    (home / "store").mkdir()
    port = free_port()
    log = open(home / "ferretdb.log", "w")
    process = subprocess.Popen(
        [str(binary), "--telemetry=disable", "--handler=sqlite", f"--sqlite-url=file:{home}/store/",
         f"--listen-addr=127.0.0.1:{port}", f"--debug-addr=127.0.0.1:{free_port()}",
         f"--state-dir={home}", *options], stdout=log, stderr=subprocess.STDOUT)
    try:
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
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def local_testnet(directory, first_port, nodes=4, parameters=None):
    """A real network of `nodes` validators on loopback, from the first free ports at or
    after `first_port`, its genesis also setting `parameters`; stopped and deleted
    afterwards."""
    from bigchaindb_resonate.testnet import Testnet
    from bigchaindb_resonate.testnet.config import save_genesis_parameters
    from bigchaindb_resonate.testnet.description import free_base_port

    if parameters:
        save_genesis_parameters(directory, parameters)

    base_port = free_base_port(nodes, start=first_port)
    assert base_port is not None, f"no free block of ports from {first_port} up to 32767"
    network = Testnet(directory)
    network.up(nodes=nodes, base_port=base_port, progress=quiet)
    try:
        yield network
    finally:
        network.down(purge=True, progress=quiet)


def quiet(line):
    """Progress lines are for people; tests keep their output clean."""


def wait_everywhere(clients, txid, timeout=30):
    """A commit-mode answer means one node committed; each node stores as it commits."""
    deadline = time.monotonic() + timeout
    while not all(client.is_committed(txid) for client in clients):
        assert time.monotonic() < deadline, f"{txid[:12]} not on every node after {timeout}s"
        time.sleep(0.2)


_databases = itertools.count()


def new_database(port):
    """A fresh, initialised BigchainDB database on the FerretDB at `port`."""
    import bigchaindb
    from bigchaindb.backend import connect, schema

    name = f"abci_test_{next(_databases)}"
    bigchaindb.config["database"].update(host="127.0.0.1", port=port, name=name)
    connection = connect()
    schema.init_database(connection)
    return name, connection


@pytest.fixture
def app(ferretdb):
    import bigchaindb.start
    from abci import ABCI, TmVersion
    from bigchaindb.backend import schema

    name, connection = new_database(ferretdb)
    types = ABCI(TmVersion.v0_31_5).types
    application = bigchaindb.start.App(abci=types)
    validator = types.ValidatorUpdate(
        pub_key=types.PubKey(type="ed25519", data=base64.b64decode(
            "zL/DasvKulXZzhSNFwx4cLRXKkSM9GPK7Y0nZ4FEylM=")), power=10)
    application.init_chain(types.RequestInitChain(validators=[validator], chain_id="test-chain"))
    application.height = 0
    yield application
    schema.drop_database(connection, name)


@pytest.fixture(scope="module")
def clients(testnet):
    """A client per node of the module's `testnet` fixture."""
    from bigchaindb_resonate.client import Client

    return [Client(node.api_url) for node in testnet.nodes]


@pytest.fixture(scope="module")
def catalogue(testnet, clients):
    """The story's catalogue (tests/integration/story.py) on the module's `testnet`."""
    from . import story

    return story.catalogue(testnet, clients)


def committed(clients, tx):
    """`tx` once every node has stored it."""
    wait_everywhere(clients, tx["id"])
    return tx


def at_once(posts):
    """Run each (client method, arguments) of `posts` at the same time with mode=commit;
    each one's transaction, or its TransactionRefused."""
    from concurrent.futures import ThreadPoolExecutor

    from bigchaindb_resonate.client import TransactionRefused

    def run(post):
        method, *args = post
        try:
            return method(*args, mode="commit")
        except TransactionRefused as refused:
            return refused

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(run, posts))


def pytest_collection_modifyitems(config, items):
    """Drills marked `drills(ci=False)` take minutes: they run only when the -m expression
    names drills (`scripts/test -m drills`), and are deselected, never skipped, otherwise."""
    if "drills" in (config.option.markexpr or ""):
        return
    long_drills = [item for item in items
                   if any(mark.kwargs.get("ci") is False for mark in item.iter_markers("drills"))]
    if long_drills:
        config.hook.pytest_deselected(items=long_drills)
        items[:] = [item for item in items if item not in long_drills]
