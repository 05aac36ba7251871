"""Rule tables for the payment channel types over the in-memory market of test_play.py:
Alice's track with a 70/30 split (Alice, Bob), a streaming licence held by the platform
(Bob, also the channel's receiver), and Carol, a listener with 5000 credit tokens.

Channel transactions are built by the client's builders (operations/) and signed by ONE
key, as each side does, with the light client (the output is 1 of 2); then parsed as a
node parses them."""
import json

import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.ledger import NETWORK_PARAMETERS, LedgerView
from bigchaindb_resonate.operations import (
    channel_close, channel_open, channel_refund, channel_settle, channel_topup,
)
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.channel_open import ChannelListenerHasChannel, ChannelUnknownReceiver
from bigchaindb_resonate.types.channel_refund import ChannelEarlyRefund, ChannelNotClosing
from bigchaindb_resonate.types.channel_settle import (
    ChannelBadSignature, ChannelDoubleSettlement, ChannelExpired, ChannelOverdrawn,
    ChannelPlayNumberMismatch, ChannelSequenceGap, ChannelStaleVoucher, ChannelVoucherOtherChannel,
    ChannelWrongCommitment, ChannelWrongPrice, ChannelWrongSplits, ChannelWrongTotal,
)
from bigchaindb_resonate.types.channels import (
    ChannelClosed, ChannelClosing, ChannelNotListener, ChannelOutputLocked, ChannelStaleState,
    ChannelWrongOutputs, ChannelWrongState, state_of,
)
from bigchaindb_resonate.types.play import (
    PlayListenerHasChannel, PlayNumberMismatch, PlayRightTerritory, PlayUnknownTerritory,
)
from bigchaindb_resonate.types.split import payees_of
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.vouchers import make_voucher
from .memory_store import MemoryStore, seconds_of
from .test_copyright import ALICE, BOB, CAROL
from .test_play import CREDIT, LICENCE, MARKET, PARAMETERS, PURCHASE, SPLIT, TRACK, a_play
from .test_reads import api_client, documented

DELAY = 3600
CHANNEL_PARAMETERS = {**PARAMETERS, "channel_settle_delay_s": DELAY}
DAY = seconds_of("2026-06-01")


def signed(tx, keypair):
    """A light-client transaction signed by one key, parsed as a node parses it."""
    body = LightTransaction.from_dict(tx.to_dict()).sign([keypair.private_key]).to_dict()
    return Transaction.from_dict(body)


def read(tx):
    """What the channel read answers, as builders take it: the state and the output to spend."""
    return {**state_of(tx), "latest_transaction": tx.id}


def opened(deposit=2000, credits=((PURCHASE, 0),), listener=CAROL, receiver=BOB):
    return signed(channel_open.open_channel(list(credits), listener.public_key, receiver.public_key,
                                            deposit), listener)


def vouchers_for(channel, count, first_play=0, first_sequence=1, settled=0, **changes):
    """`count` consecutive vouchers of the track by Carol, from `first_play` and
    `first_sequence`, continuing the running total `settled`."""
    return made_vouchers(channel, [(first_sequence + offset, first_play + offset) for offset in range(count)],
                         settled, **changes)


def made_vouchers(channel, plays, settled=0, track=TRACK, territory="GB", signer=CAROL, **changes):
    """Vouchers for (sequence, play number) pairs, priced by the curve, with running totals."""
    made, total = [], settled
    for sequence, play in plays:
        total += price(play)
        fields = dict(channel=channel.id if hasattr(channel, "id") else channel,
                      listener=CAROL.public_key, sequence=sequence, track=track.id, play=play,
                      price=price(play), total=total, territory=territory, right=LICENCE.id)
        made.append(make_voucher(signer.private_key, **{**fields, **changes}))
    return made


def settlement(latest, vouchers, signer=BOB, split=SPLIT):
    splits = {voucher["track"]: (split.id, payees_of(split)) for voucher in vouchers}
    return signed(channel_settle.settle(read(latest), vouchers, splits, PARAMETERS, CREDIT.id), signer)


