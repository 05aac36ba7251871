"""The compose files, node configs and node image of network/ agree with the description,
with each other, and with scripts/bootstrap; and no private key is under network/."""
import argparse
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from bigchaindb_resonate.testnet import compose, config, store_tls
from bigchaindb_resonate.testnet.config import NodeDir, node_dir
from bigchaindb_resonate.testnet.description import STANDARD_PORTS, describe_hosts

REPO = Path(__file__).resolve().parents[2]
NETWORK_DIR = REPO / "network"
GENESIS_TIME = "2024-05-01T12:00:00.000000Z"


@pytest.fixture(params=[1, 4, 7], ids=lambda n: f"{n}-nodes")
def generated(request, tmp_path):
    network = describe_hosts(request.param, chain_id="resonate-compose-test",
                             genesis_time=GENESIS_TIME)
    written = compose.write_compose(network, tmp_path)
    document = yaml.safe_load((tmp_path / compose.NETWORK_FILE).read_text())
    return network, tmp_path, document, written


def read_json(path):
    return json.loads(Path(path).read_text())


def host_ports(service):
    """Host ports a service publishes: `[ip:]host:container` -> (host, container)."""
    published = [entry.rsplit(":", 2)[-2:] for entry in service.get("ports", [])]
    return [(int(host), int(container)) for host, container in published]


def named_volumes(service):
    return [entry.split(":")[0] for entry in service.get("volumes", [])
            if not entry.startswith((".", "/"))]


def services_of(document, node=None):
    """The services of `node` in a network file, or every service."""
    if node is None:
        return document["services"]
    names = compose.network_services(node)
    return {role: document["services"][getattr(names, role)]
            for role in ("mongodb", "bigchaindb", "tendermint")}


def bind_mounts(service):
    return {target: source for source, target, *_ in
            (entry.split(":") for entry in service.get("volumes", []))
            if source.startswith(".")}


def test_every_node_has_its_three_services(generated):
    network, _, document, _ = generated
    expected = {f"{role}-{node.name}" for node in network.nodes
                for role in ("mongodb", "tendermint", "bigchaindb")}
    assert set(document["services"]) == expected


def test_ports_are_the_descriptions_and_no_host_port_is_published_twice(generated):
    network, out, document, _ = generated
    services = document["services"]
    for index, node in enumerate(network.nodes):
        names = compose.network_services(node)
        offset = index * compose.HOST_PORT_STEP
        assert host_ports(services[names.bigchaindb]) == [
            (port + offset, port) for port in (node.ports.api, node.ports.ws, node.ports.metrics)]
        assert host_ports(services[names.tendermint]) == [
            (port + offset, port) for port in (node.ports.rpc, node.ports.tendermint_metrics)]
        # A rehearsal publishes on this machine only.
        for role in (names.bigchaindb, names.tendermint):
            assert all(entry.startswith("127.0.0.1:") for entry in services[role]["ports"])
        assert host_ports(services[names.mongodb]) == []
        assert services[names.mongodb]["command"][-2:] == ["--port", str(node.ports.store)]
        assert services[names.tendermint]["command"] == [
            "tendermint", "node", "--home", compose.TENDERMINT_HOME,
            f"--proxy_app=tcp://{names.bigchaindb}:{node.ports.abci}"]

        settings = read_json(node_dir(out, node).bigchaindb_config)
        assert settings["server"]["bind"] == f"0.0.0.0:{node.ports.api}"
        assert settings["wsserver"]["port"] == node.ports.ws
        assert settings["wsserver"]["advertised_port"] == node.ports.ws + offset
        assert settings["tendermint"]["port"] == node.ports.rpc
        assert settings["tendermint"]["abci_port"] == node.ports.abci
        assert settings["database"]["port"] == node.ports.store
        toml = tomllib.loads(node_dir(out, node).tendermint_config.read_text())
        assert toml["rpc"]["laddr"] == f"tcp://0.0.0.0:{node.ports.rpc}"
        assert toml["p2p"]["laddr"] == f"tcp://0.0.0.0:{node.ports.p2p}"

    published = [port for service in services.values() for port, _ in host_ports(service)]
    assert len(published) == len(set(published)) == 5 * len(network.nodes)


