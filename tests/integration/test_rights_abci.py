"""COPYRIGHT, RIGHT and RIGHTS_ASSIGNMENT through the node's ABCI application over a real
FerretDB store: a licence chain three levels deep, every refusal with its code, same-block
conflicts, and time judged by block headers."""
import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.ledger import LedgerView
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.right import Right
from bigchaindb_resonate.types.rights_assignment import RightsAssignment

from .abci import GENESIS_SECONDS, commit_block, party, raw
from .test_registry_abci import codes, recording, work

pytestmark = pytest.mark.integration

DAY = 86400
LICENSE = {"uri": "https://resonate.coop/licences/stream-v1.pdf", "hash": "5e" * 32}
# GENESIS_SECONDS is 2026-09-21: every term below is judged against block times near it.
LICENCE = {"usageType": ["on_demand_stream", "non_interactive_stream", "download"],
           "territory": {"include": ["Worldwide"], "exclude": ["US"]},
           "validFrom": "2020-01-01", "validThrough": "2035-12-31", "exclusive": False,
           "numberOfUses": 1_000_000, "license": LICENSE}


def signed(tx, *keypairs):
    return tx.sign([keypair.private_key for keypair in keypairs]).to_dict()


def a_right(source, signers, holders, **terms):
    data = {"source": source["id"], **LICENCE, **terms}
    return signed(Right.build([key.public_key for key in signers], data,
                              holders=[(key.public_key, share) for key, share in holders]), *signers)


def assignment(holding, holder, recipient, shares=None):
    tx = RightsAssignment.assign(Transaction.from_dict(holding), holder.public_key,
                                 recipient.public_key, shares)
    return signed(tx, holder)


def holders(app, asset_id):
    return LedgerView(app.bigchaindb).current_holders(asset_id)


def delivered(app, *transactions):
    """CheckTx each transaction in turn (it sees those it accepted before), then deliver
    them in one block; CheckTx must have predicted every code. The codes."""
    checked = codes([app.check_tx(raw(tx)) for tx in transactions])
    results = codes(commit_block(app, [raw(tx) for tx in transactions]))
    assert checked == results
    return results


class Keys:
    def __init__(self):
        self.artist, self.label, self.shop, self.radio, self.fan = (
            generate_key_pair() for _ in range(5))


@pytest.fixture
def catalogue(app):
    """An artist's recording with its Copyright (the artist holds all 100 shares) and a
    licence from it held by a label: worldwide but the US, streams and downloads,
    2020-2035, a million uses."""
    keys = Keys()
    band = party(keys.artist, "Kokoroko")
    composition = work(keys.artist, band["id"])
    track = recording(keys.artist, composition["id"], band["id"])
    copyright = signed(Copyright.build([keys.artist.public_key], {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]},
        "validFrom": "2020-01-01"}), keys.artist)
    licence = a_right(copyright, [keys.artist], [(keys.label, 100)])
    assert codes(commit_block(app, [raw(tx) for tx in (band, composition, track, copyright)])) == ["OK"] * 4
    assert delivered(app, licence) == ["OK"]
    return keys, track, copyright, licence


def test_a_licence_chain_three_levels_deep_then_the_deepest_is_assigned(app, catalogue):
    keys, _, copyright, licence = catalogue
    europe = a_right(licence, [keys.label], [(keys.shop, 100)], usageType=["on_demand_stream", "download"],
                     territory={"include": ["GB", "FR", "DE"]}, validFrom="2026-01-01",
                     validThrough="2030-12-31", numberOfUses=100_000)
    assert delivered(app, europe) == ["OK"]
    uk_streams = a_right(europe, [keys.shop], [(keys.radio, 100)], usageType=["on_demand_stream"],
                         territory={"include": ["GB"]}, validFrom="2026-06-01",
                         validThrough="2028-12-31", numberOfUses=10_000, exclusive=True)
    assert delivered(app, uk_streams) == ["OK"]
    assert type(app.bigchaindb.get_transaction(uk_streams["id"])) is Right
    sale = assignment(uk_streams, keys.radio, keys.fan)
    assert delivered(app, sale) == ["OK"]
    assert type(app.bigchaindb.get_transaction(sale["id"])) is RightsAssignment
    assert holders(app, uk_streams["id"]) == [((keys.fan.public_key,), 100)]
    assert holders(app, copyright["id"]) == [((keys.artist.public_key,), 100)]
    # Only the new holder derives from it now.
    again = a_right(uk_streams, [keys.radio], [(keys.shop, 100)], usageType=["on_demand_stream"],
                    territory={"include": ["GB"]}, validFrom="2027-01-01", validThrough="2027-12-31",
                    numberOfUses=10, exclusive=False)
    assert delivered(app, again) == ["RIGHT_NOT_HOLDER"]


