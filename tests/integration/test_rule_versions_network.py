"""The penny-per-play rule version (docs/spec/rule_versions.md) through a real network of 4
validators, over HTTP: a proposal of a version no node knows is refused with its code;
version 2 is voted in for an agreed height, and the co-op's share cut from 30% to 15% two
blocks later, and every node reports the coming version before; plays before the height
pay as version 1, plays from it top the payees up to the minimum from the co-op's share,
each under the share in force at its height, and the totals follow; then one node is wiped
and replays the chain from genesis, reaching the same app hash at every height across both
activations; and every committed transaction of the recorded chain still parses after a
stricter schema version is added."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import host, rule_versions
from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.schemas import CompiledSchema
from bigchaindb_resonate.testnet import unknown_rule_versions
from bigchaindb_resonate.types.play import Play
from bigchaindb_resonate.validators.royalties import payouts, price

from .conftest import local_testnet, quiet, wait_everywhere
from .story import play_across_a_change, validator

pytestmark = pytest.mark.integration

OLD_SHARE, NEW_SHARE, MIN_PLAY_PAYOUT = 3000, 1500, 8  # the genesis share, the default minimum
KNOWN = rule_versions.known()
UNKNOWN = KNOWN[-1] + 1  # a version no node has


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("rule-versions"), first_port=31200) as network:
        yield network


class Listener:
    """A listener with fresh credits, playing the track; each play with its height."""

    def __init__(self, clients, catalogue):
        self.clients, self.catalogue = clients, catalogue
        self.keypair = generate_key_pair()
        bought = clients[0].buy_credits(catalogue["treasury"], self.keypair.public_key, 1022)
        wait_everywhere(clients, bought["id"])

    def play(self, client):
        tx = play_across_a_change(client, self.keypair, self.catalogue)
        wait_everywhere(self.clients, tx["id"])
        return client.status(tx["id"])["height"], tx


def paying_outputs(tx, payees, rules_version, coop_share_bp, platform):
    """The outputs a play must open with under `rules_version` and `coop_share_bp`, and
    those it has."""
    paid, coop = payouts(price(tx["metadata"]["playNumber"]), payees, {
        "coop_share_bp": coop_share_bp, "rules_version": rules_version,
        "min_play_payout": MIN_PLAY_PAYOUT})
    expected = [([key], tokens) for key, tokens in paid if tokens] + [([platform], coop)] * (coop > 0)
    actual = [(output["public_keys"], int(output["amount"])) for output in tx["outputs"]]
    return expected, actual[:len(expected)]


def coop_tokens(tx, platform):
    return sum(int(output["amount"]) for output in tx["outputs"] if output["public_keys"] == [platform])


def app_hashes(node):
    """{height: app hash} of every block the node's app committed, from its own store."""
    blocks = requests.get(f"{node.api_url}/api/v1/resonate/reports/blocks", timeout=30).json()["blocks"]
    return {block["height"]: block["app_hash"] for block in blocks}