def test_data_is_in_generated_directories_and_every_bind_mount_and_secret_exists(generated):
    _, out, document, _ = generated
    assert "volumes" not in document  # the data sits beside the keys, owned by the same user
    for service in document["services"].values():
        assert named_volumes(service) == []
        for source in bind_mounts(service).values():
            assert (out / source).exists(), source
        for secret in service.get("secrets", []):
            assert secret["source"] in document["secrets"]
    for secret in document["secrets"].values():
        path = out / secret["file"]
        assert path.exists() and (path.stat().st_mode & 0o077) == 0, path


def test_tendermint_home_keeps_keys_read_only_and_its_state_beside_them(generated):
    network, out, document, _ = generated
    for node in network.nodes:
        tendermint = services_of(document, node)["tendermint"]
        assert f"./{node.name}/tendermint:{compose.TENDERMINT_HOME}" in tendermint["volumes"]
        assert (f"./{node.name}/tendermint/config:{compose.TENDERMINT_HOME}/config:ro"
                in tendermint["volumes"])
        # Generated once and never reset: what stops a restarted validator signing twice.
        assert node_dir(out, node).validator_state.exists()
        assert tendermint["entrypoint"][:4] == ["python", "-m", "bigchaindb_resonate.health",
                                                "run-tendermint"]


def test_peers_are_exactly_the_other_nodes_at_their_service_names(generated):
    network, out, document, _ = generated
    ids = config.node_ids(network, out)
    for node in network.nodes:
        toml = tomllib.loads(node_dir(out, node).tendermint_config.read_text())
        peers = [peer for peer in toml["p2p"]["persistent_peers"].split(",") if peer]
        expected = {f"{ids[other.name]}@tendermint-{other.name}:{other.ports.p2p}"
                    for other in network.nodes if other is not node}
        assert set(peers) == expected and len(peers) == len(expected)
        for peer in peers:
            assert peer.split("@")[1].split(":")[0] in document["services"]
        assert toml["p2p"]["external_address"] == f"tendermint-{node.name}:{node.ports.p2p}"
        assert toml["moniker"] == node.name


