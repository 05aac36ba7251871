"""Keep a local network's processes running: one supervisor process per network.

Per node it starts FerretDB, then the node process once the store listens, then
Tendermint once the node's ABCI server listens. A process that exits is started again
after a back-off. Tendermint 0.31 never reconnects to a restarted app, so Tendermint is
stopped whenever the node process exits and started again after it.

Talking to it goes through files in the network directory, which survive restarts of
either side and need no protocol:
- `supervisor.lock` is locked while the supervisor runs (a pid file can outlive it);
- `supervisor.pid` names it, SIGTERM shuts it and every process down;
- `<node>/stop-requested` exists while a node should be stopped (stop-node/start-node);
- `supervisor-state.json` is written by it: every process's state, pid and restarts;
- `network.json`, the description, is read again whenever it changes: a node added to
  it is started (other changes, such as new ports, take effect when `up` restarts it);
- `<node>/<process>-environment.json`, if present, adds its variables to that process's
  environment from its next start (the clock-skew drill preloads libfaketime this way).

Run as `python -m bigchaindb_resonate.testnet.supervisor DIR --tendermint PATH --ferretdb PATH`.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bigchaindb_resonate.testnet.config import NodeDir, node_dir
from bigchaindb_resonate.testnet.description import DESCRIPTION_FILE, Network, Node

LOCK_FILE = "supervisor.lock"
PID_FILE = "supervisor.pid"
STATE_FILE = "supervisor-state.json"
LOG_FILE = "supervisor.log"
STOP_REQUEST = "stop-requested"
PROCESSES = ("ferretdb", "bigchaindb", "tendermint")  # in start order

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 15
STORE_START_TIMEOUT = 60
NODE_START_TIMEOUT = 180  # the node initialises its database before it listens
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0
STABLE_SECONDS = 60  # a process that ran this long starts again without back-off


def stop_request_path(directory: Path, name: str) -> Path:
    return Path(directory) / name / STOP_REQUEST


def environment_path(node_root: Path, process: str) -> Path:
    return Path(node_root) / f"{process}-environment.json"


def read_state(directory: Path) -> dict:
    try:
        return json.loads((Path(directory) / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def is_running(directory: Path) -> bool:
    """Whether a supervisor holds the network's lock."""
    lock_path = Path(directory) / LOCK_FILE
    if not lock_path.exists():
        return False
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def kill_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_leftovers(directory: Path) -> None:
    """Kill the process groups a supervisor that died without cleaning up left behind.

    Every process was started as the leader of its own group, so its group id is its
    recorded pid; the group holds the process's own children too (gunicorn workers)."""
    groups = [process["pid"] for processes in read_state(directory).get("nodes", {}).values()
              for process in processes.values() if process.get("pid")]
    for pgid in groups:
        kill_group(pgid, signal.SIGKILL)
    # Their ports are free only once they are gone.
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while any(kill_group(pgid, 0) for pgid in groups) and time.monotonic() < deadline:
        time.sleep(0.1)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Supervised:
    """One long-running process of a node, restarted after it exits."""

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None
        self.state = "stopped"
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self.backoff = FIRST_BACKOFF

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def crashed(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    @property
    def due(self) -> bool:
        return time.monotonic() >= self.next_start

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} supervisor starts: "
                      f"{' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                # Its own group, so stopping it also stops whatever it forked.
                self.popen = subprocess.Popen(self.argv, cwd=self.cwd,
                                              stdin=subprocess.DEVNULL, stdout=log,
                                              stderr=subprocess.STDOUT,
                                              start_new_session=True,
                                              env={**os.environ, **self.environment()})
            except (OSError, ValueError) as exc:  # e.g. its binary was deleted: try again later
                log.write(f"--- cannot start: {exc}\n".encode())
                self.next_start = time.monotonic() + MAX_BACKOFF
                self.state = "backoff"
                return
        self.started_at = time.monotonic()
        self.state = "starting"

    def environment(self) -> dict[str, str]:
        path = environment_path(self.cwd, self.name)
        return json.loads(path.read_text()) if path.exists() else {}

    def record_crash(self) -> None:
        self.last_exit = self.popen.returncode
        kill_group(self.popen.pid, signal.SIGKILL)  # children the process left behind
        self.popen = None
        self.restarts += 1
        ran = time.monotonic() - self.started_at
        self.backoff = FIRST_BACKOFF if ran >= STABLE_SECONDS else min(self.backoff * 2,
                                                                      MAX_BACKOFF)
        self.next_start = time.monotonic() + self.backoff
        self.state = "backoff"

    def stop(self) -> None:
        if self.popen is not None:
            pgid = self.popen.pid
            kill_group(pgid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            kill_group(pgid, signal.SIGKILL)
            self.popen.wait()
            self.popen = None
        self.state = "stopped"
        self.next_start = 0.0
        self.backoff = FIRST_BACKOFF

    def snapshot(self) -> dict:
        return {"state": self.state, "pid": self.popen.pid if self.popen else None,
                "restarts": self.restarts, "last_exit": self.last_exit,
                "log": str(self.log_path)}


class NodeRunner(threading.Thread):
    """Brings up one node's processes in order and keeps them up, in its own thread so
    that a slow node does not hold the others back."""

    def __init__(self, network_dir: Path, node: Node, binaries: dict[str, str],
                 shutdown: threading.Event):
        super().__init__(name=node.name, daemon=True)
        self.node = node
        self.shutdown = shutdown
        self.stop_request = stop_request_path(network_dir, node.name)
        files = node_dir(network_dir, node)
        self.store = Supervised("ferretdb", ferretdb_argv(binaries["ferretdb"], node, files),
                                files.log("ferretdb"), files.root)
        self.app = Supervised("bigchaindb", bigchaindb_argv(files), files.log("bigchaindb"),
                              files.root)
        self.tendermint = Supervised("tendermint",
                                     tendermint_argv(binaries["tendermint"], files),
                                     files.log("tendermint"), files.root)

    @property
    def processes(self) -> list[Supervised]:
        return [self.store, self.app, self.tendermint]

    def run(self) -> None:
        while not self.shutdown.is_set():
            if self.stop_request.exists():
                self.stop_all()
            else:
                self.step()
            self.shutdown.wait(POLL_SECONDS)
        self.stop_all()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def step(self) -> None:
        if self.store.crashed:
            self.store.record_crash()
        if self.app.crashed:
            self.app.record_crash()
            self.tendermint.stop()  # it would keep a dead connection to the old app
        if self.tendermint.crashed:
            self.tendermint.record_crash()

        if not self._ensure(self.store, self.node.ports.store, STORE_START_TIMEOUT):
            return
        if not self._ensure(self.app, self.node.ports.abci, NODE_START_TIMEOUT):
            return
        if self.tendermint.popen is None and self.tendermint.due:
            self.tendermint.start()
        if self.tendermint.alive:
            self.tendermint.state = "running"

    def _ensure(self, process: Supervised, port: int, timeout: float) -> bool:
        """Start `process` if it is due and wait until it listens on `port`;
        whether it is up and listening."""
        if process.popen is None:
            if not process.due:
                return False
            process.start()
        if process.state == "running":
            return process.alive
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.shutdown.is_set() or self.stop_request.exists() or not process.alive:
                return False
            if port_open(port, self.node_dial_host):
                process.state = "running"
                return True
            time.sleep(POLL_SECONDS)
        # Up but never listening: treat it as crashed so it is started afresh.
        process.stop()
        process.restarts += 1
        process.next_start = time.monotonic() + MAX_BACKOFF
        process.state = "backoff"
        return False

    @property
    def node_dial_host(self) -> str:
        return "127.0.0.1" if self.node.bind == "0.0.0.0" else self.node.bind

    def snapshot(self) -> dict:
        return {process.name: process.snapshot() for process in self.processes}


def ferretdb_argv(binary: str, node: Node, files: NodeDir) -> list[str]:
    return [binary, "--telemetry=disable", "--handler=sqlite",
            f"--sqlite-url=file:{files.store}/",
            f"--listen-addr={node.bind}:{node.ports.store}",
            f"--debug-addr={node.bind}:{node.ports.store_debug}",
            f"--state-dir={files.ferretdb_state}", "--log-level=INFO"]


def bigchaindb_argv(files: NodeDir) -> list[str]:
    # The interpreter running the supervisor has our package, wherever `bigchaindb-resonate`
    # happens to be on PATH.
    return [sys.executable, "-m", "bigchaindb_resonate.node", "-c",
            str(files.bigchaindb_config), "start"]


def tendermint_argv(binary: str, files: NodeDir) -> list[str]:
    return [binary, "node", "--home", str(files.tendermint_home)]


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def supervise(directory: Path, binaries: dict[str, str]) -> int:
    directory = Path(directory).resolve()
    lock = open(directory / LOCK_FILE, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"a supervisor already runs for {directory}", file=sys.stderr)
        return 1
    (directory / PID_FILE).write_text(f"{os.getpid()}\n")

    shutdown = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: shutdown.set())

    runners: dict[str, NodeRunner] = {}
    description_seen = None

    def start_new_nodes() -> None:
        nonlocal description_seen
        path = directory / DESCRIPTION_FILE
        try:
            stamp = path.stat().st_mtime_ns
            if stamp == description_seen:
                return
            description_seen = stamp
            network = Network.load(directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # keep what runs
            print(f"cannot read {path}: {exc!r}", flush=True)
            return
        added = [node for node in network.nodes if node.name not in runners]
        for node in added:
            runners[node.name] = NodeRunner(directory, node, binaries, shutdown)
            runners[node.name].start()
        if added:
            print(f"supervising {', '.join(node.name for node in added)} in {directory}",
                  flush=True)

    written = None

    def write_state(supervisor_state: str) -> None:
        nonlocal written
        state = {"pid": os.getpid(), "state": supervisor_state,
                 "nodes": {name: runner.snapshot() for name, runner in runners.items()}}
        text = json.dumps(state, indent=2) + "\n"
        if text != written:
            _write_atomically(directory / STATE_FILE, text)
            written = text

    start_new_nodes()
    while not shutdown.wait(POLL_SECONDS):
        start_new_nodes()
        write_state("running")
    print("shutting down", flush=True)
    for runner in runners.values():
        runner.join()
    write_state("stopped")
    (directory / PID_FILE).unlink(missing_ok=True)
    print("all processes stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--tendermint", required=True)
    parser.add_argument("--ferretdb", required=True)
    args = parser.parse_args(argv)
    return supervise(args.directory, {"tendermint": args.tendermint,
                                      "ferretdb": args.ferretdb})


if __name__ == "__main__":
    sys.exit(main())
