"""PARTY: registers a person, organisation or group (artist, band, label, publisher, member).

Spec: docs/spec/party.md. The registrant's keys hold the record.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import party as client_part
from bigchaindb_resonate.operations.party import IDENTIFIERS
from bigchaindb_resonate.types.base import (
    ResonateRecord, check_canonical, check_record_shape, client_builder,
)

class PartyNameMissing(ResonateValidationError):
    code = "PARTY_NAME_MISSING"
    meaning = "a Person needs `name` or both `givenName` and `familyName`"


class Party(ResonateRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

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

    build = client_builder(client_part.build)
