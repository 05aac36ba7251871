"""A local BigchainDB + Tendermint network on loopback, for development and tests.

    net = Testnet("/tmp/net")
    net.up(nodes=4)            # returns when every node serves and has committed block 1
    net.nodes[0].api_url       # http://127.0.0.1:29003
    net.stop_node("node3"); net.start_node("node3")
    net.backup_node("node3", "node3.tar.gz"); net.restore_node("node3", "node3.tar.gz")
    net.add_node()             # node5, synced, not a validator (not in the genesis)
    net.join_as_validator("node5", power=3)   # election, approvals, until it signs
    net.status()
    net.down(purge=True)

The network is described once (`description.py`), its files generated from that
(`config.py`), and its processes kept running by a supervisor process (`supervisor.py`)
that outlives the caller; `resonate testnet ...` (`cli.py`) is this API on the command line.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from bigchaindb_resonate import backup
from bigchaindb_resonate.binaries import ensure_ferretdb, ensure_tendermint
from bigchaindb_resonate.testnet import config, election, supervisor
from bigchaindb_resonate.testnet.config import node_dir, write_network
from bigchaindb_resonate.testnet.description import (DEFAULT_BASE_PORT, DEFAULT_NODES,
                                                     DEFAULT_POWER, DESCRIPTION_FILE,
                                                     Network, Node, busy_ports,
                                                     check_ports_free, describe_loopback)

UP_TIMEOUT = 240
START_NODE_TIMEOUT = 180
ADD_NODE_TIMEOUT = 240
JOIN_TIMEOUT = 180
STOP_NODE_TIMEOUT = 60
DOWN_TIMEOUT = 90
HTTP_TIMEOUT = 2

Progress = Callable[[str], None]


class TestnetError(RuntimeError):
    """The network could not be brought to the state asked for; the message says why
    and where to look."""

    __test__ = False  # not a pytest test class, despite the name


def default_directory() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "bigchaindb-resonate" / "testnet"


def _get_json(url: str) -> dict | None:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError):
        return None


def _rpc(node: Node, method: str) -> dict | None:
    answer = _get_json(f"{node.rpc_url}/{method}")
    return answer.get("result") if answer else None


def _voting_powers(node: Node, height: int | None = None) -> dict[str, int] | None:
    """Tendermint's validator set as the node sees it: address -> power."""
    answer = _rpc(node, "validators" + (f"?height={height}" if height else ""))
    if answer is None:
        return None
    return {v["address"]: int(v["voting_power"]) for v in answer["validators"]}


def _signers(node: Node, height: int) -> set[str] | None:
    """The validators whose precommits block `height` carries (they signed height - 1)."""
    answer = _rpc(node, f"block?height={height}")
    if answer is None:
        return None
    precommits = answer["block"]["last_commit"]["precommits"] or []
    return {vote["validator_address"] for vote in precommits if vote}


def _nudge(node: Node) -> None:
    """Commit a plain CREATE through `node`: with create_empty_blocks=false, an idle
    chain makes no block, and a validator change only applies blocks later."""
    from bigchaindb.common.crypto import generate_key_pair
    from bigchaindb.models import Transaction

    from bigchaindb_resonate.client import Client, ClientError

    keypair = generate_key_pair()
    tx = Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                            asset={"testnet": "a block for a validator change"})
    try:
        Client(node.api_url, timeout=HTTP_TIMEOUT * 10).submit(tx.sign([keypair.private_key]))
    except (ClientError, requests.RequestException):
        time.sleep(1)  # the caller's wait reports what did not happen; do not spin


@dataclass(frozen=True)
class ValidatorKey:
    """A node's Tendermint validator key, as elections and Tendermint's RPC name it."""
    address: str  # upper hex, as in /validators and in precommits
    public_key: str  # base64, as `election new upsert-validator` takes it
    path: Path


@dataclass(frozen=True)
class Joined:
    election_id: str
    approved_by: list[str]
    validator_from: int  # a height at which Tendermint lists it as a validator
    signed: int  # a height whose commit carries its precommit


