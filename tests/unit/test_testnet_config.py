"""Files generated from a description: keys, one genesis, config.toml, bigchaindb.json."""
import base64
import json
import tomllib

import pytest
from nacl.signing import SigningKey

from bigchaindb_resonate.testnet import config
from bigchaindb_resonate.testnet.description import describe_hosts, describe_loopback

GENESIS_TIME = "2024-05-01T12:00:00.000000Z"


@pytest.fixture
def network():
    return describe_loopback(4, base_port=29000, genesis_time=GENESIS_TIME)


@pytest.fixture
def written(network, tmp_path):
    return config.write_network(network, tmp_path)


def read_json(path):
    return json.loads(path.read_text())


def test_validator_key_has_tendermints_shape():
    key = config.new_validator_key()
    private = base64.b64decode(key["priv_key"]["value"])
    public = base64.b64decode(key["pub_key"]["value"])
    assert len(private) == 64 and private[32:] == public
    assert bytes(SigningKey(private[:32]).verify_key) == public
    assert key["pub_key"]["type"] == "tendermint/PubKeyEd25519"
    assert key["priv_key"]["type"] == "tendermint/PrivKeyEd25519"
    assert len(key["address"]) == 40 and key["address"] == key["address"].upper()


def test_node_id_is_lower_hex_of_20_bytes():
    node_id = config.node_id(config.new_node_key())
    assert len(bytes.fromhex(node_id)) == 20 and node_id == node_id.lower()


def test_one_genesis_lists_every_node_with_its_power(network, written):
    genesis_texts = {files.genesis.read_text() for files in written.values()}
    assert len(genesis_texts) == 1
    genesis = json.loads(genesis_texts.pop())
    assert genesis["chain_id"] == network.chain_id
    assert genesis["genesis_time"] == GENESIS_TIME
    assert genesis["consensus_params"]["validator"]["pub_key_types"] == ["ed25519"]
    by_name = {v["name"]: v for v in genesis["validators"]}
    assert set(by_name) == set(network.names)
    for node in network.nodes:
        key = read_json(written[node.name].validator_key)
        assert by_name[node.name]["power"] == str(node.power)
        assert by_name[node.name]["pub_key"] == key["pub_key"]
        assert by_name[node.name]["address"] == key["address"]


def test_persistent_peers_name_every_other_node(network, written):
    ids = config.node_ids(network, written["node1"].root.parent)
    assert len(set(ids.values())) == len(network.nodes)
    for node in network.nodes:
        settings = tomllib.loads(written[node.name].tendermint_config.read_text())
        peers = set(settings["p2p"]["persistent_peers"].split(","))
        assert peers == {f"{ids[other.name]}@127.0.0.1:{other.ports.p2p}"
                         for other in network.nodes if other is not node}


def test_config_toml_uses_the_nodes_ports_and_local_settings(network, written):
    node = network.node("node2")
    settings = tomllib.loads(written["node2"].tendermint_config.read_text())
    assert settings["moniker"] == "node2"
    assert settings["proxy_app"] == f"tcp://127.0.0.1:{node.ports.abci}"
    assert settings["rpc"]["laddr"] == f"tcp://127.0.0.1:{node.ports.rpc}"
    assert settings["p2p"]["laddr"] == f"tcp://127.0.0.1:{node.ports.p2p}"
    assert settings["p2p"]["addr_book_strict"] is False
    assert settings["p2p"]["allow_duplicate_ip"] is True
    assert settings["p2p"]["pex"] is False
    assert settings["consensus"]["create_empty_blocks"] is False


def test_hosts_layout_keeps_the_ip_check(tmp_path):
    network = describe_hosts(2, genesis_time=GENESIS_TIME)
    written = config.write_network(network, tmp_path)
    settings = tomllib.loads(written["node1"].tendermint_config.read_text())
    assert settings["p2p"]["allow_duplicate_ip"] is False
    assert settings["p2p"]["laddr"] == "tcp://0.0.0.0:26656"
    assert settings["p2p"]["persistent_peers"].endswith("@node2:26656")


