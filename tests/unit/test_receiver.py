"""The receiver's pure logic: parsing, signatures, the checks' table, and the service's
accept / restart / settle decisions over a real SQLite store and a fake ledger (the real
ledger, a 4-node network, is in tests/integration/test_receiver_network.py)."""
import asyncio
import json

import base58
import pytest

from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.receiver import checks, refusals
from bigchaindb_resonate.receiver.ledger import LedgerDown
from bigchaindb_resonate.receiver.service import Receiver
from bigchaindb_resonate.receiver.store import Store
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.validators.terms import COUNTRY_CODES
from bigchaindb_resonate.vouchers import make_voucher

CHANNEL, TRACK, OTHER_TRACK, RIGHT, WORK = ("c" * 63 + "1", "a" * 64, "b" * 64, "d" * 64,
                                            "e" * 64)
RECEIVER, PLATFORM = generate_key_pair(), generate_key_pair()
LISTENER = generate_key_pair()


def voucher(sequence=1, play=0, total=None, track=TRACK, signer=LISTENER, **changes):
    fields = dict(channel=CHANNEL, listener=LISTENER.public_key, sequence=sequence, track=track,
                  play=play, price=price(play), total=price(play) if total is None else total,
                  territory="GB", right=RIGHT)
    return make_voucher(signer.private_key, **{**fields, **changes})


def body(value):
    return json.dumps(value).encode()


def channel(**changes):
    fields = dict(id=CHANNEL, listener=LISTENER.public_key, receiver=RECEIVER.public_key,
                  deposit=5000, status="open")
    return checks.Channel(**{**fields, **changes})


LICENCE = checks.Licence(frozenset([PLATFORM.public_key]), frozenset(["on_demand_stream"]),
                         frozenset(COUNTRY_CODES), {"validFrom": "2020-01-01"}, TRACK)


# -- parsing and signatures

@pytest.mark.parametrize("change", [
    lambda v: b"not json", lambda v: body([v]), lambda v: body({**v, "extra": 1}),
    lambda v: body({k: x for k, x in v.items() if k != "total"}),
    lambda v: body({**v, "sequence": 0}), lambda v: body({**v, "play": -1}),
    lambda v: body({**v, "price": 2.0}), lambda v: body({**v, "total": True}),
    lambda v: body({**v, "version": 2}), lambda v: body({**v, "channel": "C" * 64}),
    lambda v: body({**v, "territory": 44}), lambda v: b" " * 5000,
])
def test_what_is_not_a_voucher_is_refused_malformed(change):
    with pytest.raises(refusals.Malformed):
        checks.parse(change(voucher()))


def test_a_voucher_parses_to_itself():
    assert checks.parse(body(voucher())) == voucher()


@pytest.mark.parametrize("size", [32, 64])
def test_base58_decodes_as_the_base58_package_does(size):
    for raw in (bytes(size), b"\0\0" + b"\xff" * (size - 2), bytes(range(size))):
        text = base58.b58encode(raw).decode()
        assert checks.b58decode(text, size) == base58.b58decode(text) == raw


@pytest.mark.parametrize("text", ["1" + base58.b58encode(b"\x05" * 64).decode(), "0OIl", "",
                                  base58.b58encode(b"\x05" * 63).decode(), "é"])
def test_base58_refuses_other_sizes_extra_leading_ones_and_foreign_characters(text):
    with pytest.raises(ValueError):
        checks.b58decode(text, 64)


def test_signatures_agree_with_the_vouchers_module():
    checker = checks.SignatureChecker()
    checker.check(voucher())
    for forged in ({**voucher(), "total": 3}, voucher(signer=generate_key_pair()),
                   {**voucher(), "signature": "1" + voucher()["signature"]},
                   {**voucher(), "listener": "x"}):
        with pytest.raises(refusals.BadSignature):
            checker.check(forged)


# -- the checks' table

