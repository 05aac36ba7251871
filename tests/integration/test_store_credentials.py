"""The node logs in to its store with the credentials `resonate network member`
generates, through BigchainDB 2.2.2's own connection code and the real driver, on a
FerretDB that requires authentication (the MongoDB wire protocol, as a member's MongoDB
8.0 with --auth speaks it); without them, or with a wrong password, it gets nothing."""
import copy

import bigchaindb
import pytest
from bigchaindb.backend import connect, query, schema
from bigchaindb.backend.exceptions import ConnectionError, OperationError

from bigchaindb_resonate.testnet import compose
from bigchaindb_resonate.testnet.description import STANDARD_PORTS, Node

from .conftest import running_ferretdb

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
def store(tmp_path_factory, member_settings):
    """A FerretDB that admits only the node's user, created as MongoDB's init script does."""
    with running_ferretdb(tmp_path_factory.mktemp("ferretdb-auth"), "--test-enable-new-auth",
                          f"--setup-database={member_settings['name']}",
                          f"--setup-username={member_settings['login']}",
                          f"--setup-password={member_settings['password']}") as port:
        yield port


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
        store, member_settings, database_config):
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
        store, member_settings, database_config, changes):
    with pytest.raises((ConnectionError, OperationError)):
        connection = connected(database_config, member_settings, store, **changes)
        query.get_transaction(connection, "a" * 64)
