"""Payment channels through the node's ABCI application over a real FerretDB store (the
market of test_plays_abci.py, the platform as receiver): ten plays through a channel pay
what ten PLAYs pay and count like them; same-block cases (two settlements of one channel;
a settlement and a PLAY of the same play number); a close with unsettled vouchers, settled
within the delay, then refunded; a batch settlement of two channels, alone and in a block
with a settlement of one of its channels or with itself, on a chain under rule version 3
(batched settlements), and refused under the default version."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate import reads
from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.operations import (
    channel_close, channel_open, channel_refund, channel_settle, channel_settle_batch,
)
from bigchaindb_resonate.reports import totals
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.channels import channel_part, state_of
from bigchaindb_resonate.validators.royalties import payouts, price
from bigchaindb_resonate.vouchers import make_voucher

from .abci import GENESIS_SECONDS, commit_block, raw
from .test_plays_abci import PURCHASE, chain, market  # noqa: F401 (fixtures)
from .test_registry_abci import codes
from .test_rights_abci import delivered

pytestmark = pytest.mark.integration
DELAY = 86_400  # the default channel_settle_delay_s: this chain's genesis leaves it out
# A chain whose genesis switches batched settlements on (indirect parameter of `chain`).
UNDER_BATCH_RULES = pytest.mark.parametrize("chain", [{"rules_version": BATCHED_SETTLEMENTS}],
                                            indirect=True)


def one_side(tx, keypair):
    """Signed by one side only, as a listener or a receiver signs a channel output."""
    return LightTransaction.from_dict(tx.to_dict()).sign([keypair.private_key]).to_dict()


def state(tx):
    """The channel read after `tx` (committed or not), as the builders take it."""
    return {**state_of(Transaction.from_dict(tx)), "latest_transaction": tx["id"]}


class Channel:
    def __init__(self, market, deposit=2000, listener=None, wallet=None):
        self.market, self.listener = market, listener or market.listener
        self.opened = one_side(channel_open.open_channel(
            [wallet or market.wallet], self.listener.public_key, market.app.platform.public_key, deposit),
            self.listener)
        self.sequence, self.total = 0, 0

    def vouchers(self, *plays):
        made = []
        for play in plays:
            self.sequence += 1
            self.total += price(play)
            made.append(make_voucher(
                self.listener.private_key, channel=self.opened["id"],
                listener=self.listener.public_key, sequence=self.sequence,
                track=self.market.track["id"], play=play, price=price(play), total=self.total,
                territory="GB", right=self.market.licence["id"]))
        return made

    def settle(self, after, vouchers):
        tx = channel_settle.settle(batch_state(after, self.opened["id"]), vouchers, splits(self.market),
                                   parameters(self.market),
                                   self.market.credit["id"])
        return one_side(tx, self.market.app.platform)


def splits(market):
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in market.split["asset"]["data"]["payees"]]
    return {market.track["id"]: (market.split["id"], payees)}


def parameters(market):
    """The parameters in force, as a node answers them (what builders and payouts take)."""
    return reads.network(market.app.bigchaindb)["parameters"]


def what_plays_pay(market, numbers):
    """[artist, producer, co-op] tokens that PLAYs of these play numbers pay under the
    parameters in force, the split's payees in their committed order (from rule version 2
    the remainder goes to the first)."""
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in market.split["asset"]["data"]["payees"]]
    artist = producer = coop = 0
    for number in numbers:
        shares, co_op = payouts(price(number), payees, parameters(market))
        artist += dict(shares)[market.artist.public_key]
        producer += dict(shares)[market.producer.public_key]
        coop += co_op
    return [artist, producer, coop]


def paid_to_artist_producer_coop(market):
    return [market.balance(key) for key in (market.artist, market.producer, market.app.platform)]


def test_ten_plays_through_a_channel_pay_and_count_as_ten_plays(market):
    channel = Channel(market)
    assert delivered(market.app, channel.opened) == ["OK"]
    settled = channel.settle(channel.opened, channel.vouchers(*range(10)))
    assert delivered(market.app, settled) == ["OK"]
    artist, producer, coop = what_plays_pay(market, range(10))
    assert paid_to_artist_producer_coop(market) == [artist, producer, coop]
    assert market.balance(market.listener) == PURCHASE - 2001  # the rest is in the channel
    owned = reads.ownership(market.app.bigchaindb, market.track["id"], market.listener.public_key)
    assert (owned["plays"], owned["owned"], owned["tokens_paid"]) == (10, True, 1022)
    read = reads.channel(market.app.bigchaindb, channel.opened["id"])
    assert (read["status"], read["settled"], read["sequence"], read["remaining"]) == ("open", 1022, 10, 978)
    conn = market.app.bigchaindb.connection
    network = conn.run(conn.collection(totals.COLLECTION).find_one({"_id": "network"}))
    assert (network["paid_plays"], network["free_plays"], network["ownerships"], network["tokens"]) == (
        9, 1, 1, 1022)
    assert network["payee_tokens"] == artist + producer and network["coop_tokens"] == coop


def test_two_settlements_of_one_channel_in_one_block(market):
    channel = Channel(market)
    assert delivered(market.app, channel.opened) == ["OK"]
    vouchers = channel.vouchers(0, 1, 2)
    first = channel.settle(channel.opened, vouchers[:2])
    other = channel.settle(channel.opened, vouchers)   # the same state: a double settlement
    chained = channel.settle(first, vouchers[2:])      # continues the first: fine
    assert delivered(market.app, first, other, chained) == ["OK", "CHANNEL_STALE_STATE", "OK"]
    assert codes(commit_block(market.app, [raw(first)])) == ["CHANNEL_DOUBLE_SETTLEMENT"]
    assert reads.channel(market.app.bigchaindb, channel.opened["id"])["sequence"] == 3


def test_a_settlement_and_a_play_of_the_same_play_number_in_one_block(market):
    # PLAY first, then the channel and a settlement of the same play number 0.
    play = market.play(number=0)
    market.played(play)
    channel = Channel(market)
    settled = channel.settle(channel.opened, channel.vouchers(0))
    assert codes(commit_block(market.app, [raw(play), raw(channel.opened), raw(settled)])) == [
        "OK", "OK", "CHANNEL_PLAY_NUMBER_MISMATCH"]
    # The channel now live: a PLAY of the next play number loses to the settlement of it.
    channel.sequence, channel.total = 0, 0
    settled = channel.settle(channel.opened, channel.vouchers(1))
    change = (channel.opened, 1)
    direct = market.play(number=1, wallet=change)
    assert codes(commit_block(market.app, [raw(settled), raw(direct)])) == [
        "OK", "PLAY_LISTENER_HAS_CHANNEL"]
    owned = reads.ownership(market.app.bigchaindb, market.track["id"], market.listener.public_key)
    assert owned["plays"] == 2


def test_a_close_with_unsettled_vouchers_is_settled_within_the_delay_then_refunded(market):
    channel = Channel(market)
    commit_block(market.app, [raw(channel.opened)], seconds=GENESIS_SECONDS + 1000)
    held = channel.vouchers(0, 1, 2)  # accepted by the receiver, not settled yet
    close = one_side(channel_close.close(state(channel.opened), market.credit["id"]), market.listener)
    closed_at = GENESIS_SECONDS + 2000
    assert codes(commit_block(market.app, [raw(close)], seconds=closed_at)) == ["OK"]
    read = reads.channel(market.app.bigchaindb, channel.opened["id"])
    assert (read["status"], read["closes_at"]) == ("closing", closed_at + DELAY)
    early = one_side(channel_refund.refund(state(close), market.credit["id"]), market.listener)
    assert codes(commit_block(market.app, [raw(early)], seconds=closed_at + DELAY - 1)) == [
        "CHANNEL_EARLY_REFUND"]
    settled = channel.settle(close, held)
    assert codes(commit_block(market.app, [raw(settled)], seconds=closed_at + DELAY - 1)) == ["OK"]
    refund = one_side(channel_refund.refund(state(settled), market.credit["id"]), market.listener)
    late = channel.settle(settled, channel.vouchers(3))
    assert codes(commit_block(market.app, [raw(late), raw(refund)], seconds=closed_at + DELAY)) == [
        "CHANNEL_EXPIRED", "OK"]
    assert market.balance(market.listener) == PURCHASE - 14  # three plays paid, the rest back
    assert reads.channel(market.app.bigchaindb, channel.opened["id"])["status"] == "closed"
    assert reads.listener_channel(market.app.bigchaindb, market.listener.public_key) is None


# -- CHANNEL_SETTLE_BATCH

def batch_state(tx, channel_id):
    """The channel read after `tx` (a batch among them), as reads.channel answers it."""
    tx = Transaction.from_dict(tx)
    index = channel_part(tx, channel_id)[0]
    return {**state_of(tx, channel_id), "latest_transaction": tx.id,
            "channel_output": {"transaction_id": tx.id, "output_index": index}}


def batch(market, *settlements):
    """A batch of (latest transaction, Channel, vouchers), signed by the platform."""
    tx = channel_settle_batch.settle_batch(
        [(batch_state(latest, channel.opened["id"]), vouchers) for latest, channel, vouchers in settlements],
        splits(market), parameters(market), market.credit["id"])
    return one_side(tx, market.app.platform)


def second_listener(market):
    """Another listener with credits, bought from the treasury's change, and its channel."""
    dave = generate_key_pair()
    purchase = Transaction.from_dict(market.wallet[0])
    bought = LightTransaction.transfer("TRANSFER", LightTransaction.from_dict(market.wallet[0]).to_inputs([1]), [
        ([dave.public_key], 5000), ([market.app.treasury.public_key], purchase.outputs[1].amount - 5000)],
        market.credit["id"]).sign([market.app.treasury.private_key]).to_dict()
    return Channel(market, listener=dave, wallet=(bought, 0)), bought