class Chain:
    """A ledger of blocks over the market: commit transactions block by block, at times."""

    def __init__(self, parameters=CHANNEL_PARAMETERS, market=MARKET):
        self.store = MemoryStore()
        self.store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **parameters})
        self.height = 0
        self.commit(*market)

    def commit(self, *transactions, time=DAY):
        self.height += 1
        self.store.commit(self.height, *transactions, time=time)

    def view(self, pending=(), time=DAY):
        self.store.consensus_time = time  # the block being built (DeliverTx)
        return LedgerView(self.store, pending)


def check(tx, chain, pending=(), time=DAY):
    """What CheckTx/DeliverTx run: the host's transfer rules, then ours."""
    chain.store.consensus_time = time
    return tx.validate(chain.store, list(pending))


@pytest.fixture
def chain():
    return Chain()


def test_ten_plays_through_a_channel_pay_every_payee_what_ten_plays_pay(chain):
    channel = opened()
    check(channel, chain)
    chain.commit(channel)
    paid = settlement(channel, vouchers_for(channel, 10))
    check(paid, chain)
    direct = [a_play(number) for number in range(10)]
    by_key = {}
    for play in direct:
        for output in play.outputs[:-1] if play.metadata["price"] else []:
            by_key[output.public_keys[0]] = by_key.get(output.public_keys[0], 0) + output.amount
    assert {output.public_keys[0]: output.amount for output in paid.outputs[1:]} == by_key
    assert paid.outputs[0].amount == 2000 - 1022 + 1
    assert paid.metadata["settled"] == 1022 and paid.metadata["sequence"] == 10


def test_the_settled_plays_count_like_plays_and_the_track_is_owned(chain):
    channel = opened()
    chain.commit(channel)
    paid = settlement(channel, vouchers_for(channel, 9))
    chain.commit(paid)
    from bigchaindb_resonate.types.play import count_earlier_plays
    assert count_earlier_plays(chain.view(), CAROL.public_key, TRACK.id) == 9
    free = settlement(paid, vouchers_for(channel, 1, first_play=9, first_sequence=10, settled=1022))
    check(free, chain)
    assert [output.amount for output in free.outputs] == [2000 - 1022 + 1]


def test_a_channel_output_is_refused_to_a_plain_transfer_and_to_a_play(chain):
    channel = opened()
    chain.commit(channel)
    transfer = signed(LightTransaction.transfer("TRANSFER", LightTransaction.from_dict(channel.to_dict()).to_inputs([0]),
                                                [([BOB.public_key], channel.outputs[0].amount)], CREDIT.id), BOB)
    with pytest.raises(ChannelOutputLocked):
        check(transfer, chain)
    play = a_play(credits=((channel, 0),))
    with pytest.raises(ChannelOutputLocked):
        play.check_stateful(chain.view())


def test_a_top_up_cannot_take_another_channels_output_as_credits(chain):
    # A top-up may spend a channel output (its own channel's, as input 0), so the shared
    # input rules let this through; the credits' own check refuses it.
    carols = opened(deposit=1000)
    alices = opened(deposit=1000, credits=((PURCHASE, 1),), listener=ALICE)
    chain.commit(carols, alices)
    taken = signed(channel_topup.top_up(read(carols), [(alices, 0)], 500), BOB)  # receiver of both
    with pytest.raises(ChannelOutputLocked) as refused:
        check(taken, chain)
    assert refused.value.field == "inputs[1].fulfills"


def test_a_direct_play_is_refused_while_the_listener_has_a_live_channel_and_allowed_after_refund(chain):
    channel = opened(credits=((PURCHASE, 0),))
    chain.commit(channel)
    with pytest.raises(PlayListenerHasChannel):
        a_play(credits=((channel, 1),)).check_stateful(chain.view())
    close = signed(channel_close.close(read(channel), CREDIT.id), CAROL)
    chain.commit(close, time=DAY)
    with pytest.raises(PlayListenerHasChannel):
        a_play(credits=((channel, 1),)).check_stateful(chain.view(time=DAY + 10))
    refund = signed(channel_refund.refund(read(close), CREDIT.id), CAROL)
    check(refund, chain, time=DAY + DELAY)
    chain.commit(refund, time=DAY + DELAY)
    a_play(credits=((channel, 1),)).check_stateful(chain.view(time=DAY + DELAY))