@pytest.mark.parametrize("given, held, next_play, refusal", [
    (dict(sequence=1), checks.Held(1, 2), 0, refusals.Stale),
    (dict(sequence=3), checks.Held(1, 2), 0, refusals.SequenceGap),
    (dict(sequence=2, play=0, total=4), checks.Held(1, 2), 1, refusals.PlayNumber),
    (dict(sequence=2, play=2, total=10), checks.Held(1, 2), 1, refusals.PlayNumber),
    (dict(sequence=2, play=1, price=2, total=4), checks.Held(1, 2), 1, refusals.WrongPrice),
    (dict(sequence=2, play=1, total=5), checks.Held(1, 2), 1, refusals.WrongTotal),
    (dict(sequence=2, play=8, total=4998 + 512), checks.Held(1, 4998), 8, refusals.Overdrawn),
    (dict(sequence=2, play=1, total=6), checks.Held(1, 2), 1, None),
    (dict(sequence=2, play=9, total=2), checks.Held(1, 2), 9, None),  # owned: free
])
def test_a_voucher_continues_what_is_held(given, held, next_play, refusal):
    candidate = voucher(**given)
    if refusal is None:
        checks.check_continues(candidate, channel(), held, next_play)
    else:
        with pytest.raises(refusal):
            checks.check_continues(candidate, channel(), held, next_play)


@pytest.mark.parametrize("found, refusal", [
    (None, refusals.UnknownChannel),
    (channel(receiver=PLATFORM.public_key), refusals.OtherReceiver),
    (channel(listener=PLATFORM.public_key), refusals.WrongListener),
    (channel(status="closing"), refusals.ChannelClosing),
    (channel(status="closed"), refusals.ChannelClosing),
])
def test_the_channel_must_be_open_towards_this_receiver_for_this_listener(found, refusal):
    with pytest.raises(refusal):
        checks.check_channel(voucher(), found, RECEIVER.public_key)


TRACK_WITH_SPLIT = checks.Track(TRACK, WORK, "f" * 64)


@pytest.mark.parametrize("given, track, licence, refusal", [
    (dict(territory="XX"), TRACK_WITH_SPLIT, LICENCE, refusals.UnknownTerritory),
    ({}, None, LICENCE, refusals.UnknownTrack),
    ({}, checks.Track(TRACK, WORK, None), LICENCE, refusals.NoSplit),
    ({}, TRACK_WITH_SPLIT, None, refusals.LicenceUnknown),
    ({}, TRACK_WITH_SPLIT, checks.Licence(frozenset(["x"]), *list(LICENCE.__dict__.values())[1:]),
     refusals.LicenceNotPlatform),
    ({}, TRACK_WITH_SPLIT, checks.Licence(LICENCE.holders, frozenset(["download"]),
                                          *list(LICENCE.__dict__.values())[2:]),
     refusals.LicenceNotStreaming),
    ({}, TRACK_WITH_SPLIT, checks.Licence(LICENCE.holders, LICENCE.usages, frozenset(["IE"]),
                                          LICENCE.period, TRACK), refusals.LicenceTerritory),
    ({}, TRACK_WITH_SPLIT, checks.Licence(LICENCE.holders, LICENCE.usages, LICENCE.countries,
                                          {"validFrom": "2030-01-01"}, TRACK),
     refusals.LicenceNotInForce),
    ({}, TRACK_WITH_SPLIT, checks.Licence(LICENCE.holders, LICENCE.usages, LICENCE.countries,
                                          LICENCE.period, OTHER_TRACK), refusals.LicenceOtherTrack),
    ({}, TRACK_WITH_SPLIT, checks.Licence(LICENCE.holders, LICENCE.usages, LICENCE.countries,
                                          LICENCE.period, WORK), None),  # a licence of the work
    (dict(play=9, total=0), checks.Track(TRACK, WORK, None), LICENCE, None),  # free: no split
])
def test_the_licence_as_far_as_cached_reads_show_it(given, track, licence, refusal):
    candidate = voucher(**given)
    if refusal is None:
        checks.check_licence(candidate, track, licence, PLATFORM.public_key, "2026-11-29")
    else:
        with pytest.raises(refusal):
            checks.check_licence(candidate, track, licence, PLATFORM.public_key, "2026-11-29")


