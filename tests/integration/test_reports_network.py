"""Reports over a real store: the scripted play history of tests/unit/test_reports.py
(signed transactions) stored in a real FerretDB the way BigchainDB stores them, read by
StoreLedger through BigchainDB's own connection, served by the report routes, and
audited over HTTP through Flask's test client."""
import json
from types import SimpleNamespace

import pymongo
import pytest
from bigchaindb.backend import connect
from flask import Flask, jsonify

from bigchaindb_resonate import api
from bigchaindb_resonate.client import NotFoundError
from bigchaindb_resonate.reports.audit import audit
from bigchaindb_resonate.reports.compute import Period, Scope, StoreLedger, report_lines
from bigchaindb_resonate.reports import dsr
from bigchaindb_resonate.reports.formats import read_lines

from unit import test_reports as unit  # the scripted history, shared with the unit tests

pytestmark = pytest.mark.integration
DATABASE = "reports_network"



@pytest.fixture(scope="module")
def history():
    return unit.History()


@pytest.fixture(scope="module")
def bigchain(ferretdb, history):
    database = pymongo.MongoClient("127.0.0.1", ferretdb)[DATABASE]
    for name, collection in history.store.collections.items():
        if collection.documents:
            database[name].insert_many([dict(doc) for doc in collection.documents])
    return SimpleNamespace(connection=connect(backend="localmongodb", host="127.0.0.1",
                                              port=ferretdb, name=DATABASE))


@pytest.fixture(scope="module")
def app(bigchain):
    app = Flask(__name__)

    class Pool:
        def __call__(self):
            return self

        def __enter__(self):
            return bigchain

        def __exit__(self, *exc):
            return False

    app.config["bigchain_pool"] = Pool()
    api.register(app)
    conn = bigchain.connection

    def transaction(txid):
        tx = conn.run(conn.collection("transactions").find_one({"id": txid}, {"_id": False}))
        tx["metadata"] = conn.run(conn.collection("metadata").find_one({"id": txid}))["metadata"]
        if "asset" not in tx:
            tx["asset"] = {"data": conn.run(conn.collection("assets").find_one({"id": txid}))["data"]}
        return tx

    # BigchainDB's block and transaction routes, answered from the same store.
    @app.route("/api/v1/blocks/<int:height>")
    def block(height):
        found = conn.run(conn.collection("blocks").find_one({"height": height}))
        return jsonify({"height": height, "transactions": [transaction(i) for i in found["transactions"]]})

    @app.route("/api/v1/transactions/<txid>")
    def get_transaction(txid):
        return jsonify(transaction(txid))

    return app


def test_the_real_store_gives_the_same_lines_as_the_scripted_one(history, bigchain):
    for scope, period in [("network", {}), (f"party:{history.party['id']}", {}),
                          (f"track:{history.track3['id']}", {}),
                          ("network", {"from_time": unit.T0 + 20 + unit.DAY, "to_height": 5})]:
        expected = list(report_lines(StoreLedger(history.store), Scope.parse(scope), Period(**period)))
        found = list(report_lines(StoreLedger(bigchain), Scope.parse(scope), Period(**period)))
        assert found == expected


def test_route_and_audit_over_http(app):
    http = app.test_client()

    class Node:
        def _get(self, path, **params):
            response = http.get(f"/api/v1/{path}", query_string=params)
            if response.status_code == 404:  # as bigchaindb_resonate.client.Client does
                raise NotFoundError(404, response.get_json())
            return response.get_json()

    for fmt in ("json", "csv", "dsr"):
        text = http.get("/api/v1/resonate/reports", query_string={"format": fmt}).get_data(as_text=True)
        result = audit(text.splitlines(True), ["node"], {"node": Node()})
        assert result.ok, result.findings
    lines = json.loads(http.get("/api/v1/resonate/reports").get_data(as_text=True))["lines"]
    csv_text = http.get("/api/v1/resonate/reports?format=csv").get_data(as_text=True)
    assert list(read_lines(csv_text.splitlines(True), "csv")) == lines
    parsed = dsr.parse(http.get("/api/v1/resonate/reports?format=dsr").get_data(
        as_text=True).splitlines(True))
    assert lines[-2]["tokens"] == 1036
    assert parsed["totals"]["revenue"] == dsr.decimal(dsr.micros(1036, 800))
    assert parsed["totals"]["streams"] == lines[-2]["paid_plays"] + lines[-2]["free_plays"]
