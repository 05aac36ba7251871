"""Parameter elections through a real network of 4 validators (power 10 each), over HTTP
as validators and integrators use it: the co-op's share falls from 30% to 15% at an
agreed height, and every play pays exactly the share in force at its own height; a
proposal short of two thirds never activates; a validator stopped during the vote catches
up and agrees (same height and app hash, same parameters)."""
import time

import pytest
import requests
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.validators.royalties import payouts, price

from .conftest import local_testnet, wait_everywhere
from .story import play_across_a_change, validator

pytestmark = pytest.mark.integration

OLD_SHARE, NEW_SHARE = 3000, 1500


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("governance"), first_port=29400) as network:
        yield network


def refusal_code(send):
    with pytest.raises(TransactionRefused) as refused:
        send()
    return refused.value.code


def chain_states(testnet):
    states = set()
    for node in testnet.nodes:
        info = requests.get(f"{node.rpc_url}/status", timeout=5).json()["result"]["sync_info"]
        states.add((int(info["latest_block_height"]), info["latest_app_hash"]))
    return states


class Listener:
    """Plays the track again and again, a new listener with new credits every ten plays,
    so that paid plays keep coming; each play lands at the height it lands at."""

    def __init__(self, clients, catalogue):
        self.clients, self.catalogue, self.plays = clients, catalogue, 0
        self.keypair = None
        self.readers = clients  # the nodes each write is awaited on: those running

    def play(self, client):
        if self.keypair is None or self.plays == 9:
            self.keypair, self.plays = generate_key_pair(), 0
            bought = client.buy_credits(self.catalogue["treasury"], self.keypair.public_key, 1022)
            wait_everywhere(self.readers, bought["id"])
        tx = play_across_a_change(client, self.keypair, self.catalogue)
        self.plays += 1
        wait_everywhere(self.readers, tx["id"])
        return client.status(tx["id"])["height"], tx


def coop_tokens(tx, platform_key):
    return sum(int(output["amount"]) for output in tx["outputs"] if output["public_keys"] == [platform_key])