def test_one_live_channel_per_listener(chain):
    channel = opened(deposit=1000)
    chain.commit(channel)
    with pytest.raises(ChannelListenerHasChannel):
        check(opened(deposit=100, credits=((channel, 1),)), chain)
    with pytest.raises(ChannelListenerHasChannel):  # also within one block
        check(opened(deposit=100, credits=((channel, 1),)), Chain(), pending=[channel])


def test_a_play_paid_both_ways_in_one_block_second_is_refused(chain):
    # Dave has no channel; Carol's channel settles play 0 while Carol's direct PLAY of
    # play 0 is in the same block: whichever comes second is refused.
    channel = opened()
    chain.commit(channel)
    paid = settlement(channel, vouchers_for(channel, 1))
    play = a_play(credits=((channel, 1),))
    check(paid, chain)
    with pytest.raises((PlayListenerHasChannel, PlayNumberMismatch)):
        play.check_stateful(chain.view(pending=[paid]))


def test_a_settlement_counts_after_a_direct_play_committed_before_the_channel(chain):
    play = a_play(0)
    chain.commit(play)
    channel = opened(credits=((play, len(play.outputs) - 1),))
    chain.commit(channel)
    with pytest.raises(ChannelPlayNumberMismatch) as refused:
        check(settlement(channel, vouchers_for(channel, 1)), chain)
    assert refused.value.expected == "1"
    check(settlement(channel, vouchers_for(channel, 1, first_play=1)), chain)


def test_two_settlements_of_one_state_in_one_block_the_second_is_stale(chain):
    channel = opened()
    chain.commit(channel)
    first = settlement(channel, vouchers_for(channel, 2))
    second = settlement(channel, vouchers_for(channel, 3))
    check(first, chain)
    with pytest.raises(ChannelStaleState):
        check(second, chain, pending=[first])
    with pytest.raises(ChannelDoubleSettlement):
        check(first, chain, pending=[first])
    chained = settlement(first, vouchers_for(channel, 1, first_play=2, first_sequence=3, settled=6))
    check(chained, chain, pending=[first])


def test_a_replayed_settlement_after_commit(chain):
    channel = opened()
    chain.commit(channel)
    first = settlement(channel, vouchers_for(channel, 2))
    chain.commit(first)
    with pytest.raises(ChannelDoubleSettlement):
        check(first, chain)
    with pytest.raises(ChannelStaleState):
        check(settlement(channel, vouchers_for(channel, 3)), chain)


def changed(vouchers, index, **fields):
    """Vouchers with one re-signed with other fields."""
    voucher = {key: value for key, value in vouchers[index].items() if key != "signature"}
    voucher.update(fields)
    vouchers = list(vouchers)
    vouchers[index] = make_voucher(CAROL.private_key, **{k: v for k, v in voucher.items() if k != "version"})
    return vouchers


@pytest.mark.parametrize("plays, error", [
    ([(1, 0), (3, 1)], ChannelSequenceGap),
    ([(1, 0), (1, 1)], ChannelStaleVoucher),
    ([(1, 0), (2, 0)], ChannelPlayNumberMismatch),  # a repeat
    ([(1, 0), (2, 2)], ChannelPlayNumberMismatch),  # a gap
])
def test_sequence_and_play_number_refusals(chain, plays, error):
    channel = opened()
    chain.commit(channel)
    with pytest.raises(error):
        check(settlement(channel, made_vouchers(channel, plays)), chain)


