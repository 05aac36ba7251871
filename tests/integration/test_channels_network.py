"""Payment channels on a real local network of 4 validators, over HTTP as a player and a
receiver would, on a genesis with a 10 s settle delay: ten plays through a channel pay
every payee exactly what ten PLAYs pay; a play paid both ways is refused; a settlement
commits while one validator is down; a listener closes with vouchers unsettled and the
receiver settles them within the delay."""
import time

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.operations import play as play_builder
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.vouchers import make_voucher

from .conftest import local_testnet, quiet, wait_everywhere

pytestmark = pytest.mark.integration
DELAY = 10


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("channels"), first_port=32400,
                       parameters={"channel_settle_delay_s": DELAY}) as network:
        yield network


def funded(catalogue, clients, amount=5000):
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, amount)
    wait_everywhere(clients, bought["id"])
    return listener


def vouchers(catalogue, listener, channel_id, plays, sequence=1, total=0):
    made = []
    for offset, play in enumerate(plays):
        total += price(play)
        made.append(make_voucher(listener.private_key, channel=channel_id, listener=listener.public_key,
                                 sequence=sequence + offset, track=catalogue["track"]["id"], play=play,
                                 price=price(play), total=total, territory="GB",
                                 right=catalogue["licence"]["id"]))
    return made


def balances(client, keys):
    return [client.balance(key.public_key)["balance"] for key in keys]


def test_ten_plays_through_a_channel_pay_every_payee_exactly_what_ten_plays_pay(catalogue, clients):
    payees = [catalogue["artist"], catalogue["producer"], catalogue["platform"]]
    direct, through_channel = funded(catalogue, clients), funded(catalogue, clients)
    # Ten PLAYs, each spending the change of the one before, posted to one node without
    # waiting (its CheckTx takes one that depends on another it accepted).
    before = balances(clients[1], payees)
    track, licence, split = catalogue["track"]["id"], catalogue["licence"]["id"], catalogue["split"]
    payee_shares = [(payee["publicKey"], payee["shareBp"]) for payee in split["asset"]["data"]["payees"]]
    parameters = clients[0].network()["parameters"]
    wallet = clients[0]._credits(direct.public_key, 1022)
    for number in range(10):
        tx = play_builder.pay(wallet, direct.public_key, {
            "track": track, "territory": "GB", "right": licence, "playNumber": number,
            "split": split["id"]}, payee_shares, parameters)
        sent = clients[0].send_sync(clients[0].fulfill(tx, [direct.private_key]))
        wallet = [(sent, len(sent["outputs"]) - 1)]
    wait_everywhere(clients, sent["id"])
    after_plays = balances(clients[2], payees)
    # The same ten plays through a channel, one settlement by the receiver (the platform).
    opened = clients[1].open_channel(through_channel, catalogue["platform"].public_key, 2000)
    wait_everywhere(clients, opened["id"])
    settled = clients[2].settle_channel(catalogue["platform"], opened["id"],
                                        vouchers(catalogue, through_channel, opened["id"], range(10)))
    wait_everywhere(clients, settled["id"])
    after_channel = balances(clients[3], payees)
    assert [b - a for a, b in zip(after_plays, after_channel)] == [
        b - a for a, b in zip(before, after_plays)]
    for listener in (direct, through_channel):
        owned = clients[3].owns(listener.public_key, track)
        assert (owned["plays"], owned["owned"], owned["tokens_paid"]) == (10, True, 1022)
    read = clients[0].channel(opened["id"])
    assert (read["status"], read["settled"], read["sequence"]) == ("open", 1022, 10)
    assert clients[0].balance(through_channel.public_key)["balance"] == 5000 - 2001


