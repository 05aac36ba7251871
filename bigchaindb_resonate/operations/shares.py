"""How Copyrights and Rights are issued: 100 shares, one holder per output (rules:
types/shares.py)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, register

TOTAL_SHARES = 100


def build_shared(operation, record_type, signers, data, metadata=None, holders=None):
    """A record of `@type` `record_type` held in shares: `holders` as (public key, shares)
    pairs; by default a sole signer holds all 100."""
    signers = list(signers)
    if holders is None:
        if len(signers) != 1:
            raise ValueError("several signers: name the holders and their shares")
        holders = [(signers[0], TOTAL_SHARES)]
    record = {"@context": COALAIP_CONTEXT, "@type": record_type, **data}
    return register(operation, signers, record, metadata,
                    [([key], shares) for key, shares in holders])