@pytest.mark.parametrize("alter, error", [
    (lambda c, v: changed(v, 1, total=5), ChannelWrongTotal),
    (lambda c, v: changed(v, 1, channel="ab" * 32), ChannelVoucherOtherChannel),
    (lambda c, v: changed(v, 1, territory="US"), PlayRightTerritory),
    (lambda c, v: [v[0], {**v[1], "signature": v[0]["signature"]}, v[2]], ChannelBadSignature),
    (lambda c, v: vouchers_for(c, 3, signer=BOB), ChannelBadSignature),
])
def test_voucher_refusals(chain, alter, error):
    channel = opened()
    chain.commit(channel)
    vouchers = alter(channel, vouchers_for(channel, 3))
    with pytest.raises(error):
        check(settlement(channel, vouchers), chain)


@pytest.mark.parametrize("alter, error", [
    (lambda v: changed(v, 0, price=4, total=4), ChannelWrongPrice),
    (lambda v: changed(v, 0, territory="XX"), PlayUnknownTerritory),
])
def test_stateless_voucher_refusals(chain, alter, error):
    channel = opened()
    chain.commit(channel)
    with pytest.raises(error):
        settlement(channel, alter(vouchers_for(channel, 1)))


def test_overdrawn(chain):
    # Conservation alone stops a total above the channel output (deposit + anchor); the
    # anchor token itself is not for vouchers.
    channel = opened(deposit=13)
    chain.commit(channel)
    check(settlement(channel, vouchers_for(channel, 2)), chain)  # 6 of 13
    vouchers = vouchers_for(channel, 3)  # 14: the deposit and the anchor
    state = read(channel)
    tx = channel_settle.settle({**state, "deposit": 14}, vouchers, {TRACK.id: (SPLIT.id, payees_of(SPLIT))},
                               PARAMETERS, CREDIT.id)
    tx.outputs = tx.outputs[1:]  # the channel output would hold 14 - 14 + 1: the anchor
    tx.metadata = {**tx.metadata, "deposit": 13}
    with pytest.raises(ChannelOverdrawn):
        check(signed(tx, BOB), chain)


def forged_settlement(latest, vouchers, **metadata):
    tx = channel_settle.settle(read(latest), vouchers, {TRACK.id: (SPLIT.id, payees_of(SPLIT))},
                               PARAMETERS, CREDIT.id)
    tx.metadata = {**tx.metadata, **metadata}
    return signed(tx, BOB)


@pytest.mark.parametrize("metadata, error", [
    ({"count": 2}, ChannelWrongCommitment),
    ({"root": "00" * 32}, ChannelWrongCommitment),
    ({"splits": {}}, ChannelWrongSplits),
    ({"settled": 5}, ChannelWrongState),
    ({"deposit": 99999}, ChannelWrongState),
    ({"closing": "00" * 32}, ChannelWrongState),
])
def test_settlement_metadata_refusals(chain, metadata, error):
    channel = opened()
    chain.commit(channel)
    with pytest.raises(error):
        check(forged_settlement(channel, vouchers_for(channel, 1), **metadata), chain)


def test_settlement_outputs_must_be_the_pooled_payouts(chain):
    channel = opened()
    chain.commit(channel)
    tx = channel_settle.settle(read(channel), vouchers_for(channel, 3), {TRACK.id: (SPLIT.id, payees_of(SPLIT))},
                               PARAMETERS, CREDIT.id)
    tx.outputs[1].amount += 1
    tx.outputs[0].amount -= 1
    with pytest.raises(ChannelWrongOutputs):
        check(signed(tx, BOB), chain)


def test_close_then_settle_within_the_delay_then_refund_after_it(chain):
    channel = opened()
    chain.commit(channel)
    vouchers = vouchers_for(channel, 4)
    close = signed(channel_close.close(read(channel), CREDIT.id), CAROL)
    check(close, chain)
    chain.commit(close, time=DAY + 100)
    with pytest.raises(ChannelEarlyRefund):
        check(signed(channel_refund.refund(read(close), CREDIT.id), CAROL), chain, time=DAY + 100 + DELAY - 1)
    with pytest.raises(ChannelClosing):
        check(signed(channel_close.close(read(close), CREDIT.id), BOB), chain, time=DAY + 200)
    with pytest.raises(ChannelExpired):
        check(settlement(close, vouchers), chain, time=DAY + 100 + DELAY)
    paid = settlement(close, vouchers)
    assert paid.metadata["closing"] == close.id
    check(paid, chain, time=DAY + 100 + DELAY - 1)
    chain.commit(paid, time=DAY + 100 + DELAY - 1)
    refund = signed(channel_refund.refund(read(paid), CREDIT.id), BOB)
    check(refund, chain, time=DAY + 100 + DELAY)
    assert [(output.public_keys, output.amount) for output in refund.outputs] == [
        ([CAROL.public_key], 2000 - 30 + 1)]
    chain.commit(refund, time=DAY + 100 + DELAY)
    with pytest.raises(ChannelClosed):
        check(settlement(paid, vouchers_for(channel, 1, first_play=4, first_sequence=5, settled=30)), chain,
              time=DAY + 2 * DELAY)


