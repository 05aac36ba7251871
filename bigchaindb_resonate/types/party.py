"""PARTY: registers a person, organisation or group (artist, band, label, publisher, member).

Spec: docs/spec/party.md. The registrant's keys hold the record.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.types.base import (
    ResonateRecord, check_canonical, check_record_shape, with_context,
)
from bigchaindb_resonate.validators.identifiers import normalise_ipi_name_number, normalise_isni

class PartyNameMissing(ResonateValidationError):
    code = "PARTY_NAME_MISSING"
    meaning = "a Person needs `name` or both `givenName` and `familyName`"


IDENTIFIERS = {"ipiNameNumber": normalise_ipi_name_number, "isni": normalise_isni}


class Party(ResonateRecord):
    OPERATION = "PARTY"
    SCHEMA = "party_v1.0"

    @classmethod
    def check_stateless(cls, tx):
        check_record_shape(tx)
        data = tx["asset"]["data"]
        if data["@type"] == "Person" and "name" not in data and not (
                "givenName" in data and "familyName" in data):
            raise PartyNameMissing(field="asset.data", expected="name, or givenName and familyName")
        if data["@type"] != "Person" and "name" not in data:
            raise PartyNameMissing(f"a {data['@type']} needs `name`", field="asset.data.name")
        for key, normalise in IDENTIFIERS.items():
            check_canonical(data, key, normalise)

    @classmethod
    def build(cls, signers, data, metadata=None):
        for key, normalise in IDENTIFIERS.items():
            data = with_context(data, key, normalise)
        return super().build(signers, data, metadata)
