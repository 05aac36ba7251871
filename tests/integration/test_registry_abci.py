"""PARTY, WORK and MANIFESTATION through the node's ABCI application over a real FerretDB
store: links and identifier uniqueness checked on commit, within a block and across blocks."""
import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.work import Work

from .abci import commit_block, party, raw

pytestmark = pytest.mark.integration


def work(keypair, composer_id, name="Abusey Junction", **extra):
    return Work.build([keypair.public_key], {
        "@type": "MusicComposition", "name": name, "composer": [composer_id], **extra,
    }).sign([keypair.private_key]).to_dict()


def recording(keypair, work_id, artist_id, **extra):
    return Manifestation.build([keypair.public_key], {
        "@type": "MusicRecording", "name": "Abusey Junction", "recordingOf": work_id,
        "byArtist": [artist_id], **extra,
    }).sign([keypair.private_key]).to_dict()


def codes(results):
    return [result.log.split(":")[0] if result.code else "OK" for result in results]


def test_party_work_and_manifestation_in_successive_blocks(app):
    keypair = generate_key_pair()
    band = party(keypair, "Kokoroko")
    assert codes(commit_block(app, [raw(band)])) == ["OK"]
    composition = work(keypair, band["id"], iswcCode="T-034.524.680-1")
    assert app.check_tx(raw(composition)).code == 0
    assert codes(commit_block(app, [raw(composition)])) == ["OK"]
    track = recording(keypair, composition["id"], band["id"], isrcCode="GB-AYE-69-00531")
    assert app.check_tx(raw(track)).code == 0
    assert codes(commit_block(app, [raw(track)])) == ["OK"]
    stored = app.bigchaindb.get_transaction(track["id"])
    assert type(stored) is Manifestation and stored.to_dict() == track
    assert stored.asset["data"]["isrcCode"] == "GBAYE6900531"


def test_dependent_records_in_the_same_block_as_the_party_they_link(app):
    keypair = generate_key_pair()
    band = party(keypair, "Ezra Collective")
    composition = work(keypair, band["id"], iswcCode="T0345246801")
    track = recording(keypair, composition["id"], band["id"], isrcCode="GBAYE6900531")
    # Before the block, the links name nothing committed: CheckTx refuses the dependants.
    assert "LINK_NOT_FOUND" in app.check_tx(raw(composition)).log
    assert codes(commit_block(app, [raw(band), raw(composition), raw(track)])) == ["OK"] * 3
    for tx, cls in ((composition, Work), (track, Manifestation)):
        assert type(app.bigchaindb.get_transaction(tx["id"])) is cls


def test_a_dependant_before_its_party_in_the_block_is_refused(app):
    keypair = generate_key_pair()
    band = party(keypair, "Nubya Garcia")
    composition = work(keypair, band["id"])
    assert codes(commit_block(app, [raw(composition), raw(band)])) == ["LINK_NOT_FOUND", "OK"]


def test_a_taken_iswc_is_refused_committed_and_within_one_block(app):
    keypair = generate_key_pair()
    band = party(keypair, "Sons of Kemet")
    first = work(keypair, band["id"], iswcCode="T-123.456.789-4")
    same_block = work(keypair, band["id"], name="Another", iswcCode="T1234567894")
    results = commit_block(app, [raw(band), raw(first), raw(same_block)])
    assert codes(results) == ["OK", "OK", "IDENTIFIER_TAKEN"]
    later = work(keypair, band["id"], name="Later", iswcCode="T1234567894")
    refused = app.check_tx(raw(later))
    assert refused.code != 0 and refused.log.startswith("IDENTIFIER_TAKEN")
    assert codes(commit_block(app, [raw(later)])) == ["IDENTIFIER_TAKEN"]
    assert app.bigchaindb.get_transaction(same_block["id"]) is None


def test_a_taken_isrc_is_refused(app):
    keypair = generate_key_pair()
    band = party(keypair, "Moses Boyd")
    composition = work(keypair, band["id"])
    first = recording(keypair, composition["id"], band["id"], isrcCode="USRC17607839")
    live = recording(keypair, composition["id"], band["id"], name="Live", isrcCode="USRC17607839")
    results = commit_block(app, [raw(band), raw(composition), raw(first), raw(live)])
    assert codes(results) == ["OK", "OK", "OK", "IDENTIFIER_TAKEN"]


def test_links_to_missing_or_wrong_kind_records_are_refused_with_their_codes(app):
    keypair = generate_key_pair()
    band = party(keypair, "Shabaka")
    composition = work(keypair, band["id"])
    commit_block(app, [raw(band), raw(composition)])
    refusals = {
        "composer missing": (work(keypair, "e" * 64), "LINK_NOT_FOUND"),
        "composer is a work": (work(keypair, composition["id"], name="B"), "LINK_WRONG_KIND"),
        "work missing": (recording(keypair, "e" * 64, band["id"]), "LINK_NOT_FOUND"),
        "work is a party": (recording(keypair, band["id"], band["id"]), "LINK_WRONG_KIND"),
        "artist is a work": (recording(keypair, composition["id"], composition["id"]),
                             "LINK_WRONG_KIND"),
    }
    for what, (tx, code) in refusals.items():
        assert app.check_tx(raw(tx)).log.startswith(code), what
        assert codes(commit_block(app, [raw(tx)])) == [code], what
