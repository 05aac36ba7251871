"""BigchainDB 2.0 transactions without BigchainDB Server: build, sign, serialize, hash.

What the client library builds and signs has the same bytes as what BigchainDB's own
`common/transaction.py` builds for the same inputs (tests/unit/test_light_transaction.py
checks it against the server's code):

- the canonical encoding is python-rapidjson's, with keys sorted and non-ASCII kept;
- an input signs sha3-256 of the transaction encoded with every input's `fulfillment` set
  to null and `id` null, followed, for a spent output, by `<txid><output index>`;
- the id is the sha3-256 hex digest of the signed transaction encoded with `id` null.

Operation names are free here: the node checks them; a type's builder in `operations/`
names its own.
"""
import copy
from hashlib import sha3_256

import base58
import rapidjson

from bigchaindb_resonate.conditions import (
    any_one_of, condition_for, condition_uri, from_details, fulfillment_uri, public_key_of,
)

VERSION = "2.0"
# The most one output may hold (the server's Output.MAX_AMOUNT).
MAX_AMOUNT = 9 * 10 ** 18


def serialize(value):
    """The canonical encoding that ids and signatures are computed over."""
    return rapidjson.dumps(value, skipkeys=False, ensure_ascii=False, sort_keys=True)


def hash_text(text):
    return sha3_256(text.encode()).hexdigest()


class AnyOf(list):
    """A recipient's public keys any one of whom may spend the output alone."""


class Output:
    """`amount` of an asset locked to `public_keys` by a condition."""

    def __init__(self, condition, public_keys, amount):
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError(f"an output's amount is an integer, not {amount!r}")
        if not 1 <= amount <= MAX_AMOUNT:
            raise ValueError(f"an output's amount is 1 to {MAX_AMOUNT}, not {amount}")
        self.condition = condition
        self.public_keys = public_keys
        self.amount = amount

    @classmethod
    def locked_to(cls, public_keys, amount):
        """Held by all of `public_keys` together, or by any one of them given as AnyOf."""
        if isinstance(public_keys, AnyOf):
            return cls(any_one_of(public_keys), list(public_keys), amount)
        return cls(condition_for(public_keys), public_keys, amount)

    @classmethod
    def from_dict(cls, output):
        return cls(from_details(output["condition"]["details"]), output["public_keys"],
                   int(output["amount"]))

    def to_dict(self):
        return {"public_keys": self.public_keys, "amount": str(self.amount),
                "condition": {"details": self.condition.details(),
                              "uri": condition_uri(self.condition)}}


class Input:
    """Spends the output `fulfills` ((transaction id, output index), None in a CREATE) by
    fulfilling its condition; `signed` is the fulfillment URI once signed."""

    def __init__(self, condition, owners_before, fulfills=None, signed=None):
        self.condition = condition
        self.owners_before = owners_before
        self.fulfills = fulfills
        self.signed = signed

    @classmethod
    def from_dict(cls, input_):
        fulfills = input_["fulfills"]
        link = (fulfills["transaction_id"], fulfills["output_index"]) if fulfills else None
        fulfillment = input_["fulfillment"]
        if isinstance(fulfillment, dict):
            return cls(from_details(fulfillment), input_["owners_before"], link)
        # A signed input: its keys are known from its owners; it is kept as signed.
        return cls(None, input_["owners_before"], link, signed=fulfillment)

    def to_dict(self, fulfillment=True):
        link = self.fulfills and {"transaction_id": self.fulfills[0], "output_index": self.fulfills[1]}
        return {"owners_before": self.owners_before, "fulfills": link,
                "fulfillment": (self.signed or self.condition.details()) if fulfillment else None}

    def sign(self, message, private_keys):
        if self.condition is None:
            raise ValueError("this input is signed already")
        digest = sha3_256(message.encode())
        if self.fulfills:
            digest.update(f"{self.fulfills[0]}{self.fulfills[1]}".encode())
        condition = copy.deepcopy(self.condition)
        condition.sign(digest.digest(), private_keys)
        return Input(condition, self.owners_before, self.fulfills, fulfillment_uri(condition))


