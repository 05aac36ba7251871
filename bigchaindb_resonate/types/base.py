"""The shape every Resonate transaction type has.

A type module defines a subclass with the same five parts each time:

- ``OPERATION``: the frozen operation name written into every transaction of the type;
- ``SCHEMA``: the versioned schema of its ``asset.data`` (``schemas/<name>.yaml``);
- ``check_stateless(tx_dict)``: rules over the transaction alone (identifiers, shapes);
- ``check_stateful(ledger)``: rules against a read-only ``LedgerView``;
- ``build(...)``: the client builder that returns an unsigned transaction.

BigchainDB calls ``validate_schema`` when it parses a transaction (HTTP API, CheckTx,
DeliverTx and every read from storage) and ``validate`` during CheckTx and DeliverTx; both
are defined here once, so a type module contains only its own rules.
"""
import copy

import rapidjson
from bigchaindb.common.exceptions import DuplicateTransaction, InvalidSignature
from bigchaindb.common.schema import TX_SCHEMA_COMMON, TX_SCHEMA_CREATE, _validate_schema
from bigchaindb.common.transaction import Transaction

from bigchaindb_resonate.errors import RecordShape
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
    OPERATION = None
    SCHEMA = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.OPERATION is None:
            return
        # The host decides "stores an asset" and "checks inputs as a CREATE" by comparing
        # the operation with cls.CREATE (lib.py store_bulk_transactions, inputs_valid).
        cls.CREATE = cls.OPERATION
        cls.ALLOWED_OPERATIONS = (cls.OPERATION,)
        cls._common_schema = _common_schema_for(cls.OPERATION)
        cls._data_schema = CompiledSchema(cls.SCHEMA)

    # -- hooks the host calls

    @classmethod
    def from_dict(cls, tx, skip_schema_validation=False):
        return super().from_dict(tx, skip_schema_validation)

    @classmethod
    def validate_schema(cls, tx):
        _validate_schema(cls._common_schema, tx)
        _validate_schema(TX_SCHEMA_CREATE, tx)
        cls._data_schema.check(tx["asset"]["data"], "asset.data")
        cls.check_stateless(tx)

    def validate(self, bigchain, current_transactions=()):
        ledger = LedgerView(bigchain, current_transactions)
        if ledger.contains(self.id):
            raise DuplicateTransaction(f"transaction `{self.id}` already exists")
        if not self.inputs_valid():
            raise InvalidSignature("Transaction signature is invalid.")
        self.check_stateful(ledger)
        return self

    # -- the parts a type module fills in

    @classmethod
    def check_stateless(cls, tx):
        """Rules over the transaction dict alone; raise a ResonateValidationError."""

    def check_stateful(self, ledger):
        """Rules against committed state and earlier transactions of the block."""

    @classmethod
    def build(cls, signers, data, metadata=None):
        """An unsigned transaction registering `data`, held by `signers`."""
        return cls.create(list(signers), [(list(signers), 1)], metadata=metadata, asset=data)


def check_record_shape(tx):
    """A registry record: one signer, one output of amount 1 held by that signer's keys."""
    if len(tx["inputs"]) != 1:
        raise RecordShape(f"the record has {len(tx['inputs'])} inputs", field="inputs",
                          expected="exactly one input")
    outputs = tx["outputs"]
    if len(outputs) != 1 or outputs[0]["amount"] != "1":
        raise RecordShape("a record is a single indivisible asset", field="outputs",
                          expected='one output with amount "1"')
