"""What every type's builder shares: the records' JSON-LD context, normalised identifiers,
and the two shapes of transaction (one registering a record, one moving an asset)."""
from bigchaindb_resonate.transaction import Transaction

# The JSON-LD context every record names; pinned so a record's meaning cannot drift.
COALAIP_CONTEXT = "https://resonate.coop/ns/coalaip/v1.jsonld"


def with_context(data, key, normalise):
    """A client's record: the pinned context, and the identifier under `key` normalised from
    the display form people type."""
    record = {"@context": COALAIP_CONTEXT, **data}
    if key in record:
        record[key] = normalise(record[key], f"asset.data.{key}")
    return record


def register(operation, signers, data, metadata=None, holders=None):
    """An unsigned transaction registering `data`, signed by `signers` (public keys) and
    held by `holders` (a list of (public keys, amount); by default the signers, amount 1)."""
    signers = list(signers)
    return Transaction.create(operation, signers, holders or [(signers, 1)], data, metadata)


def move(operation, inputs, recipients, asset_id, metadata):
    """An unsigned transfer of `inputs` (from `to_inputs()`) to `recipients`."""
    return Transaction.transfer(operation, inputs, recipients, asset_id, metadata)


def as_transaction(tx):
    """A committed transaction given as the node's JSON, or as any transaction object."""
    if isinstance(tx, Transaction):
        return tx
    return Transaction.from_dict(tx if isinstance(tx, dict) else tx.to_dict())
