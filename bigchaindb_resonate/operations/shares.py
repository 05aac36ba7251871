"""How Copyrights and Rights are issued: 100 shares, one holder per output (rules:
types/shares.py)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, register
from bigchaindb_resonate.validators.terms import normalise_country

TOTAL_SHARES = 100


def build_shared(operation, record_type, signers, data, metadata=None, holders=None):
    """A record of `@type` `record_type` held in shares: `holders` as (public key, shares)
    pairs; by default a sole signer holds all 100."""
    signers = list(signers)
    if holders is None:
        if len(signers) != 1:
            raise ValueError("several signers: name the holders and their shares")
        holders = [(signers[0], TOTAL_SHARES)]
    record = {"@context": COALAIP_CONTEXT, "@type": record_type, **normalised_territory(data)}
    return register(operation, signers, record, metadata,
                    [([key], shares) for key, shares in holders])


def normalised_territory(data):
    """`data` with its territory's country codes as records store them (` gb ` is GB), as
    builders normalise identifiers."""
    territory = data.get("territory")
    if not isinstance(territory, dict):
        return data
    return {**data, "territory": {
        key: [normalise_country(code) if isinstance(code, str) else code for code in codes]
        if isinstance(codes, list) else codes for key, codes in territory.items()}}
