"""Docker Compose definitions of a network, generated from its description.

Two layouts, each node being a MongoDB, a Tendermint and a `bigchaindb-resonate` service:

- `docker-compose.network.yml` (`write_compose`): every node of a description on one
  Docker host, services `mongodb-<node>`, `tendermint-<node>`, `bigchaindb-<node>`; the
  Tendermints dial each other at `tendermint-<node>:26656` on the compose network;
- `docker-compose.member.yml` (`write_member`): one co-op member's node on its own
  machine, services `mongodb`, `tendermint`, `bigchaindb`; its peers are the public
  addresses of the other members.

Keys, genesis and config.toml come from config.py, so a compose network agrees with the
local testnet on peers, chain id and genesis. A compose file names services, ports and
paths relative to itself (`./<node>/` or `./node/`), never a key or a node id: keys stay
in the generated directories, on the machine that generated them.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bigchaindb_resonate.testnet import config
from bigchaindb_resonate.testnet.config import NodeDir
from bigchaindb_resonate.testnet.description import (DEFAULT_CHAIN_ID, DEFAULT_NODES,
                                                     DESCRIPTION_FILE, LOOPBACK, MAX_NODES,
                                                     NODE_NAME, STANDARD_PORTS, Network,
                                                     Node, describe_hosts)

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "network/Dockerfile"
NETWORK_FILE = "docker-compose.network.yml"
MEMBER_FILE = "docker-compose.member.yml"
MEMBER_NODE_DIR = "node"
NODE_IMAGE = "bigchaindb-resonate:local"
# Upstream ran mongo 3.6, which is end-of-life; pymongo 3.13 (requirements/host.txt)
# supports MongoDB 4.4, the last series BigchainDB 2.2.2's queries were written against.
MONGODB_IMAGE = "mongo:4.4"
TENDERMINT_IMAGE = f"tendermint/tendermint:{config.TENDERMINT_VERSION}"
TENDERMINT_HOME = "/tendermint"  # TMHOME of the official image
MONGODB_DATA = "/data/db"
NODE_CONFIG = "/etc/bigchaindb/bigchaindb.json"  # network/Dockerfile passes it with -c
NODE_STATE = "/var/lib/bigchaindb"  # network/Dockerfile makes it, owned by the node's user
# On one Docker host, node i publishes each port at port + i * HOST_PORT_STEP.
HOST_PORT_STEP = 10
FRESH_VALIDATOR_STATE = {"height": "0", "round": "0", "step": 0}
# Tendermint 0.31 exits when the validator's last-sign state is missing, and that state
# lives in the home volume, empty on first start: create it then, never overwrite it.
_STATE_FILE = f"{TENDERMINT_HOME}/data/priv_validator_state.json"
TENDERMINT_ENTRYPOINT = [
    "/bin/sh", "-c",
    f"mkdir -p {TENDERMINT_HOME}/data && {{ [ -f {_STATE_FILE} ] || echo "
    f"'{json.dumps(FRESH_VALIDATOR_STATE, separators=(',', ':'))}' > {_STATE_FILE}; }} "
    # $$ is compose's escape for a literal $.
    f'&& exec tendermint "$$@"',
    "tendermint",
]


@dataclass(frozen=True)
class ServiceNames:
    """What one node's services and volumes are called in a compose file."""
    mongodb: str
    tendermint: str
    bigchaindb: str
    mongodb_data: str
    tendermint_home: str


MEMBER_SERVICES = ServiceNames("mongodb", "tendermint", "bigchaindb", "mongodb-data",
                               "tendermint-home")


def network_services(node: Node) -> ServiceNames:
    return ServiceNames(f"mongodb-{node.name}", f"tendermint-{node.name}",
                        f"bigchaindb-{node.name}", f"mongodb-{node.name}-data",
                        f"tendermint-{node.name}-home")


def on_one_docker_host(network: Network) -> Network:
    """The network whose peers reach each other's Tendermint by its service name."""
    return dataclasses.replace(network, nodes=tuple(
        dataclasses.replace(node, host=network_services(node).tendermint)
        for node in network.nodes))


# ---------------------------------------------------------------------------------------
# bigchaindb.json inside a container


