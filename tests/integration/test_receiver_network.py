"""The receiver as a real process (`resonate receiver serve`) against a real local network
of 4 validators: plays streamed through a channel, accepted off the ledger and settled by
the receiver on its own; payees paid exactly what the same PLAYs pay; kill -9 mid-stream
and a restart losing nothing acknowledged; a listener closing with vouchers unsettled; a
validator down; the ledger unreachable for a while. The network's genesis sets rule version
3 (batched settlements), so the receiver settles in CHANNEL_SETTLE_BATCH transactions;
under earlier versions it sends one CHANNEL_SETTLE per channel (tests/unit/test_receiver.py,
and the demo's network at the default version, tests/integration/test_demo.py)."""
import threading
import time

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.client import ChannelPlayer, ReceiverClient, ReceiverRefused
from bigchaindb_resonate.receiver.process import ReceiverProcess
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.validators.royalties import payouts, price

from . import story
from .conftest import local_testnet, wait_everywhere

pytestmark = pytest.mark.integration
SETTLE_EVERY = 3  # seconds: settlements come quickly in these tests


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("receiver"), first_port=32400,
                       parameters={"rules_version": BATCHED_SETTLEMENTS}) as network:
        yield network


@pytest.fixture(scope="module")
def in_force(clients):
    """The network parameters in force, which payouts follow."""
    parameters = clients[0].network()["parameters"]
    assert parameters["rules_version"] == BATCHED_SETTLEMENTS
    return parameters


@pytest.fixture(scope="module")
def catalogue(testnet, clients):
    return story.catalogue(testnet, clients)


@pytest.fixture(scope="module")
def platform_key_file(testnet):
    return testnet.directory / "keys" / "platform.json"


@pytest.fixture
def receiver(testnet, platform_key_file, tmp_path):
    """A receiver process reading through every node, on a store of its own."""
    with ReceiverProcess(platform_key_file, tmp_path / "store",
                         [node.api_url for node in testnet.nodes], settle_every=SETTLE_EVERY) as process:
        yield process


def listener_with_channel(catalogue, clients, deposit=2000, credits=3000):
    listener = generate_key_pair()
    bought = clients[0].buy_credits(catalogue["treasury"], listener.public_key, credits)
    wait_everywhere(clients, bought["id"])
    opened = clients[1].open_channel(listener, catalogue["platform"].public_key, deposit)
    wait_everywhere(clients, opened["id"])
    return listener, opened["id"]


def after_plays(before, numbers, catalogue, in_force):
    """[artist, producer, co-op] balances after PLAYs of these play numbers."""
    expected = list(before)
    for number in numbers:
        paid, coop = payouts(price(number), split_payees(catalogue), in_force)
        expected[0] += dict(paid)[catalogue["artist"].public_key]
        expected[1] += dict(paid)[catalogue["producer"].public_key]
        expected[2] += coop
    return expected


def split_payees(catalogue):
    """The track's split as committed, (public key, basis points) in its order: under rule
    version 2 and later the rounding remainder goes to the first payees."""
    return [(payee["publicKey"], payee["shareBp"]) for payee in catalogue["split"]["asset"]["data"]["payees"]]


def balances(client, *keys):
    """Tokens each key holds alone (the platform key is also a side of every channel
    towards it; those deposits are not its own, nor in its balance)."""
    return [client.balance(key.public_key)["balance"] for key in keys]


def settled_through(clients, channel_id, sequence, timeout):
    """The channel once every node shows it settled through `sequence`."""
    deadline = time.monotonic() + timeout
    while True:
        states = [client.channel(channel_id) for client in clients]
        if all(state["sequence"] >= sequence for state in states):
            return states[0]
        assert time.monotonic() < deadline, \
            f"settled through {[state['sequence'] for state in states]}, not {sequence}, after {timeout}s"
        time.sleep(0.3)


def test_ten_plays_through_a_channel_pay_every_payee_what_ten_plays_would(
        catalogue, clients, receiver, in_force):
    artist, producer, platform = catalogue["artist"], catalogue["producer"], catalogue["platform"]
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    listener, channel_id = listener_with_channel(catalogue, clients)
    before = balances(clients[2], artist, producer, platform)
    player = ChannelPlayer(ReceiverClient(receiver.url), listener, channel_id)
    answers = [player.play(track, licence, "GB") for _ in range(10)]
    assert [(answer["status"], answer["play"]) for answer in answers] == \
        [("accepted", number) for number in range(10)]
    accepted_at = time.monotonic()
    # Artists see their balances grow within one settlement period (and a commit or two).
    state = settled_through(clients, channel_id, 10, timeout=SETTLE_EVERY + 30)
    took = time.monotonic() - accepted_at
    assert state["settled"] == 1022 and state["status"] == "open"
    expected = after_plays(before, range(10), catalogue, in_force)
    for client in clients:
        assert balances(client, artist, producer, platform) == expected
        standing = client.owns(listener.public_key, track)
        assert standing["plays"] == 10 and standing["owned"]
    # A voucher already settled, sent again, is not paid again.
    with pytest.raises(ReceiverRefused) as refused:
        ReceiverClient(receiver.url).send_voucher({**answers[3]["voucher"], "territory": "FR"})
    assert refused.value.code == "RECEIVER_BAD_SIGNATURE"
    assert ReceiverClient(receiver.url).send_voucher(answers[9]["voucher"])["duplicate"]
    print(f"settled {took:.1f}s after the last play was accepted")


