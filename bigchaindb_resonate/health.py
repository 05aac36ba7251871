"""Health probes for a node's processes, and Tendermint restarted when it loses its app.

Tendermint 0.31 does not reconnect to its ABCI app: after BigchainDB restarts, Tendermint
keeps running with dead connections, signs nothing and says nothing. Locally the testnet's
supervisor restarts it; in a container, `run-tendermint` does: it runs Tendermint as its
child, asks Tendermint's RPC for `abci_info` (answered by the app over Tendermint's own
connection to it) and, once the app has stopped answering `failures` times in a row, stops
Tendermint and exits non-zero, so that compose's restart policy starts it afresh and it
connects to the new app. Compose alone would only mark the container unhealthy.

    python -m bigchaindb_resonate.health node [--health URL] [--api URL]
    python -m bigchaindb_resonate.health tendermint [--rpc URL]
    python -m bigchaindb_resonate.health run-tendermint [--rpc URL] -- tendermint node …

Exit status 0 means healthy; the reason for anything else is printed. Standard library
only, so that the probes run anywhere the image runs.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

DEFAULT_RPC = "http://127.0.0.1:26657"
DEFAULT_HEALTH = "http://127.0.0.1:9986/health"
DEFAULT_API = "http://127.0.0.1:9984/"
PROBE_TIMEOUT = 10.0  # a commit under load can hold the app for seconds
STOP_GRACE = 20.0


def _get_json(url: str, timeout: float) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def tendermint_problem(rpc: str = DEFAULT_RPC, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why Tendermint or its connection to the app is unhealthy, or None."""
    try:
        answer = _get_json(rpc.rstrip("/") + "/abci_info", timeout)
    except (OSError, ValueError) as exc:  # refused, timed out, not JSON
        return f"Tendermint's RPC at {rpc} did not answer abci_info ({exc})"
    if "error" in answer or "response" not in (answer.get("result") or {}):
        return f"Tendermint could not ask its app for abci_info: {answer.get('error')}"
    return None


def node_problem(health: str = DEFAULT_HEALTH, api: str = DEFAULT_API,
                 timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why the node (its ABCI process with the store, or its HTTP API) is unhealthy, or None."""
    for what, url in (("health endpoint", health), ("HTTP API", api)):
        try:
            _get_json(url, timeout)
        except urllib.error.HTTPError as exc:
            return f"the node's {what} at {url} answered {exc.code}: {exc.read()[:200]!r}"
        except (OSError, ValueError) as exc:
            return f"the node's {what} at {url} did not answer ({exc})"
    return None


def run_tendermint(command: list[str], rpc: str = DEFAULT_RPC, interval: float = 15.0,
                   failures: int = 4, startup: float = 600.0,
                   probe=tendermint_problem, log=lambda line: print(line, file=sys.stderr,
                                                                      flush=True)) -> int:
    """Run `command` (Tendermint) until it exits, or until its app has stopped answering
    `failures` probes in a row (counted once it has answered, or after `startup` seconds:
    a replay at start can hold the RPC back); returns the exit status for the container."""
    child = subprocess.Popen(command)

    def forward(signum, frame):
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    started, answered, missed = time.monotonic(), False, 0
    while True:
        try:
            return child.wait(timeout=interval)
        except subprocess.TimeoutExpired:
            pass
        problem = probe(rpc)
        if problem is None:
            answered, missed = True, 0
            continue
        if not answered and time.monotonic() - started < startup:
            continue
        missed += 1
        log(f"health: {problem} ({missed} of {failures})")
        if missed >= failures:
            log("health: Tendermint has lost its app; stopping it so that it is started "
                "again and connects to the app afresh")
            child.terminate()
            try:
                child.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bigchaindb_resonate.health",
                                     description="Health probes for a Resonate node.")
    commands = parser.add_subparsers(dest="command", required=True)
    node = commands.add_parser("node", help="the ABCI process, its store and the HTTP API")
    node.add_argument("--health", default=DEFAULT_HEALTH)
    node.add_argument("--api", default=DEFAULT_API)
    tendermint = commands.add_parser("tendermint", help="Tendermint and its app connection")
    tendermint.add_argument("--rpc", default=DEFAULT_RPC)
    runner = commands.add_parser("run-tendermint",
                                 help="run Tendermint; stop it when it has lost its app")
    runner.add_argument("--rpc", default=DEFAULT_RPC)
    runner.add_argument("--interval", type=float, default=15.0, help="seconds between probes")
    runner.add_argument("--failures", type=int, default=4,
                        help="failed probes in a row before Tendermint is stopped")
    runner.add_argument("tendermint", nargs=argparse.REMAINDER,
                        help="-- then Tendermint's command line")
    args = parser.parse_args(argv)
    if args.command == "run-tendermint":
        command = args.tendermint[1:] if args.tendermint[:1] == ["--"] else args.tendermint
        if not command:
            parser.error("give Tendermint's command line after --")
        return run_tendermint(command, args.rpc, args.interval, args.failures)
    problem = (node_problem(args.health, args.api) if args.command == "node"
               else tendermint_problem(args.rpc))
    print(problem or "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
