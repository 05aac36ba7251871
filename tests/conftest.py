import pytest


@pytest.fixture(scope="session", autouse=True)
def resonate_host():
    """Every test process adapts the host and registers our types, as `bigchaindb-resonate` does."""
    from bigchaindb_resonate import host

    host.apply()


@pytest.fixture
def keypair():
    from bigchaindb.common.crypto import generate_key_pair

    return generate_key_pair()
