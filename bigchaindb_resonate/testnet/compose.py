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
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from bigchaindb_resonate.testnet import config, store_tls
from bigchaindb_resonate.testnet.config import NodeDir
from bigchaindb_resonate.testnet.description import (DEFAULT_CHAIN_ID, DEFAULT_NODES,
                                                     DESCRIPTION_FILE, LOOPBACK, MAX_NODES,
                                                     NODE_NAME, STANDARD_PORTS, Network,
                                                     Node, describe_hosts)

REPO_ROOT = Path(__file__).resolve().parents[2]
NETWORK_FILES = REPO_ROOT / "network"
DOCKERFILE = "network/Dockerfile"
NETWORK_FILE = "docker-compose.network.yml"
MEMBER_FILE = "docker-compose.member.yml"
MEMBER_NODE_DIR = "node"
ENV_FILE = ".env"  # compose reads it next to the compose file: the uid and gid to run as
RELEASE_FILE = "release.json"
NODE_IMAGE = "bigchaindb-resonate:local"  # built from DOCKERFILE, never pulled
# Pulled images, each pinned by digest (network/README.md, "Images", says where each
# digest comes from and how to move to a newer one). MongoDB 8.0 is supported until
# 2029; pymongo 3.13 (requirements/host.txt) speaks wire versions 2 to 13 and MongoDB 8.0
# 0 to 25, so they meet, and over OP_MSG (wire 6+) as the server requires.
MONGODB_IMAGE = ("mongo:8.0@sha256:"
                 "376f5173003b5408d7b8e6989667231c0bf0cefdce379d7c814910429d1a7a85")
PROXY_IMAGE = ("nginxinc/nginx-unprivileged:1.28-alpine@sha256:"
               "7377697a821c131a924a7105fafbe7414db4e9fcc77a6f08f776f33f141ec3f8")
TENDERMINT_HOME = "/tendermint"
MONGODB_DATA = "/data/db"
NODE_CONFIG = "/etc/bigchaindb/bigchaindb.json"  # network/Dockerfile passes it with -c
NODE_STATE = "/var/lib/bigchaindb"  # network/Dockerfile makes it
NODE_LOGS = f"{NODE_STATE}/logs"
METRICS_DIR = "/tmp/resonate-metrics"  # on the container's tmpfs, emptied at each start
TLS_DIR = "/etc/nginx/tls"
# The node's database user; its password and the administrator's are generated per node.
DATABASE_USER = "resonate-node"
DATABASE_ADMIN = "admin"
SECRETS = ("mongodb-root-password", "mongodb-node-password")
# TLS between the node and its store (store_tls.py): the files in <node>/mongodb-tls/,
# where mongod and the node's container see them.
STORE_TLS_DIR = "mongodb-tls"
MONGODB_TLS = "/etc/mongodb-tls"
NODE_STORE_CA = "/etc/bigchaindb/mongodb-ca.pem"
# On one Docker host, node i publishes each port at port + i * HOST_PORT_STEP.
HOST_PORT_STEP = 10
# The member's edge (network/proxy/nginx.conf.template).
HTTPS_PORT = 443
PROXY_TLS_PORT = 8443  # inside the container: nginx runs unprivileged
MONITORING_PORT = 9986
EDGE_LIMITS = {"requests_per_second": 50, "request_burst": 100, "writes_per_second": 20,
               "write_burst": 40, "streams_per_client": 10}
# Docker's json-file logs, rotated: at most 5 files of 20 MB per container.
LOGGING = {"driver": "json-file", "options": {"max-size": "20m", "max-file": "5"}}
RUN_AS = "${RESONATE_UID:?run resonate network again to write .env}:${RESONATE_GID:?}"
HEALTH = ["python", "-m", "bigchaindb_resonate.health"]
LIMITS = {"mongodb": ("2", "4g"), "bigchaindb": ("2", "4g"), "tendermint": ("1", "1g"),
          "proxy": ("1", "256m")}


@dataclass(frozen=True)
class ServiceNames:
    """What one node's services are called in a compose file."""
    mongodb: str
    tendermint: str
    bigchaindb: str
    proxy: str
    secret_prefix: str


MEMBER_SERVICES = ServiceNames("mongodb", "tendermint", "bigchaindb", "proxy", "")