def test_one_batch_settles_several_listeners_and_pays_what_their_plays_would(
        catalogue, clients, testnet, platform_key_file, tmp_path, in_force):
    """Three listeners' 10, 4 and 2 plays: the round that their 16th voucher starts
    settles all three channels in one CHANNEL_SETTLE_BATCH."""
    artist, producer, platform = catalogue["artist"], catalogue["producer"], catalogue["platform"]
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    listeners = [listener_with_channel(catalogue, clients) for _ in range(3)]
    counts = (10, 4, 2)
    before = balances(clients[2], artist, producer, platform)
    with ReceiverProcess(platform_key_file, tmp_path / "store", [node.api_url for node in testnet.nodes],
                         settle_every=300, settle_after=sum(counts)) as process:
        for (listener, channel_id), count in zip(listeners, counts):
            player = ChannelPlayer(ReceiverClient(process.url), listener, channel_id)
            assert [player.play(track, licence, "GB")["status"] for _ in range(count)] == ["accepted"] * count
        states = [settled_through(clients, channel_id, count, timeout=60)
                  for (_, channel_id), count in zip(listeners, counts)]
    batches = {state["latest_transaction"] for state in states}
    assert len(batches) == 1
    batch = clients[0].get_transaction(batches.pop())
    assert batch["operation"] == "CHANNEL_SETTLE_BATCH"
    assert [entry["channel"] for entry in batch["metadata"]["channels"]] == [
        channel_id for _, channel_id in listeners]
    assert [state["channel_output"]["output_index"] for state in states] == [0, 1, 2]
    expected = after_plays(before, [*range(10), *range(4), *range(2)], catalogue, in_force)
    for client in clients:
        assert balances(client, artist, producer, platform) == expected
        assert [client.owns(listener.public_key, track)["plays"] for listener, _ in listeners] == list(counts)


def test_kill_9_mid_stream_loses_no_acknowledged_voucher(catalogue, clients, receiver):
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    listeners = [listener_with_channel(catalogue, clients, deposit=1500) for _ in range(3)]
    acknowledged = {channel_id: [] for _, channel_id in listeners}
    stop = threading.Event()

    def stream(listener, channel_id):
        """Play until the receiver holds ten plays. A voucher stored just before a kill may
        never have been answered: the player then reads the receiver's count again."""
        player = ChannelPlayer(ReceiverClient(receiver.url, timeout=5), listener, channel_id)
        while not stop.is_set() and (player.sequence or 0) < 10:
            try:
                acknowledged[channel_id].append(player.play(track, licence, "GB")["voucher"])
            except Exception:  # the receiver is down: the player tries again
                player._forget()
                time.sleep(0.05)

    threads = [threading.Thread(target=stream, args=pair) for pair in listeners]
    for thread in threads:
        thread.start()
    for kills in range(2):
        deadline = time.monotonic() + 30
        while sum(map(len, acknowledged.values())) < 4 * (kills + 1):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        receiver.kill()
        held_when_killed = {channel_id: list(vouchers) for channel_id, vouchers in acknowledged.items()}
        receiver.start()
        for channel_id, vouchers in held_when_killed.items():
            stored = ReceiverClient(receiver.url).vouchers(channel_id)
            assert all(voucher in stored for voucher in vouchers), "an acknowledged voucher was lost"
    for thread in threads:
        thread.join(timeout=60)
    stop.set()
    for channel_id, vouchers in acknowledged.items():
        stored = ReceiverClient(receiver.url).vouchers(channel_id)
        assert [voucher["sequence"] for voucher in stored] == list(range(1, 11))
        assert all(voucher in stored for voucher in vouchers)
        state = settled_through(clients, channel_id, 10, timeout=SETTLE_EVERY + 30)
        assert state["settled"] == 1022