def test_every_refusal_has_its_own_code_and_a_meaning():
    codes = [cls.code for cls in refusals.all_refusals()]
    assert len(codes) == len(set(codes)) and all(code.startswith("RECEIVER_") for code in codes)
    assert all(cls.meaning for cls in refusals.all_refusals())


# -- the service over a real store and a fake ledger

class FakeLedger:
    """The ledger reads the receiver makes, answered from dicts; `down` makes every read
    fail as if no node answered. `rules_version` is the network's in force (batches from 3);
    `sent` lists each settling transaction as (operation, its channels)."""

    def __init__(self):
        self.down = False
        self.rules_version = 3
        self.channels = {CHANNEL: channel()}
        self.counts = {}
        self.settled = []
        self.sent = []
        self.clients = []

    def _up(self):
        if self.down:
            raise LedgerDown("no node answered")

    def network(self):
        self._up()
        return {"parameters": {"platform_key": PLATFORM.public_key,
                               "receiver_keys": [RECEIVER.public_key],
                               "channel_settle_delay_s": 600, "coop_share_bp": 3000,
                               "rules_version": self.rules_version},
                "credit": "9" * 64}

    def channel(self, channel_id):
        self._up()
        found = self.channels.get(channel_id)
        return None if found is None else checks.Channel(**found.__dict__)

    def channel_state(self, channel_id):
        found = self.channel(channel_id)
        return None if found is None else {
            "channel": found.id, "listener": found.listener, "receiver": found.receiver,
            "deposit": found.deposit, "status": found.status, "sequence": found.settled_sequence,
            "settled": found.settled_total, "closes_at": found.closes_at,
            "latest_transaction": f"{found.settled_sequence:064x}"}

    def split_in_force(self, track):
        self._up()
        return ("f" * 64, [(PLATFORM.public_key, 10000)])

    def plays(self, listener, track):
        self._up()
        return self.counts.get((listener, track), 0) if track in (TRACK, OTHER_TRACK) else None

    def track(self, track_id):
        self._up()
        return checks.Track(track_id, WORK, "f" * 64) if track_id in (TRACK, OTHER_TRACK) else None

    def licence(self, right_id):
        self._up()
        return checks.Licence(LICENCE.holders, LICENCE.usages, LICENCE.countries,
                              LICENCE.period, WORK) if right_id == RIGHT else None

    def channel_states(self, channel_ids):
        return [self.channel_state(channel_id) for channel_id in channel_ids]

    def settle(self, keypair, state, vouchers, splits, network):
        assert len(vouchers) <= 100  # a CHANNEL_SETTLE's limit
        return self._commit("CHANNEL_SETTLE", [(state, vouchers)], splits, network)

    def settle_batch(self, keypair, settlements, splits, network):
        assert network["parameters"]["rules_version"] >= 3
        return self._commit("CHANNEL_SETTLE_BATCH", settlements, splits, network)

    def _commit(self, operation, settlements, splits, network):
        self._up()
        assert network["parameters"]["rules_version"] == self.rules_version
        self.sent.append((operation, [state["channel"] for state, _ in settlements]))
        assert set(splits) == {voucher["track"] for _, vouchers in settlements
                               for voucher in vouchers if voucher["price"]}
        for state, vouchers in settlements:
            channel = self.channels[state["channel"]]
            assert state["latest_transaction"] == f"{channel.settled_sequence:064x}"
            assert vouchers[0]["sequence"] == channel.settled_sequence + 1
            self.settled.append(vouchers)
            channel.settled_sequence, channel.settled_total = vouchers[-1]["sequence"], vouchers[-1]["total"]
        return {"id": f"{len(self.settled):064x}", "operation": operation}, True


