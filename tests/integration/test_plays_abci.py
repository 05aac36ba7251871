"""SPLIT and PLAY through the node's ABCI application over a real FerretDB store, on a
chain whose genesis names a treasury, a platform key and a 30% co-op share: ten plays
priced by the curve (two of them in one block), split changes, licences, replays and
conflicting plays."""
import itertools
import json

import pytest
from abci import ABCI, TmVersion
from bigchaindb.backend import connect, schema
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import reads
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.credit import Credit
from bigchaindb_resonate.types.play import Play, PlayWrongOutputs
from bigchaindb_resonate.types.split import Split
from bigchaindb_resonate.validators.royalties import payouts, price

from .abci import commit_block, party, raw
from .test_registry_abci import codes, recording, work
from .test_rights_abci import a_right, delivered, signed

pytestmark = pytest.mark.integration
_databases = itertools.count()
COOP_SHARE_BP = 3000
PURCHASE = 5000


@pytest.fixture
def chain(ferretdb, request):
    """An ABCI app whose genesis carries the network parameters (and those a test gives
    by indirect parametrization of `chain`)."""
    import bigchaindb.start

    name = f"plays_test_{next(_databases)}"
    bigchaindb.config["database"].update(host="127.0.0.1", port=ferretdb, name=name)
    connection = connect()
    schema.init_database(connection)
    treasury, platform = generate_key_pair(), generate_key_pair()
    types = ABCI(TmVersion.v0_31_5).types
    application = bigchaindb.start.App(abci=types)
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                  "coop_share_bp": COOP_SHARE_BP, **getattr(request, "param", {})}
    application.init_chain(types.RequestInitChain(
        chain_id="plays", app_state_bytes=json.dumps({"resonate": parameters}).encode()))
    application.height = 0
    application.treasury, application.platform = treasury, platform
    yield application
    schema.drop_database(connection, name)


class Market:
    """A recording with its Copyright (the artist's), a streaming licence the platform
    holds, the credit token, a 70/30 split between artist and producer, and a listener
    who bought credits: all committed."""

    def __init__(self, app):
        self.app = app
        self.artist, self.producer, self.listener = (generate_key_pair() for _ in range(3))
        band = party(self.artist, "Kokoroko")
        composition = work(self.artist, band["id"])
        self.track = recording(self.artist, composition["id"], band["id"])
        self.copyright = signed(Copyright.build([self.artist.public_key], {
            "rightsOf": self.track["id"], "territory": {"include": ["Worldwide"]},
            "validFrom": "2020-01-01"}), self.artist)
        self.licence = a_right(self.copyright, [self.artist], [(app.platform, 100)],
                               territory={"include": ["Worldwide"], "exclude": ["US"]})
        self.credit = signed(Credit.build([app.treasury.public_key]), app.treasury)
        self.split = self.set_split({self.artist: 7000, self.producer: 3000})
        self.wallet = self.buy(PURCHASE)
        assert codes(commit_block(app, [raw(tx) for tx in (
            band, composition, self.track, self.copyright, self.licence, self.credit,
            self.split, self.wallet)])) == ["OK"] * 8
        self.wallet = (self.wallet, 0)
        self.plays = 0

    def set_split(self, shares, subject=None):
        return signed(Split.build([self.artist.public_key], {
            "subject": subject or self.track["id"],
            "payees": [(key.public_key, bp) for key, bp in shares.items()]}), self.artist)

    def buy(self, amount, holder=None):
        """A treasury TRANSFER of credits to the listener, the rest back to the treasury."""
        treasury = self.app.treasury
        credit = Transaction.from_dict(self.credit)
        tx = Transaction.transfer(credit.to_inputs(), [([(holder or self.listener).public_key], amount),
                                                       ([treasury.public_key], credit.outputs[0].amount - amount)],
                                  asset_id=credit.id)
        return signed(tx, treasury)

    def play(self, number=None, split=None, wallet=None, right=None, territory="GB"):
        """The listener's next play (or play `number`), spending the wallet's output."""
        spending, index = wallet or self.wallet
        split = split or self.split
        payees = [(payee["publicKey"], payee["shareBp"]) for payee in split["asset"]["data"]["payees"]]
        tx = Play.pay([(Transaction.from_dict(spending), index)], self.listener.public_key, {
            "track": self.track["id"], "territory": territory, "right": (right or self.licence)["id"],
            "playNumber": self.plays if number is None else number, "split": split["id"]},
            payees, {"platform_key": self.app.platform.public_key, "coop_share_bp": COOP_SHARE_BP})
        return signed(tx, self.listener)

    def forged(self, tx, metadata, outputs=None):
        """Play `tx` rebuilt with other metadata or outputs, spending the wallet, signed."""
        spending, index = self.wallet
        outputs = outputs or [(output.public_keys, output.amount) for output in tx.outputs]
        return signed(Play.build(Transaction.from_dict(spending).to_inputs([index]), outputs,
                                 tx.asset["id"], metadata), self.listener)

    def played(self, tx):
        """The play is committed: the change is the wallet."""
        self.wallet = (tx, len(tx["outputs"]) - 1)
        self.plays += 1

    def balance(self, keypair):
        return reads.credit_balance(self.app.bigchaindb, keypair.public_key)["balance"]


