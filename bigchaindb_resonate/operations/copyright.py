"""COPYRIGHT, the client part (rules: types/copyright.py; spec: docs/spec/copyright.md)."""
from bigchaindb_resonate.operations.shares import build_shared

OPERATION = "COPYRIGHT"
SCHEMA = "copyright_v1.0"


def build(signers, data, metadata=None, holders=None):
    """The copyright in the WORK or MANIFESTATION `data["rightsOf"]`, signed by that record's
    registrant(s); `holders` as (public key, shares) pairs summing to 100 (by default a sole
    signer holds all 100)."""
    return build_shared(OPERATION, "Copyright", signers, data, metadata, holders)