def test_a_play_paid_both_ways_is_refused(catalogue, clients):
    listener = funded(catalogue, clients)
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    played = clients[0].play(listener, track, licence, "GB")  # play 0, paid directly
    wait_everywhere(clients, played["id"])
    opened = clients[1].open_channel(listener, catalogue["platform"].public_key, 1000)
    wait_everywhere(clients, opened["id"])
    with pytest.raises(TransactionRefused) as refused:  # play 0 again, by voucher
        clients[2].settle_channel(catalogue["platform"], opened["id"],
                                  vouchers(catalogue, listener, opened["id"], [0]))
    assert refused.value.code == "CHANNEL_PLAY_NUMBER_MISMATCH"
    with pytest.raises(TransactionRefused) as refused:  # the channel is live: no direct PLAY
        clients[3].play(listener, track, licence, "GB")
    assert refused.value.code == "PLAY_LISTENER_HAS_CHANNEL"
    with pytest.raises(TransactionRefused) as refused:  # nor a second channel
        clients[0].open_channel(listener, catalogue["platform"].public_key, 100)
    assert refused.value.code == "CHANNEL_LISTENER_HAS_CHANNEL"
    settled = clients[2].settle_channel(catalogue["platform"], opened["id"],
                                        vouchers(catalogue, listener, opened["id"], [1]))
    wait_everywhere(clients, settled["id"])
    assert clients[1].owns(listener.public_key, track)["plays"] == 2


def test_a_settlement_commits_while_one_validator_is_down(catalogue, clients, testnet):
    listener = funded(catalogue, clients)
    opened = clients[0].open_channel(listener, catalogue["platform"].public_key, 1000)
    wait_everywhere(clients, opened["id"])
    testnet.stop_node("node4")
    try:
        settled = clients[1].settle_channel(catalogue["platform"], opened["id"],
                                            vouchers(catalogue, listener, opened["id"], range(3)))
        wait_everywhere(clients[:3], settled["id"])
    finally:
        testnet.start_node("node4", progress=quiet)
    wait_everywhere(clients, settled["id"], timeout=60)
    assert clients[3].channel(opened["id"])["settled"] == 14


def test_a_close_with_unsettled_vouchers_is_settled_by_the_receiver_within_the_delay(catalogue, clients):
    listener = funded(catalogue, clients)
    receiver = catalogue["platform"]
    opened = clients[0].open_channel(listener, receiver.public_key, 1000)
    wait_everywhere(clients, opened["id"])
    held = vouchers(catalogue, listener, opened["id"], range(4))  # accepted, not settled
    closed = clients[1].close_channel(listener, opened["id"])
    wait_everywhere(clients, closed["id"])
    read = clients[2].channel(opened["id"])
    assert read["status"] == "closing" and read["closes_at"] is not None
    with pytest.raises(TransactionRefused) as refused:
        clients[3].refund_channel(listener, opened["id"])
    assert refused.value.code == "CHANNEL_EARLY_REFUND"
    settled = clients[2].settle_channel(receiver, opened["id"], held)
    wait_everywhere(clients, settled["id"])
    assert clients[0].channel(opened["id"])["settled"] == 30
    # Once the delay has passed, the rest returns to the listener. A block's consensus time
    # is when the block before it committed (Tendermint's BFT time): after an idle spell,
    # the second block committed past the close time is the first whose time is past it.
    while time.time() < read["closes_at"] + 1:
        time.sleep(0.5)
    for _ in range(2):
        wait_everywhere(clients, clients[0].buy_credits(catalogue["treasury"],
                                                        generate_key_pair().public_key, 1)["id"])
    refunded = clients[3].refund_channel(receiver, opened["id"])
    wait_everywhere(clients, refunded["id"])
    assert clients[1].balance(listener.public_key)["balance"] == 5000 - 30
    assert clients[2].channel(opened["id"])["status"] == "closed"
    # The listener may play directly again: play 4 of the track.
    played = clients[0].play(listener, catalogue["track"]["id"], catalogue["licence"]["id"], "GB")
    assert played["metadata"]["playNumber"] == 4