@UNDER_BATCH_RULES
def test_a_batch_of_two_channels_pays_and_counts_like_their_plays(market):
    carol = Channel(market)
    dave, bought = second_listener(market)
    assert delivered(market.app, bought, carol.opened, dave.opened) == ["OK"] * 3
    paid = batch(market, (carol.opened, carol, carol.vouchers(*range(10))),
                 (dave.opened, dave, dave.vouchers(0, 1, 2)))
    assert delivered(market.app, paid) == ["OK"]
    assert paid_to_artist_producer_coop(market) == what_plays_pay(market, [*range(10), 0, 1, 2])
    bigchain = market.app.bigchaindb
    read = reads.channel(bigchain, dave.opened["id"])
    assert (read["settled"], read["sequence"], read["channel_output"]["output_index"]) == (14, 3, 1)
    assert reads.listener_channel(bigchain, dave.listener.public_key)["latest_transaction"] == paid["id"]
    assert reads.ownership(bigchain, market.track["id"], dave.listener.public_key)["plays"] == 3
    conn = bigchain.connection
    network = conn.run(conn.collection(totals.COLLECTION).find_one({"_id": "network"}))
    assert (network["paid_plays"], network["tokens"]) == (12, 1022 + 14)
    # The channels go on from the batch: a settlement of one, a close of the other.
    more = carol.settle(paid, carol.vouchers(10))
    close = one_side(channel_close.close(batch_state(paid, dave.opened["id"]), market.credit["id"]),
                     dave.listener)
    assert delivered(market.app, more, close) == ["OK", "OK"]


