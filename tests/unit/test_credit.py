import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.errors import RecordShape, SchemaViolation
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.credit import (
    MAX_SUPPLY, Credit, CreditAlreadyIssued, CreditNotTreasury, NetworkHasNoParameters,
)
from .memory_store import memory_ledger


@pytest.fixture
def treasury():
    return generate_key_pair()


def parameters_for(treasury):
    return {"treasury_keys": [treasury.public_key], "platform_key": treasury.public_key,
            "coop_share_bp": 3000}


def test_the_treasury_creates_the_whole_supply(treasury):
    tx = Transaction.from_dict(Credit.build([treasury.public_key]).sign([treasury.private_key]).to_dict())
    assert tx.outputs[0].amount == MAX_SUPPLY and tx.outputs[0].public_keys == [treasury.public_key]
    tx.check_stateful(memory_ledger(parameters=parameters_for(treasury)))


def test_no_parameters_no_credit(treasury):
    tx = Credit.build([treasury.public_key]).sign([treasury.private_key])
    with pytest.raises(NetworkHasNoParameters):
        tx.check_stateful(memory_ledger())


def test_a_key_outside_the_treasury_is_refused(treasury):
    other = generate_key_pair()
    tx = Credit.build([other.public_key]).sign([other.private_key])
    with pytest.raises(CreditNotTreasury) as refused:
        tx.check_stateful(memory_ledger(parameters=parameters_for(treasury)))
    assert refused.value.field == "inputs[0].owners_before"


def test_only_one_credit_token_per_network(treasury):
    first = Credit.build([treasury.public_key], supply=10).sign([treasury.private_key])
    second = Credit.build([treasury.public_key], supply=20).sign([treasury.private_key])
    with pytest.raises(CreditAlreadyIssued):
        second.check_stateful(memory_ledger([first], parameters=parameters_for(treasury)))


def test_supply_must_start_with_the_signer(treasury):
    other = generate_key_pair()
    data = {"@context": COALAIP_CONTEXT, "@type": "ResonateCredit", "name": "x", "tokensPerCredit": 1000}
    tx = Credit.create([treasury.public_key], [([other.public_key], 5)], asset=data).sign([treasury.private_key])
    with pytest.raises(RecordShape):
        Transaction.from_dict(tx.to_dict())


def test_the_token_unit_is_frozen(treasury):
    data = {"@context": COALAIP_CONTEXT, "@type": "ResonateCredit", "name": "x", "tokensPerCredit": 100}
    tx = Credit.create([treasury.public_key], [([treasury.public_key], 5)], asset=data).sign([treasury.private_key])
    with pytest.raises(SchemaViolation) as refused:
        Transaction.from_dict(tx.to_dict())
    assert refused.value.field == "asset.data.tokensPerCredit"


def test_issuing_the_same_token_again_says_the_token_exists(treasury):
    """The same treasury key builds the same transaction again: the host's duplicate check
    would answer first, with a code that does not tell the integrator what to do."""
    token = Transaction.from_dict(Credit.build([treasury.public_key]).sign([treasury.private_key]).to_dict())
    again = Transaction.from_dict(Credit.build([treasury.public_key]).sign([treasury.private_key]).to_dict())
    assert again.id == token.id
    with pytest.raises(CreditAlreadyIssued) as refused:
        again.validate(None, [token])  # committed earlier in the block; the store is not reached
    assert refused.value.expected == "a TRANSFER of that asset"
