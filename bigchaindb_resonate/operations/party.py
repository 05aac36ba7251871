"""PARTY, the client part (rules: types/party.py; spec: docs/spec/party.md)."""
from bigchaindb_resonate.operations.common import register, with_context
from bigchaindb_resonate.validators.identifiers import normalise_ipi_name_number, normalise_isni

OPERATION = "PARTY"
SCHEMA = "party_v1.0"
IDENTIFIERS = {"ipiNameNumber": normalise_ipi_name_number, "isni": normalise_isni}


def build(signers, data, metadata=None):
    """A person, organisation or group registered by `signers` (public keys), who hold it."""
    for key, normalise in IDENTIFIERS.items():
        data = with_context(data, key, normalise)
    return register(OPERATION, signers, data, metadata)