@pytest.fixture
def ledger():
    return FakeLedger()


def open_service(tmp_path, ledger, **options):
    receiver = Receiver(Store(tmp_path / "store"), ledger, RECEIVER, **options)
    receiver.start_settling()
    return receiver


# One event loop for the module, as a receiver has one: what a step leaves scheduled (a
# commit of ledger facts) runs in the next.
LOOP = asyncio.new_event_loop()


def run(coroutine):
    return LOOP.run_until_complete(coroutine)


async def send(receiver, *vouchers):
    """Each voucher's answer, sent one after the other: accepted, or the refusal's code."""
    answers = []
    for one in vouchers:
        try:
            answers.append((await receiver.accept(body(one)))["status"])
        except refusals.VoucherRefused as refusal:
            answers.append(refusal.code)
    return answers


def stream(count, track=TRACK, first_play=0, start=1, total=0):
    """`count` vouchers of one track continuing from sequence `start` and `total`."""
    made = []
    for offset in range(count):
        play = first_play + offset
        total += price(play)
        made.append(voucher(start + offset, play, total, track=track))
    return made


def test_a_stream_is_accepted_in_order_and_stored(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    vouchers = stream(10)
    assert run(send(receiver, *vouchers)) == ["accepted"] * 10
    assert receiver.store.vouchers(CHANNEL) == vouchers


def test_replays_gaps_and_wrong_plays_are_refused_and_a_retry_is_answered_again(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    first, second, third = stream(3)
    assert run(send(receiver, first, second, second, first, third)) == [
        "accepted", "accepted", "accepted", "accepted", "accepted"]
    assert receiver.store.count() == 3
    again = voucher(2, 1, 6, territory="FR")  # another voucher at a held sequence
    assert run(send(receiver, again)) == ["RECEIVER_STALE"]
    assert run(send(receiver, voucher(5, 3, 30))) == ["RECEIVER_SEQUENCE_GAP"]
    assert run(send(receiver, voucher(4, 2, 22))) == ["RECEIVER_PLAY_NUMBER"]


def test_play_numbers_continue_the_ledgers_count_per_track(tmp_path, ledger):
    ledger.counts[(LISTENER.public_key, OTHER_TRACK)] = 4
    receiver = open_service(tmp_path, ledger)
    assert run(send(receiver, voucher(1, 0, 2, track=OTHER_TRACK))) == ["RECEIVER_PLAY_NUMBER"]
    assert run(send(receiver, voucher(1, 4, 32, track=OTHER_TRACK), voucher(2, 0, 34),
                    voucher(3, 5, 98, track=OTHER_TRACK))) == ["accepted"] * 3


def test_the_deposit_bounds_the_running_total(tmp_path, ledger):
    ledger.channels[CHANNEL].deposit = 10
    receiver = open_service(tmp_path, ledger)
    assert run(send(receiver, *stream(3))) == ["accepted", "accepted", "RECEIVER_OVERDRAWN"]


def test_concurrent_vouchers_of_one_channel_never_take_the_same_place(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    rivals = [voucher(1, 0, 2, territory=code) for code in ("GB", "FR", "DE", "IE")]

    async def at_once():
        return await asyncio.gather(*(send(receiver, rival) for rival in rivals))

    answers = [answer for answers in run(at_once()) for answer in answers]
    assert sorted(answers) == ["RECEIVER_STALE"] * 3 + ["accepted"]
    assert receiver.store.count() == 1


def test_vouchers_arriving_together_are_each_answered_and_a_gone_player_cancels_nothing(
        tmp_path, ledger):
    """Vouchers that arrive in one turn of the loop are checked together and stored in one
    commit: a refusal among them is its own, and a player that goes away while its
    voucher is being stored changes nothing for the others (its voucher is kept: a retry
    is answered as a duplicate)."""
    receiver = open_service(tmp_path, ledger)
    known, first, second, third = stream(4)
    assert run(send(receiver, known)) == ["accepted"]  # the channel's reads are cached
    forged = {**second, "total": 7}

    async def together():
        requests = [asyncio.ensure_future(send(receiver, one)) for one in (first, forged, second)]
        await asyncio.sleep(0)  # all three have arrived
        await asyncio.sleep(0)  # and have been checked together, to be stored in one commit
        assert len(receiver.batch) == 2 and not any(request.done() for request in requests[::2])
        requests[0].cancel()
        return await asyncio.gather(*requests, return_exceptions=True)

    gone, *answers = run(together())
    assert isinstance(gone, asyncio.CancelledError)
    assert answers == [["RECEIVER_BAD_SIGNATURE"], ["accepted"]]
    assert receiver.store.vouchers(CHANNEL) == [known, first, second]
    assert run(receiver.accept(body(first)))["duplicate"] is True
    assert run(send(receiver, third)) == ["accepted"]


def test_a_restarted_receiver_resumes_from_its_store(tmp_path, ledger):
    vouchers = stream(4)
    run(send(open_service(tmp_path, ledger), *vouchers[:3]))
    restarted = open_service(tmp_path, ledger)
    assert run(send(restarted, vouchers[1], voucher(4, 2, 14))) == ["accepted",
                                                                   "RECEIVER_PLAY_NUMBER"]
    assert run(send(restarted, voucher(5, 3, 30))) == ["RECEIVER_SEQUENCE_GAP"]
    assert run(send(restarted, vouchers[3])) == ["accepted"]


def test_with_the_ledger_down_known_channels_and_lanes_keep_accepting(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    vouchers = stream(3)
    assert run(send(receiver, vouchers[0])) == ["accepted"]
    ledger.down = True
    assert run(send(receiver, vouchers[1], vouchers[2])) == ["accepted", "accepted"]
    assert run(send(receiver, voucher(4, 0, 16, track=OTHER_TRACK))) == ["RECEIVER_LEDGER_UNREACHABLE"]
    # After a restart with the ledger still down, the stored facts serve.
    restarted = Receiver(Store(tmp_path / "store"), ledger, RECEIVER)
    restarted.start_settling()
    assert run(send(restarted, voucher(4, 3, 30))) == ["accepted"]


def test_settlement_pays_what_the_ledger_has_not_settled_in_order(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    vouchers = stream(9)

    async def scenario():
        await send(receiver, *vouchers[:5])
        first = await receiver.settle_due()
        await send(receiver, *vouchers[5:])
        second = await receiver.settle_due()
        return first, second, await receiver.settle_due()

    assert run(scenario()) == (1, 1, 0)
    assert ledger.settled == [vouchers[:5], vouchers[5:]]
    assert {row["state"] for row in receiver.store.settlements(CHANNEL)} == {"committed"}


def test_settlement_starts_after_settle_after_vouchers(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger, settle_after=3)

    async def scenario():
        settling = asyncio.ensure_future(receiver.settle_forever())
        await send(receiver, *stream(3))
        for _ in range(100):
            if ledger.settled:
                break
            await asyncio.sleep(0.01)
        settling.cancel()

    run(scenario())
    assert [len(vouchers) for vouchers in ledger.settled] == [3]


def test_a_channel_seen_closing_is_settled_at_once(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)

    async def scenario():
        await send(receiver, *stream(2))
        ledger.channels[CHANNEL].status = "closing"
        await receiver._load_fact("channel", CHANNEL, ledger.channel)
        return receiver.wake.is_set(), CHANNEL in receiver.urgent, await send(receiver, voucher(3, 2, 14))

    assert run(scenario()) == (True, True, ["RECEIVER_CHANNEL_CLOSING"])


def test_the_settlement_period_is_at_most_half_the_settle_delay(tmp_path, ledger):
    assert open_service(tmp_path, ledger, settle_every=3600).settle_every == 300


def test_vouchers_sent_together_are_answered_each_in_order(tmp_path, ledger):
    receiver = open_service(tmp_path, ledger)
    first, second, third = stream(3)
    answers = run(receiver.accept_many([first, second, {**second, "total": 7}, third, second,
                                        {"not": "a voucher"}]))
    assert [answer["status"] for answer in answers] == ["accepted", "accepted", "refused",
                                                        "accepted", "accepted", "refused"]
    assert [answer.get("code") for answer in answers] == [
        None, None, "RECEIVER_BAD_SIGNATURE", None, None, "RECEIVER_MALFORMED"]
    assert answers[4]["duplicate"] and receiver.store.vouchers(CHANNEL) == [first, second, third]


def test_docs_list_every_receiver_code_with_its_meaning():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "receiver.md").read_text()
    for cls in refusals.all_refusals():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{cls.code}` |")), None)
        assert row is not None, f"{cls.code} is not in docs/receiver.md"
        assert cls.meaning in row and f"| {cls.status} |" in row
        assert ("| yes |" if cls.retry else "| no |") in row


# -- the HTTP protocol, over a real socket (ReceiverClient and ChannelPlayer on the other end)

@pytest.fixture
def served(tmp_path, ledger):
    """The receiver answering HTTP on a loopback port, in a thread of its own."""
    import threading

    from bigchaindb_resonate.client import ReceiverClient

    receiver = open_service(tmp_path, ledger)
    bound, loop = [], asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(receiver.run("127.0.0.1", 0, ready=lambda address: (
            bound.append(address), ready.set())))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield receiver, ReceiverClient(f"http://{bound[0][0]}:{bound[0][1]}")
    loop.call_soon_threadsafe(receiver.stopped.set)
    thread.join(10)


def test_a_player_streams_through_the_receivers_http_protocol(served, ledger):
    from bigchaindb_resonate.client import ChannelPlayer, ReceiverRefused

    receiver, client = served
    ledger.counts[(LISTENER.public_key, OTHER_TRACK)] = 2
    ledger.channels[CHANNEL].deposit = 30
    player = ChannelPlayer(client, LISTENER, CHANNEL)
    plays = [player.play(track, RIGHT, " gb ") for track in (TRACK, TRACK, OTHER_TRACK, TRACK)]
    assert [(answer["sequence"], answer["play"], answer["total"]) for answer in plays] == [
        (1, 0, 2), (2, 1, 6), (3, 2, 14), (4, 2, 22)]
    assert client.send_voucher(plays[-1]["voucher"])["duplicate"]
    assert client.vouchers(CHANNEL, after=2) == [answer["voucher"] for answer in plays[2:]]
    view = client.channel(CHANNEL, track=OTHER_TRACK)
    assert (view["sequence"], view["total"], view["next_play"]) == (4, 22, 3)
    with pytest.raises(ReceiverRefused) as refused:
        client.send_voucher({**plays[0]["voucher"], "signature": "x"})
    assert refused.value.code == "RECEIVER_BAD_SIGNATURE" and not refused.value.retry
    with pytest.raises(ReceiverRefused) as refused:  # 22 + 16 > 30
        player.play(TRACK, RIGHT, "GB")
    assert refused.value.code == "RECEIVER_OVERDRAWN"
    answers = client.send_vouchers([plays[0]["voucher"], {"not": "a voucher"}])
    assert [answer.get("code") for answer in answers] == [None, "RECEIVER_MALFORMED"]
    assert client.settle(CHANNEL)["settled_sequence"] == 4
    assert ledger.settled == [[answer["voucher"] for answer in plays]]
    status = client.status()
    assert status["vouchers"] == 4 and status["unsettled_channels"] == 0


def test_what_is_not_the_protocol_is_answered_with_a_code(served):
    import socket

    import requests

    _, client = served
    assert requests.get(f"{client.url}/nowhere").json()["code"] == "NOT_FOUND"
    assert requests.post(f"{client.url}/vouchers", data=b"{").json()["code"] == "RECEIVER_MALFORMED"
    host, port = client.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(b"NONSENSE\r\n\r\n")
        assert b"400 Bad Request" in raw.recv(1000)


def test_a_settlement_refused_for_having_committed_already_counts_as_settled(tmp_path, ledger):
    """Sent again after its answer was lost, the network refuses it as a double settlement:
    the channel read then shows it settled, and the receiver goes on."""
    from bigchaindb_resonate.client import TransactionRefused

    receiver = open_service(tmp_path, ledger)
    settle = ledger.settle_batch

    def answer_lost(*args):
        settle(*args)
        raise TransactionRefused(400, {"code": "CHANNEL_DOUBLE_SETTLEMENT", "detail": "committed"})

    ledger.settle_batch = answer_lost

    async def scenario():
        await send(receiver, *stream(3))
        return await receiver.settle_due(), await receiver.settle_due()

    assert run(scenario()) == (1, 0)
    assert receiver.stats["settlement_refusals"] == 0 and len(ledger.settled) == 1


def test_many_channels_settle_in_one_batch_and_a_refused_one_spoils_only_itself(tmp_path, ledger):
    from bigchaindb_resonate.client import TransactionRefused

    listeners = [generate_key_pair() for _ in range(3)]
    ids = [f"{number:064x}" for number in range(0xc1, 0xc4)]
    for channel_id, listener in zip(ids, listeners):
        ledger.channels[channel_id] = channel(id=channel_id, listener=listener.public_key)
    receiver = open_service(tmp_path, ledger)
    settle, batches = ledger.settle_batch, []

    def refusing_the_second(keypair, settlements, splits, network):
        batches.append([state["channel"] for state, _ in settlements])
        if ids[1] in batches[-1]:
            raise TransactionRefused(400, {"code": "CHANNEL_BAD_SIGNATURE", "detail": "forged"})
        return settle(keypair, settlements, splits, network)

    ledger.settle_batch = refusing_the_second

    async def scenario():
        for channel_id, listener in zip(ids, listeners):
            await send(receiver, *[voucher(number + 1, number, 2 ** (number + 2) - 2, channel=channel_id,
                                           listener=listener.public_key, signer=listener)
                                   for number in range(2)])
        return await receiver.settle_due()

    assert run(scenario()) == 2
    assert batches[0] == ids  # all three at once first
    assert [vouchers[0]["channel"] for vouchers in ledger.settled] == [ids[0], ids[2]]
    assert receiver.stats["settlement_refusals"] == 1
    assert [row["state"] for row in receiver.store.settlements(ids[1])] == ["refused"]
    assert {row["tx"]["output_index"] for channel_id in (ids[0], ids[2])
            for row in receiver.store.settlements(channel_id)} == {0}


def test_a_round_that_cannot_read_the_ledger_runs_again_soon(tmp_path, ledger, monkeypatch):
    from bigchaindb_resonate.receiver import service

    monkeypatch.setattr(service, "RETRY_SETTLEMENT", 0.05)
    receiver = open_service(tmp_path, ledger)

    async def scenario():
        await send(receiver, *stream(2))
        ledger.down = True
        settled = await receiver.settle_due()
        woken_at_once = receiver.wake.is_set()
        await asyncio.sleep(0.1)
        return settled, woken_at_once, receiver.wake.is_set()

    assert run(scenario()) == (0, False, True)


def test_a_batch_too_large_is_sent_again_as_two_halves(tmp_path, ledger):
    from bigchaindb_resonate.receiver.ledger import TooLarge

    listeners = [generate_key_pair() for _ in range(3)]
    ids = [f"{number:064x}" for number in range(0xd1, 0xd4)]
    for channel_id, listener in zip(ids, listeners):
        ledger.channels[channel_id] = channel(id=channel_id, listener=listener.public_key)
    receiver = open_service(tmp_path, ledger)
    settle, sizes = ledger.settle_batch, []

    def fitting_two(keypair, settlements, splits, network):
        sizes.append(len(settlements))
        if len(settlements) > 2:
            raise TooLarge("over the limit")
        return settle(keypair, settlements, splits, network)

    ledger.settle_batch = fitting_two

    async def scenario():
        for channel_id, listener in zip(ids, listeners):
            await send(receiver, voucher(1, 0, 2, channel=channel_id, listener=listener.public_key,
                                         signer=listener))
        return await receiver.settle_due()

    assert run(scenario()) == 3
    assert sizes == [3, 2, 1] and receiver.stats["settlement_refusals"] == 0
    assert sorted(vouchers[0]["channel"] for vouchers in ledger.settled) == ids


def several_channels(ledger, first_id, count=3):
    """`count` more channels of their own listeners on the ledger: (ids, listeners)."""
    listeners = [generate_key_pair() for _ in range(count)]
    ids = [f"{number:064x}" for number in range(first_id, first_id + count)]
    for channel_id, listener in zip(ids, listeners):
        ledger.channels[channel_id] = channel(id=channel_id, listener=listener.public_key)
    return ids, listeners


async def a_play_each(receiver, ids, listeners):
    for channel_id, listener in zip(ids, listeners):
        await send(receiver, voucher(1, 0, 2, channel=channel_id, listener=listener.public_key,
                                     signer=listener))


@pytest.mark.parametrize("rules_version, sent", [
    (1, ["CHANNEL_SETTLE"] * 3), (2, ["CHANNEL_SETTLE"] * 3), (3, ["CHANNEL_SETTLE_BATCH"]),
])
def test_channels_settle_in_a_batch_only_once_the_rules_in_force_accept_it(tmp_path, ledger,
                                                                           rules_version, sent):
    ledger.rules_version = rules_version
    ids, listeners = several_channels(ledger, 0xe1)
    receiver = open_service(tmp_path, ledger)

    async def scenario():
        await a_play_each(receiver, ids, listeners)
        return await receiver.settle_due()

    assert run(scenario()) == 3
    assert [operation for operation, _ in ledger.sent] == sent
    assert sorted(channel_id for _, channels in ledger.sent for channel_id in channels) == ids
    assert {row["tx"]["operation"] for channel_id in ids
            for row in receiver.store.settlements(channel_id)} == set(sent)


def test_the_rules_version_is_read_again_at_each_round(tmp_path, ledger):
    ledger.rules_version = 2
    ids, listeners = several_channels(ledger, 0xe5)
    receiver = open_service(tmp_path, ledger)

    async def scenario():
        await a_play_each(receiver, ids, listeners)
        await receiver.settle_due()
        ledger.rules_version = 3  # voted in meanwhile
        for channel_id, listener in zip(ids, listeners):
            await send(receiver, voucher(2, 1, 6, channel=channel_id, listener=listener.public_key,
                                         signer=listener))
        await receiver.settle_due()

    run(scenario())
    assert [operation for operation, _ in ledger.sent] == ["CHANNEL_SETTLE"] * 3 + ["CHANNEL_SETTLE_BATCH"]


def test_a_channel_over_one_settlements_limit_settles_in_rounds_that_follow_at_once(tmp_path, ledger):
    ledger.rules_version = 2
    receiver = open_service(tmp_path, ledger)
    vouchers = stream(150)

    async def scenario():
        await send(receiver, *vouchers)
        first = await receiver.settle_due(), receiver.wake.is_set()
        receiver.wake.clear()
        return first, (await receiver.settle_due(), receiver.wake.is_set())

    assert run(scenario()) == ((1, True), (1, False))
    assert ledger.settled == [vouchers[:100], vouchers[100:]]
    assert [operation for operation, _ in ledger.sent] == ["CHANNEL_SETTLE"] * 2
