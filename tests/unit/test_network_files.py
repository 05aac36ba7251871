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

from bigchaindb_resonate.testnet import compose, config
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
            (node.ports.api + offset, node.ports.api), (node.ports.ws + offset, node.ports.ws)]
        assert host_ports(services[names.tendermint]) == [(node.ports.rpc + offset, node.ports.rpc)]
        assert services[names.tendermint]["ports"][0].startswith("127.0.0.1:")
        assert host_ports(services[names.mongodb]) == []
        assert services[names.mongodb]["command"][-2:] == ["--port", str(node.ports.store)]
        assert services[names.tendermint]["command"] == [
            "node", f"--proxy_app=tcp://{names.bigchaindb}:{node.ports.abci}"]

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
    assert len(published) == len(set(published)) == 3 * len(network.nodes)


def test_every_volume_is_declared_and_every_bind_mount_was_generated(generated):
    _, out, document, _ = generated
    used = {volume for service in document["services"].values()
            for volume in named_volumes(service)}
    assert used == set(document["volumes"])
    for service in document["services"].values():
        for source in bind_mounts(service).values():
            assert (out / source).exists(), source


def test_tendermint_home_keeps_keys_read_only_and_state_in_its_volume(generated):
    network, _, document, _ = generated
    for node in network.nodes:
        names = compose.network_services(node)
        tendermint = document["services"][names.tendermint]
        assert f"{names.tendermint_home}:{compose.TENDERMINT_HOME}" in tendermint["volumes"]
        assert (f"./{node.name}/tendermint/config:{compose.TENDERMINT_HOME}/config:ro"
                in tendermint["volumes"])
        script = tendermint["entrypoint"][2]
        assert "priv_validator_state.json ] ||" in script  # created once, never overwritten
        assert json.dumps(compose.FRESH_VALIDATOR_STATE, separators=(",", ":")) in script


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
        assert service["depends_on"] == [names.mongodb]
        assert service["build"] == {"context": compose.build_context_from(out),
                                    "dockerfile": "network/Dockerfile"}
        assert (out / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        assert bind_mounts(service) == {compose.NODE_CONFIG: f"./{node.name}/bigchaindb.json"}
        settings = read_json(node_dir(out, node).bigchaindb_config)
        assert settings["database"]["host"] == names.mongodb
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


def test_compose_file_holds_no_key_and_no_node_id(generated):
    network, out, _, written = generated
    text = (out / compose.NETWORK_FILE).read_text()
    for node in network.nodes:
        files = node_dir(out, node)
        assert read_json(files.validator_key)["priv_key"]["value"] not in text
        assert read_json(files.node_key)["priv_key"]["value"] not in text
        assert config.node_ids(network, out)[node.name] not in text
        assert files.validator_key in written and files.node_key in written


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
    assert settings["wsserver"]["advertised_host"] == "kokoroko.coop.example"
    assert (out / compose.MEMBER_FILE).read_text() == compose.member_compose_yaml(
        compose.build_context_from(out))
    assert files.validator_key in written and (files.validator_key.stat().st_mode & 0o077) == 0


def test_member_compose_runs_its_node_on_the_standard_ports(member):
    out, _, _, _ = member
    document = yaml.safe_load((out / compose.MEMBER_FILE).read_text())
    services = document["services"]
    names = compose.MEMBER_SERVICES
    assert set(services) == {names.mongodb, names.tendermint, names.bigchaindb}
    assert host_ports(services[names.tendermint]) == [(STANDARD_PORTS.p2p, STANDARD_PORTS.p2p),
                                                     (STANDARD_PORTS.rpc, STANDARD_PORTS.rpc)]
    assert host_ports(services[names.bigchaindb]) == [(STANDARD_PORTS.api, STANDARD_PORTS.api),
                                                     (STANDARD_PORTS.ws, STANDARD_PORTS.ws)]
    used = {volume for service in services.values() for volume in named_volumes(service)}
    assert used == set(document["volumes"])
    for service in services.values():
        for source in bind_mounts(service).values():
            assert (out / source).exists(), source


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
        if instruction == "COPY":
            for source in arguments.split()[:-1]:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in admitted, source


def test_dockerfile_runs_the_node_as_a_user_with_the_mounted_config():
    instructions = dict(dockerfile_instructions())  # the last of each kind
    assert dockerfile_instructions()[0] == ("FROM", "python:3.11-slim-bookworm")
    assert instructions["USER"] not in ("root", "0")
    assert json.loads(instructions["ENTRYPOINT"]) == ["bigchaindb-resonate", "-c",
                                                      compose.NODE_CONFIG]
    assert json.loads(instructions["CMD"]) == ["start"]
    assert sorted(map(int, instructions["EXPOSE"].split())) == sorted(
        [STANDARD_PORTS.api, STANDARD_PORTS.ws, STANDARD_PORTS.abci])
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