def test_a_listener_closing_with_unsettled_vouchers_is_settled_within_the_delay(
        catalogue, clients, testnet, platform_key_file, tmp_path):
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    listener, channel_id = listener_with_channel(catalogue, clients)
    # A receiver that would not settle for ten minutes of its own accord.
    with ReceiverProcess(platform_key_file, tmp_path / "slow", [testnet.nodes[3].api_url],
                         settle_every=600) as slow:
        player = ChannelPlayer(ReceiverClient(slow.url), listener, channel_id)
        for _ in range(3):
            player.play(track, licence, "GB")
        assert clients[0].channel(channel_id)["sequence"] == 0
        closing = clients[2].close_channel(listener, channel_id)
        wait_everywhere(clients, closing["id"])
        # It reads the channel again within half a minute, sees it closing, and settles.
        state = settled_through(clients, channel_id, 3, timeout=60)
        assert state["status"] == "closing" and state["settled"] == 2 + 4 + 8
        assert state["closes_at"] is not None
        with pytest.raises(ReceiverRefused) as refused:
            player.play(track, licence, "GB")
        assert refused.value.code == "RECEIVER_CHANNEL_CLOSING"


def test_with_a_validator_down_and_then_the_ledger_unreachable_plays_go_on_and_settle_later(
        catalogue, clients, testnet, platform_key_file, tmp_path):
    track, licence = catalogue["track"]["id"], catalogue["licence"]["id"]
    listener, channel_id = listener_with_channel(catalogue, clients)
    first, second = testnet.nodes[0], testnet.nodes[1]
    # It reads through node1 first, else node2.
    with ReceiverProcess(platform_key_file, tmp_path / "store", [first.api_url, second.api_url],
                         settle_every=SETTLE_EVERY) as process:
        player = ChannelPlayer(ReceiverClient(process.url), listener, channel_id)
        player.play(track, licence, "GB")
        testnet.stop_node(first.name)
        try:
            player.play(track, licence, "GB")
            settled_through(clients[1:], channel_id, 2, timeout=SETTLE_EVERY + 30)
            testnet.stop_node(second.name)  # now no node it knows answers
            try:
                answers = [player.play(track, licence, "GB") for _ in range(3)]
                assert [answer["play"] for answer in answers] == [2, 3, 4]
                # It cannot settle them: its reads and settlements find no node.
                deadline = time.monotonic() + SETTLE_EVERY + 10
                while ReceiverClient(process.url).status()["ledger"] != "unreachable":
                    assert time.monotonic() < deadline, "the receiver still reads the ledger"
                    time.sleep(0.2)
                time.sleep(SETTLE_EVERY)
                assert clients[2].channel(channel_id)["sequence"] == 2
            finally:
                testnet.start_node(second.name)
            settled_through(clients[1:], channel_id, 5, timeout=SETTLE_EVERY + 60)
        finally:
            testnet.start_node(first.name)
    assert settled_through(clients, channel_id, 5, timeout=30)["settled"] == 2 + 4 + 8 + 16 + 32


def test_the_channel_commands_open_play_settle_show_and_close(catalogue, clients, receiver,
                                                              tmp_path, capsys):
    import json

    from bigchaindb_resonate import cli

    listener = generate_key_pair()
    key_file = tmp_path / "listener.json"
    key_file.write_text(json.dumps({"public_key": listener.public_key,
                                    "private_key": listener.private_key}))
    wait_everywhere(clients, clients[0].buy_credits(catalogue["treasury"], listener.public_key,
                                                    500)["id"])
    node = ["--node", clients[1].api_url]
    at = ["--receiver", receiver.url]
    assert cli.main(["channel", "open", "--key", str(key_file), "--deposit", "100", *node]) == 0
    channel_id = capsys.readouterr().out.split()[-1]
    wait_everywhere(clients, channel_id)
    play = ["channel", "play", "--key", str(key_file), "--track", catalogue["track"]["id"],
            "--right", catalogue["licence"]["id"], "--territory", "gb", *at, *node]
    assert cli.main(play) == 0 and "play 1 of the track" in capsys.readouterr().out
    assert cli.main(["channel", "settle", "--channel", channel_id, *at]) == 0
    assert "settled through sequence 1 (2 tokens" in capsys.readouterr().out
    assert cli.main(["channel", "status", "--listener", listener.public_key, *at, *node]) == 0
    shown = capsys.readouterr().out
    assert channel_id in shown and "open" in shown
    assert cli.main(["channel", "close", "--key", str(key_file), "--channel", channel_id, *node]) == 0
    capsys.readouterr()
    deadline = time.monotonic() + 20  # the receiver reads the channel again within seconds
    while ReceiverClient(receiver.url).channel(channel_id)["status"] != "closing":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert cli.main(play) == 2  # closing: the receiver refuses, saying why
    assert "RECEIVER_CHANNEL_CLOSING" in capsys.readouterr().err
