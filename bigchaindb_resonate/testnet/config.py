"""Generate every node's files from a network description.

Per node, under `<dir>/<node>/`: a Tendermint home (keys, the shared genesis,
config.toml from `network/tendermint/*.template`), `bigchaindb.json`, and empty
directories for the store, FerretDB's state and the logs. Keys and the genesis are made
once and kept (a node added later gets a copy of the existing genesis, which lists only
the genesis validators); everything else is rewritten from the description each time,
so generating twice gives the same network.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from string import Template

from nacl.signing import SigningKey

from bigchaindb_resonate.testnet.description import Network, Node

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "network" / "tendermint"
TENDERMINT_VERSION = "v0.31.5"
DATABASE_NAME = "bigchain"
API_WORKERS = 2


@dataclass(frozen=True)
class NodeDir:
    """Where one node's files live."""
    root: Path

    @property
    def tendermint_home(self) -> Path:
        return self.root / "tendermint"

    @property
    def validator_key(self) -> Path:
        return self.tendermint_home / "config" / "priv_validator_key.json"

    @property
    def validator_state(self) -> Path:
        return self.tendermint_home / "data" / "priv_validator_state.json"

    @property
    def node_key(self) -> Path:
        return self.tendermint_home / "config" / "node_key.json"

    @property
    def genesis(self) -> Path:
        return self.tendermint_home / "config" / "genesis.json"

    @property
    def tendermint_config(self) -> Path:
        return self.tendermint_home / "config" / "config.toml"

    @property
    def bigchaindb_config(self) -> Path:
        return self.root / "bigchaindb.json"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def ferretdb_state(self) -> Path:
        return self.root / "ferretdb-state"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, process: str) -> Path:
        return self.logs / f"{process}.log"


def node_dir(directory: Path, node: Node) -> NodeDir:
    return NodeDir(Path(directory) / node.name)


# ---------------------------------------------------------------------------------------
# Keys, in the JSON formats of Tendermint 0.31 (`gen_validator`, `gen_node_key`)


def _ed25519_private(key: SigningKey) -> dict:
    # Tendermint stores the 32-byte seed followed by the 32-byte public key.
    raw = bytes(key) + bytes(key.verify_key)
    return {"type": "tendermint/PrivKeyEd25519", "value": base64.b64encode(raw).decode()}


def _ed25519_public(public: bytes) -> dict:
    return {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(public).decode()}


def _address(public: bytes) -> bytes:
    # Tendermint's address of an Ed25519 key: the first 20 bytes of its SHA-256.
    return hashlib.sha256(public).digest()[:20]


def new_validator_key() -> dict:
    key = SigningKey.generate()
    public = bytes(key.verify_key)
    return {"address": _address(public).hex().upper(), "pub_key": _ed25519_public(public),
            "priv_key": _ed25519_private(key)}


def new_node_key() -> dict:
    return {"priv_key": _ed25519_private(SigningKey.generate())}


def node_id(node_key: dict) -> str:
    public = base64.b64decode(node_key["priv_key"]["value"])[32:]
    return _address(public).hex()


# ---------------------------------------------------------------------------------------
# Rendering


def render(template_name: str, **values) -> str:
    return Template((TEMPLATE_DIR / template_name).read_text()).substitute(values)


def render_genesis(network: Network, validator_keys: dict[str, dict], parameters: dict) -> str:
    validators = [{"address": validator_keys[node.name]["address"],
                   "pub_key": validator_keys[node.name]["pub_key"],
                   "power": str(node.power), "name": node.name}
                  for node in network.genesis_validators]
    indented = json.dumps(validators, indent=2).replace("\n", "\n  ")
    app_state = json.dumps({"resonate": parameters}, indent=2, sort_keys=True).replace("\n", "\n  ")
    return render("genesis.json.template", genesis_time=network.genesis_time,
                  chain_id=network.chain_id, validators=indented, app_state=app_state)


# The co-op's share of every play, in basis points, unless the genesis says otherwise.
DEFAULT_COOP_SHARE_BP = 3000
ROLE_KEYS = ("treasury", "platform")


def role_key_path(directory: Path, role: str) -> Path:
    return Path(directory) / "keys" / f"{role}.json"


# Parameters a new network's genesis sets beyond the roles (e.g. a short
# channel_settle_delay_s for tests), in its directory; read once, when the genesis is written.
GENESIS_PARAMETERS = "genesis-parameters.json"