def container_bigchaindb_settings(node: Node, services: ServiceNames, advertised_host: str,
                                  advertised_ws_port: int) -> dict:
    settings = config.bigchaindb_settings(node, NodeDir(Path(NODE_STATE)))
    settings["server"]["bind"] = f"0.0.0.0:{node.ports.api}"
    settings["wsserver"].update(host="0.0.0.0", advertised_host=advertised_host,
                                advertised_port=advertised_ws_port)
    settings["tendermint"].update(host=services.tendermint, abci_host="0.0.0.0")
    settings["database"]["host"] = services.mongodb
    return settings


# ---------------------------------------------------------------------------------------
# Services


def _published(port: int, offset: int, loopback_only: bool = False) -> str:
    return f"{LOOPBACK + ':' if loopback_only else ''}{port + offset}:{port}"


def node_services(node: Node, services: ServiceNames, files: str, build_context: str,
                  port_offset: int, publish_p2p: bool) -> dict[str, dict]:
    """One node's three services; `files` is its generated directory, relative to the
    compose file."""
    ports = node.ports
    tendermint_ports = [_published(ports.p2p, port_offset)] if publish_p2p else []
    # Tendermint's RPC accepts transactions without BigchainDB's HTTP checks and reports
    # internals: reachable from this machine only.
    tendermint_ports.append(_published(ports.rpc, port_offset, loopback_only=True))
    return {
        services.mongodb: {
            "image": MONGODB_IMAGE,
            "command": ["mongod", "--bind_ip_all", "--port", str(ports.store)],
            "volumes": [f"{services.mongodb_data}:{MONGODB_DATA}"],
            "restart": "unless-stopped",
        },
        services.bigchaindb: {
            "build": {"context": build_context, "dockerfile": DOCKERFILE},
            "image": NODE_IMAGE,
            "depends_on": [services.mongodb],
            "volumes": [f"{files}/bigchaindb.json:{NODE_CONFIG}:ro"],
            "ports": [_published(ports.api, port_offset), _published(ports.ws, port_offset)],
            "restart": "unless-stopped",
        },
        services.tendermint: {
            "image": TENDERMINT_IMAGE,
            # The official image runs as uid 100, which cannot read the member's key files
            # (mode 600, owned by whoever generated them).
            "user": "root",
            "entrypoint": list(TENDERMINT_ENTRYPOINT),  # a copy: no YAML anchors
            "command": ["node", f"--proxy_app=tcp://{services.bigchaindb}:{ports.abci}"],
            "depends_on": [services.bigchaindb],
            "volumes": [f"{services.tendermint_home}:{TENDERMINT_HOME}",
                        f"{files}/tendermint/config:{TENDERMINT_HOME}/config:ro"],
            "ports": tendermint_ports,
            "restart": "unless-stopped",
        },
    }


def network_compose(network: Network, build_context: str) -> dict:
    services, volumes = {}, {}
    for index, node in enumerate(network.nodes):
        names = network_services(node)
        # Peers are on the compose network: P2P needs no host port.
        services.update(node_services(node, names, f"./{node.name}", build_context,
                                      port_offset=index * HOST_PORT_STEP, publish_p2p=False))
        volumes.update({names.mongodb_data: {}, names.tendermint_home: {}})
    return {"services": services, "volumes": volumes}


def member_compose(build_context: str) -> dict:
    # A member's node is on its own machine: standard ports, P2P open to the other members.
    node = Node(name=MEMBER_NODE_DIR, power=0, host="", bind="0.0.0.0", ports=STANDARD_PORTS)
    return {"services": node_services(node, MEMBER_SERVICES, f"./{MEMBER_NODE_DIR}",
                                      build_context, port_offset=0, publish_p2p=True),
            "volumes": {MEMBER_SERVICES.mongodb_data: {}, MEMBER_SERVICES.tendermint_home: {}}}


NETWORK_HEADER = """\
# Generated by `resonate network compose`; regenerate rather than edit.
# {count} nodes on one Docker host. Each node's keys, genesis.json, config.toml and
# bigchaindb.json are in ./<node>/, written next to this file by the same command on the
# machine that runs it; no key or node id is in this file.
#   docker compose -f {file} up --build
# Node i (from 0) publishes its API on 9984 + 10*i, websocket 9985 + 10*i, and Tendermint
# RPC on 127.0.0.1:26657 + 10*i.
"""

MEMBER_HEADER = """\
# Generated by `resonate network member`; regenerate rather than edit.
# One co-op member's node. Its keys, the shared genesis.json, config.toml (with the other
# members as persistent peers) and bigchaindb.json are in ./node/, written next to this
# file on the member's machine; no key or node id is in this file.
#   docker compose -f {file} up --build
# Open 26656 (Tendermint P2P) to the other members, 9984/9985 (API, websocket) to clients.
"""


