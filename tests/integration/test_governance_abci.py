"""A parameter election through the node's ABCI application over a real FerretDB store,
driven block by block as Tendermint drives it: the height every rule reads the parameters
at is the block being built in DeliverTx and the next block in CheckTx and in the API's
processes, and a change is in force from its activation height on, not before."""
import json

import base58
import pytest
from abci import ABCI, TmVersion
from bigchaindb.backend import schema
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.lib import BigchainDB

from bigchaindb_resonate.ledger import LedgerView
from bigchaindb_resonate.operations import parameter_election

from .abci import commit_block, raw
from .conftest import new_database

pytestmark = pytest.mark.integration

LEAD = 2


@pytest.fixture
def governed(ferretdb):
    """A chain with one validator whose key the test holds, and a short activation lead."""
    import bigchaindb.start

    name, connection = new_database(ferretdb)
    types = ABCI(TmVersion.v0_31_5).types
    application = bigchaindb.start.App(abci=types)
    validator, treasury = generate_key_pair(), generate_key_pair()
    parameters = {"treasury_keys": [treasury.public_key], "platform_key": treasury.public_key,
                  "coop_share_bp": 3000, "activation_lead_blocks": LEAD}
    application.init_chain(types.RequestInitChain(
        chain_id="governed", app_state_bytes=json.dumps({"resonate": parameters}).encode(),
        validators=[types.ValidatorUpdate(pub_key=types.PubKey(
            type="ed25519", data=base58.b58decode(validator.public_key)), power=10)]))
    application.height = 0
    yield application, validator
    schema.drop_database(connection, name)


def share(bigchain):
    return LedgerView(bigchain).network_parameters()["coop_share_bp"]


def test_a_change_voted_at_one_height_is_in_force_from_its_activation_height(governed):
    app, validator = governed
    activation = 1 + LEAD + 1  # proposed in block 1
    election = parameter_election.build(validator.public_key, [(validator.public_key, 10)],
                                        "coop_share_bp", 1500, activation).sign([validator.private_key])
    too_soon = parameter_election.build(validator.public_key, [(validator.public_key, 10)],
                                        "payout_threshold", 9000, LEAD).sign([validator.private_key])
    assert app.check_tx(raw(too_soon.to_dict())).log.startswith("PARAMETER_ACTIVATION_TOO_SOON")
    assert [result.code for result in commit_block(app, [raw(election.to_dict())])] == [0]
    vote = parameter_election.vote(election, validator.public_key).sign([validator.private_key])
    assert app.check_tx(raw(vote.to_dict())).code == 0
    assert [result.code for result in commit_block(app, [raw(vote.to_dict())])] == [0]  # block 2
    # CheckTx and the API judge the next block (3): the old share still.
    web = BigchainDB(connection=app.bigchaindb.connection)
    assert app.bigchaindb.validating_height == 3
    assert share(app.bigchaindb) == share(web) == 3000
    commit_block(app, [])  # block 3
    assert app.bigchaindb.validating_height == activation
    assert share(app.bigchaindb) == share(BigchainDB(connection=app.bigchaindb.connection)) == 1500
    assert LedgerView(web).parameters_at(activation - 1)["coop_share_bp"] == 3000
    again = parameter_election.vote(election, validator.public_key).sign([validator.private_key])
    assert app.check_tx(raw(again.to_dict())).log.startswith("ELECTION_CONCLUDED")
