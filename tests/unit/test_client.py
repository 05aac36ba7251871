"""The client library as an integrator meets it: importable and working without the
server's packages, and every HTTP answer turned into a typed error, against a real local
HTTP server that answers as a node does."""
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from bigchaindb_resonate.client import (
    Client, ClientError, NodeUnreachable, NotFoundError, QueryRefused, ServerError,
    TransactionRefused, generate_key_pair,
)

SERVER_ONLY = ("bigchaindb", "pymongo", "gevent", "yaml", "jsonschema", "cryptoconditions", "flask")

# Runs in a fresh interpreter where importing any server-only package fails.
WITHOUT_THE_SERVER = f"""
import sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Absent())
from bigchaindb_resonate.client import Client, generate_key_pair
from bigchaindb_resonate.errors import InvalidIswc
from bigchaindb_resonate.operations import play

listener = generate_key_pair()
purchase = {{"id": "ab" * 32, "operation": "TRANSFER", "asset": {{"id": "cd" * 32}}, "metadata": None,
            "version": "2.0", "inputs": [], "outputs": [{{"public_keys": [listener.public_key], "amount": "100",
            "condition": {{"details": {{"type": "ed25519-sha-256", "public_key": listener.public_key}}}}}}]}}
tx = play.pay([(purchase, 0)], listener.public_key, {{"track": "ef" * 32, "territory": "GB",
              "right": "01" * 32, "playNumber": 1, "split": "23" * 32}}, [(listener.public_key, 10000)],
              {{"platform_key": listener.public_key, "coop_share_bp": 3000}})
signed = Client.fulfill(tx, [listener.private_key])
try:
    Client.prepare("WORK", [listener.public_key], {{"@type": "MusicComposition", "iswcCode": "T-1"}})
except InvalidIswc as refusal:
    code = refusal.code
print(signed["operation"], signed["metadata"]["price"], len(signed["id"]), code,
      sorted(name for name in sys.modules if name.split(".")[0] in {SERVER_ONLY!r}))
"""


def test_the_client_builds_and_signs_without_any_server_package():
    result = subprocess.run([sys.executable, "-c", WITHOUT_THE_SERVER], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["PLAY", "4", "64", "INVALID_ISWC", "[]"]


class Node(BaseHTTPRequestHandler):
    """Answers each path with the status and body the test set in `answers`."""

    answers = {}
    seen = []

    def _answer(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, url.path, parse_qs(url.query), dict(self.headers),
                          self.rfile.read(length) if length else b""))
        status, body = self.answers.get((self.command, url.path), (404, {"status": 404, "message": "no such"}))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def node():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Node)
    Node.answers, Node.seen = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


RECORD_PATH = "/api/v1/resonate/records/" + "ab" * 32


def test_a_read_that_finds_nothing_raises_not_found_with_the_nodes_message(node):
    with pytest.raises(NotFoundError) as missing:
        Client(node).record("ab" * 32)
    assert missing.value.status == 404 and "no such" in str(missing.value)
    assert isinstance(missing.value, ClientError)


def test_a_refused_read_carries_code_field_and_expected(node):
    Node.answers[("GET", "/api/v1/resonate/lookup")] = (400, {
        "status": 400, "message": "bad ISWC", "code": "INVALID_ISWC", "field": "iswc",
        "expected": "T and 10 digits"})
    with pytest.raises(QueryRefused) as refused:
        Client(node).lookup_iswc("T-1")
    assert (refused.value.code, refused.value.field, refused.value.expected) == (
        "INVALID_ISWC", "iswc", "T and 10 digits")


def test_a_refused_transaction_carries_code_field_and_expected(node):
    Node.answers[("POST", "/api/v1/transactions")] = (400, {
        "status": 400, "code": "IDENTIFIER_TAKEN", "field": "asset.data.iswcCode",
        "expected": "an identifier no record holds", "detail": "taken"})
    key = generate_key_pair()
    with pytest.raises(TransactionRefused) as refused:
        Client(node).register_party(key, {"@type": "Person", "name": "Ada"})
    assert (refused.value.code, refused.value.field) == ("IDENTIFIER_TAKEN", "asset.data.iswcCode")
    assert "IDENTIFIER_TAKEN" in str(refused.value)


def test_a_failing_node_and_an_absent_one_are_errors_of_their_own(node):
    Node.answers[("GET", RECORD_PATH)] = (500, b"Internal Server Error")
    with pytest.raises(ServerError) as failed:
        Client(node).record("ab" * 32)
    assert failed.value.status == 500 and "Internal Server Error" in str(failed.value)
    with pytest.raises(NodeUnreachable):
        Client("http://127.0.0.1:9", timeout=2).record("ab" * 32)
    with pytest.raises(ClientError, match="give one like http://127.0.0.1:9984"):
        Client("127.0.0.1:9984").record("ab" * 32)


def test_prepare_fulfill_and_send_are_separate_steps_with_the_gateways_headers(node):
    Node.answers[("POST", "/api/v1/transactions")] = (202, {})
    client = Client(node, headers={"app_id": "resonate", "app_key": "s3cret"})
    key = generate_key_pair()
    tx = client.prepare("PARTY", [key.public_key], {"@type": "Person", "name": "Ada"})
    assert tx["id"] is None and tx["inputs"][0]["fulfillment"]["type"] == "ed25519-sha-256"
    assert Node.seen == []  # preparing and signing never reach the node
    signed = client.fulfill(tx, [key.private_key])
    assert tx["id"] is None and signed["id"] and isinstance(signed["inputs"][0]["fulfillment"], str)
    assert Node.seen == []
    assert client.fulfill(client.prepare("PARTY", key.public_key, {"@type": "Person", "name": "Ada"}),
                          key.private_key) == signed  # one key alone, as bigchaindb-driver takes it
    for send, mode in ((client.send_sync, "sync"), (client.send_commit, "commit"),
                       (client.send_async, "async")):
        assert send(signed) == signed
        method, path, query, headers, body = Node.seen[-1]
        assert (method, path, query["mode"], json.loads(body)) == (
            "POST", "/api/v1/transactions", [mode], signed)
        assert (headers["app_id"], headers["app_key"]) == ("resonate", "s3cret")


def test_prepare_names_where_transfers_are_built():
    with pytest.raises(ValueError, match="prepare_play"):
        Client.prepare("PLAY", ["key"], {})


def test_an_audit_names_the_node_where_a_read_finds_nothing(node):
    from bigchaindb_resonate.reports.audit import AuditError, NodeLedger

    with pytest.raises(AuditError, match=f"{node}: nothing at resonate/reports/context"):
        NodeLedger(node).context("network")