@pytest.fixture
def market(chain):
    return Market(chain)


def test_ten_plays_priced_by_the_curve_paying_each_payee_its_share(market):
    keys = (market.listener, market.artist, market.producer, market.app.platform)
    expected = dict.fromkeys(keys, 0)
    expected[market.listener] = PURCHASE
    # Plays 0..6 one per block, 7 and 8 in one block (the second priced as the next), 9 free.
    blocks = [[number] for number in range(7)] + [[7, 8], [9]]
    for block in blocks:
        plays = []
        for _ in block:
            plays.append(market.play())
            market.played(plays[-1])
        assert delivered(market.app, *plays) == ["OK"] * len(plays)
        for tx in plays:
            cost = tx["metadata"]["price"]
            assert cost == price(tx["metadata"]["playNumber"])
            paid, coop = payouts(cost, [(market.artist.public_key, 7000),
                                        (market.producer.public_key, 3000)],
                                 {"coop_share_bp": COOP_SHARE_BP})
            expected[market.listener] -= cost
            expected[market.artist] += dict(paid)[market.artist.public_key]
            expected[market.producer] += dict(paid)[market.producer.public_key]
            expected[market.app.platform] += coop
        assert {key: market.balance(key) for key in keys} == expected
    assert market.balance(market.listener) == PURCHASE - 1022
    assert sum(expected.values()) == PURCHASE
    owned = reads.ownership(market.app.bigchaindb, market.track["id"], market.listener.public_key)
    assert owned == {"track": market.track["id"], "listener": market.listener.public_key,
                     "plays": 10, "tokens_paid": 1022, "owned": True, "next_price": 0}
    history = reads.credit_history(market.app.bigchaindb, market.listener.public_key)
    assert [step["spent"] - step["received"] for step in history["steps"][1:]] == \
        [price(number) for number in range(10)]


def test_a_play_priced_off_the_curve_or_paying_the_wrong_outputs_is_refused(market):
    tx = Transaction.from_dict(market.play())
    cheap = market.forged(tx, {**tx.metadata, "price": 1})
    assert "PLAY_WRONG_PRICE" in market.app.check_tx(raw(cheap)).log
    outputs = [(output.public_keys, output.amount) for output in tx.outputs]
    outputs[0], outputs[-1] = (outputs[0][0], outputs[0][1] + 1), (outputs[-1][0], outputs[-1][1] - 1)
    generous = market.forged(tx, tx.metadata, outputs)
    with pytest.raises(PlayWrongOutputs) as refused:
        Transaction.from_dict(generous).validate(market.app.bigchaindb)
    assert refused.value.expected == str([(output.public_keys, output.amount) for output in tx.outputs])


def test_a_split_change_applies_from_its_block_on(market):
    first = market.play()
    assert delivered(market.app, first) == ["OK"]
    market.played(first)
    newer = market.set_split({market.producer: 10000})
    stale = market.play()
    assert delivered(market.app, newer, stale) == ["OK", "PLAY_WRONG_SPLIT"]
    current = market.play(split=newer)
    assert delivered(market.app, current) == ["OK"]
    # Play 0 (2 tokens) by 70/30: artist 1, the co-op 0 + the rounding remainder 1.
    # Play 1 (4 tokens) all to the producer: the co-op 1, the producer 3.
    assert [market.balance(key) for key in (market.artist, market.producer, market.app.platform)] == [1, 3, 2]
    history = reads.splits(market.app.bigchaindb, market.track["id"])
    assert [split["id"] for split in history["splits"]] == [market.split["id"], newer["id"]]
    assert history["in_force"] == newer["id"]


