"""The rule index on a real FerretDB: filing blocks the size of a busy node's."""
import pytest
from bigchaindb.backend import schema

from bigchaindb_resonate.ledger import RULE_INDEX, file_block

from .conftest import new_database

pytestmark = pytest.mark.integration


def test_a_block_whose_transactions_touch_a_hundred_and_more_filed_keys_commits(ferretdb):
    """Every head a block files under an existing key is a replacement of a stored document.
    FerretDB 1.24 deadlocks on an update command holding 100 of them (ledger.file_block);
    a second 150-key block must still file, and count both."""
    name, connection = new_database(ferretdb)
    try:
        keys = [f"bench|key|{number}" for number in range(150)]
        for block in range(2):
            file_block(connection, [(f"tx-{block}-{number}", [key])
                                    for number, key in enumerate(keys)])
        heads = {head["_id"]: head for head in connection.run(
            connection.collection(RULE_INDEX).find({"_id": {"$in": keys}}))}
        assert sorted(heads) == sorted(keys)
        assert {head["count"] for head in heads.values()} == {2}
        assert heads["bench|key|149"]["latest"] == "tx-1-149"
    finally:
        schema.drop_database(connection, name)