def test_refund_of_an_open_channel_is_refused(chain):
    channel = opened()
    chain.commit(channel)
    with pytest.raises(ChannelNotClosing):
        check(signed(channel_refund.refund(read(channel), CREDIT.id), CAROL), chain, time=DAY + 10 * DELAY)


def test_top_up_grows_the_deposit_and_not_once_closing(chain):
    channel = opened(deposit=1000)
    chain.commit(channel)
    topped = signed(channel_topup.top_up(read(channel), [(channel, 1)], 500), CAROL)
    check(topped, chain)
    assert topped.metadata["deposit"] == 1500 and topped.outputs[0].amount == 1501
    chain.commit(topped)
    close = signed(channel_close.close(read(topped), CREDIT.id), BOB)
    chain.commit(close)
    with pytest.raises(ChannelClosing):
        check(signed(channel_topup.top_up(read(close), [(topped, 1)], 100), CAROL), chain)


def test_receivers_are_the_platform_or_a_receiver_key(chain):
    with pytest.raises(ChannelUnknownReceiver):
        check(opened(receiver=ALICE), chain)


def test_a_listener_cannot_build_a_channel_to_itself():
    with pytest.raises(ValueError, match="two distinct public keys"):
        opened(receiver=CAROL)


def test_a_receiver_key_from_the_parameters_is_accepted():
    member = generate_key_pair()
    chain = Chain({**CHANNEL_PARAMETERS, "receiver_keys": [member.public_key]})
    check(signed(channel_open.open_channel([(PURCHASE, 0)], CAROL.public_key, member.public_key, 100), CAROL), chain)


def test_open_refuses_credits_not_the_listeners(chain):
    tx = channel_open.open_channel([(PURCHASE, 1)], CAROL.public_key, BOB.public_key, 100)
    with pytest.raises(ChannelNotListener):
        check(signed(tx, ALICE), chain)


def test_open_with_a_wrong_deposit_output_is_refused(chain):
    tx = channel_open.open_channel([(PURCHASE, 0)], CAROL.public_key, BOB.public_key, 100)
    tx.metadata = {**tx.metadata, "deposit": 200}
    with pytest.raises(ChannelWrongOutputs):
        check(signed(tx, CAROL), chain)


def test_a_listener_or_receiver_alone_signs_for_the_channel_output(chain):
    channel = opened()
    chain.commit(channel)
    for signer in (CAROL, BOB):
        check(signed(channel_close.close(read(channel), CREDIT.id), signer), chain)
    with pytest.raises(Exception):
        signed(channel_close.close(read(channel), CREDIT.id), ALICE)


# -- the channel reads, through HTTP, as documented

def http_get(store, path):
    from bigchaindb_resonate import api

    response = api_client(store).get(api.PREFIX + path)
    return response.status_code, response.get_json()


