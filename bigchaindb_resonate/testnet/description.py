"""The one description of a network: its chain, its nodes, their voting power and ports.

Everything else is generated from it: the Tendermint homes and node configs
(`config.py`), the local supervisor's command lines (`supervisor.py`), and a compose
file. Two layouts exist:

- `describe_loopback`: every node on 127.0.0.1, each with its own block of ports
  (`PORTS_PER_NODE` ports starting at `base_port + index * PORTS_PER_NODE`);
- `describe_hosts`: one host per node, named after it, every node on the standard
  ports (what a compose file with one service per node needs).

A node's `power` is its voting power in the genesis. A node added to a running network
(`Network.with_node`) has power 0: it is not in the genesis, starts as a non-validator,
and becomes a validator only through an election (`election.py`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DESCRIPTION_FILE = "network.json"
DEFAULT_NODES = 4
MAX_NODES = 16
DEFAULT_POWER = 10
DEFAULT_CHAIN_ID = "resonate-testnet"
# Below Linux's ephemeral range (32768+), so outgoing connections never hold our ports,
# and away from the standard ports, so a testnet runs beside a regular node.
DEFAULT_BASE_PORT = 29000
PORTS_PER_NODE = 10
LOOPBACK = "127.0.0.1"
# It names the node's directory and its Tendermint moniker.
NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Ports:
    p2p: int
    rpc: int
    abci: int
    api: int
    ws: int
    store: int
    store_debug: int
    # Prometheus endpoints: the node's own (bigchaindb_resonate/metrics.py) and Tendermint's.
    # Defaults for descriptions saved before they existed, which ran on standard ports.
    metrics: int = 9986
    tendermint_metrics: int = 26660

    def items(self):
        return [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]


# The ports a node uses when it has a host of its own (Tendermint's, BigchainDB's,
# MongoDB's and FerretDB's defaults).
STANDARD_PORTS = Ports(p2p=26656, rpc=26657, abci=26658, api=9984, ws=9985, store=27017,
                       store_debug=8088, metrics=9986, tendermint_metrics=26660)


def loopback_ports(base_port: int, index: int) -> Ports:
    first = base_port + index * PORTS_PER_NODE
    return Ports(*(first + offset for offset in range(len(dataclasses.fields(Ports)))))


@dataclass(frozen=True)
class Node:
    name: str
    power: int  # in the genesis; 0 for a node added later
    host: str  # where peers and clients reach it
    bind: str  # where its processes listen
    ports: Ports

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ports.api}"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.ports.rpc}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ports.ws}"

    @property
    def p2p_address(self) -> str:
        return f"{self.host}:{self.ports.p2p}"


@dataclass(frozen=True)
class Network:
    chain_id: str
    genesis_time: str  # fixed once, so every regeneration yields the same genesis
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r}; this network has "
                       f"{', '.join(n.name for n in self.nodes)}")

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    @property
    def genesis_validators(self) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.power > 0)

    @property
    def shares_one_host(self) -> bool:
        return len({node.host for node in self.nodes}) == 1

    def with_node(self, name: str | None = None) -> Network:
        """This network with one more loopback node, not in the genesis (power 0), on
        the next block of ports."""
        if not (self.shares_one_host and self.nodes[0].host == LOOPBACK):
            raise ValueError("nodes can be added only to a loopback network")
        check_node_count(len(self.nodes) + 1)
        if name is None:
            name = next(node_name(i) for i in range(MAX_NODES)
                        if node_name(i) not in self.names)
        if not NODE_NAME.fullmatch(name):
            raise ValueError(f"a node name is 1 to 32 letters, digits, '-' or '_', "
                             f"starting with a letter or digit; not {name!r}: pick another")
        if name in self.names:
            raise ValueError(f"this network already has a node named {name!r}; pick another")
        # Every layout so far is `loopback_ports` from node1's first port.
        base_port = self.nodes[0].ports.p2p
        check_port_range(base_port, len(self.nodes) + 1)
        node = Node(name=name, power=0, host=LOOPBACK, bind=LOOPBACK,
                    ports=loopback_ports(base_port, len(self.nodes)))
        return dataclasses.replace(self, nodes=(*self.nodes, node))

    def relocated(self, base_port: int) -> Network:
        """The same network (chain, keys, names) on loopback ports from `base_port`."""
        check_port_range(base_port, len(self.nodes))
        return dataclasses.replace(self, nodes=tuple(
            dataclasses.replace(node, host=LOOPBACK, bind=LOOPBACK,
                                ports=loopback_ports(base_port, index))
            for index, node in enumerate(self.nodes)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Network:
        nodes = tuple(Node(**{**node, "ports": Ports(**node["ports"])})
                      for node in data["nodes"])
        return cls(chain_id=data["chain_id"], genesis_time=data["genesis_time"], nodes=nodes)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / DESCRIPTION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        # Atomically: a running supervisor re-reads it to pick up added nodes.
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(temporary, path)
        return path

    @classmethod
    def load(cls, directory: Path) -> Network:
        return cls.from_dict(json.loads((Path(directory) / DESCRIPTION_FILE).read_text()))


def node_name(index: int) -> str:
    return f"node{index + 1}"


def now_for_genesis() -> str:
    # Tendermint parses RFC 3339 with nanoseconds; microseconds are enough here.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_node_count(nodes: int) -> None:
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"a testnet has 1 to {MAX_NODES} nodes, not {nodes}; give a number "
                         f"in that range")


def check_port_range(base_port: int, nodes: int) -> None:
    last = base_port + nodes * PORTS_PER_NODE - 1
    if base_port < 1024 or last > 65535:
        raise ValueError(f"ports {base_port}-{last} do not fit in 1024-65535; "
                         f"pick another --base-port")


def describe_loopback(nodes: int = DEFAULT_NODES, base_port: int = DEFAULT_BASE_PORT,
                      chain_id: str = DEFAULT_CHAIN_ID, power: int = DEFAULT_POWER,
                      genesis_time: str | None = None) -> Network:
    check_node_count(nodes)
    check_port_range(base_port, nodes)
    return Network(chain_id=chain_id, genesis_time=genesis_time or now_for_genesis(),
                   nodes=tuple(Node(name=node_name(i), power=power, host=LOOPBACK,
                                    bind=LOOPBACK, ports=loopback_ports(base_port, i))
                               for i in range(nodes)))


def describe_hosts(nodes: int = DEFAULT_NODES, chain_id: str = DEFAULT_CHAIN_ID,
                   power: int = DEFAULT_POWER, genesis_time: str | None = None) -> Network:
    check_node_count(nodes)
    return Network(chain_id=chain_id, genesis_time=genesis_time or now_for_genesis(),
                   nodes=tuple(Node(name=node_name(i), power=power, host=node_name(i),
                                    bind="0.0.0.0", ports=STANDARD_PORTS)
                               for i in range(nodes)))


# ---------------------------------------------------------------------------------------
# Ports on this host


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Tendermint, FerretDB and gunicorn all listen with SO_REUSEADDR, so a port held
        # only by connections in TIME_WAIT is free for them too.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def busy_ports(network: Network) -> list[tuple[Node, str, int]]:
    return [(node, role, port) for node in network.nodes for role, port in node.ports.items()
            if not port_is_free(node.bind, port)]


def free_base_port(nodes: int, start: int = DEFAULT_BASE_PORT) -> int | None:
    """The first loopback layout from `start` on whose every port is free."""
    block = nodes * PORTS_PER_NODE
    for base in range(start, 32768 - block, block):
        if all(port_is_free(LOOPBACK, port) for port in range(base, base + block)):
            return base
    return None


class PortsBusy(RuntimeError):
    pass


def check_ports_free(network: Network) -> None:
    busy = busy_ports(network)
    if not busy:
        return
    lines = [f"port {port} ({node.name} {role}) is already in use on {node.bind}"
             for node, role, port in busy]
    alternative = free_base_port(len(network.nodes), start=network.nodes[-1].ports.p2p
                                 + PORTS_PER_NODE)
    if alternative is not None:
        lines.append(f"ports {alternative}-{alternative + len(network.nodes) * PORTS_PER_NODE - 1}"
                     f" are free: re-run with --base-port {alternative}")
    else:
        lines.append("re-run with a --base-port whose range is free")
    raise PortsBusy("\n".join(lines))