def test_a_split_of_the_copyright_applies_only_while_the_track_has_none(market, chain):
    other = recording(market.artist, market.track["asset"]["data"]["recordingOf"],
                      market.track["asset"]["data"]["byArtist"][0], name="Uman")
    copyright = signed(Copyright.build([market.artist.public_key], {
        "rightsOf": other["id"], "territory": {"include": ["Worldwide"]},
        "validFrom": "2020-01-01"}), market.artist)
    by_copyright = market.set_split({market.artist: 10000}, subject=copyright["id"])
    stranger = generate_key_pair()
    not_holder = signed(Split.build([stranger.public_key], {
        "subject": other["id"], "payees": [(stranger.public_key, 10000)]}), stranger)
    assert codes(commit_block(chain, [raw(other), raw(copyright), raw(by_copyright),
                                      raw(not_holder)])) == ["OK", "OK", "OK", "SPLIT_NOT_HOLDERS"]
    assert reads.splits(chain.bigchaindb, other["id"])["in_force"] == by_copyright["id"]
    direct = market.set_split({market.producer: 10000}, subject=other["id"])
    assert codes(commit_block(chain, [raw(direct)])) == ["OK"]
    assert reads.splits(chain.bigchaindb, other["id"])["in_force"] == direct["id"]


def test_a_play_without_a_streaming_licence_for_the_track_is_refused(market):
    app = market.app
    download_only = a_right(market.copyright, [market.artist], [(app.platform, 100)],
                            usageType=["download"])
    not_platform = a_right(market.copyright, [market.artist], [(market.producer, 100)])
    assert codes(commit_block(app, [raw(download_only), raw(not_platform)])) == ["OK", "OK"]
    refusals = [market.play(right=download_only), market.play(right=not_platform),
                market.play(territory="US"), market.play(right=market.track)]
    assert codes(commit_block(app, [raw(tx) for tx in refusals])) == [
        "PLAY_RIGHT_NOT_STREAMING", "PLAY_RIGHT_NOT_PLATFORM", "PLAY_RIGHT_TERRITORY",
        "LINK_WRONG_KIND"]


def test_a_replay_and_a_second_play_with_the_same_number_are_refused(market):
    tx = market.play()
    assert delivered(market.app, tx) == ["OK"]
    assert codes(commit_block(market.app, [raw(tx)])) == ["HOST_DUPLICATE_TRANSACTION"]
    again = market.play(number=0, wallet=(tx, len(tx["outputs"]) - 1))
    assert codes(commit_block(market.app, [raw(again)])) == ["PLAY_NUMBER_MISMATCH"]


def test_conflicting_plays_in_one_block_commit_once(market):
    # Two plays numbered 0 spending different outputs conflict by their number; two plays
    # spending the same output conflict as a double spend.
    first, rival = market.play(), market.play(wallet=_second_wallet(market))
    double = market.play(number=1)
    assert delivered(market.app, first, rival, double) == ["OK", "PLAY_NUMBER_MISMATCH",
                                                           "HOST_DOUBLE_SPEND"]


def _second_wallet(market):
    """A second credit output for the listener, bought with the treasury's change."""
    treasury = market.app.treasury
    holding = Transaction.from_dict(market.wallet[0])
    change = holding.outputs[1].amount
    tx = signed(Transaction.transfer(holding.to_inputs([1]), [
        ([market.listener.public_key], 100), ([treasury.public_key], change - 100)],
        asset_id=holding.asset["id"]), treasury)
    assert codes(commit_block(market.app, [raw(tx)])) == ["OK"]
    return (tx, 0)


def test_play_metadata_on_another_transaction_does_not_count(market):
    tx = market.play()
    fake = Transaction.from_dict(market.wallet[0])
    impostor = signed(Transaction.transfer(fake.to_inputs([0]), [([market.listener.public_key], PURCHASE)],
                                           asset_id=fake.asset["id"], metadata=tx["metadata"]), market.listener)
    assert codes(commit_block(market.app, [raw(impostor)])) == ["OK"]
    real = market.play(wallet=(impostor, 0))
    assert delivered(market.app, real) == ["OK"]