def test_channel_reads_follow_the_channel_and_match_the_documented_schema(chain):
    import jsonschema

    channel = opened()
    chain.commit(channel)
    paid = settlement(channel, vouchers_for(channel, 3))
    chain.commit(paid)
    close = signed(channel_close.close(read(paid), CREDIT.id), CAROL)
    chain.commit(close, time=DAY + 50)
    chain.store.consensus_time = None  # a read sees committed blocks only
    status, body = http_get(chain.store, f"/channels/{channel.id}")
    assert status == 200
    jsonschema.validate(body, documented("/channels/{channel_id}"))
    assert body == {"channel": channel.id, "listener": CAROL.public_key, "receiver": BOB.public_key,
                    "status": "closing", "deposit": 2000, "settled": 14, "remaining": 1986,
                    "sequence": 3, "closing": close.id, "closes_at": DAY + 50 + DELAY,
                    "latest_transaction": close.id,
                    "channel_output": {"transaction_id": close.id, "output_index": 0, "amount": 1987}}
    assert http_get(chain.store, f"/listeners/{CAROL.public_key}/channel") == (200, body)
    assert http_get(chain.store, f"/listeners/{ALICE.public_key}/channel")[0] == 404
    assert http_get(chain.store, f"/channels/{paid.id}")[0] == 404
    status, owned = http_get(chain.store, f"/tracks/{TRACK.id}/listeners/{CAROL.public_key}")
    assert (owned["plays"], owned["tokens_paid"], owned["next_price"]) == (3, 14, 16)


# -- reports: channel plays count exactly like direct plays

def totals_and_lines(chain):
    from bigchaindb_resonate.reports import totals
    from bigchaindb_resonate.reports.compute import Period, Scope, StoreLedger, report_lines

    chain.store.consensus_time = None
    ledger = StoreLedger(chain.store)
    kept = totals.Totals()
    for document in chain.store.collection(totals.ROWS).documents:
        for row in totals.rows_of(document):
            kept.add_play(document["time"], row["metadata"], row["outputs"], PARAMETERS["platform_key"])
    rebuilt = totals.recompute(ledger, chain.height).documents
    return kept.documents, rebuilt, list(report_lines(ledger, Scope("network"), Period()))


def test_ten_channel_plays_report_and_total_like_ten_plays():
    direct, through_channel = Chain(), Chain()
    done, wallet = [], (PURCHASE, 0)
    for number in range(10):
        done.append(a_play(number, credits=(wallet,)))
        wallet = (done[-1], len(done[-1].outputs) - 1)
    direct.commit(*done)
    channel = opened()
    through_channel.commit(channel)
    through_channel.commit(settlement(channel, vouchers_for(channel, 10)))
    kept_direct, rebuilt_direct, lines_direct = totals_and_lines(direct)
    kept_channel, rebuilt_channel, lines_channel = totals_and_lines(through_channel)
    assert kept_channel == rebuilt_channel == kept_direct == rebuilt_direct
    assert kept_channel["network"]["paid_plays"] == 9 and kept_channel["network"]["ownerships"] == 1

    def comparable(lines):
        ignored = {"tx", "height", "voucher", "app_hash", "at_height", "to_height", "sha256"}
        return [{key: value for key, value in line.items() if key not in ignored}
                for line in lines if line["kind"] not in ("report", "digest")]

    assert comparable(lines_channel) == comparable(lines_direct)
    plays = [line for line in lines_channel if line["kind"] == "play"]
    assert [line["voucher"] for line in plays] == list(range(1, 11))
    assert {line["tx"] for line in plays} == {through_channel.store.collection("blocks").documents[-1]["transactions"][0]}


def test_the_audit_finds_a_voucher_not_signed_or_not_included():
    from bigchaindb_resonate.reports.audit import _voucher_problems

    channel = opened()
    paid = settlement(channel, vouchers_for(channel, 3))
    assert _voucher_problems(paid.metadata) == []
    forged = {**paid.metadata, "vouchers": [paid.metadata["vouchers"][0],
                                            {**paid.metadata["vouchers"][1], "total": 99},
                                            paid.metadata["vouchers"][2]]}
    # The root no longer commits to this list: no voucher proves its inclusion.
    assert _voucher_problems(forged) == ["voucher 1 is not included in its root",
                                         "voucher 2 is not signed by its listener",
                                         "voucher 2 is not included in its root",
                                         "voucher 3 is not included in its root"]