@pytest.mark.parametrize("signer, terms, code", [
    ("artist", {}, "RIGHT_NOT_HOLDER"),
    ("label", {"territory": {"include": ["US", "CA"]}}, "RIGHT_EXCEEDS_TERRITORY"),
    ("label", {"validThrough": "2036-01-01"}, "RIGHT_EXCEEDS_PERIOD"),
    ("label", {"usageType": ["download", "sync"]}, "RIGHT_EXCEEDS_USAGE"),
    ("label", {"numberOfUses": 1_000_001}, "RIGHT_EXCEEDS_USES"),
])
def test_a_sub_licence_beyond_its_source_is_refused(app, catalogue, signer, terms, code):
    keys, _, _, licence = catalogue
    sub = a_right(licence, [getattr(keys, signer)], [(keys.shop, 100)], **terms)
    assert delivered(app, sub) == [code]


def test_uses_given_out_are_spent_and_an_exclusive_licence_excludes_in_the_same_block(app, catalogue):
    keys, _, _, licence = catalogue
    gb = {"territory": {"include": ["GB"]}, "usageType": ["on_demand_stream"], "exclusive": True}
    to_shop = a_right(licence, [keys.label], [(keys.shop, 100)], numberOfUses=600_000, **gb)
    to_radio = a_right(licence, [keys.label], [(keys.radio, 100)], numberOfUses=300_000, **gb)
    assert delivered(app, to_shop, to_radio) == ["OK", "RIGHT_EXCLUSIVITY_CONFLICT"]
    # Committed: a non-exclusive overlap is refused too; elsewhere the uses left are 400,000.
    overlap = a_right(licence, [keys.label], [(keys.radio, 100)], numberOfUses=1,
                      **{**gb, "exclusive": False})
    elsewhere = {"territory": {"include": ["FR"]}, "usageType": ["on_demand_stream"]}
    too_many = a_right(licence, [keys.label], [(keys.radio, 100)], numberOfUses=400_001, **elsewhere)
    all_left = a_right(licence, [keys.label], [(keys.radio, 100)], numberOfUses=400_000, **elsewhere)
    assert delivered(app, overlap, too_many, all_left) == [
        "RIGHT_EXCLUSIVITY_CONFLICT", "RIGHT_EXCEEDS_USES", "OK"]


def test_an_expired_source_is_judged_by_the_block_header_time(app, catalogue):
    keys, _, _, licence = catalogue
    short = a_right(licence, [keys.label], [(keys.shop, 100)], validThrough="2026-09-30",
                    numberOfUses=10)
    assert delivered(app, short) == ["OK"]
    sub = a_right(short, [keys.shop], [(keys.radio, 100)], validThrough="2026-09-30", numberOfUses=1)
    sale = assignment(short, keys.shop, keys.fan)
    last_day = GENESIS_SECONDS + 9 * DAY  # 2026-09-30
    # The same transactions: refused in a block dated the next day, whatever the local clock.
    assert codes(commit_block(app, [raw(sub), raw(sale)], seconds=last_day + DAY)) == [
        "RIGHT_SOURCE_NOT_IN_FORCE", "ASSIGNMENT_NOT_IN_FORCE"]
    # CheckTx judges by the latest block, which is now after the end.
    assert codes([app.check_tx(raw(sub))]) == ["RIGHT_SOURCE_NOT_IN_FORCE"]


