"""Rule versions (bigchaindb_resonate/rule_versions.py, docs/spec/rule_versions.md): which
versions a node knows, the record schema in force by version, and committed history that
stays readable when a stricter schema version is added."""
import copy
import json
from pathlib import Path

import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate import host, registry, rule_versions
from bigchaindb_resonate.errors import SchemaViolation
from bigchaindb_resonate.parameters import PARAMETERS, ParameterValueError, check_value
from bigchaindb_resonate.rule_versions import RuleVersion, RulesVersionUnknown, check_known
from bigchaindb_resonate.schemas import CompiledSchema
from bigchaindb_resonate.types.play import Play

from .memory_store import committed_store

DOCS = Path(__file__).parents[2] / "docs" / "spec"
EXAMPLES = sorted((DOCS / "examples").glob("*.json"))


@pytest.mark.parametrize("version, is_known", [
    (1, True), (2, True), (3, True), (0, False), (4, False), (1000, False), ("2", False), (None, False),
])
def test_a_node_knows_exactly_its_versions(version, is_known):
    if is_known:
        assert check_known(version) == version
    else:
        with pytest.raises(RulesVersionUnknown) as refused:
            check_known(version)
        assert refused.value.code == "RULES_VERSION_UNKNOWN"
        assert refused.value.expected.startswith("one of [1, 2, 3]")


@pytest.mark.parametrize("value, in_range", [
    (1, True), (2, True), (1000, True), (0, False), (1001, False), (True, False), (2.0, False),
])
def test_the_rules_version_range_is_the_same_on_every_node_whatever_it_knows(value, in_range):
    # The range is consensus: a version a node lacks is still in range (it may be voted in
    # by nodes that have it); only the door refuses it (rule_versions.check_proposal).
    if in_range:
        check_value("rules_version", value)
    else:
        with pytest.raises(ParameterValueError):
            check_value("rules_version", value)


def test_the_defaults_start_a_chain_under_version_1_with_a_penny_minimum():
    assert PARAMETERS["rules_version"].default == rule_versions.FIRST == 1
    assert PARAMETERS["min_play_payout"].default == 8


def test_every_version_is_in_the_spec_with_its_name():
    spec = (DOCS / "rule_versions.md").read_text()
    for version in rule_versions.VERSIONS.values():
        assert f"| {version.number} | {version.name} |" in spec
    assert rule_versions.known() == list(range(1, len(rule_versions.VERSIONS) + 1))


# -- a stricter schema version, for this test only: PLAY's record from rule version 4 must
# name the device it was played on. Nothing released has it.

def stricter(document):
    document = copy.deepcopy(document)
    document["properties"]["device"] = {"type": "string", "minLength": 1}
    document["required"] = [*document["required"], "device"]
    return document


@pytest.fixture
def play_v1_1(monkeypatch):
    monkeypatch.setitem(rule_versions.VERSIONS, 4, RuleVersion(4, "test", "plays name a device"))
    newer = CompiledSchema("play_v1.1-test", stricter(Play._schemas[1].document))
    monkeypatch.setattr(Play, "_schemas", {1: Play._schemas[1], 4: newer})
    return newer


def test_the_schema_in_force_is_the_latest_released_from_the_version_or_before(play_v1_1):
    assert Play.schema_in_force(1).name == Play.schema_in_force(2).name == "play_v1.0"
    assert Play.schema_in_force(4) is play_v1_1 and Play.schema_in_force(7) is play_v1_1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_released_example_still_parses_after_a_stricter_schema_version(play_v1_1, example):
    tx = json.loads(example.read_text())
    assert Transaction.from_dict(copy.deepcopy(tx)).id == tx["id"]   # as a new transaction
    assert host.parse_committed(copy.deepcopy(tx)).id == tx["id"]    # as committed history


def test_the_stricter_version_applies_from_its_height_only(play_v1_1):
    play = json.loads((DOCS / "examples" / "play.json").read_text())
    tx = Transaction.from_dict(play)
    with pytest.raises(SchemaViolation, match="play_v1.1-test") as refused:
        tx.validate(network_at(4))
    assert refused.value.field == "metadata"
    # Before version 4 the schema passes, and validation goes on to the ledger (which has
    # no credit token here).
    with pytest.raises(Exception) as later:
        tx.validate(network_at(3))
    assert not isinstance(later.value, SchemaViolation)
    # A record of the new form parses, and holds under version 4's schema.
    newer = {**play["metadata"], "device": "phone"}
    play_v1_1.check(newer, "metadata")
    with pytest.raises(SchemaViolation):
        Play.schema_in_force(2).check(newer, "metadata")