def network_parameters(directory: Path) -> dict:
    """The parameters every validator reads from the genesis (`app_state.resonate`): the
    treasury key that alone issues credits, the platform key that holds the co-op's
    licences and receives its share of plays, and that share; and any other parameter
    saved for this network before its genesis was written (save_genesis_parameters). The
    key pairs are kept in `<directory>/keys/` for whoever runs the co-op's treasury and
    platform."""
    public = {role: _kept_key(role_key_path(directory, role), _new_ledger_key)["public_key"]
              for role in ROLE_KEYS}
    chosen = Path(directory) / GENESIS_PARAMETERS
    return {"treasury_keys": [public["treasury"]], "platform_key": public["platform"],
            "coop_share_bp": DEFAULT_COOP_SHARE_BP,
            **(json.loads(chosen.read_text()) if chosen.exists() else {})}


def save_genesis_parameters(directory: Path, values: dict) -> None:
    """Parameters for the genesis of the network about to be created in `directory`, each
    checked against its range (parameters.check_value)."""
    from bigchaindb_resonate.parameters import check_value

    for name, value in values.items():
        check_value(name, value)
    Path(directory).mkdir(parents=True, exist_ok=True)
    (Path(directory) / GENESIS_PARAMETERS).write_text(json.dumps(values, sort_keys=True))


def _new_ledger_key() -> dict:
    from bigchaindb.common.crypto import generate_key_pair

    keypair = generate_key_pair()
    return {"public_key": keypair.public_key, "private_key": keypair.private_key}


def persistent_peers(network: Network, node: Node, node_ids: dict[str, str]) -> str:
    return ",".join(f"{node_ids[peer.name]}@{peer.p2p_address}"
                    for peer in network.nodes if peer.name != node.name)


def toml_bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class TendermintSettings:
    """The consensus timeouts and mempool settings, the same on every node of a network.
    None of them changes what a node decides, only when: blocks, votes and accepted
    transactions are the same whatever they are. The defaults and the measured trade-off
    are in network/README.md ("Consensus timing"). A local testnet may override them
    (`Testnet.up(settings=...)`, kept in <dir>/tendermint-settings.json) to measure."""
    timeout_propose: str = "3s"
    timeout_prevote: str = "1s"
    timeout_precommit: str = "1s"
    timeout_commit: str = "1s"
    skip_timeout_commit: bool = False
    flush_throttle_timeout: str = "100ms"
    peer_gossip_sleep_duration: str = "100ms"
    recheck: bool = False
    mempool_size: int = 5000
    cache_size: int = 10000
    # consensus:info adds each step of each round, which benchmarks/load.py times.
    log_level: str = "main:info,state:info,*:error"

    FILE = "tendermint-settings.json"

    @classmethod
    def parse(cls, assignments) -> "TendermintSettings":
        """From `name=value` strings, e.g. `timeout_commit=500ms recheck=false`."""
        values = {}
        fields = {field.name: field.type for field in dataclasses.fields(cls)}
        for assignment in assignments:
            name, _, value = assignment.partition("=")
            if name not in fields:
                raise ValueError(f"unknown Tendermint setting {name!r}; known: {', '.join(fields)}")
            kind = fields[name]
            if kind == "bool":
                if value not in ("true", "false"):
                    raise ValueError(f"{name} is true or false, not {value!r}")
                values[name] = value == "true"
            elif kind == "int":
                values[name] = int(value)
            else:
                values[name] = value
        return cls(**values)

    def save(self, directory: Path) -> None:
        _write_json(Path(directory) / self.FILE, dataclasses.asdict(self))

    @classmethod
    def load(cls, directory: Path) -> "TendermintSettings":
        path = Path(directory) / cls.FILE
        return cls(**json.loads(path.read_text())) if path.exists() else cls()


