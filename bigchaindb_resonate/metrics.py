"""The node's own Prometheus metrics, and the endpoint that serves them with its health.

What is counted: transactions accepted and refused (by refusal code) in CheckTx, DeliverTx
and the HTTP pre-check; validation time per transaction type; commit time; round trips to
the store per command; what CheckTx holds unconfirmed (the app's view of the mempool); the
committed height; and which plugin version and rule set the node runs.

BigchainDB runs the ABCI app, the HTTP API (gunicorn, several workers) and the event
stream in separate processes, all forked by `bigchaindb-resonate start`. `prepare` (called
by node.main before anything imports prometheus_client) points prometheus_client's
multiprocess mode at the node's metrics directory: every process writes its samples to
its own memory-mapped files there, and the endpoint, served by the ABCI process
(`serve`, started with the ABCI server in host.py), adds them up at each scrape. Without a
`metrics` section in the node's configuration nothing is served.

Nothing here feeds a decision: the hooks only read what the app already computed, and
the timings use a monotonic clock that consensus never sees.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SETTINGS_KEY = "metrics"  # {"bind": "host:port", "dir": "/path"} in bigchaindb.json
UNPARSED = "unparsed"  # the type label of a transaction refused before it was parsed
CHECK_TX, DELIVER_TX, HTTP = "check_tx", "deliver_tx", "http"
# Validation of one transaction takes from about a millisecond to a few hundred.
VALIDATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def settings_from(config_file: str | os.PathLike | None) -> dict | None:
    """The `metrics` section of a node's configuration file, if it has one."""
    if config_file is None:
        return None
    try:
        settings = json.loads(Path(config_file).read_text())
    except (OSError, ValueError):
        return None  # BigchainDB reports the unreadable file itself
    return settings.get(SETTINGS_KEY) if isinstance(settings, dict) else None


def prepare(settings: dict | None) -> None:
    """Before the node starts: an empty multiprocess directory that every process it forks
    writes to (samples of an earlier run would otherwise be added in)."""
    if not settings:
        return
    directory = Path(settings["dir"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)


def _metrics():
    """Created on first use, after `prepare` set the multiprocess directory."""
    global _registered
    if _registered is None:
        from prometheus_client import Counter, Gauge, Histogram

        _registered = {
            "transactions": Counter(
                "resonate_transactions",
                "Transactions checked, by stage, outcome and refusal code",
                ["stage", "outcome", "code"]),
            "validation": Histogram(
                "resonate_validation_seconds",
                "Time to validate one transaction, by stage and type",
                ["stage", "operation"], buckets=VALIDATION_BUCKETS),
            "commit": Histogram("resonate_commit_seconds", "Time the app takes to commit a block",
                                buckets=COMMIT_BUCKETS),
            "store": Counter("resonate_store_round_trips", "Commands sent to the store, by command",
                             ["command"]),
            "store_failures": Counter("resonate_store_failures",
                                      "Store commands that failed, by command", ["command"]),
            "height": Gauge("resonate_block_height", "Height of the last block this node committed",
                            multiprocess_mode="max"),
            "unconfirmed": Gauge("resonate_unconfirmed_transactions",
                                 "Transactions CheckTx accepted that no block has carried yet",
                                 multiprocess_mode="livesum"),
            "build": Gauge("resonate_build_info",
                           "The plugin version and rule-set digest this node runs",
                           ["version", "rules"], multiprocess_mode="max"),
        }
    return _registered


_registered = None


@contextlib.contextmanager
def validating(stage: str):
    """Times one transaction's validation; the caller sets `.operation` once it is parsed."""
    observed = _Validation()
    started = time.perf_counter()
    try:
        yield observed
    finally:
        _metrics()["validation"].labels(stage, observed.operation).observe(
            time.perf_counter() - started)


class _Validation:
    operation = UNPARSED


def accepted(stage: str) -> None:
    _metrics()["transactions"].labels(stage, "accepted", "").inc()


def refused(stage: str, code: str) -> None:
    _metrics()["transactions"].labels(stage, "refused", code).inc()


@contextlib.contextmanager
def committing():
    started = time.perf_counter()
    yield
    _metrics()["commit"].observe(time.perf_counter() - started)


def committed(height: int, unconfirmed: int) -> None:
    _metrics()["height"].set(height)
    _metrics()["unconfirmed"].set(unconfirmed)


def count_store_round_trips() -> None:
    """Counts every command pymongo sends, in whichever process creates a client after
    this (host.apply runs it first in every process)."""
    from pymongo import monitoring

    class StoreRoundTrips(monitoring.CommandListener):
        def started(self, event):
            pass

        def succeeded(self, event):
            _metrics()["store"].labels(event.command_name).inc()

        def failed(self, event):
            _metrics()["store"].labels(event.command_name).inc()
            _metrics()["store_failures"].labels(event.command_name).inc()

    monitoring.register(StoreRoundTrips())


# ---------------------------------------------------------------------------------------
# The endpoint: /metrics for Prometheus, /health for compose and people


def health(bigchain) -> tuple[int, dict]:
    """200 when the store answers; what the node last committed either way."""
    from bigchaindb_resonate import rules

    body = {"service": "bigchaindb", **{key: rules.summary()[key] for key in ("version", "rules")}}
    try:
        bigchain.connection.conn.admin.command("ping")
        latest = bigchain.get_latest_block()
    except Exception as exc:  # any store failure makes the node unhealthy, never crashes it
        return 503, {**body, "status": "store unreachable", "detail": str(exc)}
    return 200, {**body, "status": "ok", "height": (latest or {}).get("height", 0)}


def wsgi_app(bigchain_factory):
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client import multiprocess

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(registry)]
        if path == "/health":
            status, body = health(bigchain_factory())
            start_response(f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
                           [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics or /health\n"]

    return app


def serve(settings: dict | None, bigchain_factory) -> None:
    """Start the endpoint in the ABCI process, on its gevent loop (the ABCI server has
    patched the standard library by then)."""
    if not settings or MULTIPROC_ENV not in os.environ:
        return
    from bigchaindb_resonate import rules
    from gevent.pywsgi import WSGIServer

    summary = rules.summary()
    _metrics()["build"].labels(summary["version"], summary["rules"]).set(1)
    host, port = settings["bind"].rsplit(":", 1)
    server = WSGIServer((host, int(port)), wsgi_app(bigchain_factory), log=None)
    server.start()
    logger.info("metrics and health at http://%s/metrics and /health", settings["bind"])