def network_services(node: Node) -> ServiceNames:
    return ServiceNames(f"mongodb-{node.name}", f"tendermint-{node.name}",
                        f"bigchaindb-{node.name}", f"proxy-{node.name}", f"{node.name}-")


def on_one_docker_host(network: Network) -> Network:
    """The network whose peers reach each other's Tendermint by its service name."""
    return dataclasses.replace(network, nodes=tuple(
        dataclasses.replace(node, host=network_services(node).tendermint)
        for node in network.nodes))


# ---------------------------------------------------------------------------------------
# bigchaindb.json inside a container


def container_bigchaindb_settings(node: Node, services: ServiceNames, advertised_host: str,
                                  advertised_ws_port: int, database_password: str,
                                  tls: bool = False) -> dict:
    settings = config.bigchaindb_settings(node, NodeDir(Path(NODE_STATE)))
    settings["server"]["bind"] = f"0.0.0.0:{node.ports.api}"
    # Behind the proxy the event stream is advertised at its public, TLS address.
    settings["wsserver"].update(host="0.0.0.0", advertised_host=advertised_host,
                                advertised_port=advertised_ws_port,
                                advertised_scheme="wss" if tls else "ws")
    settings["tendermint"].update(host=services.tendermint, abci_host="0.0.0.0")
    # BigchainDB 2.2.2 authenticates with these against the node's own database
    # (backend/localmongodb/connection.py: authenticate(login, password)).
    settings["database"].update(host=services.mongodb, login=DATABASE_USER,
                                password=database_password, ssl=True)
    settings["metrics"] = {"bind": f"0.0.0.0:{node.ports.metrics}", "dir": METRICS_DIR}
    return settings


# ---------------------------------------------------------------------------------------
# Services


def _published(port: int, offset: int, loopback_only: bool = False,
               container_port: int | None = None) -> str:
    return (f"{LOOPBACK + ':' if loopback_only else ''}{port + offset}:"
            f"{container_port or port}")


def _hardened(role: str, service: dict, read_only: bool = True) -> dict:
    """What every container gets: the member's own uid (it owns the key files, mode 600),
    no capabilities, no privilege escalation, limits, rotated logs, restarts."""
    cpus, memory = LIMITS[role]
    return {**service, "user": RUN_AS, "read_only": read_only, "tmpfs": ["/tmp"],
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
            "pids_limit": 512, "deploy": {"resources": {"limits": {"cpus": cpus,
                                                                   "memory": memory}}},
            "logging": LOGGING, "restart": "unless-stopped"}


def _healthcheck(test: list[str], start_period: str = "60s") -> dict:
    return {"test": ["CMD", *test], "interval": "30s", "timeout": "15s", "retries": 3,
            "start_period": start_period}


