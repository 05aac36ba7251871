"""Rule table for MANIFESTATION, its three work-link spellings, and the stateful rules
through the real LedgerView over committed state in memory."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import (
    IdentifierNotCanonical, IdentifierTaken, InvalidDate, InvalidIsrc, LinkNotFound, LinkWrongKind,
    SchemaViolation,
)
from bigchaindb_resonate.types.manifestation import (
    WORK_LINKS, IsrcOnlyOnRecordings, Manifestation, ManifestationWorkLink, work_of,
)
from .memory_store import committed_store
from .test_work import a_party, a_work, built, signed

WORK_ID, ARTIST_ID = "a" * 64, "b" * 64
RECORDING = {"@type": "MusicRecording", "name": "Abusey Junction", "recordingOf": WORK_ID,
             "byArtist": [ARTIST_ID]}
ALBUM = {"@type": "MusicAlbum", "name": "Could We Be More", "manifestationOf": WORK_ID,
         "byArtist": [ARTIST_ID]}


def without(data, key):
    return {k: v for k, v in data.items() if k != key}


def relinked(data, key):
    """`data` naming its work by `key` instead."""
    return {**{k: v for k, v in data.items() if k not in WORK_LINKS}, key: WORK_ID}


@pytest.mark.parametrize("data", [
    RECORDING,
    relinked(RECORDING, "manifestationOf"),
    relinked(RECORDING, "manifestationOfWork"),
    {**RECORDING, "isrcCode": "GB-AYE-69-00531", "datePublished": "2018-01-19",
     "url": "https://resonate.coop/t/1", "byArtist": [ARTIST_ID, "c" * 64]},
    {**RECORDING, "isrcCode": "isrc usrc17607839"},
    ALBUM,
    relinked(ALBUM, "manifestationOfWork"),
    {**ALBUM, "@type": "MusicRelease", "url": "http://example.org/release"},
])
def test_valid_manifestations_parse_and_name_their_work(keypair, data):
    parsed = built(Manifestation, keypair, data)
    assert type(parsed) is Manifestation and parsed.operation == "MANIFESTATION"
    assert work_of(parsed.asset["data"]) == WORK_ID


def test_the_builder_normalises_the_isrc(keypair):
    parsed = built(Manifestation, keypair, {**RECORDING, "isrcCode": "GB-AYE-69-00531"})
    assert parsed.asset["data"]["isrcCode"] == "GBAYE6900531"


@pytest.mark.parametrize("data, error, field", [
    ({**RECORDING, "@type": "MusicComposition"}, SchemaViolation, "asset.data.@type"),
    (without(RECORDING, "byArtist"), SchemaViolation, "asset.data"),
    (without(RECORDING, "name"), SchemaViolation, "asset.data"),
    ({**RECORDING, "byArtist": []}, SchemaViolation, "asset.data.byArtist"),
    ({**RECORDING, "byArtist": [ARTIST_ID, ARTIST_ID]}, SchemaViolation, "asset.data.byArtist"),
    ({**RECORDING, "recordingOf": "not-an-id"}, SchemaViolation, "asset.data.recordingOf"),
    ({**RECORDING, "recordingOf": WORK_ID[1:] + "\n"}, SchemaViolation, "asset.data.recordingOf"),
    ({**RECORDING, "url": "ftp://example.org/x"}, SchemaViolation, "asset.data.url"),
    ({**RECORDING, "composer": [ARTIST_ID]}, SchemaViolation, "asset.data"),
    (without(RECORDING, "recordingOf"), ManifestationWorkLink, "asset.data"),
    ({**RECORDING, "manifestationOf": WORK_ID}, ManifestationWorkLink, "asset.data"),
    ({**ALBUM, "manifestationOfWork": WORK_ID}, ManifestationWorkLink, "asset.data"),
    (relinked(ALBUM, "recordingOf"), ManifestationWorkLink, "asset.data.recordingOf"),
    ({**relinked(ALBUM, "recordingOf"), "@type": "MusicRelease"}, ManifestationWorkLink,
     "asset.data.recordingOf"),
    ({**ALBUM, "isrcCode": "GBAYE6900531"}, IsrcOnlyOnRecordings, "asset.data.isrcCode"),
    ({**RECORDING, "isrcCode": "GBAYE690053"}, InvalidIsrc, "asset.data.isrcCode"),
    ({**RECORDING, "isrcCode": "G1AYE6900531"}, InvalidIsrc, "asset.data.isrcCode"),
    ({**RECORDING, "isrcCode": "GB-AYE-69-00531"}, IdentifierNotCanonical, "asset.data.isrcCode"),
    ({**RECORDING, "datePublished": "2018-1-19"}, InvalidDate, "asset.data.datePublished"),
])
def test_invalid_manifestations_are_refused_with_their_code(keypair, data, error, field):
    with pytest.raises(error) as caught:
        Transaction.from_dict(signed(Manifestation, keypair, data))
    assert caught.value.field == field
    assert caught.value.code == error.code


def test_work_links_are_the_documented_three():
    assert WORK_LINKS == ("recordingOf", "manifestationOf", "manifestationOfWork")


# -- stateful

@pytest.fixture
def catalogue(keypair):
    """A committed artist and a work by them."""
    artist = a_party(keypair)
    work = a_work(keypair, [artist.id])
    return artist, work, committed_store(artist.to_dict(), work.to_dict())


def a_recording(keypair, work_id, artist_id, **extra):
    return built(Manifestation, keypair, {**RECORDING, "recordingOf": work_id,
                                          "byArtist": [artist_id], **extra})


@pytest.mark.parametrize("link", WORK_LINKS)
def test_each_work_link_resolves_to_a_committed_work(keypair, catalogue, link):
    artist, work, bigchain = catalogue
    data = {**relinked(RECORDING, link), link: work.id, "byArtist": [artist.id]}
    recording = built(Manifestation, keypair, data)
    assert recording.validate(bigchain) is recording


def test_party_work_and_manifestation_validate_in_one_block(keypair):
    artist = a_party(keypair)
    work = a_work(keypair, [artist.id], iswcCode="T0345246801")
    recording = a_recording(keypair, work.id, artist.id, isrcCode="GBAYE6900531")
    bigchain, block = committed_store(), []
    for tx in (artist, work, recording):
        assert tx.validate(bigchain, block) is tx
        block.append(tx)


@pytest.mark.parametrize("wrong, error", [("missing", LinkNotFound), ("party", LinkWrongKind)])
def test_a_work_link_to_a_missing_or_non_work_record_is_refused(keypair, catalogue, wrong, error):
    artist, work, bigchain = catalogue
    target = "d" * 64 if wrong == "missing" else artist.id
    recording = built(Manifestation, keypair, {**ALBUM, "manifestationOf": target,
                                               "byArtist": [artist.id]})
    with pytest.raises(error) as caught:
        recording.validate(bigchain)
    assert caught.value.field == "asset.data.manifestationOf"


@pytest.mark.parametrize("wrong, error", [("missing", LinkNotFound), ("work", LinkWrongKind)])
def test_an_artist_that_is_missing_or_not_a_party_is_refused(keypair, catalogue, wrong, error):
    artist, work, bigchain = catalogue
    recording = built(Manifestation, keypair, {
        **RECORDING, "recordingOf": work.id,
        "byArtist": [artist.id, "d" * 64 if wrong == "missing" else work.id]})
    with pytest.raises(error) as caught:
        recording.validate(bigchain)
    assert caught.value.field == "asset.data.byArtist[1]"


def test_an_isrc_registered_to_another_manifestation_is_taken(keypair, catalogue):
    artist, work, bigchain = catalogue
    first = a_recording(keypair, work.id, artist.id, isrcCode="GBAYE6900531")
    second = a_recording(keypair, work.id, artist.id, isrcCode="GBAYE6900531", name="Live")
    assert first.validate(bigchain) is first
    with pytest.raises(IdentifierTaken) as in_block:
        second.validate(bigchain, [first])
    bigchain.commit(2, first)
    with pytest.raises(IdentifierTaken) as committed:
        second.validate(bigchain)
    assert in_block.value.field == committed.value.field == "asset.data.isrcCode"
