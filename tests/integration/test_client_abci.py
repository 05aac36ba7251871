"""Every type built and signed by the client library alone (operations/, transaction.py,
conditions.py: none of the server's classes) passes CheckTx and DeliverTx of the node's
ABCI application over a real FerretDB store, on a chain with network parameters."""
import pytest

from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.operations import (
    copyright, credit, manifestation, party, play, right, rights_assignment, split, work,
)

from .test_plays_abci import COOP_SHARE_BP, chain  # noqa: F401 (the fixture)
from .test_rights_abci import LICENCE, delivered

pytestmark = pytest.mark.integration


def signed(tx, *keypairs):
    return tx.sign([keypair.private_key for keypair in keypairs]).to_dict()


def test_every_type_built_by_the_client_library_commits(chain):  # noqa: F811
    artist, producer, listener = (generate_key_pair() for _ in range(3))
    treasury, platform = chain.treasury, chain.platform
    band = signed(party.build([artist.public_key], {"@type": "MusicGroup", "name": "Kokoroko",
                                                    "isni": "ISNI 0000 0001 2103 2683"}), artist)
    composition = signed(work.build([artist.public_key], {
        "@type": "MusicComposition", "name": "Abusey Junction", "composer": [band["id"]],
        "iswcCode": "T-034.524.680-1"}), artist)
    track = signed(manifestation.build([artist.public_key], {
        "@type": "MusicRecording", "name": "Abusey Junction", "recordingOf": composition["id"],
        "byArtist": [band["id"]], "isrcCode": "GB-AYE-69-00531"}), artist)
    owned = signed(copyright.build([artist.public_key], {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01"},
        holders=[(artist.public_key, 100)]), artist)
    token = signed(credit.build([treasury.public_key]), treasury)
    assert delivered(chain, band, composition, track, owned, token) == ["OK"] * 5

    licence = signed(right.build([artist.public_key], {"source": owned["id"], **LICENCE},
                                 holders=[(platform.public_key, 100)]), artist)
    royalties = signed(split.build([artist.public_key], {
        "subject": track["id"], "payees": [(artist.public_key, 7000), (producer.public_key, 3000)]}),
        artist)
    purchase = signed(credit.sell([(token, 0)], treasury.public_key, listener.public_key, 5000,
                                  token["id"]), treasury)
    assert delivered(chain, licence, royalties, purchase) == ["OK"] * 3

    first_play = signed(play.pay([(purchase, 0)], listener.public_key, {
        "track": track["id"], "territory": "GB", "right": licence["id"], "playNumber": 0,
        "split": royalties["id"]}, [(artist.public_key, 7000), (producer.public_key, 3000)],
        {"platform_key": platform.public_key, "coop_share_bp": COOP_SHARE_BP}), listener)
    sale = signed(rights_assignment.assign(owned, artist.public_key, producer.public_key, 40), artist)
    assert delivered(chain, first_play, sale) == ["OK"] * 2
