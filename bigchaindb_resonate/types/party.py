"""PARTY: registers a person, organisation or group (artist, band, label, publisher, member).

Spec: docs/spec/party.md. The registrant's keys hold the record.
"""
from bigchaindb_resonate.errors import IdentifierNotCanonical, PartyNameMissing
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.base import ResonateRecord, check_record_shape
from bigchaindb_resonate.validators.identifiers import normalise_ipi_name_number, normalise_isni

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
            if key in data:
                field = f"asset.data.{key}"
                canonical = normalise(data[key], field)
                if canonical != data[key]:
                    raise IdentifierNotCanonical(f"`{data[key]}` is a display form", field=field,
                                                 expected=repr(canonical))

    @classmethod
    def build(cls, signers, data, metadata=None):
        record = {"@context": COALAIP_CONTEXT, **data}
        for key, normalise in IDENTIFIERS.items():
            if key in record:
                record[key] = normalise(record[key], key)
        return super().build(signers, record, metadata)