class Transaction:
    """A BigchainDB 2.0 transaction: CREATE-like when `asset` is {"data": ...}, TRANSFER-like
    when it is {"id": ...}."""

    def __init__(self, operation, asset, inputs, outputs, metadata=None, version=VERSION,
                 txid=None):
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError("metadata is a dict or None")
        self.operation = operation
        self.asset = asset
        self.inputs = inputs
        self.outputs = outputs
        self.metadata = metadata
        self.version = version
        self.id = txid

    @classmethod
    def create(cls, operation, signers, recipients, asset=None, metadata=None):
        """Registers `asset` (the asset's data), signed by `signers` (public keys), held by
        `recipients`: a list of (public keys, amount)."""
        if not isinstance(signers, list) or not signers:
            raise ValueError("signers are a non-empty list of public keys")
        if asset is not None and not isinstance(asset, dict):
            raise TypeError("an asset's data is a dict or None")
        return cls(operation, {"data": asset}, [Input(condition_for(signers), signers)],
                   _outputs(recipients), metadata)

    @classmethod
    def transfer(cls, operation, inputs, recipients, asset_id, metadata=None):
        """Moves what `inputs` (from `to_inputs`) spend of asset `asset_id` to `recipients`."""
        if not isinstance(inputs, list) or not inputs:
            raise ValueError("a transfer spends a non-empty list of inputs")
        if not isinstance(asset_id, str):
            raise TypeError("an asset id is a string")
        return cls(operation, {"id": asset_id}, copy.deepcopy(inputs), _outputs(recipients),
                   metadata)

    @classmethod
    def from_dict(cls, tx):
        return cls(tx["operation"], tx["asset"], [Input.from_dict(input_) for input_ in tx["inputs"]],
                   [Output.from_dict(output) for output in tx["outputs"]], tx["metadata"],
                   tx["version"], tx.get("id"))

    def to_dict(self):
        return self._body(fulfillments=True, txid=self.id)

    def _body(self, fulfillments, txid):
        return {"inputs": [input_.to_dict(fulfillments) for input_ in self.inputs],
                "outputs": [output.to_dict() for output in self.outputs],
                "operation": self.operation, "metadata": self.metadata, "asset": self.asset,
                "version": self.version, "id": txid}

    @property
    def asset_id(self):
        return self.id if "data" in self.asset else self.asset["id"]

    def to_inputs(self, indices=None):
        """Inputs spending this transaction's outputs at `indices` (all by default)."""
        if self.id is None:
            raise ValueError("an unsigned transaction has no id to spend from")
        return [Input(self.outputs[index].condition, self.outputs[index].public_keys,
                      (self.id, index))
                for index in (indices or range(len(self.outputs)))]

    def sign(self, private_keys):
        """Sign every input with the base58 `private_keys` (all that the inputs need) and
        set the id; returns this transaction."""
        if not isinstance(private_keys, list):
            raise TypeError("private keys are a list")
        keys = {base58.b58decode(public_key_of(key)): base58.b58decode(key) for key in private_keys}
        message = serialize(self._body(fulfillments=False, txid=None))
        self.inputs = [input_.sign(message, keys) for input_ in self.inputs]
        self.id = hash_text(serialize(self._body(fulfillments=True, txid=None)))
        return self


def _outputs(recipients):
    if not isinstance(recipients, list) or not recipients:
        raise ValueError("recipients are a non-empty list of (public keys, amount)")
    for recipient in recipients:
        if not isinstance(recipient, tuple) or len(recipient) != 2:
            raise ValueError(f"a recipient is a (public keys, amount) tuple, not {recipient!r}")
    return [Output.locked_to(keys, amount) for keys, amount in recipients]
