"""The shape every Resonate transaction type has.

A type module defines a subclass of `ResonateRecord` (CREATE-like: registers a new asset)
or `ResonateTransfer` (TRANSFER-like: moves one) with the same five parts each time:

- ``OPERATION``: the frozen operation name written into every transaction of the type;
- ``SCHEMA``: the versioned schema of its record (``schemas/<name>.yaml``), applied to
  ``asset.data`` of a record or ``metadata`` of a transfer; ``SCHEMAS`` maps the rule
  version from which each released schema is in force to it (by default ``{1: SCHEMA}``);
- ``check_stateless(tx_dict)``: rules over the transaction alone (identifiers, shapes);
- ``check_stateful(ledger)``: rules against a read-only ``LedgerView``;
- ``build(...)`` (``assign``, ``pay`` for transfers): the client builder that returns an
  unsigned transaction.

The name, the schema version and the builder live in the type's module in `operations/`,
which the client library imports without BigchainDB Server; the type class here takes them
from there (`client_builder`), so the node and the client build the same transaction.

BigchainDB calls ``validate_schema`` when it parses a new transaction (HTTP API, CheckTx,
DeliverTx) and ``validate`` during CheckTx and DeliverTx; both are defined here once, so a
type module contains only its own rules. Parsing accepts a record under any released
schema of its type and runs ``check_stateless``, whose rules hold under every rule version;
``validate`` then holds the record to the schema of the rule version in force at the height
being validated (rule_versions.py). Reading a committed transaction runs none of these
again (``validate_committed``): it was validated under the rules of its own height.
"""
import copy

import rapidjson
from bigchaindb.common.exceptions import DoubleSpend, DuplicateTransaction, InvalidSignature
from bigchaindb.common.schema import TX_SCHEMA_COMMON, TX_SCHEMA_CREATE, TX_SCHEMA_TRANSFER
from bigchaindb.common.transaction import Input, Output, Transaction

from bigchaindb_resonate.errors import IdentifierNotCanonical, OutputHeld, RecordShape, SchemaViolation
from bigchaindb_resonate.host_schemas import validate_schema as validate_host_schema
from bigchaindb_resonate.ledger import LedgerView
from bigchaindb_resonate.schemas import CompiledSchema


def _common_schema_for(operation):
    """BigchainDB's common transaction schema with its closed operation enum set to ours.

    Derived from the host's loaded schema rather than copied, so every other rule of the
    host's schema keeps applying to our types.
    """
    document = copy.deepcopy(TX_SCHEMA_COMMON[0])
    document["definitions"]["operation"]["enum"] = [operation]
    return document, rapidjson.Validator(rapidjson.dumps(document))


class ResonateTransaction(Transaction):
    """What every type shares; subclass `ResonateRecord` or `ResonateTransfer`, not this."""

    OPERATION = None
    SCHEMA = None
    SCHEMAS = None  # {first rule version: schema name}; None: {1: SCHEMA}
    # The operation that must move this type's assets; None lets a plain TRANSFER move them.
    TRANSFERRED_BY = None
    HOST_SCHEMA = None     # BigchainDB's CREATE or TRANSFER schema
    SCHEMA_FIELD = None    # where SCHEMA applies: "asset.data" or "metadata"
    # What LedgerView.find_records / find_by_metadata may look this type up by: the node
    # files each committed transaction under these keys (registry.index_keys).
    INDEXED_FIELDS = ()    # asset.data fields
    # Older names of an indexed field (older name: indexed field): a record using the older
    # name is filed and found under the indexed one.
    FIELD_ALIASES = {}
    INDEXED_METADATA = ()  # groups of metadata fields, e.g. (("listener", "track"),)
    # Outputs only some operations may spend, by index: {output index: operations}
    # (registry.check_held_outputs applies it to every transfer), and the refusal of
    # any other spend.
    HELD_OUTPUTS = {}
    HELD_ERROR = OutputHeld

    @classmethod
    def held_for(cls, tx, index):
        """The operations that alone may spend output `index` of `tx`, a transaction of this
        type (or its stored dict), or None for any (HELD_OUTPUTS; a type whose held outputs
        depend on the transaction says so)."""
        return cls.HELD_OUTPUTS.get(index)

    @classmethod
    def extra_index_keys(cls, metadata):
        """Keys besides INDEXED_FIELDS and INDEXED_METADATA that a committed transaction of
        this type is filed under (registry.index_keys), from its metadata; a key listed n
        times is filed n times (a settlement counts each play it pays)."""
        return []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.OPERATION is None:
            return
        cls.ALLOWED_OPERATIONS = (cls.OPERATION,)
        cls._bind_operation()
        cls._common_schema = _common_schema_for(cls.OPERATION)
        cls._data_schema = CompiledSchema(cls.SCHEMA)
        cls._schemas = {version: CompiledSchema(name) for version, name
                        in sorted((cls.__dict__.get("SCHEMAS") or {1: cls.SCHEMA}).items())}

    @classmethod
    def schema_in_force(cls, rules_version):
        """The record schema of the rule version: the latest released from it or before."""
        return cls._schemas[max(version for version in cls._schemas if version <= rules_version)]

    @classmethod
    def _check_record_released(cls, tx):
        """The record holds under one of the type's released schemas (newest first); when
        it holds under none, the refusal is the newest's."""
        record = cls._record(tx)
        newest, *older = reversed(cls._schemas.values())
        try:
            newest.check(record, cls.SCHEMA_FIELD)
        except SchemaViolation:
            for schema in older:
                try:
                    return schema.check(record, cls.SCHEMA_FIELD)
                except SchemaViolation:
                    continue
            raise

    @classmethod
    def _record(cls, tx):
        value = tx
        for key in cls.SCHEMA_FIELD.split("."):
            value = value[key]
        return value

    @classmethod
    def from_client(cls, tx):
        """This type's host transaction of an unsigned one built in `operations/`."""
        body = tx.to_dict()
        return cls(body["operation"], body["asset"], [Input.from_dict(i) for i in body["inputs"]],
                   [Output.from_dict(o) for o in body["outputs"]], body["metadata"], body["version"])

    # -- hooks the host calls

    @classmethod
    def from_dict(cls, tx, skip_schema_validation=False):
        return super().from_dict(tx, skip_schema_validation)

    @classmethod
    def validate_schema(cls, tx):
        cls.validate_committed(tx)
        cls.check_stateless(tx)

    @classmethod
    def validate_committed(cls, tx):
        """What reading a committed transaction checks: the host's schemas and a record
        under one of the type's released schemas; never the rules of a later height."""
        validate_host_schema(cls._common_schema, tx)
        validate_host_schema(cls.HOST_SCHEMA, tx)
        cls._check_record_released(tx)

    def validate(self, bigchain, current_transactions=()):
        ledger = LedgerView(bigchain, current_transactions)
        if len(self._schemas) > 1:  # with one, parsing checked it
            self.schema_in_force(ledger.rules_version()).check(self._record(self.to_dict()),
                                                               self.SCHEMA_FIELD)
        self._check_not_a_duplicate_then_inputs(ledger, bigchain, list(current_transactions))
        self.check_stateful(ledger)
        return self

    def already_exists(self):
        """The refusal of this very transaction once it is committed (or earlier in the
        block); a type whose repeat has a meaning of its own says so."""
        return DuplicateTransaction(f"transaction `{self.id}` already exists")

    # -- the parts a type module fills in

    @classmethod
    def check_stateless(cls, tx):
        """Rules over the transaction dict alone; raise a ResonateValidationError."""

    def check_stateful(self, ledger):
        """Rules against committed state and earlier transactions of the block."""


