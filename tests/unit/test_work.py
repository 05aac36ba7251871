"""Rule table for WORK, and the stateful rules through the real LedgerView over committed
state kept in memory (memory_store.committed_store, also used by test_manifestation.py)."""
import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import (
    IdentifierNotCanonical, IdentifierTaken, InvalidDate, InvalidIswc, LinkNotFound, LinkWrongKind,
    RecordShape, SchemaViolation,
)
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.work import Work
from .memory_store import committed_store

PARTY_ID = "a" * 64   # ids in the stateless cases need not exist
LYRICIST_ID = "b" * 64


def signed(cls, keypair, data):
    """Sign a record as a careless client would, bypassing the builder's normalisation."""
    record = {"@context": COALAIP_CONTEXT, **data}
    tx = cls.create([keypair.public_key], [([keypair.public_key], 1)], asset=record)
    return tx.sign([keypair.private_key]).to_dict()


def built(cls, keypair, data):
    """A record built through the client builder and parsed as a node would."""
    return Transaction.from_dict(cls.build([keypair.public_key], data).sign(
        [keypair.private_key]).to_dict())


def a_party(keypair, name="Kokoroko"):
    return built(Party, keypair, {"@type": "MusicGroup", "name": name})


def a_work(keypair, composers, **extra):
    return built(Work, keypair, {"@type": "MusicComposition", "name": "Abusey Junction",
                                 "composer": list(composers), **extra})


@pytest.mark.parametrize("data", [
    {"@type": "MusicComposition", "name": "Abusey Junction", "composer": [PARTY_ID]},
    {"@type": "MusicComposition", "name": "Abusey Junction", "composer": [PARTY_ID],
     "lyricist": [LYRICIST_ID, PARTY_ID], "iswcCode": "T-034.524.680-1", "inLanguage": "pt-BR",
     "datePublished": "2018-01-19"},
    {"@type": "MusicComposition", "name": "x", "composer": [PARTY_ID], "iswcCode": "ISWC T 034524680 1",
     "inLanguage": "yue"},
])
def test_valid_works_parse_and_the_builder_normalises_the_iswc(keypair, data):
    parsed = built(Work, keypair, data)
    assert type(parsed) is Work and parsed.operation == "WORK"
    if "iswcCode" in data:
        assert parsed.asset["data"]["iswcCode"] == "T0345246801"


WORK = {"@type": "MusicComposition", "name": "Abusey Junction", "composer": [PARTY_ID]}


@pytest.mark.parametrize("changes, error, field", [
    ({"@type": "AbstractWork"}, SchemaViolation, "asset.data.@type"),
    ({"name": ""}, SchemaViolation, "asset.data.name"),
    ({"composer": []}, SchemaViolation, "asset.data.composer"),
    ({"composer": [PARTY_ID, PARTY_ID]}, SchemaViolation, "asset.data.composer"),
    ({"composer": [f"{n:064x}" for n in range(51)]}, SchemaViolation,
     "asset.data.composer"),
    ({"composer": ["A" * 64]}, SchemaViolation, "asset.data.composer[0]"),
    ({"composer": PARTY_ID}, SchemaViolation, "asset.data.composer"),
    ({"lyricist": []}, SchemaViolation, "asset.data.lyricist"),
    ({"manifestationOf": PARTY_ID}, SchemaViolation, "asset.data"),
    ({"inLanguage": "english language"}, SchemaViolation, "asset.data.inLanguage"),
    # a final newline: Python's `$` would accept it where rapidjson's refuses
    ({"inLanguage": "en\n"}, SchemaViolation, "asset.data.inLanguage"),
    ({"composer": ["a" * 63 + "\n"]}, SchemaViolation, "asset.data.composer[0]"),
    ({"iswcCode": "T0345246802"}, InvalidIswc, "asset.data.iswcCode"),
    ({"iswcCode": "T034524680"}, InvalidIswc, "asset.data.iswcCode"),
    ({"iswcCode": "T-034.524.680-1"}, IdentifierNotCanonical, "asset.data.iswcCode"),
    ({"datePublished": "2018-02-30"}, InvalidDate, "asset.data.datePublished"),
    ({"datePublished": "19 Jan 2018"}, InvalidDate, "asset.data.datePublished"),
])
def test_invalid_works_are_refused_with_their_code(keypair, changes, error, field):
    with pytest.raises(error) as caught:
        Transaction.from_dict(signed(Work, keypair, {**WORK, **changes}))
    assert caught.value.field == field
    assert caught.value.code == error.code