@UNDER_BATCH_RULES
def test_a_batch_in_one_block_with_a_settlement_of_its_channel_or_itself(market):
    carol = Channel(market)
    dave, bought = second_listener(market)
    assert delivered(market.app, bought, carol.opened, dave.opened) == ["OK"] * 3
    carols, daves = carol.vouchers(0, 1), dave.vouchers(0)
    paid = batch(market, (carol.opened, carol, carols), (dave.opened, dave, daves))
    single = carol.settle(carol.opened, carols)  # the same state of Carol's channel
    assert codes(commit_block(market.app, [raw(paid), raw(single), raw(paid)])) == [
        "OK", "CHANNEL_STALE_STATE", "CHANNEL_DOUBLE_SETTLEMENT"]
    assert codes(commit_block(market.app, [raw(paid)])) == ["CHANNEL_DOUBLE_SETTLEMENT"]
    # A settlement first, then a batch of the channel's next vouchers and a rival batch.
    nxt = carol.vouchers(2)
    after_single = carol.settle(paid, nxt)
    rival = batch(market, (paid, carol, nxt))
    assert codes(commit_block(market.app, [raw(after_single), raw(rival)])) == ["OK", "CHANNEL_STALE_STATE"]
    assert reads.channel(market.app.bigchaindb, carol.opened["id"])["sequence"] == 3


def test_a_batch_is_refused_under_the_default_rules_and_the_channels_settle_one_by_one(market):
    carol = Channel(market)
    dave, bought = second_listener(market)
    assert delivered(market.app, bought, carol.opened, dave.opened) == ["OK"] * 3
    carols, daves = carol.vouchers(0, 1), dave.vouchers(0)
    paid = batch(market, (carol.opened, carol, carols), (dave.opened, dave, daves))
    assert "CHANNEL_BATCH_NOT_IN_FORCE" in market.app.check_tx(raw(paid)).log
    assert codes(commit_block(market.app, [raw(paid)])) == ["CHANNEL_BATCH_NOT_IN_FORCE"]
    assert delivered(market.app, carol.settle(carol.opened, carols), dave.settle(dave.opened, daves)) == \
        ["OK", "OK"]
