"""MANIFESTATION, the client part (rules: types/manifestation.py; spec:
docs/spec/manifestation.md)."""
from bigchaindb_resonate.operations.common import register, with_context
from bigchaindb_resonate.validators.identifiers import normalise_isrc

OPERATION = "MANIFESTATION"
SCHEMA = "manifestation_v1.0"


def build(signers, data, metadata=None):
    """A recording, album or release of a WORK, registered by `signers`."""
    return register(OPERATION, signers, with_context(data, "isrcCode", normalise_isrc), metadata)
