"""A real node start on a real FerretDB store: the first start records the store's format,
and a start on a store that a newer release wrote is refused with a message, before the
node touches the store (store_format.py, host._store_format_checked_at_start)."""
import json
import subprocess
import sys
import time

import pymongo
import pytest

from bigchaindb_resonate import __version__, store_format
from bigchaindb_resonate.testnet.config import bigchaindb_settings, NodeDir
from bigchaindb_resonate.testnet.description import describe_loopback

from .conftest import free_port

pytestmark = pytest.mark.integration


def node_config(tmp_path, store_port, database):
    """The configuration a testnet node gets, pointed at the shared FerretDB fixture."""
    node = describe_loopback(1, free_port()).nodes[0]
    settings = bigchaindb_settings(node, NodeDir(tmp_path))
    settings["database"].update(port=store_port, name=database)
    settings["server"]["bind"] = f"127.0.0.1:{free_port()}"
    settings["wsserver"]["port"] = free_port()
    settings["tendermint"].update(port=free_port(), abci_port=free_port())
    (tmp_path / "logs").mkdir()
    path = tmp_path / "bigchaindb.json"
    path.write_text(json.dumps(settings))
    return path


def start_node(config):
    return subprocess.Popen([sys.executable, "-m", "bigchaindb_resonate.node", "-c", str(config),
                             "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def recorded(collection, timeout=60, process=None):
    deadline = time.monotonic() + timeout
    while (document := collection.find_one({"_id": store_format.KEY})) is None:
        assert process is None or process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the node recorded no store format"
        time.sleep(0.2)
    return document


def test_a_node_records_its_store_format_and_refuses_a_store_a_newer_release_wrote(
        ferretdb, tmp_path):
    database = "store_format_test"
    collection = pymongo.MongoClient("127.0.0.1", ferretdb)[database][store_format.COLLECTION]
    config = node_config(tmp_path, ferretdb, database)

    first = start_node(config)
    try:
        assert recorded(collection, process=first) == {
            "_id": store_format.KEY, "format": store_format.STORE_FORMAT,
            "written_by": f"bigchaindb-resonate {__version__}"}
    finally:
        subprocess.run(["pkill", "-KILL", "-g", str(first.pid)], check=False)
        first.communicate()

    newer = {"_id": store_format.KEY, "format": store_format.STORE_FORMAT + 1,
             "written_by": "bigchaindb-resonate 9.0.0"}
    collection.replace_one({"_id": store_format.KEY}, newer)
    refused = start_node(config)
    try:
        _, err = refused.communicate(timeout=120)
    finally:
        subprocess.run(["pkill", "-KILL", "-g", str(refused.pid)], check=False)
    assert refused.returncode == 1
    assert "Traceback" not in err
    assert (f"error: this node's store was written by bigchaindb-resonate 9.0.0 (store format "
            f"{store_format.STORE_FORMAT + 1}); this is bigchaindb-resonate {__version__}") in err
    assert "Install bigchaindb-resonate 9.0.0 or later" in err
    assert collection.find_one({"_id": store_format.KEY}) == newer  # left as it was
