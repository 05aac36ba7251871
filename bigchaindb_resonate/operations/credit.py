"""CREDIT, the client part (rules: types/credit.py; spec: docs/spec/credit.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, register
from bigchaindb_resonate.transaction import MAX_AMOUNT

OPERATION = "CREDIT"
SCHEMA = "credit_v1.0"
# The whole supply starts in one output, so it is the most one output may carry.
MAX_SUPPLY = MAX_AMOUNT


def build(signers, data=None, metadata=None, supply=MAX_SUPPLY):
    """The credit token, created by one treasury key (`signers`) with `supply` tokens."""
    record = {"@context": COALAIP_CONTEXT, "@type": "ResonateCredit",
              "name": "Resonate credit", "tokensPerCredit": 1000, **(data or {})}
    return register(OPERATION, signers, record, metadata, holders=[(list(signers), supply)])