def node_services(node: Node, services: ServiceNames, files: str, build_context: str,
                  port_offset: int, member: bool) -> dict[str, dict]:
    """One node's services; `files` is its generated directory, relative to the compose
    file. A member's node sits behind its proxy on an internal network; a rehearsal
    network publishes its nodes on the host's loopback only."""
    ports = node.ports
    internal = ["internal"] if member else None
    secret = {name: f"{services.secret_prefix}{name}" for name in SECRETS}
    tls_files = f"{files}/{STORE_TLS_DIR}"
    server_pem = f"{MONGODB_TLS}/{store_tls.SERVER_FILE}"
    ca_pem = f"{MONGODB_TLS}/{store_tls.CA_FILE}"
    # Clients verify the store against its CA and log in with passwords: the store asks
    # none of them for a certificate (store_tls.py says why).
    mongosh_tls = ["--tls", "--tlsCAFile", ca_pem, "--host", LOOPBACK]
    mongodb = {
        "image": MONGODB_IMAGE,
        "command": ["mongod", "--auth", "--bind_ip_all", "--tlsMode", "requireTLS",
                    "--tlsCertificateKeyFile", server_pem, "--tlsCAFile", ca_pem,
                    "--tlsAllowConnectionsWithoutCertificates", "--port", str(ports.store)],
        "environment": {"MONGO_INITDB_ROOT_USERNAME": DATABASE_ADMIN,
                        "MONGO_INITDB_ROOT_PASSWORD_FILE":
                            f"/run/secrets/{secret['mongodb-root-password']}",
                        "RESONATE_NODE_USER": DATABASE_USER,
                        "RESONATE_NODE_DATABASE": config.DATABASE_NAME,
                        "RESONATE_STORE_TLS": MONGODB_TLS,
                        "HOME": "/tmp"},
        "secrets": [{"source": secret[name], "target": name} for name in SECRETS],
        # File by file: the CA's key stays out of every container.
        "volumes": [f"{files}/mongodb:{MONGODB_DATA}",
                    f"{files}/mongodb-init:/docker-entrypoint-initdb.d:ro",
                    f"{tls_files}/{store_tls.CA_FILE}:{ca_pem}:ro",
                    f"{tls_files}/{store_tls.SERVER_FILE}:{server_pem}:ro"],
        "healthcheck": _healthcheck(["mongosh", "--quiet", *mongosh_tls, "--port",
                                     str(ports.store), "--eval",
                                     "db.adminCommand('ping').ok"]),
    }
    bigchaindb = {
        "build": {"context": build_context, "dockerfile": DOCKERFILE},
        "image": NODE_IMAGE,
        "depends_on": {services.mongodb: {"condition": "service_healthy"}},
        # database.ssl is on in bigchaindb.json; the driver trusts the store's private CA
        # from here (store_tls.py says why not database.ca_cert).
        "environment": {"SSL_CERT_FILE": NODE_STORE_CA},
        "volumes": [f"{files}/bigchaindb.json:{NODE_CONFIG}:ro", f"{files}/logs:{NODE_LOGS}",
                    f"{tls_files}/{store_tls.CA_FILE}:{NODE_STORE_CA}:ro"],
        "healthcheck": _healthcheck([*HEALTH, "node", "--health",
                                     f"http://127.0.0.1:{ports.metrics}/health", "--api",
                                     f"http://127.0.0.1:{ports.api}/"]),
    }
    tendermint = {
        "image": NODE_IMAGE,
        "pull_policy": "never",  # the bigchaindb service builds it
        # Tendermint 0.31 never reconnects to a restarted app: this stops it when its app
        # stops answering, and the restart policy starts it afresh (health.py).
        "entrypoint": [*HEALTH, "run-tendermint", "--rpc", f"http://127.0.0.1:{ports.rpc}",
                       "--"],
        "command": ["tendermint", "node", "--home", TENDERMINT_HOME,
                    f"--proxy_app=tcp://{services.bigchaindb}:{ports.abci}"],
        "depends_on": {services.bigchaindb: {"condition": "service_healthy"}},
        "volumes": [f"{files}/tendermint:{TENDERMINT_HOME}",
                    f"{files}/tendermint/config:{TENDERMINT_HOME}/config:ro"],
        "healthcheck": _healthcheck([*HEALTH, "tendermint", "--rpc",
                                     f"http://127.0.0.1:{ports.rpc}"], start_period="120s"),
    }
    if member:
        mongodb["networks"] = bigchaindb["networks"] = internal
        # P2P is the one port a member opens to the other members, besides the proxy's.
        tendermint["ports"] = [_published(ports.p2p, port_offset)]
        tendermint["networks"] = ["internal", "edge"]
    else:
        # Peers are on the compose network; the API, events and metrics on loopback.
        bigchaindb["ports"] = [_published(port, port_offset, loopback_only=True)
                               for port in (ports.api, ports.ws, ports.metrics)]
        tendermint["ports"] = [_published(port, port_offset, loopback_only=True)
                               for port in (ports.rpc, ports.tendermint_metrics)]
    defined = {services.mongodb: _hardened("mongodb", mongodb, read_only=False),
               services.bigchaindb: _hardened("bigchaindb", bigchaindb),
               services.tendermint: _hardened("tendermint", tendermint)}
    if member:
        defined[services.proxy] = _hardened("proxy", {
            "image": PROXY_IMAGE,
            "depends_on": {services.bigchaindb: {"condition": "service_healthy"}},
            "volumes": [f"{files}/proxy/nginx.conf:/etc/nginx/nginx.conf:ro",
                        f"{files}/tls:{TLS_DIR}:ro"],
            "ports": [_published(HTTPS_PORT, port_offset, container_port=PROXY_TLS_PORT),
                      _published(MONITORING_PORT, port_offset, loopback_only=True)],
            "networks": ["internal", "edge"],
            "healthcheck": _healthcheck(["wget", "-q", "-O", "/dev/null",
                                         f"http://127.0.0.1:{MONITORING_PORT}/healthz"]),
        })
    return defined