def test_bigchaindb_json_points_at_the_nodes_ports(network, written):
    node = network.node("node3")
    settings = read_json(written["node3"].bigchaindb_config)
    assert settings["server"]["bind"] == f"127.0.0.1:{node.ports.api}"
    assert settings["wsserver"]["port"] == node.ports.ws
    assert settings["tendermint"]["port"] == node.ports.rpc
    assert settings["tendermint"]["abci_port"] == node.ports.abci
    assert settings["tendermint"]["version"] == "v0.31.5"
    assert settings["database"]["port"] == node.ports.store
    assert settings["log"]["file"].startswith(str(written["node3"].logs))


def test_regenerating_keeps_keys_and_gives_the_same_files(network, written, tmp_path):
    before = {path: path.read_text() for files in written.values()
              for path in (files.validator_key, files.node_key, files.genesis,
                           files.tendermint_config, files.bigchaindb_config)}
    config.write_network(network, tmp_path)
    assert {path: path.read_text() for path in before} == before


def test_validator_state_is_never_reset(network, written, tmp_path):
    state = written["node1"].validator_state
    state.write_text('{"height": "7", "round": "0", "step": 3}')
    config.write_network(network, tmp_path)
    assert read_json(state)["height"] == "7"


def test_keys_are_private(written):
    assert written["node1"].validator_key.stat().st_mode & 0o077 == 0
    assert written["node1"].node_key.stat().st_mode & 0o077 == 0


def test_moved_network_gets_new_ports_and_same_keys(network, written, tmp_path):
    key = written["node1"].validator_key.read_text()
    config.write_network(network.relocated(40000), tmp_path)
    settings = tomllib.loads(written["node1"].tendermint_config.read_text())
    assert settings["rpc"]["laddr"] == "tcp://127.0.0.1:40001"
    assert written["node1"].validator_key.read_text() == key


def test_tendermint_settings_default_on_every_node(network, written):
    defaults = config.TendermintSettings()
    for node in network.nodes:
        settings = tomllib.loads(written[node.name].tendermint_config.read_text())
        assert settings["consensus"]["timeout_commit"] == defaults.timeout_commit
        assert settings["consensus"]["skip_timeout_commit"] is defaults.skip_timeout_commit
        assert settings["mempool"]["recheck"] is defaults.recheck is False  # CheckTx keeps its own
        assert settings["mempool"]["size"] == defaults.mempool_size


def test_tendermint_settings_kept_with_the_network_apply_to_every_node(network, tmp_path):
    chosen = config.TendermintSettings.parse(["timeout_commit=300ms", "recheck=true",
                                              "mempool_size=2000"])
    chosen.save(tmp_path)
    written = config.write_network(network, tmp_path)
    for node in network.nodes:
        settings = tomllib.loads(written[node.name].tendermint_config.read_text())
        assert settings["consensus"]["timeout_commit"] == "300ms"
        assert settings["mempool"]["recheck"] is True
        assert settings["mempool"]["size"] == 2000
    assert config.TendermintSettings.load(tmp_path) == chosen


@pytest.mark.parametrize("assignment", ["timeout_comit=1s", "recheck=no", "mempool_size=many"])
def test_tendermint_settings_refuse_what_they_do_not_know(assignment):
    with pytest.raises(ValueError):
        config.TendermintSettings.parse([assignment])


def test_genesis_parameters_saved_for_a_new_network_go_into_its_genesis(tmp_path):
    from bigchaindb_resonate.parameters import ParameterValueError

    with pytest.raises(ParameterValueError):
        config.save_genesis_parameters(tmp_path, {"channel_settle_delay_s": 1})
    config.save_genesis_parameters(tmp_path, {"channel_settle_delay_s": 10})
    parameters = config.network_parameters(tmp_path)
    assert parameters["channel_settle_delay_s"] == 10 and parameters["coop_share_bp"] == 3000
    config.write_network(describe_loopback(4, 26000), tmp_path)
    genesis = json.loads(config.node_dir(tmp_path, describe_loopback(4, 26000).nodes[0]).genesis.read_text())
    assert genesis["app_state"]["resonate"]["channel_settle_delay_s"] == 10
