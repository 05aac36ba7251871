"""Health probes and the Tendermint runner, on real processes and a real HTTP server
standing in for Tendermint's RPC and the node's endpoints."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bigchaindb_resonate import health, metrics, node


class Answers(BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):
        status, body = self.routes.get(self.path, (404, {}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    Answers.routes = {}


def test_tendermint_is_healthy_only_when_its_app_answers_abci_info(server):
    _, url = server
    Answers.routes = {"/abci_info": (200, {"result": {"response": {"last_block_height": "3"}}})}
    assert health.tendermint_problem(url) is None
    # Tendermint answers 200 with an error when its connection to the app is gone.
    Answers.routes = {"/abci_info": (200, {"error": {"code": -32603, "data": "EOF"}})}
    assert "could not ask its app" in health.tendermint_problem(url)
    assert "did not answer" in health.tendermint_problem("http://127.0.0.1:1", timeout=1)


def test_the_node_is_healthy_only_when_its_health_endpoint_and_api_answer(server):
    _, url = server
    Answers.routes = {"/health": (200, {"status": "ok"}), "/": (200, {"resonate": {}})}
    assert health.node_problem(f"{url}/health", f"{url}/") is None
    Answers.routes["/health"] = (503, {"status": "store unreachable"})
    assert "answered 503" in health.node_problem(f"{url}/health", f"{url}/")


def test_the_runner_stops_tendermint_once_its_app_stopped_answering(server):
    _, url = server
    Answers.routes = {"/abci_info": (200, {"result": {"response": {}}})}
    answers = iter([None, "gone", "gone", "gone"])
    lines = []
    started = time.monotonic()
    status = health.run_tendermint([sys.executable, "-c", "import time; time.sleep(60)"],
                                   url, interval=0.2, failures=3,
                                   probe=lambda rpc: next(answers, "gone"), log=lines.append)
    assert status == 1 and time.monotonic() - started < 30
    assert "lost its app" in lines[-1] and "(3 of 3)" in lines[-2]


def test_the_runner_passes_on_tendermints_own_exit_status(server):
    _, url = server
    assert health.run_tendermint([sys.executable, "-c", "raise SystemExit(7)"], url,
                                 interval=0.2, probe=lambda rpc: None) == 7


def test_failures_before_the_first_answer_count_only_after_the_startup_allowance():
    lines = []
    status = health.run_tendermint([sys.executable, "-c", "import time; time.sleep(1.5)"],
                                   "http://127.0.0.1:1", interval=0.2, failures=2,
                                   startup=30, probe=lambda rpc: "not up yet",
                                   log=lines.append)
    assert status == 0 and lines == []  # a slow start is not a lost app


def test_metrics_settings_come_from_the_config_file_named_by_c(tmp_path, monkeypatch):
    config_file = tmp_path / "bigchaindb.json"
    config_file.write_text(json.dumps({"metrics": {"bind": "127.0.0.1:1",
                                                   "dir": str(tmp_path / "m")}}))
    assert node.config_file(["-c", str(config_file), "start"]) == str(config_file)
    assert node.config_file([f"--config={config_file}", "start"]) == str(config_file)
    settings = metrics.settings_from(config_file)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "counter_1.db").write_text("left by an earlier run")
    monkeypatch.setenv(metrics.MULTIPROC_ENV, "")  # so that the test leaves it as it was
    metrics.prepare(settings)
    assert list((tmp_path / "m").iterdir()) == []
    assert os.environ[metrics.MULTIPROC_ENV] == str(tmp_path / "m")
    assert metrics.settings_from(None) is None and metrics.settings_from(tmp_path / "none") is None
