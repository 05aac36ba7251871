"""The one registry of our transaction types.

BigchainDB resolves a transaction's class from its operation and silently falls back to
CREATE for an unknown one (common/transaction.py `resolve_class`), so `self_test` checks,
in every process before it parses a transaction, that each of ours resolves to its class.
"""
from collections import OrderedDict

from bigchaindb.common.transaction import Transaction

from bigchaindb_resonate.errors import AssetMovesByItsOwnOperation, RecordNeedsOwnOperation
from bigchaindb_resonate.ledger import asset_key, metadata_key, record_key

from bigchaindb_resonate.types.channel_close import ChannelClose
from bigchaindb_resonate.types.channel_open import ChannelOpen
from bigchaindb_resonate.types.channel_refund import ChannelRefund
from bigchaindb_resonate.types.channel_settle import ChannelSettle
from bigchaindb_resonate.types.channel_settle_batch import ChannelSettleBatch
from bigchaindb_resonate.types.channel_topup import ChannelTopUp
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.credit import Credit
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.parameter_election import ParameterElection
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.payout_cancel import PayoutCancel
from bigchaindb_resonate.types.payout_request import PayoutRequest
from bigchaindb_resonate.types.payout_settle import PayoutSettle
from bigchaindb_resonate.types.play import Play
from bigchaindb_resonate.types.right import Right
from bigchaindb_resonate.types.rights_assignment import RightsAssignment
from bigchaindb_resonate.types.split import Split
from bigchaindb_resonate.types.work import Work

TYPES = (Party, Work, Manifestation, Copyright, Right, RightsAssignment, Credit, Split, Play,
         PayoutRequest, PayoutSettle, PayoutCancel,
         ChannelOpen, ChannelTopUp, ChannelSettle, ChannelClose, ChannelRefund,
         ChannelSettleBatch)
# Governance: elections on BigchainDB's election mechanism, voted by validators.
ELECTIONS = (ParameterElection,)
ALL_TYPES = TYPES + ELECTIONS
OPERATIONS = tuple(cls.OPERATION for cls in ALL_TYPES)


# COALA IP's generic names for what our record types register: pycoalaip builds a Work as
# `AbstractWork` and a Manifestation as `CreativeWork` unless given a music type.
COALAIP_RECORD_TYPES = {"AbstractWork": "WORK", "Manifestation": "MANIFESTATION",
                        "CreativeWork": "MANIFESTATION"}


def _record_operations():
    """Each `@type` a record type's schema accepts, and the COALA IP names, to the
    operation that registers such a record."""
    operations = dict(COALAIP_RECORD_TYPES)
    for cls in TYPES:
        if cls.CREATE == cls.OPERATION:
            for name in cls._data_schema.document["properties"]["@type"]["enum"]:
                operations[name] = cls.OPERATION
    return operations


RECORD_OPERATIONS = _record_operations()


class RegistryError(RuntimeError):
    pass


def register_all():
    for cls in ALL_TYPES:
        Transaction.register_type(cls.OPERATION, cls)
    self_test()


def self_test():
    names = [cls.OPERATION for cls in ALL_TYPES]
    if len(set(names)) != len(names):
        raise RegistryError(f"duplicate operation names in {names}")
    for cls in ALL_TYPES:
        resolved = Transaction.resolve_class(cls.OPERATION)
        if resolved is not cls:
            raise RegistryError(f"operation {cls.OPERATION} resolves to {resolved.__name__}, "
                                f"not {cls.__name__}: the plugin is not registered in this process")


def type_for(operation):
    return next((cls for cls in ALL_TYPES if cls.OPERATION == operation), None)


def moves_assets(operation):
    """True for our TRANSFER-like operations."""
    cls = type_for(operation)
    return cls is not None and cls.TRANSFER == operation


def check_plain_transfer(tx, ledger):
    """Refuse a host TRANSFER of an asset whose type names its own transfer operation, or
    one spending an output held for other operations (HELD_OUTPUTS)."""
    created = ledger.get_transaction(tx.asset["id"])
    owner_type = type_for(created.operation) if created is not None else None
    if owner_type is not None and owner_type.TRANSFERRED_BY:
        raise AssetMovesByItsOwnOperation(
            f"a {owner_type.OPERATION} asset cannot move by a plain TRANSFER", field="operation",
            expected=owner_type.TRANSFERRED_BY)
    check_held_outputs(tx, ledger)