def _secrets(services: ServiceNames, files: str) -> dict:
    return {f"{services.secret_prefix}{name}": {"file": f"{files}/secrets/{name}"}
            for name in SECRETS}


def network_compose(network: Network, build_context: str) -> dict:
    services, secrets = {}, {}
    for index, node in enumerate(network.nodes):
        names = network_services(node)
        services.update(node_services(node, names, f"./{node.name}", build_context,
                                      port_offset=index * HOST_PORT_STEP, member=False))
        secrets.update(_secrets(names, f"./{node.name}"))
    return {"services": services, "secrets": secrets}


def member_compose(build_context: str) -> dict:
    # A member's node is on its own machine: standard ports, P2P open to the other members.
    node = Node(name=MEMBER_NODE_DIR, power=0, host="", bind="0.0.0.0", ports=STANDARD_PORTS)
    return {"services": node_services(node, MEMBER_SERVICES, f"./{MEMBER_NODE_DIR}",
                                      build_context, port_offset=0, member=True),
            "secrets": _secrets(MEMBER_SERVICES, f"./{MEMBER_NODE_DIR}"),
            # Only the proxy and Tendermint reach outside; the store and the app cannot.
            "networks": {"internal": {"internal": True}, "edge": {}}}


NETWORK_HEADER = """\
# Generated by `resonate network compose`; regenerate rather than edit.
# {count} nodes on one Docker host, to rehearse the co-op network. Each node's keys,
# genesis.json, config.toml, bigchaindb.json, store passwords and data are in ./<node>/,
# written next to this file (with .env, the uid the containers run as) by the same
# command on the machine that runs it; no key, password or node id is in this file.
#   docker compose -f {file} up --build
# Node i (from 0) publishes on 127.0.0.1 only: its API on 9984 + 10*i, websocket
# 9985 + 10*i, metrics and health 9986 + 10*i, Tendermint RPC 26657 + 10*i and
# Tendermint's metrics 26660 + 10*i.
"""

MEMBER_HEADER = """\
# Generated by `resonate network member`; regenerate rather than edit.
# One co-op member's node. Its keys, the shared genesis.json, config.toml (with the other
# members as persistent peers), bigchaindb.json, store passwords, the proxy's
# configuration, TLS certificate and the data are in ./node/, written next to this file
# (with .env, the uid the containers run as) on the member's machine; no key, password or
# node id is in this file.
#   docker compose -f {file} up --build -d
# Open 26656 (Tendermint P2P) to the other members and 443 (API and event stream over
# TLS) to clients; 127.0.0.1:9986 serves metrics and health to this machine only.
"""


class _Dumper(yaml.SafeDumper):
    """Writes every value where it is used: a reader sees no YAML anchors."""

    def ignore_aliases(self, data):
        return True


def to_yaml(document: dict, header: str) -> str:
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False,
                              default_flow_style=False, width=200)


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


def _write_private(path: Path, text: str) -> None:
    """A file only its owner reads, created so from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chmod(path, 0o600)


def _write_settings(path: Path, settings: dict) -> None:
    _write_private(path, json.dumps(settings, indent=2) + "\n")


def _kept_secret(path: Path) -> str:
    """A password generated once per node and kept: the store was initialised with it."""
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32))
    return path.read_text()


# The node image's own user (network/Dockerfile): who runs the containers when root
# generates the files, which then belong to it.
IMAGE_UID = 10001


def run_as() -> tuple[int, int]:
    """The uid and gid the containers run as: whoever generates the files, which only
    their owner may read; never root (then the image's own user, given the files)."""
    uid, gid = os.getuid(), os.getgid()
    return (IMAGE_UID, IMAGE_UID) if uid == 0 else (uid, gid)


def _hand_over(root: Path) -> None:
    """Files root generated belong to the user the containers run as."""
    uid, gid = run_as()
    if os.getuid() != 0:
        return
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)