def to_yaml(document: dict, header: str) -> str:
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False,
                                   width=200)


def network_compose_yaml(network: Network, build_context: str) -> str:
    return to_yaml(network_compose(network, build_context),
                   NETWORK_HEADER.format(count=len(network.nodes), file=NETWORK_FILE))


def member_compose_yaml(build_context: str) -> str:
    return to_yaml(member_compose(build_context), MEMBER_HEADER.format(file=MEMBER_FILE))


def build_context_from(directory: Path) -> str:
    return os.path.relpath(REPO_ROOT, Path(directory).resolve())


# ---------------------------------------------------------------------------------------
# Writing


def _node_files(files: NodeDir) -> list[Path]:
    return [files.bigchaindb_config, files.genesis, files.tendermint_config,
            files.validator_key, files.node_key, files.validator_state]


def _write_settings(path: Path, settings: dict) -> None:
    path.write_text(json.dumps(settings, indent=2) + "\n")


def write_compose(network: Network, out_dir: Path) -> list[Path]:
    """Every node's files under `out_dir/<node>/` and `out_dir/docker-compose.network.yml`;
    returns the paths written. Keys already there are kept."""
    out_dir = Path(out_dir)
    compose_network = on_one_docker_host(network)
    node_dirs = config.write_network(compose_network, out_dir)
    written = [out_dir / DESCRIPTION_FILE]
    for index, node in enumerate(compose_network.nodes):
        files = node_dirs[node.name]
        _write_settings(files.bigchaindb_config, container_bigchaindb_settings(
            node, network_services(node), advertised_host="localhost",
            advertised_ws_port=node.ports.ws + index * HOST_PORT_STEP))
        written += _node_files(files)
    compose_file = out_dir / NETWORK_FILE
    compose_file.write_text(network_compose_yaml(network, build_context_from(out_dir)))
    return [*written, compose_file]


def parse_peer(address: str) -> Node:
    """`<node id>@<host>:<port>` as a node named by its id."""
    try:
        peer_id, host_port = address.split("@")
        host, port = host_port.rsplit(":", 1)
        bytes.fromhex(peer_id)
        return Node(name=peer_id, power=0, host=host, bind=host,
                    ports=dataclasses.replace(STANDARD_PORTS, p2p=int(port)))
    except ValueError:
        raise ValueError(f"a peer is <node id>@<host>:<port>, not {address!r}; give each "
                         f"peer as its member shared it") from None


def write_member(out_dir: Path, name: str, host: str, genesis_file: Path,
                 peers: list[str]) -> list[Path]:
    """One member's node: new keys (kept if already there), the shared genesis, config.toml
    with `peers`, bigchaindb.json, and the compose file; returns the paths written."""
    if not NODE_NAME.fullmatch(name):
        raise ValueError(f"a node name is 1 to 32 letters, digits, '-' or '_'; not {name!r}: "
                         f"pick another")
    out_dir = Path(out_dir)
    genesis_text = Path(genesis_file).read_text()
    genesis = _genesis(genesis_text, genesis_file)
    node = Node(name=name, power=0, host=host, bind="0.0.0.0", ports=STANDARD_PORTS)
    peer_nodes = [parse_peer(peer) for peer in peers]
    network = Network(chain_id=genesis["chain_id"], genesis_time=genesis["genesis_time"],
                      nodes=(node, *peer_nodes))
    files = NodeDir(out_dir / MEMBER_NODE_DIR)
    files.validator_state.parent.mkdir(parents=True, exist_ok=True)
    config._kept_key(files.validator_key, config.new_validator_key)
    config._kept_key(files.validator_state, lambda: dict(FRESH_VALIDATOR_STATE))
    own_id = config.node_id(config._kept_key(files.node_key, config.new_node_key))
    files.genesis.write_text(genesis_text)
    files.tendermint_config.write_text(config.render_tendermint_config(
        network, node, {name: own_id, **{peer.name: peer.name for peer in peer_nodes}}))
    _write_settings(files.bigchaindb_config, container_bigchaindb_settings(
        node, MEMBER_SERVICES, advertised_host=host, advertised_ws_port=node.ports.ws))
    compose_file = out_dir / MEMBER_FILE
    compose_file.write_text(member_compose_yaml(build_context_from(out_dir)))
    return [*_node_files(files), compose_file]


