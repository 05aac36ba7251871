"""`resonate testnet status` shows which plugin and rules each node runs, and warns when
the nodes differ (the nodes' own answers are tested through a real network)."""
from bigchaindb_resonate.testnet import differing_rules, unknown_rule_versions
from bigchaindb_resonate.testnet.cli import format_table

RULES_A, RULES_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def node(name, version="0.1.0", rules=RULES_A):
    return {"name": name, "api_url": f"http://{name}", "rpc_url": f"http://{name}:1",
            "api_up": rules is not None, "plugin_version": version if rules else None,
            "rules": rules, "height": 3, "app_hash": "AB" * 16, "catching_up": False,
            "validator": True, "power": 10, "stop_requested": False,
            "processes": {"ferretdb": "running", "bigchaindb": "running", "tendermint": "running"}}


def test_nodes_on_the_same_rules_raise_no_warning_even_with_one_down():
    assert differing_rules([node("node1"), node("node2"), node("node3", rules=None)]) is None


def test_nodes_on_different_rules_or_versions_are_named_in_a_warning():
    warning = differing_rules([node("node1"), node("node2", rules=RULES_B)])
    assert "node1 0.1.0 rules aaaaaaaaaaaa" in warning and "node2 0.1.0 rules bbbbbbbbbbbb" in warning
    assert "same bigchaindb-resonate release" in warning
    assert differing_rules([node("node1"), node("node2", version="0.2.0")]) is not None


def test_the_table_shows_each_nodes_plugin_and_short_digest():
    lines = format_table([node("node1"), node("node2", rules=None)]).splitlines()
    assert "PLUGIN, RULES" in lines[0]
    assert "0.1.0, aaaaaaaaaaaa" in lines[1] and "0.1.0" not in lines[2]


def test_the_table_shows_the_rule_versions_each_node_knows_and_those_voted_in():
    scheduled = [{"version": 2, "activation_height": 57, "election": "e", "known": True}]
    upgraded = {**node("node1"), "rule_versions": [1, 2], "rules_version_in_force": 1,
                "rule_versions_scheduled": scheduled, "unknown_rule_versions": []}
    lagging = {**node("node2", version="0.0.9"), "rule_versions": [1], "rules_version_in_force": 1,
               "rule_versions_scheduled": [{**scheduled[0], "known": False}],
               "unknown_rule_versions": [{"version": 2, "activation_height": 57}]}
    lines = format_table([upgraded, lagging, node("node3", rules=None)]).splitlines()
    assert "RULE VERSIONS" in lines[0]
    assert "knows 1,2; in force 1; 2 from 57" in lines[1]
    assert "knows 1; in force 1; 2! from 57" in lines[2]
    assert unknown_rule_versions([upgraded]) is None
    warning = unknown_rule_versions([upgraded, lagging])
    assert "node2 (knows [1]) lacks rules version 2 from height 57" in warning
    assert "node1" not in warning and "before that height" in warning