def check_held_outputs(tx, ledger):
    """Refuse a transfer spending an output its transaction's type holds for other
    operations (HELD_OUTPUTS: a payout request's tokens, a payment channel's output)."""
    for index, input_ in enumerate(tx.inputs):
        check_held_output(ledger, input_.fulfills, f"inputs[{index}].fulfills", tx.operation)


def check_held_output(ledger, fulfills, field, operation=None):
    """Refuse spending the output `fulfills` names by `operation` when its transaction's
    type holds it for other operations; with no operation, refuse any held output (tokens
    paid in as credits must be free). The refusal is the holding type's HELD_ERROR."""
    source = ledger.get_transaction(fulfills.txid) if fulfills else None
    source_type = type_for(source.operation) if source is not None else None
    allowed = source_type.held_for(source, fulfills.output) if source_type else None
    if allowed is not None and operation not in allowed:
        raise source_type.HELD_ERROR(f"output {fulfills.output} of {source.operation} `{source.id}`",
                                     field=field, expected=" or ".join(allowed))


def check_plain_create(tx):
    """Refuse a host CREATE whose asset is one of our records by its `@type` (a JSON-LD
    name, prefixed name or IRI, or a list of them): the registry reads only records its
    own operation checked, so such a CREATE would sit on the ledger unseen."""
    data = (tx.asset or {}).get("data")
    declared = data.get("@type") if isinstance(data, dict) else None
    for name in declared if isinstance(declared, list) else [declared]:
        operation = RECORD_OPERATIONS.get(_local_name(name)) if isinstance(name, str) else None
        if operation is not None:
            raise RecordNeedsOwnOperation(f"`{name}` is what a {operation} registers",
                                          field="asset.data.@type", expected=operation)


def _local_name(name):
    """`MusicComposition` of `schema:MusicComposition` or `http://schema.org/MusicComposition`."""
    for separator in ("/", "#", ":"):
        name = name.rsplit(separator, 1)[-1]
    return name


# Operations that move a type's assets in place of a plain TRANSFER (RIGHTS_ASSIGNMENT, and
# VOTE for an election's vote tokens): the only transfers the rule index files, so that a
# record's holders and an election's votes can be found. Other transfers (credit
# purchases, plays) are never listed by asset.
TRANSFERRING_OPERATIONS = frozenset(cls.TRANSFERRED_BY for cls in ALL_TYPES if cls.TRANSFERRED_BY)


def index_keys(operation, asset, metadata):
    """The keys a committed transaction is filed under for the rules' lookups (see
    ledger.RULE_INDEX): a record's own transfers under their asset, our types under their
    indexed fields and metadata groups."""
    keys = []
    if operation in TRANSFERRING_OPERATIONS:
        keys.append(asset_key(asset["id"]))
    cls = type_for(operation)
    if cls is None:
        return keys
    data = (asset or {}).get("data") or {}
    keys += [record_key(operation, cls.FIELD_ALIASES.get(field, field), data[field])
             for field in (*cls.INDEXED_FIELDS, *cls.FIELD_ALIASES) if field in data]
    metadata = metadata or {}
    keys += [metadata_key(operation, {field: metadata[field] for field in group})
             for group in cls.INDEXED_METADATA if all(field in metadata for field in group)]
    keys += cls.extra_index_keys(metadata)
    return keys


# The keys of recently seen transactions, by id: a validated transaction's id is the hash
# of its content, so its keys never change. Every validation looks through the block being
# built (or the mempool, in CheckTx), which holds the same transactions each time.
_KEYS_BY_ID = OrderedDict()
KEYS_KEPT = 20_000


def keys_of(tx):
    """index_keys of a validated transaction (one whose id is its content's hash)."""
    keys = _KEYS_BY_ID.get(tx.id)
    if keys is None:
        keys = _KEYS_BY_ID[tx.id] = index_keys(tx.operation, tx.asset, tx.metadata)
        if len(_KEYS_BY_ID) > KEYS_KEPT:
            _KEYS_BY_ID.popitem(last=False)
    return keys