@dataclass
class Readiness:
    """How far one node has come; each stage names the process whose log explains
    why it is not reached."""
    store: bool = False
    api: bool = False
    rpc: bool = False
    peers: int = 0
    height: int = 0
    catching_up: bool = True

    def missing(self, node: Node, expected_peers: int,
                min_height: int = 1) -> tuple[str, str] | None:
        """(what is missing, which process to blame), or None when the node is ready."""
        if not self.store:
            return (f"its store does not listen on port {node.ports.store}", "ferretdb")
        if not self.api:
            return (f"its HTTP API does not answer at {node.api_url}", "bigchaindb")
        if not self.rpc:
            return (f"Tendermint does not answer at {node.rpc_url}", "tendermint")
        if self.peers < expected_peers:
            return (f"Tendermint has {self.peers} of {expected_peers} peers", "tendermint")
        if self.height < 1:
            return ("Tendermint has not committed the first block", "tendermint")
        if self.catching_up or self.height < min_height:
            return (f"Tendermint is still catching up (height {self.height})", "tendermint")
        return None


def probe(node: Node) -> Readiness:
    readiness = Readiness(store=supervisor.port_open(node.ports.store, node.host),
                          api=_get_json(node.api_url) is not None)
    status = _rpc(node, "status")
    if status is not None:
        readiness.rpc = True
        readiness.height = int(status["sync_info"]["latest_block_height"])
        readiness.catching_up = status["sync_info"]["catching_up"]
        net_info = _rpc(node, "net_info")
        readiness.peers = int(net_info["n_peers"]) if net_info else 0
    return readiness


def _announce_progress(node: Node, before: Readiness, now: Readiness, progress: Progress):
    if now.store and not before.store:
        progress(f"{node.name}: store up")
    if now.api and not before.api:
        progress(f"{node.name}: node up, HTTP API at {node.api_url}")
    if now.rpc and not before.rpc:
        progress(f"{node.name}: tendermint up, RPC at {node.rpc_url}")
    if now.peers > before.peers:
        progress(f"{node.name}: {now.peers} peers")
    if now.height >= 1 > before.height:
        progress(f"{node.name}: committed block {now.height}")