@pytest.mark.parametrize("data, field", [
    ({k: v for k, v in WORK.items() if k != "composer"}, "asset.data"),
    ({k: v for k, v in WORK.items() if k != "name"}, "asset.data"),
])
def test_required_properties(keypair, data, field):
    with pytest.raises(SchemaViolation) as caught:
        Transaction.from_dict(signed(Work, keypair, data))
    assert caught.value.field == field


def test_not_canonical_names_the_canonical_form(keypair):
    with pytest.raises(IdentifierNotCanonical) as caught:
        Transaction.from_dict(signed(Work, keypair, {**WORK, "iswcCode": "t-034.524.680-1"}))
    assert caught.value.expected == "'T0345246801'"


def test_a_work_is_one_indivisible_record(keypair):
    tx = Work.create([keypair.public_key], [([keypair.public_key], 2)],
                     asset={"@context": COALAIP_CONTEXT, **WORK}).sign([keypair.private_key])
    with pytest.raises(RecordShape):
        Transaction.from_dict(tx.to_dict())


# -- stateful: links and ISWC uniqueness, committed or earlier in the block

def test_composers_and_lyricists_resolve_to_committed_or_same_block_parties(keypair):
    composer, lyricist = a_party(keypair, "Composer"), a_party(keypair, "Lyricist")
    work = a_work(keypair, [composer.id], lyricist=[lyricist.id], iswcCode="T0345246801")
    assert work.validate(committed_store(composer.to_dict(), lyricist.to_dict())) is work
    assert work.validate(committed_store(composer.to_dict()), [lyricist]) is work
    assert work.validate(committed_store(), [composer, lyricist]) is work


@pytest.mark.parametrize("key", ["composer", "lyricist"])
def test_a_missing_party_is_refused_naming_the_entry(keypair, key):
    party = a_party(keypair)
    work = built(Work, keypair, {"@type": "MusicComposition", "name": "x", "composer": [party.id],
                                 key: [party.id, "c" * 64]})
    with pytest.raises(LinkNotFound) as caught:
        work.validate(committed_store(party.to_dict()))
    assert caught.value.field == f"asset.data.{key}[1]"


def test_a_composer_that_is_not_a_party_is_refused(keypair):
    composer = a_party(keypair)
    first = a_work(keypair, [composer.id])
    second = built(Work, keypair, {"@type": "MusicComposition", "name": "B", "composer": [first.id]})
    with pytest.raises(LinkWrongKind) as caught:
        second.validate(committed_store(composer.to_dict(), first.to_dict()))
    assert caught.value.field == "asset.data.composer[0]"
    assert caught.value.expected == "PARTY"


def test_an_iswc_registered_to_another_work_is_taken(keypair):
    composer = a_party(keypair)
    first = a_work(keypair, [composer.id], iswcCode="T0345246801")
    second = built(Work, keypair, {"@type": "MusicComposition", "name": "Another",
                                   "composer": [composer.id], "iswcCode": "T-034.524.680-1"})
    for bigchain, block in [(committed_store(composer.to_dict(), first.to_dict()), []),
                            (committed_store(composer.to_dict()), [first])]:
        with pytest.raises(IdentifierTaken) as caught:
            second.validate(bigchain, block)
        assert caught.value.field == "asset.data.iswcCode"
        assert first.id in caught.value.detail


def test_the_same_iswc_on_a_record_of_another_kind_does_not_count(keypair):
    composer = a_party(keypair)
    other = Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                               asset={"iswcCode": "T0345246801"}).sign([keypair.private_key])
    work = a_work(keypair, [composer.id], iswcCode="T0345246801")
    assert work.validate(committed_store(composer.to_dict(), other.to_dict())) is work