def test_a_source_in_force_on_the_header_date_derives(app, catalogue):
    keys, _, _, licence = catalogue
    short = a_right(licence, [keys.label], [(keys.shop, 100)], validThrough="2026-09-30",
                    numberOfUses=10)
    sub = a_right(short, [keys.shop], [(keys.radio, 100)], validThrough="2026-09-30", numberOfUses=1)
    last_day = GENESIS_SECONDS + 9 * DAY
    assert codes(commit_block(app, [raw(short), raw(sub)], seconds=last_day)) == ["OK", "OK"]


def test_a_conflicting_copyright_is_refused(app, catalogue):
    keys, track, copyright, _ = catalogue
    terms = {"rightsOf": track["id"], "territory": {"include": ["GB"]}, "validFrom": "2030-01-01"}
    by_label = signed(Copyright.build([keys.label.public_key], terms), keys.label)
    assert delivered(app, by_label) == ["COPYRIGHT_NOT_REGISTRANT"]
    # The registrant who assigned the Copyright away cannot issue the same shares again.
    sold = assignment(copyright, keys.artist, keys.shop)
    again = signed(Copyright.build([keys.artist.public_key], terms), keys.artist)
    assert delivered(app, sold, again) == ["OK", "COPYRIGHT_CONFLICT"]


def test_two_overlapping_copyrights_in_one_block(app):
    artist = generate_key_pair()
    band = party(artist, "Ezra Collective")
    composition = work(artist, band["id"])
    track = recording(artist, composition["id"], band["id"])
    gb, gb_ie, fr = ({"rightsOf": track["id"], "territory": {"include": codes_}, "validFrom": "2020-01-01"}
                     for codes_ in (["GB"], ["GB", "IE"], ["FR"]))
    copyrights = [signed(Copyright.build([artist.public_key], data), artist) for data in (gb, gb_ie, fr)]
    assert codes(commit_block(app, [raw(tx) for tx in (band, composition, track, *copyrights)])) == [
        "OK", "OK", "OK", "OK", "COPYRIGHT_CONFLICT", "OK"]


def test_a_plain_transfer_of_a_copyright_is_refused(app, catalogue):
    keys, _, copyright, _ = catalogue
    plain = Transaction.transfer(Transaction.from_dict(copyright).to_inputs(),
                                 [([keys.shop.public_key], 100)], asset_id=copyright["id"])
    assert delivered(app, signed(plain, keys.artist)) == ["ASSET_NEEDS_OWN_OPERATION"]


def test_a_partial_assignment_makes_co_holders_who_derive_together(app, catalogue):
    keys, _, copyright, _ = catalogue
    part = assignment(copyright, keys.artist, keys.label, 30)
    assert delivered(app, part) == ["OK"]
    assert holders(app, copyright["id"]) == sorted([((keys.artist.public_key,), 70),
                                                    ((keys.label.public_key,), 30)])
    terms = {"territory": {"include": ["JP"]}, "usageType": ["sync"], "numberOfUses": 3}
    alone = a_right(copyright, [keys.artist], [(keys.shop, 100)], **terms)
    together = a_right(copyright, [keys.artist, keys.label], [(keys.shop, 100)], **terms)
    assert delivered(app, alone, together) == ["RIGHT_NOT_HOLDER", "OK"]
    # The label moves its 30 shares on, within the same block as a further sale by the artist.
    onward = assignment(part, keys.label, keys.fan)
    artist_sale = assignment(part, keys.artist, keys.shop, 20)
    assert codes(commit_block(app, [raw(onward), raw(artist_sale)])) == ["OK", "OK"]
    assert holders(app, copyright["id"]) == sorted([((keys.artist.public_key,), 50),
                                                    ((keys.shop.public_key,), 20),
                                                    ((keys.fan.public_key,), 30)])