def _write_store_tls(directory: Path, store_host: str) -> list[Path]:
    """The store's CA and certificate, issued once per node and kept."""
    paths = [directory / name for name in store_tls.FILES]
    if not all(path.exists() for path in paths):
        directory.mkdir(mode=0o700, exist_ok=True)
        for name, content in store_tls.issue(store_host).items():
            if name in store_tls.PRIVATE_FILES:
                _write_private(directory / name, content.decode())
            else:
                (directory / name).write_bytes(content)
    return paths


def _write_container_dirs(root: Path, store_host: str) -> list[Path]:
    """The node's store passwords and TLS files and the directories its containers
    write, owned by the user who runs the command (the containers run as that user)."""
    for name in ("mongodb", "logs", "tendermint/data"):
        (root / name).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "mongodb", 0o700)
    init = root / "mongodb-init" / "create-node-user.sh"
    init.parent.mkdir(exist_ok=True)
    init.write_text((NETWORK_FILES / "mongodb" / "create-node-user.sh").read_text())
    os.chmod(init, 0o755)
    (root / "secrets").mkdir(mode=0o700, exist_ok=True)
    for name in SECRETS:
        _kept_secret(root / "secrets" / name)
    return [init, *(root / "secrets" / name for name in SECRETS),
            *_write_store_tls(root / STORE_TLS_DIR, store_host)]


def _write_env(out_dir: Path) -> Path:
    uid, gid = run_as()
    path = out_dir / ENV_FILE
    path.write_text(f"# The user the node's containers run as: it owns the node's files.\n"
                    f"RESONATE_UID={uid}\nRESONATE_GID={gid}\n")
    return path