def test_each_bigchaindb_uses_its_own_mongodb_and_tendermint(generated):
    network, out, document, _ = generated
    for node in network.nodes:
        names = compose.network_services(node)
        service = document["services"][names.bigchaindb]
        assert service["depends_on"] == {names.mongodb: {"condition": "service_healthy"}}
        assert service["build"] == {"context": compose.build_context_from(out),
                                    "dockerfile": "network/Dockerfile"}
        assert (out / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        assert bind_mounts(service) == {
            compose.NODE_CONFIG: f"./{node.name}/bigchaindb.json",
            compose.NODE_LOGS: f"./{node.name}/logs",
            compose.NODE_STORE_CA: f"./{node.name}/mongodb-tls/ca.pem"}
        settings = read_json(node_dir(out, node).bigchaindb_config)
        assert settings["database"]["host"] == names.mongodb
        assert settings["database"]["login"] == compose.DATABASE_USER
        assert settings["database"]["password"] == (
            node_dir(out, node).root / "secrets" / "mongodb-node-password").read_text()
        assert settings["tendermint"]["host"] == names.tendermint
        assert settings["tendermint"]["abci_host"] == "0.0.0.0"
        assert settings["server"]["bind"] == "0.0.0.0:9984"
        assert settings["log"]["file"].startswith(compose.NODE_STATE + "/")


def test_one_genesis_lists_every_node_with_its_power(generated):
    network, out, _, _ = generated
    texts = {node_dir(out, node).genesis.read_text() for node in network.nodes}
    assert len(texts) == 1
    genesis = json.loads(texts.pop())
    assert genesis["chain_id"] == network.chain_id
    assert genesis["genesis_time"] == GENESIS_TIME
    listed = {validator["name"]: validator for validator in genesis["validators"]}
    assert set(listed) == set(network.names)
    for node in network.nodes:
        key = read_json(node_dir(out, node).validator_key)
        assert listed[node.name]["power"] == str(node.power)
        assert listed[node.name]["pub_key"] == key["pub_key"]


def test_compose_file_holds_no_key_no_password_and_no_node_id(generated):
    network, out, _, written = generated
    text = (out / compose.NETWORK_FILE).read_text()
    passwords = set()
    for node in network.nodes:
        files = node_dir(out, node)
        for name in compose.SECRETS:
            password = (files.root / "secrets" / name).read_text()
            assert len(password) >= 40 and password not in text
            passwords.add(password)
        assert (files.bigchaindb_config.stat().st_mode & 0o077) == 0  # it holds a password
        assert read_json(files.validator_key)["priv_key"]["value"] not in text
        assert read_json(files.node_key)["priv_key"]["value"] not in text
        assert config.node_ids(network, out)[node.name] not in text
        assert files.validator_key in written and files.node_key in written
    assert len(passwords) == 2 * len(network.nodes)  # one of each per node, none shared


def test_regenerating_keeps_keys_and_rewrites_the_same_files(generated):
    network, out, _, written = generated
    before = {path: path.read_bytes() for path in written}
    compose.write_compose(network, out)
    assert {path: path.read_bytes() for path in written} == before


def test_committed_network_file_is_the_generators_for_the_default_network():
    committed = (NETWORK_DIR / compose.NETWORK_FILE).read_text()
    # The compose file depends on names and ports only, not on the genesis time or keys.
    assert committed == compose.network_compose_yaml(describe_hosts(), build_context="..")
    assert compose.build_context_from(NETWORK_DIR) == ".."


def test_committed_member_file_is_the_generators():
    committed = (NETWORK_DIR / compose.MEMBER_FILE).read_text()
    assert committed == compose.member_compose_yaml(build_context="..")


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="resonate")
    compose.add_network_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_a_network_and_keeps_its_description(tmp_path, capsys):
    out = tmp_path / "net"
    assert run_cli("network", "compose", "--nodes", "2", "--chain-id", "coop-1",
                   "--out", str(out)) == 0
    genesis = node_dir(out, describe_hosts(2).nodes[0]).genesis.read_text()
    assert json.loads(genesis)["chain_id"] == "coop-1"
    assert run_cli("network", "compose", "--out", str(out)) == 0
    assert node_dir(out, describe_hosts(2).nodes[0]).genesis.read_text() == genesis
    assert run_cli("network", "compose", "--nodes", "3", "--out", str(out)) == 1
    assert "already holds 2 nodes" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# One member's node


@pytest.fixture
def member(tmp_path):
    founders = describe_hosts(3, genesis_time=GENESIS_TIME)
    compose.write_compose(founders, tmp_path / "founders")
    genesis = node_dir(tmp_path / "founders", founders.nodes[0]).genesis
    ids = config.node_ids(founders, tmp_path / "founders")
    peers = [f"{ids[node.name]}@{node.name}.coop.example:26656" for node in founders.nodes]
    out = tmp_path / "member"
    written = compose.write_member(out, "kokoroko", "kokoroko.coop.example", genesis, peers)
    return out, genesis, peers, written


def test_member_node_syncs_from_the_shared_genesis_and_peers(member):
    out, genesis, peers, written = member
    files = NodeDir(out / compose.MEMBER_NODE_DIR)
    assert files.genesis.read_text() == genesis.read_text()
    toml = tomllib.loads(files.tendermint_config.read_text())
    assert toml["p2p"]["persistent_peers"].split(",") == peers
    assert toml["p2p"]["external_address"] == "kokoroko.coop.example:26656"
    assert toml["moniker"] == "kokoroko"
    settings = read_json(files.bigchaindb_config)
    assert settings["database"]["host"] == compose.MEMBER_SERVICES.mongodb
    assert settings["tendermint"]["host"] == compose.MEMBER_SERVICES.tendermint
    assert settings["tendermint"]["abci_host"] == "0.0.0.0"
    assert settings["server"]["bind"] == "0.0.0.0:9984"
    assert (out / compose.MEMBER_FILE).read_text() == compose.member_compose_yaml(
        compose.build_context_from(out))
    assert files.validator_key in written and (files.validator_key.stat().st_mode & 0o077) == 0


