"""WORK, the client part (rules: types/work.py; spec: docs/spec/work.md)."""
from bigchaindb_resonate.operations.common import register, with_context
from bigchaindb_resonate.validators.identifiers import normalise_iswc

OPERATION = "WORK"
SCHEMA = "work_v1.0"


def build(signers, data, metadata=None):
    """A MusicComposition registered by `signers`; `composer` and `lyricist` list PARTY ids."""
    return register(OPERATION, signers, with_context(data, "iswcCode", normalise_iswc), metadata)