class ResonateRecord(ResonateTransaction):
    """A CREATE-like type: the transaction registers a new asset, `asset.data` is the record."""

    HOST_SCHEMA = TX_SCHEMA_CREATE
    SCHEMA_FIELD = "asset.data"

    @classmethod
    def _bind_operation(cls):
        # The host decides "stores an asset" and "checks inputs as a CREATE" by comparing
        # the operation with cls.CREATE (lib.py store_bulk_transactions, inputs_valid).
        cls.CREATE = cls.OPERATION

    def _check_not_a_duplicate_then_inputs(self, ledger, bigchain, current_transactions):
        if ledger.contains(self.id):
            raise self.already_exists()
        if not self.inputs_valid():
            raise InvalidSignature("Transaction signature is invalid.")


class ResonateTransfer(ResonateTransaction):
    """A TRANSFER-like type: moves an existing asset; `metadata` carries its record."""

    HOST_SCHEMA = TX_SCHEMA_TRANSFER
    SCHEMA_FIELD = "metadata"

    @classmethod
    def _bind_operation(cls):
        cls.TRANSFER = cls.OPERATION

    def _check_not_a_duplicate_then_inputs(self, ledger, bigchain, current_transactions):
        # The host's own transfer rules: inputs exist, are unspent (also within the block),
        # are signed by their owners, belong to this asset, and amounts balance. A copy of a
        # transfer spends what it spent, so only a double spend costs the duplicate lookup.
        try:
            self.validate_transfer_inputs(bigchain, current_transactions)
        except DoubleSpend:
            if ledger.contains(self.id):
                raise self.already_exists() from None
            raise self.double_spent(ledger) from None
        from bigchaindb_resonate.registry import check_held_outputs

        check_held_outputs(self, ledger)

    def double_spent(self, ledger):
        """The refusal of a transfer spending an output already spent; a type whose
        outputs carry a state (a payment channel) says what moved it on."""
        return DoubleSpend(f"an input of `{self.id}` is spent already")

    @classmethod
    def build(cls, inputs, recipients, asset_id, metadata):
        """An unsigned transfer of `inputs` (from `tx.to_inputs()`) to `recipients`."""
        return cls.transfer(inputs, recipients, asset_id=asset_id, metadata=metadata)


def check_record_shape(tx):
    """A registry record: one signer, one output of amount 1 held by that signer's keys."""
    if len(tx["inputs"]) != 1:
        raise RecordShape(f"the record has {len(tx['inputs'])} inputs", field="inputs",
                          expected="exactly one input")
    outputs = tx["outputs"]
    if len(outputs) != 1 or outputs[0]["amount"] != "1":
        raise RecordShape("a record is a single indivisible asset", field="outputs",
                          expected='one output with amount "1"')


def check_canonical(data, key, normalise):
    """The identifier under `key`, when present, is valid and written in canonical form."""
    if key in data:
        field = f"asset.data.{key}"
        canonical = normalise(data[key], field)
        if canonical != data[key]:
            raise IdentifierNotCanonical(f"`{data[key]}` is a display form", field=field,
                                         expected=repr(canonical))


def client_builder(build):
    """A type's builder from `operations/` as a class method answering the type's host
    transaction, as the node's code and its tests use it."""
    def built(cls, *args, **options):
        return cls.from_client(build(*args, **options))

    built.__doc__ = build.__doc__
    return classmethod(built)