def test_member_compose_opens_only_p2p_and_the_proxy(member):
    out, _, _, _ = member
    document = yaml.safe_load((out / compose.MEMBER_FILE).read_text())
    services = document["services"]
    names = compose.MEMBER_SERVICES
    assert set(services) == {names.mongodb, names.tendermint, names.bigchaindb, names.proxy}
    assert services[names.tendermint]["ports"] == [f"{STANDARD_PORTS.p2p}:{STANDARD_PORTS.p2p}"]
    assert services[names.proxy]["ports"] == [
        f"443:{compose.PROXY_TLS_PORT}", f"127.0.0.1:{compose.MONITORING_PORT}:{compose.MONITORING_PORT}"]
    for name in (names.mongodb, names.bigchaindb):
        assert "ports" not in services[name] and services[name]["networks"] == ["internal"]
    assert document["networks"]["internal"] == {"internal": True}
    for service in services.values():
        for source in bind_mounts(service).values():
            assert (out / source).exists(), source


def test_every_container_runs_unprivileged_limited_checked_and_rotating_its_logs(member):
    out, _, _, _ = member
    document = yaml.safe_load((out / compose.MEMBER_FILE).read_text())
    for name, service in document["services"].items():
        assert service["user"] == compose.RUN_AS, name
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert set(service["deploy"]["resources"]["limits"]) == {"cpus", "memory"}
        assert service["logging"]["options"].keys() >= {"max-size", "max-file"}
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["restart"] == "unless-stopped"
    env = dict(line.split("=") for line in (out / compose.ENV_FILE).read_text().splitlines()
               if not line.startswith("#"))
    assert int(env["RESONATE_UID"]) != 0  # never root, even when root generated the files
    owner = (out / compose.MEMBER_NODE_DIR / "bigchaindb.json").stat().st_uid
    assert owner == int(env["RESONATE_UID"])


def test_member_store_requires_its_own_generated_credentials(member, tmp_path):
    out, genesis, peers, _ = member
    root = out / compose.MEMBER_NODE_DIR
    settings = read_json(root / "bigchaindb.json")
    assert settings["database"]["login"] == compose.DATABASE_USER
    password = (root / "secrets" / "mongodb-node-password").read_text()
    assert settings["database"]["password"] == password
    mongodb = yaml.safe_load((out / compose.MEMBER_FILE).read_text())["services"]["mongodb"]
    assert "--auth" in mongodb["command"]
    assert mongodb["image"] == compose.MONGODB_IMAGE and compose.MONGODB_IMAGE.startswith("mongo:8.0@")
    # The store creates the node's user from the shipped script, which holds no password.
    script = (root / "mongodb-init" / "create-node-user.sh").read_text()
    assert "/run/secrets/mongodb-node-password" in script and password not in script
    # Another member gets other passwords; running again keeps this member's.
    other = compose.write_member(tmp_path / "other", "other", "other.example", genesis, peers)
    assert (tmp_path / "other" / "node" / "secrets" / "mongodb-node-password").read_text() != password
    assert other
    compose.write_member(out, "kokoroko", "kokoroko.coop.example", genesis, peers)
    assert (root / "secrets" / "mongodb-node-password").read_text() == password


def test_member_advertises_its_event_stream_as_wss_behind_the_proxy(member):
    out, _, _, _ = member
    settings = read_json(out / compose.MEMBER_NODE_DIR / "bigchaindb.json")
    assert settings["wsserver"]["advertised_scheme"] == "wss"
    assert settings["wsserver"]["advertised_port"] == 443
    assert settings["wsserver"]["advertised_host"] == "kokoroko.coop.example"


def test_the_api_advertises_the_event_stream_at_its_wss_address(member, monkeypatch):
    from bigchaindb.web.views import base

    out, _, _, _ = member
    settings = read_json(out / compose.MEMBER_NODE_DIR / "bigchaindb.json")
    # The configuration the function reads (an earlier test may have rebound bigchaindb.config).
    monkeypatch.setitem(base.config, "wsserver", settings["wsserver"])
    assert base.base_ws_uri() == "wss://kokoroko.coop.example:443"