def test_the_coop_share_changes_at_its_height_short_votes_never_activate_and_a_stopped_validator_agrees(
        testnet, clients, catalogue):
    platform = catalogue["platform"].public_key
    listener = Listener(clients, catalogue)
    plays = [listener.play(clients[0])]
    assert clients[0].parameters()["parameters"]["coop_share_bp"] == {
        "value": OLD_SHARE, "since_height": 1, "election": None}

    # Two proposals by two validators, for the earliest height allowed and a little more.
    in_force = clients[0].parameters()
    activation = in_force["height"] + in_force["parameters"]["activation_lead_blocks"]["value"] + 3
    share = clients[0].propose_parameter(validator(testnet, "node1"), "coop_share_bp", NEW_SHARE, activation)
    threshold = clients[1].propose_parameter(validator(testnet, "node2"), "payout_threshold", 9000, activation)
    wait_everywhere(clients, share["id"])
    wait_everywhere(clients, threshold["id"])
    assert refusal_code(lambda: clients[2].propose_parameter(
        validator(testnet, "node3"), "coop_share_bp", 2000, activation + 5)) == "PARAMETER_CHANGE_PENDING"
    assert refusal_code(lambda: clients[2].propose_parameter(
        validator(testnet, "node3"), "coop_share_bp_typo", 2000, activation)) == "PARAMETER_UNKNOWN"

    # node4 is stopped during the vote; three validators (30 of 40 votes) carry the share,
    # two (20 of 40) do not carry the threshold.
    testnet.stop_node("node4")
    live = listener.readers = clients[:3]
    for name, client in zip(("node1", "node2", "node3"), live):
        wait_everywhere(live, client.vote(validator(testnet, name), share["id"])["id"])
    for name, client in zip(("node1", "node2"), live):
        wait_everywhere(live, client.vote(validator(testnet, name), threshold["id"])["id"])
    passed, short = clients[1].election(share["id"]), clients[2].election(threshold["id"])
    assert (passed["status"], passed["votes"], passed["total"], passed["needed"]) == ("concluded", 30, 40, 27)
    assert (short["status"], short["votes"]) == ("ongoing", 20)
    assert clients[0].parameter_history("coop_share_bp")["history"][-1] == {
        "value": NEW_SHARE, "from_height": activation, "to_height": None, "election": share["id"]}

    # Plays until some land at or after the activation height.
    while plays[-1][0] < activation + 2:
        assert len(plays) < 40, f"the chain did not reach height {activation}"
        plays.append(listener.play(live[len(plays) % 3]))
    for height, tx in plays:
        expected = payouts(tx["metadata"]["price"], [(catalogue["artist"].public_key, 7000),
                                                     (catalogue["producer"].public_key, 3000)],
                           {"coop_share_bp": OLD_SHARE if height < activation else NEW_SHARE})[1]
        assert coop_tokens(tx, platform) == expected, f"play at height {height} (from {activation}: 15%)"
    assert any(height < activation and price(tx["metadata"]["playNumber"]) >= 4 for height, tx in plays)
    assert any(height >= activation and price(tx["metadata"]["playNumber"]) >= 4 for height, tx in plays)

    # The short election expired unchanged; its votes are refused now.
    assert refusal_code(lambda: live[2].vote(validator(testnet, "node3"), threshold["id"])) == "ELECTION_EXPIRED"
    assert live[0].election(threshold["id"])["status"] == "expired"
    assert live[0].parameters(activation + 1)["parameters"]["payout_threshold"]["value"] == 8000

    # node4 comes back, replays the blocks it missed, and agrees.
    testnet.start_node("node4", progress=lambda line: None)
    listener.readers = clients
    deadline = time.monotonic() + 60
    while len(chain_states(testnet)) != 1:
        assert time.monotonic() < deadline, f"the nodes disagree: {chain_states(testnet)}"
        time.sleep(0.5)
    for client in clients:
        assert client.parameters(activation - 1)["parameters"]["coop_share_bp"]["value"] == OLD_SHARE
        assert client.parameters(activation)["parameters"]["coop_share_bp"] == {
            "value": NEW_SHARE, "since_height": activation, "election": share["id"]}
        assert client.parameter_history("coop_share_bp") == clients[0].parameter_history("coop_share_bp")
    assert clients[3].election(share["id"])["status"] == "active"
    assert refusal_code(lambda: clients[3].vote(validator(testnet, "node4"), share["id"])) == "ELECTION_CONCLUDED"
    # And node4 validates the next play under the new share like the others.
    height, tx = listener.play(clients[3])
    assert height >= activation and coop_tokens(tx, platform) == payouts(
        tx["metadata"]["price"], [(catalogue["artist"].public_key, 7000),
                                  (catalogue["producer"].public_key, 3000)], {"coop_share_bp": NEW_SHARE})[1]


def test_the_command_line_proposes_votes_and_shows_an_election(testnet, clients, capsys):
    from bigchaindb_resonate import cli

    node = testnet.nodes[1].api_url

    def resonate(*argv):
        status = cli.main([*argv, "--node", node])
        out, err = capsys.readouterr()
        assert status == 0, err
        return out, err

    key = str(testnet.validator_key("node1").path)
    out, err = resonate("governance", "propose", "payout_currency", "GBP", "--key", key)
    election_id = out.strip()
    assert len(election_id) == 64 and "proposing payout_currency = \"GBP\" from height" in err
    for name in ("node2", "node3", "node4"):
        out, err = resonate("governance", "vote", election_id, "--validator", name,
                            "--dir", str(testnet.directory))
        assert out.strip() != election_id  # the vote's own id
    assert "concluded, 30 of 40 votes (passes at 27)" in err  # the third vote concluded it
    out, _ = resonate("governance", "status", election_id)
    assert "concluded" in out and out.count("yes") == 3
    out, _ = resonate("governance", "status")
    assert election_id in out
    out, _ = resonate("governance", "history", "payout_currency")
    assert '"EUR"' in out and '"GBP"' in out and election_id in out
    out, _ = resonate("governance", "history")
    assert "coop_share_bp" in out and "genesis" in out
