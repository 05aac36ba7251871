"""Stream to own through a real local network of 4 validators, over HTTP as an integrator
would: registration, licence, split, credits, ten plays with every balance read back from
another node after each commit, a split change between plays, a play without a streaming
licence, and the same play sent to two nodes at once."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.validators.royalties import payouts, price

from . import story
from .conftest import at_once, local_testnet, wait_everywhere
from .story import LICENCE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("plays"), first_port=32000) as network:
        yield network


@pytest.fixture(scope="module")
def catalogue(testnet, clients):
    return story.catalogue(testnet, clients)


def balances(client, *keys):
    return [client.balance(key.public_key)["balance"] for key in keys]


def test_ten_plays_priced_by_the_curve_with_a_split_change_between_two(catalogue, clients):
    treasury, platform = catalogue["treasury"], catalogue["platform"]
    artist, producer, listener = catalogue["artist"], catalogue["producer"], generate_key_pair()
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    bought = clients[0].buy_credits(treasury, listener.public_key, 5000)
    wait_everywhere(clients, bought["id"])
    keys = (listener, artist, producer, platform)
    expected = dict(zip(keys, [5000] + balances(clients[1], artist, producer, platform)))
    shares = {artist.public_key: 7000, producer.public_key: 3000}
    for number in range(10):
        if number == 5:
            # From the next play on, everything to the producer.
            change = clients[number % 4].set_split(artist, track, [(producer.public_key, 10000)])
            wait_everywhere(clients, change["id"])
            shares = {producer.public_key: 10000}
            assert clients[3].splits_of(track)["in_force"] == change["id"]
        tx = clients[number % 4].play(listener, track, licence, "GB")
        assert tx["metadata"]["playNumber"] == number and tx["metadata"]["price"] == price(number)
        wait_everywhere(clients, tx["id"])
        paid, coop = payouts(price(number), sorted(shares.items()), 3000)
        expected[listener] -= price(number)
        for key in (artist, producer):
            expected[key] += dict(paid).get(key.public_key, 0)
        expected[platform] += coop
        reader = clients[(number + 1) % 4]
        assert balances(reader, *keys) == [expected[key] for key in keys], f"after play {number}"
    assert expected[listener] == 5000 - 1022
    owned = clients[2].owns(listener.public_key, track)
    assert owned["plays"] == 10 and owned["owned"] and owned["tokens_paid"] == 1022
    history = clients[3].credit_history(listener.public_key)
    assert [step["balance"] for step in history["steps"]][-1] == 5000 - 1022


def test_a_play_without_a_streaming_licence_is_refused_with_its_code(catalogue, clients):
    artist, platform, listener = catalogue["artist"], catalogue["platform"], generate_key_pair()
    download_only = clients[0].derive_right(
        artist, {"source": catalogue["copyright"]["id"], **LICENCE, "usageType": ["download"]},
        licensees=[(platform.public_key, 100)])
    bought = clients[1].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    with pytest.raises(TransactionRefused) as refused:
        clients[2].play(listener, catalogue["track"]["id"], download_only["id"], "GB")
    assert refused.value.code == "PLAY_RIGHT_NOT_STREAMING"


def test_the_same_play_sent_to_two_nodes_at_once_commits_once(catalogue, clients):
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    play = clients[1].build_play(listener, catalogue["track"]["id"], catalogue["licence"]["id"], "FR")

    def submit(client):
        try:
            client.submit(play, mode="sync")
            return True
        except TransactionRefused:
            return False

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(submit, [clients[2], clients[3]]))
    wait_everywhere(clients, play["id"])
    time.sleep(3)  # several more blocks' time for a second copy to (wrongly) land
    for client in clients:
        assert client.owns(listener.public_key, catalogue["track"]["id"])["plays"] == 1
        assert client.balance(listener.public_key)["balance"] == 98
        history = client.credit_history(listener.public_key)
        assert [step["transaction_id"] for step in history["steps"]] == [bought["id"], play["id"]]


def test_two_different_plays_with_one_number_at_once_one_commits_the_other_is_told_why(
        catalogue, clients):
    """Both are the listener's play 0 (in two territories) and pass CheckTx on their own
    nodes; the loser is dropped when the winner commits, and its sender hears why then
    (mode=commit), not a timeout."""
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, 100)
    wait_everywhere(clients, bought["id"])
    plays = [clients[1].build_play(listener, catalogue["track"]["id"], catalogue["licence"]["id"],
                                   territory) for territory in ("GB", "FR")]
    answers = at_once([(clients[2].submit, plays[0]), (clients[3].submit, plays[1])])
    refusals = [answer for answer in answers if isinstance(answer, TransactionRefused)]
    assert len(refusals) == 1 and refusals[0].status == 400
    # It spends the credits the winner spent, and repeats the winner's play number.
    assert refusals[0].code in ("HOST_DOUBLE_SPEND", "PLAY_NUMBER_MISMATCH")
    assert clients[0].owns(listener.public_key, catalogue["track"]["id"])["plays"] == 1


def test_issuing_the_credit_token_again_says_it_exists(catalogue, clients):
    """The same treasury key builds the very same transaction again."""
    with pytest.raises(TransactionRefused) as refused:
        clients[1].issue_credit_token(catalogue["treasury"])
    assert (refused.value.status, refused.value.code) == (400, "CREDIT_ALREADY_ISSUED")