def test_every_private_file_of_a_member_is_its_owners_alone(member):
    out, _, _, _ = member
    root = out / compose.MEMBER_NODE_DIR
    private = [root / "bigchaindb.json", *(root / "secrets").iterdir(),
               root / "tendermint/config/priv_validator_key.json",
               root / "tendermint/config/node_key.json",
               *(root / compose.STORE_TLS_DIR / name for name in store_tls.PRIVATE_FILES)]
    assert len(private) == 3 + len(compose.SECRETS) + len(store_tls.PRIVATE_FILES)
    for path in private:
        assert (path.stat().st_mode & 0o077) == 0, path
    assert ((root / "secrets").stat().st_mode & 0o077) == 0


def test_member_command_prints_what_to_share_and_the_release(tmp_path, member, capsys):
    from bigchaindb_resonate import rules

    _, genesis, peers, _ = member
    out = tmp_path / "cli-member"
    assert run_cli("network", "member", "--name", "venue", "--host", "venue.example",
                   "--genesis", str(genesis), "--peer", peers[0], "--out", str(out),
                   "--self-signed-tls") == 0
    printed = capsys.readouterr().out
    assert compose.member_identity(out)["node_id"] in printed
    assert rules.digest(rules.rule_set()) in printed
    assert "privkey.pem" not in printed  # a certificate is there: nothing to ask for
    assert ((out / "node/tls/privkey.pem").stat().st_mode & 0o077) == 0


def test_member_records_the_release_it_runs(member):
    from bigchaindb_resonate import rules

    out, _, _, _ = member
    release = read_json(out / compose.MEMBER_NODE_DIR / compose.RELEASE_FILE)
    assert release["version"] == rules.summary()["version"]
    assert release["rules"] == rules.digest(rules.rule_set())


def test_member_shares_its_ids_never_its_keys(member):
    out, _, _, _ = member
    identity = compose.member_identity(out)
    files = NodeDir(out / compose.MEMBER_NODE_DIR)
    assert identity["node_id"] == config.node_id(read_json(files.node_key))
    assert identity["validator_public_key"] == read_json(files.validator_key)["pub_key"]["value"]
    assert "priv" not in json.dumps(identity)


def test_member_refuses_a_malformed_peer(tmp_path, member):
    _, genesis, _, _ = member
    with pytest.raises(ValueError, match="node id"):
        compose.write_member(tmp_path / "other", "other", "other.example", genesis,
                             ["other.example:26656"])


# ---------------------------------------------------------------------------------------
# The node image


def dockerfile_instructions():
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = (NETWORK_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def pip_installs(commands):
    """Each `pip install` in shell `commands` as (options, requirement files, specs)."""
    installs = []
    for command in commands:
        for part in re.split(r"&&|;", command):
            words = shlex.split(part)
            if "install" not in words or not {"pip", '"${pip[@]}"', "${pip[@]}"} & set(words):
                continue
            arguments = words[words.index("install") + 1:]
            options = {word for word in arguments if word.startswith("--")} - {"--quiet"}
            files = [arguments[i + 1] for i, word in enumerate(arguments) if word == "-r"]
            specs = [word for i, word in enumerate(arguments) if not word.startswith("-")
                     and (i == 0 or arguments[i - 1] != "-r")]
            installs.append((options, files, specs))
    return installs


def bootstrap_installs():
    text = (REPO / "scripts" / "bootstrap").read_text()
    commands = [line.strip().replace('"${pip[@]}"', "pip install")
                for line in text.splitlines() if line.strip().startswith('"${pip[@]}"')]
    return pip_installs(commands)


def dockerfile_copies():
    """Where each COPY puts a repository path in the image: {image path: repository path}."""
    copied = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY":
            *sources, destination = arguments.split()
            for source in sources:
                copied[destination + Path(source).name if destination.endswith("/")
                       else destination] = source
    return copied


def dockerfile_installs():
    copied = dockerfile_copies()
    runs = [arguments for instruction, arguments in dockerfile_instructions()
            if instruction == "RUN"]
    # Name requirement files by their paths in the repository, as bootstrap does.
    return [(options, [copied.get(path, path) for path in files], specs)
            for options, files, specs in pip_installs(runs)]


def test_dockerfile_installs_what_bootstrap_installs_without_the_test_set():
    bootstrap, image = bootstrap_installs(), dockerfile_installs()
    assert len(bootstrap) == len(image) == 4
    build_tools, pinned_set, host, package = range(4)
    assert bootstrap[build_tools] == image[build_tools] == (set(), [], ["setuptools>=64,<82",
                                                                       "wheel"])
    assert bootstrap[pinned_set] == (set(), ["requirements/host.txt", "requirements/test.txt"],
                                     [])
    assert image[pinned_set] == (set(), ["requirements/host.txt"], [])
    assert bootstrap[host] == image[host] == ({"--no-deps", "--no-build-isolation"}, [],
                                              ["bigchaindb==2.2.2", "bigchaindb-abci==1.0.7"])
    # bootstrap installs the package editable (`-e .`); the image from its copied sources.
    assert bootstrap[package][0] == image[package][0] == {"--no-deps", "--no-build-isolation"}
    setup_in_image = next(path for path, source in dockerfile_copies().items()
                          if source == "setup.py")
    assert image[package][2] == [str(Path(setup_in_image).parent)]


def test_dockerfile_copies_only_what_exists_and_the_build_context_admits():
    admitted = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.startswith("!")}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY" and not arguments.startswith("--from="):
            for source in arguments.split()[:-1]:
                assert (REPO / source).exists(), source
                assert any(source.rstrip("/") == entry or source.startswith(entry + "/")
                           for entry in admitted), source