def test_penny_per_play_from_its_height_on_every_node_and_after_a_replay_from_genesis(
        testnet, clients, catalogue, monkeypatch):
    platform = catalogue["platform"].public_key
    split = clients[0].splits_of(catalogue["track"]["id"])
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in next(
        entry for entry in split["splits"] if entry["id"] == split["in_force"])["payees"]]
    in_force = clients[0].parameters()
    activation = in_force["height"] + in_force["parameters"]["activation_lead_blocks"]["value"] + 8
    share_from = activation + 2

    # A version no node knows is refused at the door, with its code.
    with pytest.raises(TransactionRefused) as refused:
        clients[1].propose_parameter(validator(testnet, "node2"), "rules_version", UNKNOWN, activation)
    assert refused.value.code == "RULES_VERSION_UNKNOWN" and str(KNOWN) in refused.value.expected

    # Version 2, and the co-op's share two blocks later, voted in by three of the four
    # validators (30 of 40 votes).
    election = clients[0].propose_parameter(validator(testnet, "node1"), "rules_version", 2, activation)
    share = clients[1].propose_parameter(validator(testnet, "node2"), "coop_share_bp", NEW_SHARE, share_from)
    for proposal in (election, share):
        wait_everywhere(clients, proposal["id"])
        for name, client in zip(("node1", "node2", "node3"), clients):
            # Sync, then wait for the commit: a commit-mode answer to the vote that
            # concludes may read the concluded election before the vote itself is stored.
            wait_everywhere(clients, client.vote(validator(testnet, name), proposal["id"],
                                                 mode="sync")["id"])
        assert clients[3].election(proposal["id"])["status"] == "concluded"

    # Every node says, before the height, which versions it knows and what is coming.
    for client in clients:
        answer = client.rule_versions()
        assert answer["rule_versions"] == KNOWN
        assert answer["chain_rule_versions"]["in_force"] == 1
        assert answer["chain_rule_versions"]["scheduled"] == [
            {"version": 2, "activation_height": activation, "election": election["id"], "known": True}]
        assert answer["chain_rule_versions"]["unknown_voted_in"] == []
    root = requests.get(testnet.nodes[2].api_url, timeout=5).json()["resonate"]
    assert root["rule_versions"] == KNOWN
    report = testnet.status()
    assert all(node["rule_versions_scheduled"][0]["activation_height"] == activation for node in report)
    assert unknown_rule_versions(report) is None
    resonate = Path(sys.executable).parent / "resonate"
    said = subprocess.run([str(resonate), "governance", "rules", "--node", testnet.nodes[3].api_url],
                          capture_output=True, text=True)
    assert said.returncode == 0, said.stderr
    assert f"version 2 voted in from height {activation}" in said.stdout

    # Plays before the height pay as version 1; a fresh listener's first plays after both
    # heights pay the payees at least the minimum (here the whole price), the co-op
    # nothing, and then 15% of a 16-token play.
    before = Listener(clients, catalogue)
    plays = [before.play(clients[number % 4]) for number in range(3)]
    while plays[-1][0] < share_from:
        assert len(plays) < 20, f"the chain did not reach height {activation}"
        if len(plays) % 9 == 0:  # that listener owns the track: another one goes on
            before = Listener(clients, catalogue)
        plays.append(before.play(clients[len(plays) % 4]))
    after = Listener(clients, catalogue)
    fresh = [after.play(clients[number % 4]) for number in range(4)]
    for height, tx in plays + fresh:
        version = 1 if height < activation else 2
        coop_share_bp = OLD_SHARE if height < share_from else NEW_SHARE
        expected, actual = paying_outputs(tx, payees, version, coop_share_bp, platform)
        assert actual == expected, f"play at height {height} (version 2 from {activation}, 15% from {share_from})"
    assert [coop_tokens(tx, platform) for _, tx in plays[:3]] == [1, 2, 3]
    assert all(height < activation for height, _ in plays[:3])
    assert any(activation <= height < share_from for height, _ in plays)
    assert [coop_tokens(tx, platform) for _, tx in fresh] == [0, 0, 0, 2]
    assert [sum(int(output["amount"]) for output in tx["outputs"][:-1]) for _, tx in fresh[:3]] == [2, 4, 8]

    # The totals every node keeps follow the outputs of each version.
    summary = clients[2].report_summary(scope=f"track:{catalogue['track']['id']}")["totals"]
    assert summary["coop_tokens"] == sum(coop_tokens(tx, platform) for _, tx in plays + fresh)
    assert summary["payee_tokens"] == sum(
        price(tx["metadata"]["playNumber"]) - coop_tokens(tx, platform) for _, tx in plays + fresh)

    # node4 loses its store and chain and replays from genesis: the same app hash at every
    # height, across the election and the activation.
    testnet.replay_node("node4", progress=quiet)
    last = after.play(clients[3])  # node4 validates and commits under version 2 again
    expected, actual = paying_outputs(last[1], payees, 2, NEW_SHARE, platform)
    assert actual == expected
    replayed, reference = app_hashes(testnet.nodes[3]), app_hashes(testnet.nodes[0])
    common = set(replayed) & set(reference)
    assert set(range(1, last[0] + 1)) <= common
    assert {height: replayed[height] for height in common} == {
        height: reference[height] for height in common}
    assert clients[3].rule_versions()["chain_rule_versions"]["in_force"] == 2

    # The recorded chain: every committed transaction still parses, as a new transaction
    # and as committed history, once PLAY has a stricter schema from a later version.
    stricter = copy.deepcopy(Play._schemas[1].document)
    stricter["properties"]["device"] = {"type": "string"}
    stricter["required"] = [*stricter["required"], "device"]
    monkeypatch.setattr(Play, "_schemas", {**Play._schemas, UNKNOWN: CompiledSchema("play_v1.1-test", stricter)})
    blocks = requests.get(f"{testnet.nodes[3].api_url}/api/v1/resonate/reports/blocks", timeout=30).json()
    txids = [txid for block in blocks["blocks"] for txid in block["transactions"]]
    recorded = [requests.get(f"{testnet.nodes[3].api_url}/api/v1/transactions/{txid}", timeout=10).json()
                for txid in txids]
    assert sum(tx["operation"] == "PLAY" for tx in recorded) == len(plays + fresh) + 1
    for tx in recorded:
        assert Transaction.from_dict(json.loads(json.dumps(tx))).id == tx["id"]
        assert host.parse_committed(json.loads(json.dumps(tx))).id == tx["id"]
