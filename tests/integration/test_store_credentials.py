"""The node logs in to its store with the credentials `resonate network member`
generates, over TLS to a server whose certificate its generated CA issued, through
BigchainDB 2.2.2's own connection code and the real driver, on a FerretDB that requires
authentication and listens with TLS (the MongoDB wire protocol, as a member's MongoDB 8.0
with --auth and requireTLS speaks it); without the credentials, or without trusting the
CA, it gets nothing."""
import copy

import bigchaindb
import pytest
from bigchaindb.backend import connect, query, schema
from bigchaindb.backend.exceptions import ConnectionError, OperationError

from bigchaindb_resonate.testnet import compose
from bigchaindb_resonate.testnet.description import STANDARD_PORTS, Node

from bigchaindb_resonate.testnet import store_tls

from .conftest import free_port, running_ferretdb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def member_settings(tmp_path_factory):
    """The database settings of a generated member's bigchaindb.json."""
    password = compose._kept_secret(tmp_path_factory.mktemp("secrets") / "mongodb-node-password")
    node = Node(name="node", power=0, host="kokoroko.example", bind="0.0.0.0",
                ports=STANDARD_PORTS)
    return compose.container_bigchaindb_settings(
        node, compose.MEMBER_SERVICES, advertised_host=node.host, advertised_ws_port=443,
        database_password=password, tls=True)["database"]


@pytest.fixture(scope="module")
def store_tls_files(tmp_path_factory):
    """The CA and server certificate `resonate network member` issues, for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("mongodb-tls")
    compose._write_store_tls(directory, compose.MEMBER_SERVICES.mongodb)
    return directory


@pytest.fixture(scope="module")
def store(tmp_path_factory, member_settings, store_tls_files):
    """A FerretDB that admits only the node's user, created as MongoDB's init script does;
    its TLS port, serving the generated server certificate."""
    tls_port = free_port()
    server = store_tls_files / store_tls.SERVER_FILE
    with running_ferretdb(tmp_path_factory.mktemp("ferretdb-auth"), "--test-enable-new-auth",
                          f"--setup-database={member_settings['name']}",
                          f"--setup-username={member_settings['login']}",
                          f"--setup-password={member_settings['password']}",
                          f"--listen-tls=127.0.0.1:{tls_port}",
                          f"--listen-tls-cert-file={server}",
                          f"--listen-tls-key-file={server}"):
        yield tls_port


@pytest.fixture
def trusting_the_store_ca(monkeypatch, store_tls_files):
    """What the node's container sets (SSL_CERT_FILE): the driver trusts the store's CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(store_tls_files / store_tls.CA_FILE))


@pytest.fixture
def database_config():
    saved = copy.deepcopy(bigchaindb.config["database"])
    yield bigchaindb.config["database"]
    bigchaindb.config["database"].clear()
    bigchaindb.config["database"].update(saved)


def connected(database_config, member_settings, port, **changes):
    database_config.update({**member_settings, "host": "127.0.0.1", "port": port,
                            "max_tries": 1, **changes})
    return connect()


def test_the_node_initialises_and_uses_its_store_with_its_own_credentials(
        store, member_settings, database_config, trusting_the_store_ca):
    assert member_settings["ssl"] is True
    connection = connected(database_config, member_settings, store)
    schema.init_database(connection)
    transaction = {"id": "a" * 64, "operation": "CREATE", "asset": {"data": {"k": 1}},
                   "metadata": None, "outputs": [], "inputs": [], "version": "2.0"}
    query.store_transactions(connection, [transaction])
    assert query.get_transaction(connection, "a" * 64)["operation"] == "CREATE"


@pytest.mark.parametrize("changes", [{"password": "not-the-generated-one"},
                                     {"login": None, "password": None}],
                         ids=["wrong password", "no credentials"])
def test_without_the_generated_credentials_the_store_gives_nothing(
        store, member_settings, database_config, trusting_the_store_ca, changes):
    with pytest.raises((ConnectionError, OperationError)):
        connection = connected(database_config, member_settings, store, **changes)
        query.get_transaction(connection, "a" * 64)


@pytest.mark.parametrize("changes", [{}, {"ssl": False}],
                         ids=["CA not trusted", "TLS off"])
def test_without_tls_to_a_trusted_store_the_node_gets_nothing(
        store, member_settings, database_config, changes, monkeypatch, tmp_path):
    # A trust store that lacks the generated CA, as a node without SSL_CERT_FILE has.
    other = tmp_path / "other"
    compose._write_store_tls(other, compose.MEMBER_SERVICES.mongodb)
    monkeypatch.setenv("SSL_CERT_FILE", str(other / store_tls.CA_FILE))
    with pytest.raises(ConnectionError):
        connection = connected(database_config, member_settings, store,
                               connection_timeout=2000, **changes)
        query.get_transaction(connection, "a" * 64)
