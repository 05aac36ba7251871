"""RIGHT, the client part (rules: types/right.py; spec: docs/spec/right.md)."""
from bigchaindb_resonate.operations.shares import build_shared

OPERATION = "RIGHT"
SCHEMA = "right_v1.0"


def build(signers, data, metadata=None, holders=None):
    """A licence derived from the Copyright or Right `data["source"]`, signed by all of its
    current holders; `holders` (the licensees) as (public key, shares) pairs."""
    return build_shared(OPERATION, "Right", signers, data, metadata, holders)