@pytest.mark.parametrize("fmt", ["json", "csv", "dsr"])
def test_a_report_with_channel_plays_audits_clean_and_a_forged_voucher_is_named(fmt, monkeypatch):
    from bigchaindb_resonate.reports import audit
    from .test_reports import fetch, nodes_over

    from bigchaindb_resonate.types.party import Party
    from .test_copyright import WORK, parsed

    chain = Chain()
    # The market's work names a party: the same one test_copyright builds (same key and
    # data: the same transaction), which a report's catalogue reads.
    composer = parsed(Party.build([ALICE.public_key], {"@type": "Person", "name": "Ada"}))
    assert WORK.asset["data"]["composer"] == [composer.id]
    channel = opened()
    chain.commit(composer, channel)
    paid = settlement(channel, vouchers_for(channel, 10))
    chain.commit(paid)
    chain.store.consensus_time = None
    nodes = nodes_over(chain.store)
    status, text = fetch(nodes, format=fmt)
    assert status == 200
    result = audit.audit(text.splitlines(True), list(nodes["clients"]), nodes["clients"])
    assert result.findings == [] and result.transactions == 2 * 1  # the settlement, on each node
    if fmt == "json":
        plays = [line for line in json.loads(text)["lines"] if line["kind"] == "play"]
        assert [(line["tx"], line["voucher"]) for line in plays] == [(paid.id, n) for n in range(1, 11)]
    stored = chain.store.transaction(paid.id)
    forged = {**stored, "metadata": {**stored["metadata"], "vouchers": [
        {**stored["metadata"]["vouchers"][0], "signature": stored["metadata"]["vouchers"][1]["signature"]},
        *stored["metadata"]["vouchers"][1:]]}}
    monkeypatch.setattr(chain.store, "transaction", lambda txid: forged if txid == paid.id else
                        type(chain.store).transaction(chain.store, txid))
    findings = audit.audit(text.splitlines(True), list(nodes["clients"]), nodes["clients"]).findings
    assert any("voucher 1 is not signed by its listener" in finding for finding in findings)


def test_a_settlement_spending_more_than_the_channel_output_or_another_output_is_refused(chain):
    from bigchaindb_resonate.types.channels import ChannelWrongInput

    channel = opened()
    chain.commit(channel)
    tx = channel_settle.settle(read(channel), vouchers_for(channel, 1), {TRACK.id: (SPLIT.id, payees_of(SPLIT))},
                               PARAMETERS, CREDIT.id)
    extra = LightTransaction.from_dict(channel.to_dict()).to_inputs([1])
    tx.inputs += extra
    tx.outputs[0].amount += channel.outputs[1].amount
    with pytest.raises(ChannelWrongInput):
        check(signed(tx, CAROL), chain)
    elsewhere = channel_close.close({**read(channel), "latest_transaction": PURCHASE.id}, CREDIT.id)
    elsewhere.inputs = LightTransaction.from_dict(channel.to_dict()).to_inputs([1])
    elsewhere.outputs[0].amount = channel.outputs[1].amount
    with pytest.raises(ChannelWrongInput):
        check(signed(elsewhere, CAROL), chain)


def test_a_channel_of_another_asset_is_refused(chain):
    from bigchaindb_resonate.types.channels import ChannelNotCredit
    from .test_play import COPYRIGHT

    # Alice holds the 100 shares of the Copyright: a channel cannot hold them.
    tx = channel_open.open_channel([(COPYRIGHT, 0)], ALICE.public_key, BOB.public_key, 99)
    with pytest.raises(ChannelNotCredit):
        check(signed(tx, ALICE), chain)


def test_a_paid_voucher_of_a_track_without_a_split_is_refused_as_a_play_would_be():
    from bigchaindb_resonate.types.play import PlayNoSplit

    chain = Chain(market=[tx for tx in MARKET if tx is not SPLIT])
    channel = opened()
    chain.commit(channel)
    tx = channel_settle.settle(read(channel), vouchers_for(channel, 1), {TRACK.id: (None, [])},
                               PARAMETERS, CREDIT.id)
    assert tx.metadata["splits"] == {}
    with pytest.raises(PlayNoSplit):
        check(signed(tx, BOB), chain)