class Testnet:
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory or default_directory()).expanduser().resolve()
        self._supervisor: subprocess.Popen | None = None

    @property
    def exists(self) -> bool:
        return (self.directory / DESCRIPTION_FILE).exists()

    @property
    def network(self) -> Network:
        if not self.exists:
            raise TestnetError(f"no testnet in {self.directory}; run `resonate testnet up`")
        return Network.load(self.directory)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.network.nodes

    @property
    def running(self) -> bool:
        return supervisor.is_running(self.directory)

    # -- whole network ------------------------------------------------------------------

    def up(self, nodes: int | None = None, base_port: int | None = None,
           timeout: float = UP_TIMEOUT, progress: Progress = print,
           settings: config.TendermintSettings | None = None) -> Network:
        """Start the network in this directory, creating it first if needed, and wait
        until every node serves its API, sees all its peers and has committed a block.
        `settings` (consensus timeouts, mempool) are kept for later starts too."""
        network = self._describe(nodes, base_port, progress)
        if self.running:
            progress(f"restarting the network in {self.directory}")
            self._stop_supervisor(progress)
        elif self.exists:
            supervisor.kill_leftovers(self.directory)  # of a supervisor that was killed
        check_ports_free(network)
        progress(f"{'existing' if self.exists else 'new'} {len(network.nodes)}-node network "
                 f"{network.chain_id} in {self.directory}")
        binaries = {"tendermint": str(ensure_tendermint(progress)),
                    "ferretdb": str(ensure_ferretdb(progress))}
        if settings is not None:
            settings.save(self.directory)
        write_network(network, self.directory)
        for node in network.nodes:
            supervisor.stop_request_path(self.directory, node.name).unlink(missing_ok=True)
        self._start_supervisor(binaries)
        self._wait_until_ready(network, network.names, timeout, progress)
        return network

    def _describe(self, nodes: int | None, base_port: int | None,
                  progress: Progress) -> Network:
        if not self.exists:
            try:
                return describe_loopback(nodes or DEFAULT_NODES, base_port or DEFAULT_BASE_PORT)
            except ValueError as exc:
                raise TestnetError(str(exc)) from exc
        network = self.network
        if nodes is not None and nodes != len(network.nodes):
            raise TestnetError(
                f"{self.directory} holds a {len(network.nodes)}-node network; run "
                f"`resonate testnet down --purge` first, or pick another --dir")
        if base_port is not None:
            try:
                relocated = network.relocated(base_port)
            except ValueError as exc:
                raise TestnetError(str(exc)) from exc
            if relocated != network:
                progress(f"moving the network to ports from {base_port}")
                network = relocated
        return network

    def _start_supervisor(self, binaries: dict[str, str]) -> None:
        with open(self.directory / supervisor.LOG_FILE, "ab") as log:
            # Its own session: it outlives this process and ignores this terminal's ^C.
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "bigchaindb_resonate.testnet.supervisor",
                 str(self.directory), "--tendermint", binaries["tendermint"],
                 "--ferretdb", binaries["ferretdb"]],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def down(self, purge: bool = False, progress: Progress = print) -> None:
        """Stop every process of the network; with `purge`, delete its directory too."""
        if self.running:
            self._stop_supervisor(progress)
        if self.directory.exists():
            supervisor.kill_leftovers(self.directory)
        if purge and self.directory.exists():
            shutil.rmtree(self.directory)
            progress(f"deleted {self.directory}")

    def _stop_supervisor(self, progress: Progress) -> None:
        pid = int((self.directory / supervisor.PID_FILE).read_text())
        progress("stopping every process of the network")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT
        while self.running and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running:
            progress(f"the supervisor (pid {pid}) did not stop in {DOWN_TIMEOUT}s; killing it")
            os.kill(pid, signal.SIGKILL)
            while self.running:
                time.sleep(0.2)
        if self._supervisor is not None:
            self._supervisor.wait()
            self._supervisor = None

    # -- one node -----------------------------------------------------------------------

    def stop_node(self, name: str, timeout: float = STOP_NODE_TIMEOUT) -> None:
        """Stop one node's processes (they stay stopped until `start_node`)."""
        self._require_running()
        self._node(self.network, name)
        supervisor.stop_request_path(self.directory, name).touch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            processes = supervisor.read_state(self.directory).get("nodes", {}).get(name, {})
            if processes and all(p["pid"] is None for p in processes.values()):
                return
            time.sleep(0.2)
        raise TestnetError(f"{name}'s processes did not stop in {timeout}s; see "
                           f"{self.directory / supervisor.LOG_FILE}")

    def start_node(self, name: str, timeout: float = START_NODE_TIMEOUT,
                   progress: Progress = print) -> None:
        """Start a stopped node again; returns once it has caught up with its peers."""
        self._require_running()
        network = self.network
        self._node(network, name)
        # Caught up means at least where the others were when it started.
        heights = [probe(node).height for node in network.nodes if node.name != name]
        supervisor.stop_request_path(self.directory, name).unlink(missing_ok=True)
        self._wait_until_ready(network, [name], timeout, progress,
                               min_height=max(heights, default=1))

    def replay_node(self, name: str, timeout: float = START_NODE_TIMEOUT,
                    progress: Progress = print) -> None:
        """Stop a node, delete its store and its copy of the chain, and start it again: it
        replays every block from genesis, under the rules and parameters in force at each
        height, and returns once it has caught up. Its validator keys, and the state that
        stops it signing a height twice, are kept."""
        self.stop_node(name)
        files = node_dir(self.directory, self._node(self.network, name))
        kept = files.validator_state.read_bytes()
        for folder in (files.store, files.ferretdb_state, files.validator_state.parent):
            shutil.rmtree(folder)
            folder.mkdir()
        files.validator_state.write_bytes(kept)
        progress(f"{name}: store and chain deleted; replaying from genesis")
        self.start_node(name, timeout=timeout, progress=progress)

    @staticmethod
    def _node(network: Network, name: str) -> Node:
        try:
            return network.node(name)
        except KeyError as exc:
            raise TestnetError(exc.args[0]) from exc

    def _require_running(self) -> None:
        if not self.running:
            raise TestnetError(f"the network in {self.directory} is not running; "
                               f"run `resonate testnet up`")

    # -- backups (backup.py) -----------------------------------------------------------

    def backup_node(self, name: str, out: Path, progress: Progress = print) -> "backup.Manifest":
        """Stop node `name`, archive its chain and store to `out`, and start it again;
        the archive's manifest. The other validators commit meanwhile."""
        self._require_running()
        files = node_dir(self.directory, self._node(self.network, name))
        backup.check_destination(out)  # before stopping the node for nothing
        progress(f"stopping {name} for the copy")
        self.stop_node(name)
        try:
            return backup.backup(files.root, out, progress)
        finally:
            self.start_node(name, progress=progress)

    def restore_node(self, name: str, archive: Path, progress: Progress = print) -> "backup.Manifest":
        """Stop node `name`, replace its chain and store with the backup `archive`, and
        start it; returns once it has caught up with the others. Its keys, and its
        last-signed state when later than the archive's, are kept."""
        self._require_running()
        files = node_dir(self.directory, self._node(self.network, name))
        self.stop_node(name)
        try:
            backup.check_archive(archive, files.root)
            self.wipe_node(name, progress)
            manifest = backup.restore(archive, files.root, progress)
        finally:
            self.start_node(name, progress=progress)
        return manifest

    def wipe_node(self, name: str, progress: Progress = print) -> None:
        """Stop node `name` and delete its chain and store; its keys, and the state that
        stops its validator signing a height twice, stay. Started again (`start_node`),
        it replays every block from genesis."""
        self.stop_node(name)
        files = node_dir(self.directory, self._node(self.network, name))
        kept = files.validator_state.read_bytes() if files.validator_state.exists() else None
        for folder in (files.store, files.ferretdb_state, files.validator_state.parent):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        if kept is not None:
            files.validator_state.write_bytes(kept)
        progress(f"{name}: chain and store deleted")

    # -- growing the network ------------------------------------------------------------

    def add_node(self, name: str | None = None, timeout: float = ADD_NODE_TIMEOUT,
                 progress: Progress = print) -> Node:
        """Add a node to the running network as a non-validator: it is not in the genesis
        (it gets a copy of the existing one), it dials every other node, and the
        supervisor starts it. Returns once it has caught up with the others.
        `join_as_validator` then makes it a validator."""
        self._require_running()
        network = self.network
        try:
            grown = network.with_node(name)
        except ValueError as exc:
            raise TestnetError(str(exc)) from exc
        node = grown.nodes[-1]
        busy = busy_ports(Network(grown.chain_id, grown.genesis_time, (node,)))
        if busy:
            raise TestnetError(
                f"{node.name} would use ports {node.ports.p2p}-"
                f"{node.ports.p2p + len(node.ports.items()) - 1}, but "
                + ", ".join(f"{port} ({role})" for _, role, port in busy)
                + " already in use; free them, or move the network with `resonate "
                  "testnet up --base-port`")
        # Caught up means at least where the others were when it was added.
        heights = [probe(other).height for other in network.nodes]
        progress(f"adding {node.name} (not a validator) on ports from {node.ports.p2p}")
        # Existing nodes' config.toml gain it as a peer too, for their next start.
        write_network(grown, self.directory)
        self._wait_until_ready(grown, [node.name], timeout, progress,
                               min_height=max(heights, default=1))
        return node

    def validator_key(self, name: str) -> ValidatorKey:
        network = self.network
        path = node_dir(self.directory, self._node(network, name)).validator_key
        key = json.loads(path.read_text())
        return ValidatorKey(address=key["address"], public_key=key["pub_key"]["value"],
                            path=path)

    def node_id(self, name: str) -> str:
        files = node_dir(self.directory, self._node(self.network, name))
        return config.node_id(json.loads(files.node_key.read_text()))

    def validators(self, name: str | None = None) -> dict[str, int]:
        """The current validators by node name, with their power, as node `name`'s
        Tendermint reports them (default: the first node that answers); validators
        whose key is not in this directory are listed by address."""
        network = self.network
        asked = [self._node(network, name)] if name else network.nodes
        for node in asked:
            powers = _voting_powers(node)
            if powers is not None:
                names = {self.validator_key(n.name).address: n.name for n in network.nodes}
                return {names.get(address, address): power
                        for address, power in powers.items()}
        who = f"{name} does not answer" if name else "no node answers"
        raise TestnetError(f"{who} on its Tendermint RPC in {self.directory}; "
                           f"see `resonate testnet status`")

    def propose_validator(self, name: str, power: int, proposer: str | None = None) -> str:
        """Start an upsert-validator election for node `name` with `power`, proposed by
        validator `proposer` (default: the first validator); returns the election id."""
        self._require_running()
        validators = self.validators()
        if validators.get(name) == power:
            raise TestnetError(f"{name} is already a validator with power {power}")
        # BigchainDB limits the power in the proposal against the current total.
        try:
            election.check_power(power, sum(validators.values()))
        except election.ElectionError as exc:
            raise TestnetError(str(exc)) from exc
        proposer = proposer or self._first_validator(validators)
        if proposer not in validators:
            raise TestnetError(f"{proposer} is not a validator, so it cannot propose one; "
                               f"the validators are {', '.join(validators)}")
        key = self.validator_key(name)
        try:
            return election.new_upsert_validator(self._config(proposer),
                                                 self.validator_key(proposer).path,
                                                 key.public_key, power, self.node_id(name))
        except election.ElectionError as exc:
            raise TestnetError(f"{proposer} could not propose {name}: {exc}") from exc

    def approve(self, election_id: str, voter: str, timeout: float = 30) -> None:
        """Vote for an election with all of validator `voter`'s votes, through its node."""
        self._require_running()
        node = self._node(self.network, voter)
        # The vote is built from the election as the voter's node stored it.
        deadline = time.monotonic() + timeout
        while _get_json(f"{node.api_url}/api/v1/transactions/{election_id}") is None:
            if time.monotonic() > deadline:
                raise TestnetError(f"{voter}'s node does not know election {election_id} "
                                   f"after {timeout:.0f}s")
            time.sleep(0.5)
        try:
            election.approve(self._config(voter), self.validator_key(voter).path, election_id)
        except election.ElectionError as exc:
            raise TestnetError(f"{voter} could not approve {election_id}: {exc}") from exc

    def join_as_validator(self, name: str, power: int | None = None,
                          proposer: str | None = None, timeout: float = JOIN_TIMEOUT,
                          progress: Progress = print) -> Joined:
        """Make node `name` a validator with `power` (default: as a genesis validator,
        or the largest allowed if that is less): propose it, have enough validators
        approve, and return once every node lists it and it has signed a block."""
        self._require_running()
        network = self.network
        node = self._node(network, name)
        validators = self.validators()
        if name in validators:
            raise TestnetError(f"{name} is already a validator (power {validators[name]})")
        total = sum(validators.values())
        if power is None:
            power = min(DEFAULT_POWER, election.largest_allowed_power(total))
        try:
            election.check_power(power, total)
        except election.ElectionError as exc:
            raise TestnetError(str(exc)) from exc
        missing = probe(node).missing(node, 1)
        if missing:
            raise TestnetError(f"{name} is not ready to validate: {missing[0]}")
        key = self.validator_key(name)
        progress(f"{name}: validator key {key.public_key}, address {key.address}, "
                 f"node id {self.node_id(name)}")

        proposer = proposer or self._first_validator(validators)
        # The proposer votes first, then the others in the description's order.
        voters = [proposer, *(other for other in network.names
                              if other in validators and other != proposer)]
        try:
            chosen = election.approvers([(voter, validators.get(voter, 0))
                                         for voter in voters], total)
        except election.ElectionError as exc:
            raise TestnetError(str(exc)) from exc
        election_id = self.propose_validator(name, power, proposer)
        progress(f"{proposer} proposed {name} with power {power} (total {total} -> "
                 f"{total + power}): election {election_id}")
        for voter in chosen:
            self.approve(election_id, voter)
            progress(f"{voter} approved ({validators[voter]} votes)")

        deadline = time.monotonic() + timeout
        since = self._wait_listed(network, key.address, power, deadline,
                                  network.node(proposer))
        progress(f"every node lists {name} as a validator (height {since})")
        signed = self._wait_signed(network.node(proposer), key.address, since, deadline)
        progress(f"{name} signed block {signed}")
        return Joined(election_id=election_id, approved_by=chosen, validator_from=since,
                      signed=signed)

    def _first_validator(self, validators: dict[str, int]) -> str:
        for name in self.network.names:
            if name in validators:
                return name
        raise TestnetError(f"no validator's key is in {self.directory}")

    def _config(self, name: str) -> Path:
        return node_dir(self.directory, self._node(self.network, name)).bigchaindb_config

    def _wait_listed(self, network: Network, address: str, power: int, deadline: float,
                     node: Node) -> int:
        """Wait until every node's Tendermint lists `address` with `power`, committing
        blocks through `node` while the chain idles; the height at which it is listed."""
        while True:
            heights = []
            for each in network.nodes:
                status = _rpc(each, "status")
                powers = _voting_powers(each)
                if status is None or powers is None or powers.get(address) != power:
                    break
                heights.append(int(status["sync_info"]["latest_block_height"]))
            else:
                return min(heights)
            if time.monotonic() > deadline:
                raise TestnetError(self._listing_report(network, address, power))
            _nudge(node)

    def _listing_report(self, network: Network, address: str, power: int) -> str:
        lines = [f"not every node lists validator {address} with power {power}:"]
        for each in network.nodes:
            powers = _voting_powers(each)
            listed = "no answer" if powers is None else f"power {powers.get(address, 0)}"
            lines.append(f"  {each.name}: {listed}, see "
                         f"{node_dir(self.directory, each).log('bigchaindb')}")
        return "\n".join(lines)

    def _wait_signed(self, node: Node, address: str, since: int, deadline: float) -> int:
        """The first height from `since` whose commit carries `address`'s precommit,
        committing blocks through `node` until there is one."""
        checked = since  # block `checked` + 1 holds the precommits for `checked`
        while True:
            status = _rpc(node, "status")
            latest = int(status["sync_info"]["latest_block_height"]) if status else since
            while checked < latest:
                signers = _signers(node, checked + 1)
                if signers is None:
                    break
                if address in signers:
                    return checked
                checked += 1
            if time.monotonic() > deadline:
                raise TestnetError(
                    f"validator {address} signed none of blocks {since}-{checked}; see its "
                    f"Tendermint log under {self.directory}")
            _nudge(node)

    # -- waiting and reporting ----------------------------------------------------------

    def _expected_peers(self, network: Network, name: str) -> int:
        return sum(1 for node in network.nodes if node.name != name and
                   not supervisor.stop_request_path(self.directory, node.name).exists())

    def _wait_until_ready(self, network: Network, names: list[str], timeout: float,
                          progress: Progress, min_height: int = 1) -> None:
        started = time.monotonic()
        seen = {name: Readiness() for name in names}
        waiting = set(names)
        while waiting:
            if self._supervisor is not None and self._supervisor.poll() is not None:
                raise TestnetError(f"the supervisor exited; see "
                                   f"{self.directory / supervisor.LOG_FILE}")
            for name in sorted(waiting):
                node = network.node(name)
                now = probe(node)
                _announce_progress(node, seen[name], now, progress)
                seen[name] = now
                if now.missing(node, self._expected_peers(network, name), min_height) is None:
                    waiting.discard(name)
            if not waiting:
                break
            if time.monotonic() - started > timeout:
                raise TestnetError(self._not_ready_report(network, seen, sorted(waiting),
                                                          timeout, min_height))
            time.sleep(0.5)
        progress(f"ready after {time.monotonic() - started:.0f}s: "
                 f"{', '.join(names)}")

    def _not_ready_report(self, network: Network, seen: dict[str, Readiness],
                          names: list[str], timeout: float, min_height: int) -> str:
        processes = supervisor.read_state(self.directory).get("nodes", {})
        lines = [f"not ready after {timeout:.0f}s:"]
        for name in names:
            node = network.node(name)
            what, process = seen[name].missing(node, self._expected_peers(network, name),
                                               min_height)
            state = processes.get(name, {}).get(process, {})
            lines.append(f"  {name}: {what}; {process} is {state.get('state', 'unknown')}"
                         f" ({state.get('restarts', 0)} restarts), see "
                         f"{node_dir(self.directory, node).log(process)}")
        lines.append("the network keeps running; `resonate testnet down` stops it")
        return "\n".join(lines)

    def status(self) -> list[dict]:
        """Per node: where it serves, its chain state and its processes' states."""
        processes = supervisor.read_state(self.directory).get("nodes", {})
        running = self.running

        def process_state(node: Node, name: str) -> str:
            entry = processes.get(node.name, {}).get(name, {})
            if running:
                return entry.get("state", "stopped")
            # Left behind by a supervisor that was killed; `up` or `down` ends them.
            alive = entry.get("pid") and supervisor.kill_group(entry["pid"], 0)
            return "orphaned" if alive else "stopped"

        report = []
        for node in self.network.nodes:
            root = _get_json(node.api_url)
            plugin = (root or {}).get("resonate") or {}
            chain = ((_get_json(f"{node.api_url}/api/v1/resonate/") if root else None) or {}).get(
                "chain_rule_versions") or {}
            status = _rpc(node, "status")
            powers = _voting_powers(node)
            sync = status["sync_info"] if status else {}
            validator = power = None
            if status and powers is not None:
                power = powers.get(status["validator_info"]["address"], 0)
                validator = power > 0
            stop_requested = supervisor.stop_request_path(self.directory, node.name).exists()
            report.append({
                "name": node.name,
                "api_url": node.api_url,
                "rpc_url": node.rpc_url,
                "api_up": root is not None,
                "plugin_version": plugin.get("version"),
                "rules": plugin.get("rules"),
                "rule_versions": plugin.get("rule_versions"),
                "rules_version_in_force": chain.get("in_force"),
                "rule_versions_scheduled": chain.get("scheduled", []),
                "unknown_rule_versions": chain.get("unknown_voted_in", []),
                "height": int(sync["latest_block_height"]) if sync else None,
                "app_hash": sync.get("latest_app_hash"),
                "catching_up": sync.get("catching_up"),
                "validator": validator,
                "power": power,
                "stop_requested": stop_requested,
                "processes": {name: process_state(node, name)
                              for name in supervisor.PROCESSES},
            })
        return report


def unknown_rule_versions(report: list[dict]) -> str | None:
    """A warning naming each node that lacks a rule version voted in, or None."""
    lacking = [f"{node['name']} (knows {node['rule_versions']}) lacks rules version "
               f"{entry['version']} from height {entry['activation_height']}"
               for node in report for entry in node.get("unknown_rule_versions") or []]
    if not lacking:
        return None
    return (f"warning: {'; '.join(lacking)}: install a bigchaindb-resonate release that has "
            f"it on those nodes before that height, or they stop there")


def differing_rules(report: list[dict]) -> str | None:
    """A warning when the nodes that answer run different plugin versions or rules."""
    running = {(node["plugin_version"], node["rules"]) for node in report if node["rules"]}
    if len(running) <= 1:
        return None
    names = ", ".join(f"{node['name']} {node['plugin_version']} rules {node['rules'][7:19]}"
                      for node in report if node["rules"])
    return (f"warning: the nodes enforce different rules ({names}); validators with other "
            f"rules disagree on blocks: run the same bigchaindb-resonate release on every node")