def write_compose(network: Network, out_dir: Path) -> list[Path]:
    """Every node's files under `out_dir/<node>/` and `out_dir/docker-compose.network.yml`;
    returns the paths written. Keys and passwords already there are kept."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _write_env(out_dir)
    compose_network = on_one_docker_host(network)
    node_dirs = config.write_network(compose_network, out_dir)
    written = [out_dir / DESCRIPTION_FILE, env]
    for index, node in enumerate(compose_network.nodes):
        files = node_dirs[node.name]
        written += _write_container_dirs(files.root, network_services(node).mongodb)
        password = _kept_secret(files.root / "secrets" / "mongodb-node-password")
        _write_settings(files.bigchaindb_config, container_bigchaindb_settings(
            node, network_services(node), advertised_host="localhost",
            advertised_ws_port=node.ports.ws + index * HOST_PORT_STEP,
            database_password=password))
        written += _node_files(files)
        _hand_over(files.root)
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


def render_proxy_config(host: str, tls_dir: str = TLS_DIR, upstream: str | None = None,
                        tls_port: int = PROXY_TLS_PORT,
                        monitoring_port: int = MONITORING_PORT) -> str:
    """network/proxy/nginx.conf.template for a member's node; `upstream` replaces every
    service name (a validator run outside compose resolves none of them)."""
    from bigchaindb.web.websocket_server import EVENTS_ENDPOINT

    from bigchaindb_resonate import admission

    ports, names = STANDARD_PORTS, MEMBER_SERVICES

    def at(service, port):
        return f"{upstream or service}:{port}"

    return Template((NETWORK_FILES / "proxy" / "nginx.conf.template").read_text()
                           ).substitute(
        host=host, tls_dir=tls_dir, tls_port=tls_port, monitoring_port=monitoring_port,
        body_limit=admission.HTTP_BODY_LIMIT, events_path=EVENTS_ENDPOINT,
        api=at(names.bigchaindb, ports.api), events=at(names.bigchaindb, ports.ws),
        node_metrics=at(names.bigchaindb, ports.metrics),
        tendermint_metrics=at(names.tendermint, ports.tendermint_metrics),
        tendermint_rpc=at(names.tendermint, ports.rpc), **EDGE_LIMITS)


def render_prometheus_config(member: str) -> str:
    return Template((NETWORK_FILES / "prometheus" / "prometheus.yml.template")
                           .read_text()).substitute(member=member,
                                                    monitoring_port=MONITORING_PORT)


def write_self_signed_certificate(tls_dir: Path, host: str) -> list[Path]:
    """A certificate for `host` signed by its own key, for trying a node out: clients must
    be told to trust it. A member's real certificate goes in the same two files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    tls_dir.mkdir(parents=True, exist_ok=True)
    chain, private = tls_dir / "fullchain.pem", tls_dir / "privkey.pem"
    _write_private(private, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return [chain, private]


def write_member(out_dir: Path, name: str, host: str, genesis_file: Path,
                 peers: list[str], self_signed_tls: bool = False) -> list[Path]:
    """One member's node: new keys and store passwords (kept if already there), the shared
    genesis, config.toml with `peers`, bigchaindb.json, the proxy's and Prometheus's
    configuration, what it runs (release.json), and the compose file; returns the paths
    written. The TLS certificate is the member's (node/tls/), or self-signed for trying."""
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
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _write_env(out_dir)
    files = NodeDir(out_dir / MEMBER_NODE_DIR)
    files.validator_state.parent.mkdir(parents=True, exist_ok=True)
    config._kept_key(files.validator_key, config.new_validator_key)
    config._kept_key(files.validator_state,
                     lambda: {"height": "0", "round": "0", "step": 0})
    own_id = config.node_id(config._kept_key(files.node_key, config.new_node_key))
    files.genesis.write_text(genesis_text)
    files.tendermint_config.write_text(config.render_tendermint_config(
        network, node, {name: own_id, **{peer.name: peer.name for peer in peer_nodes}}))
    written = _write_container_dirs(files.root, MEMBER_SERVICES.mongodb)
    _write_settings(files.bigchaindb_config, container_bigchaindb_settings(
        node, MEMBER_SERVICES, advertised_host=host, advertised_ws_port=HTTPS_PORT,
        database_password=_kept_secret(files.root / "secrets" / "mongodb-node-password"),
        tls=True))
    proxy = files.root / "proxy" / "nginx.conf"
    proxy.parent.mkdir(exist_ok=True)
    proxy.write_text(render_proxy_config(host))
    prometheus = out_dir / "prometheus"
    prometheus.mkdir(exist_ok=True)
    (prometheus / "prometheus.yml").write_text(render_prometheus_config(name))
    (prometheus / "resonate-rules.yml").write_text(
        (NETWORK_FILES / "prometheus" / "resonate-rules.yml").read_text())
    tls = files.root / "tls"
    tls.mkdir(exist_ok=True)
    if self_signed_tls and not (tls / "privkey.pem").exists():
        written += write_self_signed_certificate(tls, host)
    release = files.root / RELEASE_FILE
    release.write_text(json.dumps(release_summary(), indent=2) + "\n")
    _hand_over(files.root)
    compose_file = out_dir / MEMBER_FILE
    compose_file.write_text(member_compose_yaml(build_context_from(out_dir)))
    return [env, *_node_files(files), *written, proxy, prometheus / "prometheus.yml", release,
            compose_file]


def release_summary() -> dict:
    """What this checkout's node runs: the plugin's version and its rule-set digest, which
    every member compares (the image and the node report the same)."""
    from bigchaindb_resonate import rules

    summary = rules.summary()
    return {key: summary[key] for key in ("software", "version", "rules", "bigchaindb")}


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
    member.add_argument("--self-signed-tls", action="store_true",
                        help="make a self-signed TLS certificate for --host, to try the node "
                             "out (otherwise put yours in OUT/node/tls/)")
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
        written = write_member(args.out, args.name, args.host, args.genesis, args.peer,
                               self_signed_tls=args.self_signed_tls)
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
    release = release_summary()
    print(f"it runs bigchaindb-resonate {release['version']}, rules {release['rules']}; "
          f"every member's node must report the same (recorded in {args.out}/node/"
          f"{RELEASE_FILE})")
    if not (args.out / MEMBER_NODE_DIR / "tls" / "privkey.pem").exists():
        print(f"before starting, put your TLS certificate chain and key for {args.host} in "
              f"{args.out}/node/tls/fullchain.pem and privkey.pem (or run again with "
              f"--self-signed-tls to try it out)")
    print(f"start with\n  docker compose -f {written[-1]} up --build -d")
    return 0