def network_at(version):
    return committed_store(parameters={"treasury_keys": ["k"], "platform_key": "k",
                                       "coop_share_bp": 3000, "rules_version": version})


def test_a_record_under_no_released_schema_is_refused_with_the_newest_ones_reason(play_v1_1):
    play = json.loads((DOCS / "examples" / "play.json").read_text())
    play["metadata"]["territory"] = "gb"
    with pytest.raises(SchemaViolation, match="play_v1.1-test"):
        Play.validate_committed(play)


def test_every_released_schema_stays_reachable_so_committed_records_parse():
    from bigchaindb_resonate.schemas import SCHEMA_DIR

    released = {path.stem for path in SCHEMA_DIR.glob("*_v*.yaml")}
    reachable = {schema.name for cls in registry.ALL_TYPES for schema in cls._schemas.values()}
    assert released == reachable
    for cls in registry.ALL_TYPES:  # the builders write the latest
        assert cls.schema_in_force(max(rule_versions.VERSIONS)).name == cls.SCHEMA


def chain_with_votes(*changes, genesis_version=None):
    """A store at height 1 whose elections voted `rules_version` (value, activation height)
    pairs in."""
    from bigchaindb_resonate.ledger import PARAMETER_CHANGES

    genesis = {"treasury_keys": ["k"], "platform_key": "k", "coop_share_bp": 3000}
    if genesis_version is not None:
        genesis["rules_version"] = genesis_version
    store = committed_store(parameters=genesis, day="2026-06-01")
    for number, (value, activation) in enumerate(changes):
        store.collection(PARAMETER_CHANGES).documents.append(
            {"_id": f"e{number}", "parameter": "rules_version", "value": value,
             "activation_height": activation, "election": f"e{number}", "concluded_height": 1})
    return store


def test_a_node_reports_the_version_in_force_those_voted_in_and_those_it_lacks():
    store = chain_with_votes((2, 5), (9, 7))
    state = rule_versions.on_chain(store)
    assert (state["known"], state["next_height"], state["in_force"]) == ([1, 2, 3], 2, 1)
    assert state["scheduled"] == [
        {"version": 2, "activation_height": 5, "election": "e0", "known": True},
        {"version": 9, "activation_height": 7, "election": "e1", "known": False}]
    assert state["unknown_voted_in"] == [{"version": 9, "activation_height": 7}]
    assert "rules version 9 (from height 7) was voted in" in rule_versions.warning(state)
    store.validating_height = 6
    assert rule_versions.on_chain(store)["in_force"] == 2
    store.validating_height = 8  # a node that did not stop: still told
    state = rule_versions.on_chain(store)
    assert (state["in_force"], state["scheduled"]) == (9, [])
    assert state["unknown_voted_in"] == [{"version": 9, "activation_height": 7}]


def test_only_known_versions_raise_no_warning_and_a_genesis_version_it_lacks_does():
    assert rule_versions.warning(rule_versions.on_chain(chain_with_votes((2, 5)))) is None
    state = rule_versions.on_chain(chain_with_votes(genesis_version=4))
    assert state["unknown_voted_in"] == [{"version": 4, "activation_height": 1}]


@pytest.mark.parametrize("operation, data, refused", [
    ("PARAMETER_ELECTION", {"parameter": "rules_version", "value": 9}, True),
    ("PARAMETER_ELECTION", {"parameter": "rules_version", "value": 2}, False),
    ("PARAMETER_ELECTION", {"parameter": "coop_share_bp", "value": 9}, False),
    ("PARTY", {"parameter": "rules_version", "value": 9}, False),
])
def test_only_a_proposal_of_a_version_the_node_lacks_is_refused_at_the_door(operation, data, refused):
    class Proposal:
        pass

    tx = Proposal()
    tx.operation, tx.asset = operation, {"data": data}
    if refused:
        with pytest.raises(RulesVersionUnknown) as refusal:
            rule_versions.check_proposal(tx)
        assert refusal.value.field == "asset.data.value"
    else:
        rule_versions.check_proposal(tx)