def test_dockerfile_runs_the_node_as_a_user_with_the_mounted_config():
    instructions = dict(dockerfile_instructions())  # the last of each kind
    stages = [arguments for instruction, arguments in dockerfile_instructions()
              if instruction == "FROM"]
    assert stages[-1].startswith("python:3.11-slim-bookworm@sha256:")
    # Tendermint comes from the build stage, built as scripts/bootstrap builds it.
    assert ("COPY", "--from=tendermint /usr/local/bin/tendermint /usr/local/bin/tendermint") in \
        dockerfile_instructions()
    assert instructions["USER"] not in ("root", "0")
    assert json.loads(instructions["ENTRYPOINT"]) == ["bigchaindb-resonate", "-c",
                                                      compose.NODE_CONFIG]
    assert json.loads(instructions["CMD"]) == ["start"]
    assert sorted(map(int, instructions["EXPOSE"].split())) == sorted(
        [STANDARD_PORTS.api, STANDARD_PORTS.ws, STANDARD_PORTS.metrics, STANDARD_PORTS.abci])
    logs = config.bigchaindb_settings(describe_hosts(1).nodes[0],
                                      NodeDir(Path(compose.NODE_STATE))).get("log")
    assert str(Path(logs["file"]).parent) in " ".join(
        arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN")


# ---------------------------------------------------------------------------------------
# No secrets under network/

# Tendermint's and BigchainDB's key files, PEM keys, and a node id in a peer address.
PRIVATE_KEY_MARKERS = re.compile(r"priv_key|PrivKeyEd25519|private_key|PRIVATE KEY|[0-9a-f]{40}@")


def test_no_private_key_under_network():
    offending = [str(path.relative_to(REPO)) for path in NETWORK_DIR.rglob("*")
                 if path.is_file() and PRIVATE_KEY_MARKERS.search(path.read_text(errors="replace"))]
    assert offending == []
    assert not list(NETWORK_DIR.rglob("priv_validator_key.json"))
    assert not list(NETWORK_DIR.rglob("node_key.json"))


# ---------------------------------------------------------------------------------------
# TLS between the node and its store


def test_member_store_requires_tls_and_the_node_trusts_its_ca(member):
    out, _, _, _ = member
    root = out / compose.MEMBER_NODE_DIR
    document = yaml.safe_load((out / compose.MEMBER_FILE).read_text())
    mongodb, bigchaindb = (document["services"][name] for name in ("mongodb", "bigchaindb"))
    command = mongodb["command"]
    option = {name: command[command.index(name) + 1] for name in
              ("--tlsMode", "--tlsCertificateKeyFile", "--tlsCAFile")}
    assert option["--tlsMode"] == "requireTLS"
    mounts = {target: source for source, target, *_ in
              (entry.split(":") for entry in mongodb["volumes"])}
    assert mounts[option["--tlsCertificateKeyFile"]] == "./node/mongodb-tls/mongodb.pem"
    assert mounts[option["--tlsCAFile"]] == "./node/mongodb-tls/ca.pem"
    # The CA's key is in no container.
    for service in document["services"].values():
        assert not any(store_tls.CA_KEY_FILE in entry for entry in service.get("volumes", []))
    # The store's own clients speak TLS to it, trusting the CA.
    health = mongodb["healthcheck"]["test"]
    assert "--tls" in health and health[health.index("--tlsCAFile") + 1] == option["--tlsCAFile"]
    script = (root / "mongodb-init" / "create-node-user.sh").read_text()
    assert '--tls --tlsCAFile "$RESONATE_STORE_TLS/ca.pem"' in script
    assert mongodb["environment"]["RESONATE_STORE_TLS"] == compose.MONGODB_TLS
    # The node: TLS on in bigchaindb.json, the CA as its trust store, no client files
    # (those would switch BigchainDB 2.2.2 to X.509 login).
    database = read_json(root / "bigchaindb.json")["database"]
    assert database["ssl"] is True
    assert not any(database.get(key) for key in ("ca_cert", "certfile", "keyfile", "crlfile"))
    assert bigchaindb["environment"]["SSL_CERT_FILE"] == compose.NODE_STORE_CA
    assert bind_mounts(bigchaindb)[compose.NODE_STORE_CA] == "./node/mongodb-tls/ca.pem"


def _certificates(directory):
    from cryptography import x509

    ca = x509.load_pem_x509_certificate((directory / store_tls.CA_FILE).read_bytes())
    server = x509.load_pem_x509_certificate((directory / store_tls.SERVER_FILE).read_bytes())
    return ca, server


def test_the_store_certificate_names_its_service_and_chains_to_the_nodes_ca(member, generated):
    import ipaddress
    import subprocess

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out, _, _, _ = member
    network, compose_out, _, _ = generated
    stores = [(out / compose.MEMBER_NODE_DIR, compose.MEMBER_SERVICES.mongodb)] + [
        (node_dir(compose_out, node).root, compose.network_services(node).mongodb)
        for node in network.nodes]
    for root, store_host in stores:
        directory = root / compose.STORE_TLS_DIR
        ca, server = _certificates(directory)
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert store_host in names.get_values_for_type(x509.DNSName)
        assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        # mongod reads the certificate and its key from one file: they must belong together.
        key = serialization.load_pem_private_key(
            (directory / store_tls.SERVER_FILE).read_bytes(), password=None)
        assert key.public_key().public_numbers() == server.public_key().public_numbers()
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(directory / store_tls.CA_FILE),
             "-purpose", "sslserver", "-verify_hostname", store_host,
             str(directory / store_tls.SERVER_FILE)], capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert (directory.stat().st_mode & 0o077) == 0
        for name in store_tls.PRIVATE_FILES:
            assert ((directory / name).stat().st_mode & 0o777) == 0o600, name
    # Each node has its own CA: one node's CA does not vouch for another's store.
    first, second = (root / compose.STORE_TLS_DIR for root, _ in stores[:2])
    crossed = subprocess.run(["openssl", "verify", "-CAfile", str(first / store_tls.CA_FILE),
                              str(second / store_tls.SERVER_FILE)], capture_output=True)
    assert crossed.returncode != 0


def test_regenerating_a_member_keeps_its_store_ca_and_certificate(member):
    out, genesis, peers, written = member
    directory = out / compose.MEMBER_NODE_DIR / compose.STORE_TLS_DIR
    assert all(directory / name in written for name in store_tls.FILES)
    before = {name: (directory / name).read_bytes() for name in store_tls.FILES}
    compose.write_member(out, "kokoroko", "kokoroko.coop.example", genesis, peers)
    assert {name: (directory / name).read_bytes() for name in store_tls.FILES} == before
