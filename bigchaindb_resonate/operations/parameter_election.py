"""PARAMETER_ELECTION and its votes, the client part (rules: types/parameter_election.py;
spec: docs/spec/parameter_election.md).

A validator proposes a new value for one network parameter from an activation height on;
the election gives every validator as many vote tokens as its voting power (BigchainDB's
election shape, `bigchaindb/elections/election.py`); a validator votes by sending its
tokens to the election's own public key in a VOTE, BigchainDB's vote operation.
"""
import base64
import json
import uuid

import base58

from bigchaindb_resonate.conditions import KeyPair, public_key_of
from bigchaindb_resonate.operations.common import as_transaction, move, register

OPERATION = "PARAMETER_ELECTION"
SCHEMA = "parameter_election_v1.0"
VOTE = "VOTE"  # BigchainDB's own operation (bigchaindb/elections/vote.py)


def build(proposer, validators, parameter, value, activation_height, seed=None):
    """An unsigned election proposed by the validator public key `proposer` (base58),
    giving each of `validators` ((base58 public key, voting power) pairs: every current
    validator) its power in votes. `seed` (a fresh UUID by default) tells apart two
    elections that propose the same."""
    data = {"parameter": parameter, "value": value, "activation_height": activation_height,
            "seed": seed or str(uuid.uuid4())}
    return register(OPERATION, [proposer], data,
                    holders=[([key], power) for key, power in sorted(validators)])


def election_public_key(election_id):
    """The key votes are sent to: the election id's bytes, base58 (BigchainDB's
    Election.to_public_key)."""
    return base58.b58encode(bytes.fromhex(election_id)).decode()


def vote(election, voter):
    """An unsigned VOTE of every token the validator public key `voter` holds in `election`
    (the committed election transaction)."""
    election = as_transaction(election)
    mine = [index for index, output in enumerate(election.outputs) if output.public_keys == [voter]]
    if not mine:
        raise ValueError(f"{voter} holds no votes in election {election.id}: it was not a "
                         f"validator when the election was proposed")
    amount = sum(election.outputs[index].amount for index in mine)
    return move(VOTE, election.to_inputs(mine), [([election_public_key(election.id)], amount)],
                election.id, None)


def validator_public_key(tendermint_public_key):
    """A validator's base58 public key from Tendermint's base64 one (as /api/v1/validators
    and priv_validator_key.json give it)."""
    return base58.b58encode(base64.b64decode(tendermint_public_key)).decode()


def validator_keypair(path):
    """The key pair of a validator's Tendermint key file (priv_validator_key.json), in the
    base58 form transactions are signed with; a `resonate keys new` file is read as is."""
    with open(path) as file:
        stored = json.load(file)
    if "priv_key" in stored:  # Tendermint: base64 of the 32-byte seed and the public key
        private = base58.b58encode(base64.b64decode(stored["priv_key"]["value"])[:32]).decode()
    else:
        private = stored["private_key"]
    return KeyPair(private, public_key_of(private))
