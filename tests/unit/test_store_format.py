"""The store format a node records at start and the newer one it refuses (store_format.py);
a real node start refusing one is in tests/integration/test_node_ops.py."""
import pytest

from bigchaindb_resonate import __version__, store_format

from .memory_store import MemoryStore


def test_a_new_store_gets_this_releases_format_and_a_second_start_keeps_it():
    store = MemoryStore()
    assert store_format.written(store) is None
    store_format.check_and_record(store)
    recorded = {"format": store_format.STORE_FORMAT,
                "written_by": f"bigchaindb-resonate {__version__}"}
    assert store_format.written(store) == recorded
    store_format.check_and_record(store)
    assert store_format.written(store) == recorded


def test_a_store_of_a_newer_format_is_refused_naming_both_releases_and_left_as_it_is():
    store = MemoryStore()
    newer = {"_id": store_format.KEY, "format": store_format.STORE_FORMAT + 1,
             "written_by": "bigchaindb-resonate 9.0.0"}
    store.collection(store_format.COLLECTION).replace_one({"_id": store_format.KEY}, newer,
                                                          upsert=True)
    with pytest.raises(store_format.StoreTooNew) as refused:
        store_format.check_and_record(store)
    message = str(refused.value)
    assert "bigchaindb-resonate 9.0.0" in message and __version__ in message
    assert f"store format {store_format.STORE_FORMAT + 1}" in message
    assert "Install bigchaindb-resonate 9.0.0 or later" in message
    assert store_format.written(store)["format"] == store_format.STORE_FORMAT + 1