def render_tendermint_config(network: Network, node: Node, node_ids: dict[str, str],
                             create_empty_blocks: bool = False,
                             settings: TendermintSettings = TendermintSettings()) -> str:
    return render(
        "config.toml.template",
        moniker=node.name,
        # Tendermint dials its app; the app listens on its node's bind address.
        proxy_app=f"tcp://{_dialable(node.bind)}:{node.ports.abci}",
        rpc_laddr=f"tcp://{node.bind}:{node.ports.rpc}",
        p2p_laddr=f"tcp://{node.bind}:{node.ports.p2p}",
        external_address=node.p2p_address,
        persistent_peers=persistent_peers(network, node, node_ids),
        # Generated networks are private: their addresses are loopback or a
        # compose network's, which a strict address book refuses.
        addr_book_strict=toml_bool(False),
        pex=toml_bool(False),
        allow_duplicate_ip=toml_bool(network.shares_one_host),
        create_empty_blocks=toml_bool(create_empty_blocks),
        timeout_propose=settings.timeout_propose,
        timeout_prevote=settings.timeout_prevote,
        timeout_precommit=settings.timeout_precommit,
        timeout_commit=settings.timeout_commit,
        skip_timeout_commit=toml_bool(settings.skip_timeout_commit),
        flush_throttle_timeout=settings.flush_throttle_timeout,
        peer_gossip_sleep_duration=settings.peer_gossip_sleep_duration,
        recheck=toml_bool(settings.recheck),
        mempool_size=settings.mempool_size,
        cache_size=settings.cache_size,
        log_level=settings.log_level,
    )


def _dialable(bind: str) -> str:
    return "127.0.0.1" if bind == "0.0.0.0" else bind


def bigchaindb_settings(node: Node, paths: NodeDir) -> dict:
    return {
        "server": {"bind": f"{node.bind}:{node.ports.api}", "workers": API_WORKERS,
                   "loglevel": "info"},
        "wsserver": {"scheme": "ws", "host": node.bind, "port": node.ports.ws,
                     "advertised_scheme": "ws", "advertised_host": node.host,
                     "advertised_port": node.ports.ws},
        "tendermint": {"host": _dialable(node.bind), "port": node.ports.rpc,
                       "abci_host": node.bind, "abci_port": node.ports.abci,
                       "version": TENDERMINT_VERSION},
        "database": {"backend": "localmongodb", "host": _dialable(node.bind),
                     "port": node.ports.store, "name": DATABASE_NAME,
                     "connection_timeout": 5000, "max_tries": 3},
        # The supervisor keeps the console output as logs/bigchaindb.log; BigchainDB's
        # own rotating files hold the same lines in its format, and the errors alone.
        "log": {"file": str(paths.logs / "bigchaindb-app.log"),
                "error_file": str(paths.logs / "bigchaindb-errors.log"),
                "level_console": "info", "level_logfile": "info"},
    }


# ---------------------------------------------------------------------------------------
# Writing


def _write_json(path: Path, document: dict, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    if private:
        os.chmod(path, 0o600)


def _kept_key(path: Path, make) -> dict:
    if not path.exists():
        _write_json(path, make(), private=True)
    return json.loads(path.read_text())


def write_network(network: Network, directory: Path) -> dict[str, NodeDir]:
    """Write every node's files under `directory`; returns each node's NodeDir.

    The description is saved last: a running supervisor starts the nodes it lists, so
    their files must exist by then."""
    directory = Path(directory)
    paths = {node.name: node_dir(directory, node) for node in network.nodes}
    validator_keys, node_ids = {}, {}
    for node in network.nodes:
        files = paths[node.name]
        for folder in (files.store, files.ferretdb_state, files.logs,
                       files.validator_state.parent):
            folder.mkdir(parents=True, exist_ok=True)
        validator_keys[node.name] = _kept_key(files.validator_key, new_validator_key)
        node_ids[node.name] = node_id(_kept_key(files.node_key, new_node_key))
        # Never reset: it is what stops a restarted validator from signing twice.
        _kept_key(files.validator_state, lambda: {"height": "0", "round": "0", "step": 0})

    genesis = _existing_genesis(network, paths) or render_genesis(
        network, validator_keys, network_parameters(directory))
    settings = TendermintSettings.load(directory)
    for node in network.nodes:
        files = paths[node.name]
        files.genesis.write_text(genesis)
        files.tendermint_config.write_text(render_tendermint_config(network, node, node_ids,
                                                                    settings=settings))
        _write_json(files.bigchaindb_config, bigchaindb_settings(node, files))
    network.save(directory)
    return paths


def _existing_genesis(network: Network, paths: dict[str, NodeDir]) -> str | None:
    # A chain's genesis never changes, whatever the template or the description say now.
    for node in network.genesis_validators:
        if paths[node.name].genesis.exists():
            return paths[node.name].genesis.read_text()
    return None


def node_ids(network: Network, directory: Path) -> dict[str, str]:
    return {node.name: node_id(json.loads(node_dir(directory, node).node_key.read_text()))
            for node in network.nodes}
