"""SPLIT, the client part (rules: types/split.py; spec: docs/spec/split.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, register

OPERATION = "SPLIT"
SCHEMA = "split_v1.0"


def build(signers, data, metadata=None):
    """`data` names `subject` and `payees` as {"publicKey", "shareBp"} (or (key, bp)
    pairs) in any order; the builder puts them in canonical order. Held by the signers."""
    payees = [payee if isinstance(payee, dict) else {"publicKey": payee[0], "shareBp": payee[1]}
              for payee in data["payees"]]
    record = {"@context": COALAIP_CONTEXT, "@type": "RoyaltySplit", **data,
              "payees": sorted(payees, key=lambda payee: payee["publicKey"])}
    return register(OPERATION, signers, record, metadata)
