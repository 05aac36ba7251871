"""Rule table for PARTY: each case is built and signed for real, then parsed as a node would."""
import copy

import pytest
from bigchaindb.common.exceptions import DuplicateTransaction, InvalidSignature
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import (
    IdentifierNotCanonical, InvalidIpiNameNumber, InvalidIsni, RecordShape, SchemaViolation,
)
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.party import Party, PartyNameMissing

VALID = [
    {"@type": "MusicGroup", "name": "Mount Kimbie", "roles": ["artist"]},
    {"@type": "Person", "givenName": "Ada", "familyName": "Lovelace", "isni": "0000 0001 2103 2683"},
    {"@type": "Person", "name": "DJ Ada", "ipiNameNumber": "IPI 000.141.073.38"},
    {"@type": "Organization", "name": "Resonate Beyond Streaming", "roles": ["coop_member", "label"],
     "url": "https://resonate.coop"},
]


def signed(keypair, data, outputs=None):
    """Sign a record as a client would, bypassing the builder's normalisation."""
    record = {"@context": COALAIP_CONTEXT, **data}
    tx = Party.create([keypair.public_key], outputs or [([keypair.public_key], 1)], asset=record)
    return tx.sign([keypair.private_key]).to_dict()


@pytest.mark.parametrize("data", VALID)
def test_valid_parties_parse(keypair, data):
    tx = Party.build([keypair.public_key], data).sign([keypair.private_key]).to_dict()
    parsed = Transaction.from_dict(tx)
    assert type(parsed) is Party
    assert parsed.operation == "PARTY"


@pytest.mark.parametrize("data, error, field", [
    ({"@type": "Robot", "name": "x"}, SchemaViolation, "asset.data.@type"),
    ({"@type": "Person", "name": "x", "nickname": "y"}, SchemaViolation, "asset.data"),
    ({"@type": "Person", "name": ""}, SchemaViolation, "asset.data.name"),
    ({"@type": "Person", "name": "x", "roles": ["emperor"]}, SchemaViolation, "asset.data.roles[0]"),
    ({"@type": "Person", "givenName": "Ada"}, PartyNameMissing, "asset.data"),
    ({"@type": "MusicGroup", "givenName": "Ada"}, PartyNameMissing, "asset.data.name"),
    ({"@type": "Person", "name": "x", "isni": "0000000121032684"}, InvalidIsni, "asset.data.isni"),
    ({"@type": "Person", "name": "x", "isni": "0000 0001 2103 2683"}, IdentifierNotCanonical,
     "asset.data.isni"),
    ({"@type": "Person", "name": "x", "ipiNameNumber": "00014107339"}, InvalidIpiNameNumber,
     "asset.data.ipiNameNumber"),
])
def test_invalid_parties_are_refused_with_their_code(keypair, data, error, field):
    with pytest.raises(error) as caught:
        Transaction.from_dict(signed(keypair, data))
    assert caught.value.field == field
    assert caught.value.code == error.code


def test_wrong_context_is_refused(keypair):
    tx = Party.create([keypair.public_key], [([keypair.public_key], 1)],
                      asset={"@context": "https://example.org/other", "@type": "Person", "name": "x"})
    with pytest.raises(SchemaViolation) as caught:
        Transaction.from_dict(tx.sign([keypair.private_key]).to_dict())
    assert caught.value.field == "asset.data.@context"


def test_divisible_record_is_refused(keypair):
    with pytest.raises(RecordShape):
        Transaction.from_dict(signed(keypair, VALID[0], outputs=[([keypair.public_key], 2)]))


class EmptyLedger:
    def __init__(self, committed=()):
        self.committed = set(committed)

    def is_committed(self, txid):
        return txid in self.committed

    def get_transaction(self, txid):
        return None


def test_stateful_checks(keypair):
    tx = Transaction.from_dict(Party.build([keypair.public_key], VALID[0]).sign([keypair.private_key]).to_dict())
    assert tx.validate(EmptyLedger()) is tx
    with pytest.raises(DuplicateTransaction):
        tx.validate(EmptyLedger({tx.id}))
    with pytest.raises(DuplicateTransaction):
        tx.validate(EmptyLedger(), [tx])
    # A signature made over another record does not authorise this one.
    other = Party.build([keypair.public_key], VALID[1]).sign([keypair.private_key]).to_dict()
    forged = copy.deepcopy(tx.to_dict())  # to_dict is memoised: never mutate its result
    forged["inputs"][0]["fulfillment"] = other["inputs"][0]["fulfillment"]
    forged["id"] = None
    forged["id"] = Transaction._to_hash(Transaction._to_str(forged))  # the id covers signatures
    with pytest.raises(InvalidSignature):
        Transaction.from_dict(forged).validate(EmptyLedger())