def _genesis(text: str, path: Path) -> dict:
    """The Tendermint genesis in `text`, with what a member's files need from it."""
    try:
        genesis = json.loads(text)
    except ValueError:
        genesis = None
    missing = ([f"no {key}" for key in ("chain_id", "genesis_time") if key not in genesis]
               if isinstance(genesis, dict) else ["not a JSON object"])
    if missing:
        raise ValueError(f"{path} is not a Tendermint genesis file ({', '.join(missing)}); "
                         f"give the network's genesis.json as its members share it "
                         f"(tendermint/config/genesis.json on any of their nodes)")
    return genesis


def member_identity(out_dir: Path) -> dict:
    """What a member shares to be proposed as a validator: never its private keys."""
    files = NodeDir(Path(out_dir) / MEMBER_NODE_DIR)
    validator = json.loads(files.validator_key.read_text())
    return {"node_id": config.node_id(json.loads(files.node_key.read_text())),
            "validator_public_key": validator["pub_key"]["value"]}


# ---------------------------------------------------------------------------------------
# Command line: `resonate network compose|member`


def add_network_commands(subparsers) -> None:
    network = subparsers.add_parser(
        "network", help="Docker Compose definitions of a co-op network",
        description="Generate the compose files and node configuration that run BigchainDB "
                    "nodes with MongoDB and Tendermint in Docker.")
    commands = network.add_subparsers(dest="network_command", required=True)

    compose = commands.add_parser("compose", help="every node of a network on one Docker host")
    compose.add_argument("--nodes", type=int, default=None,
                         help=f"validators, 1 to {MAX_NODES} (default {DEFAULT_NODES}; "
                              f"an existing directory keeps its own)")
    compose.add_argument("--chain-id", default=None,
                         help=f"default {DEFAULT_CHAIN_ID}; an existing directory keeps its own")
    compose.add_argument("--out", type=Path, default=Path("resonate-network"),
                         help="where to write (default ./resonate-network); keep it out of "
                              "any repository: it holds private keys")
    compose.set_defaults(func=_compose)

    member = commands.add_parser("member", help="one member's node, for its own machine")
    member.add_argument("--name", required=True, help="the node's moniker")
    member.add_argument("--host", required=True,
                        help="the public host name or IP the other members dial")
    member.add_argument("--genesis", type=Path, required=True,
                        help="the network's genesis.json, as shared by its members")
    member.add_argument("--peer", action="append", default=[], required=True,
                        help="<node id>@<host>:26656 of another member (repeatable)")
    member.add_argument("--out", type=Path, default=Path("resonate-node"),
                        help="where to write (default ./resonate-node); it holds private keys")
    member.set_defaults(func=_member)


def _compose(args) -> int:
    try:
        network = _described(args)
        written = write_compose(network, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {exc.filename or args.out} ({exc.strerror}); pick an --out "
              f"you can write", file=sys.stderr)
        return 1
    print(f"wrote {len(network.nodes)} nodes to {args.out}; start them with\n"
          f"  docker compose -f {written[-1]} up --build")
    return 0


def _described(args) -> Network:
    """The network already in `args.out`, so its genesis never changes; else a new one."""
    if not (args.out / DESCRIPTION_FILE).exists():
        return describe_hosts(args.nodes or DEFAULT_NODES,
                              chain_id=args.chain_id or DEFAULT_CHAIN_ID)
    network = Network.load(args.out)
    if args.nodes not in (None, len(network.nodes)) or args.chain_id not in (None,
                                                                             network.chain_id):
        raise ValueError(f"{args.out} already holds {len(network.nodes)} nodes of chain "
                         f"{network.chain_id!r}; pick another --out")
    return network


def _member(args) -> int:
    try:
        written = write_member(args.out, args.name, args.host, args.genesis, args.peer)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot {'read' if exc.filename == str(args.genesis) else 'write'} "
              f"{exc.filename} ({exc.strerror}); check --genesis and --out", file=sys.stderr)
        return 1
    identity = member_identity(args.out)
    print(f"wrote {args.out}; share these (never the files under {args.out}/node):")
    print(f"  node id:               {identity['node_id']}")
    print(f"  validator public key:  {identity['validator_public_key']}")
    print(f"start with\n  docker compose -f {written[-1]} up --build")
    return 0

