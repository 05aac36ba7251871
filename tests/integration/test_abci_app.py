"""The node's ABCI application over a real FerretDB store, driven block by block as
Tendermint would drive it (InitChain, CheckTx, BeginBlock, DeliverTx, EndBlock, Commit)."""
import json

import pytest
from abci import ABCI, TmVersion
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction
from bigchaindb.backend import query, schema

from bigchaindb_resonate.types.party import Party

from .abci import commit_block, party, raw
from .conftest import new_database

pytestmark = pytest.mark.integration


def test_party_is_checked_delivered_stored_and_read_back(app):
    keypair = generate_key_pair()
    tx = party(keypair, "Kokoroko")
    assert app.check_tx(raw(tx)).code == 0
    assert [r.code for r in commit_block(app, [raw(tx)])] == [0]
    stored = app.bigchaindb.get_transaction(tx["id"])
    assert type(stored) is Party and stored.to_dict() == tx
    assert list(query.get_txids_filtered(app.bigchaindb.connection, tx["id"], "PARTY")) == [tx["id"]]
    assert [a["id"] for a in app.bigchaindb.text_search("kokoroko")] == [tx["id"]]
    # committed: the same transaction is now a duplicate
    refused = app.check_tx(raw(tx))
    assert refused.code != 0 and "HOST_DUPLICATE_TRANSACTION" in refused.log


def test_second_of_two_identical_transactions_in_one_block_is_refused(app):
    tx = party(generate_key_pair(), "Nubya Garcia")
    assert [r.code != 0 for r in commit_block(app, [raw(tx), raw(tx)])] == [False, True]


def test_transfer_of_an_output_spent_earlier_in_the_same_block_is_refused(app):
    alice, bob, carol = generate_key_pair(), generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 3)]).sign([alice.private_key])
    commit_block(app, [raw(create.to_dict())])
    to_bob = Transaction.transfer(create.to_inputs(), [([bob.public_key], 3)], asset_id=create.id)
    to_carol = Transaction.transfer(create.to_inputs(), [([carol.public_key], 3)], asset_id=create.id)
    results = commit_block(app, [raw(to_bob.sign([alice.private_key]).to_dict()),
                                 raw(to_carol.sign([alice.private_key]).to_dict())])
    assert [r.code for r in results][0] == 0 and results[1].code != 0
    assert "HOST_DOUBLE_SPEND" in results[1].log
    spent = list(query.get_spent(app.bigchaindb.connection, create.id, 0))
    assert [tx["id"] for tx in spent] == [to_bob.id]


@pytest.mark.parametrize("payload, code", [
    (b'{"id": NaN}', "TX_NON_FINITE_NUMBER"),
    (b'{"asset": {"data": {"tags": [[1]]}}}', "TX_NESTED_ARRAY"),
    (b'{"note": "a\\u0000b"}', "TX_NUL_CHARACTER"),
    (b'not json', "TX_MALFORMED"),
    (b'{"pad": "' + b"x" * 70000 + b'"}', "TX_TOO_LARGE"),
    (b'{"id": "zz"}', "TX_MALFORMED"),
    (b'{"asset": {"data": {"gain": -0.0}}}', "TX_NEGATIVE_ZERO"),
    (b"[" * 30_000 + b"]" * 30_000, "TX_TOO_DEEP"),
])
def test_hostile_bytes_are_refused_in_check_and_deliver_and_the_app_keeps_working(app, payload, code):
    checked = app.check_tx(payload)
    assert checked.code != 0 and checked.log.startswith(code)
    delivered = commit_block(app, [payload])[0]
    assert delivered.code != 0 and delivered.log.startswith(code)
    tx = party(generate_key_pair(), "Still Standing")
    assert [r.code for r in commit_block(app, [raw(tx)])] == [0]


def test_nan_inside_a_signed_create_never_reaches_the_store(app):
    keypair = generate_key_pair()
    tx = Transaction.create([keypair.public_key], [([keypair.public_key], 1)],
                            asset={"level": float("nan")}).sign([keypair.private_key]).to_dict()
    payload = json.dumps(tx).encode()  # Python writes NaN, as a careless client would
    assert commit_block(app, [payload])[0].code != 0
    assert app.bigchaindb.get_transaction(tx["id"]) is None


def test_last_transaction_of_an_asset_follows_commit_order(app):
    alice, bob = generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 1)]).sign([alice.private_key])
    to_bob = Transaction.transfer(create.to_inputs(), [([bob.public_key], 1)],
                                  asset_id=create.id).sign([alice.private_key])
    back = Transaction.transfer(to_bob.to_inputs(), [([alice.public_key], 1)],
                                asset_id=create.id).sign([bob.private_key])
    connection = app.bigchaindb.connection
    for tx in (create, to_bob, back):
        commit_block(app, [raw(tx.to_dict())])
        assert list(query.get_txids_filtered(connection, create.id, last_tx=True)) == [tx.id]
    assert sorted(query.get_txids_filtered(connection, create.id)) == sorted(
        [create.id, to_bob.id, back.id])


def test_consensus_time_comes_from_block_headers_and_is_kept_for_other_processes(app):
    from bigchaindb.lib import BigchainDB
    from bigchaindb_resonate.ledger import LedgerView

    commit_block(app, [], seconds=1_800_000_000)  # 2027-01-15T08:00:00Z
    assert LedgerView(app.bigchaindb).consensus_date() == "2027-01-15"
    # A web worker has no block in progress: it reads the latest committed block's time.
    assert LedgerView(BigchainDB(connection=app.bigchaindb.connection)).consensus_time() == 1_800_000_000


def test_genesis_parameters_are_stored_for_every_rule_to_read(ferretdb):
    import bigchaindb.start
    from bigchaindb_resonate.ledger import LedgerView
    from bigchaindb_resonate.parameters import with_defaults

    name, connection = new_database(ferretdb)
    try:
        types = ABCI(TmVersion.v0_31_5).types
        application = bigchaindb.start.App(abci=types)
        treasury, platform = generate_key_pair(), generate_key_pair()
        parameters = {"treasury_keys": [treasury.public_key], "platform_key": platform.public_key,
                      "coop_share_bp": 3000}
        application.init_chain(types.RequestInitChain(
            chain_id="with-parameters", app_state_bytes=json.dumps({"resonate": parameters}).encode()))
        # The others are in force at their defaults (parameters.py).
        assert LedgerView(application.bigchaindb).network_parameters() == with_defaults(parameters)
    finally:
        schema.drop_database(connection, name)


def test_stored_documents_are_keyed_by_their_id(app):
    tx = party(generate_key_pair(), "Keyed")
    commit_block(app, [raw(tx)])
    connection = app.bigchaindb.connection
    for collection in ("transactions", "assets", "metadata"):
        stored = connection.run(connection.collection(collection).find_one({"_id": tx["id"]}))
        assert stored is not None and stored["id"] == tx["id"], collection


def test_crash_recovery_deletes_what_a_rolled_back_transfer_spent(app):
    alice, bob = generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 1)]).sign([alice.private_key])
    commit_block(app, [raw(create.to_dict())])
    transfer = Transaction.transfer(create.to_inputs(), [([bob.public_key], 1)],
                                    asset_id=create.id).sign([alice.private_key])
    commit_block(app, [raw(transfer.to_dict())])
    connection = app.bigchaindb.connection
    assert [tx["id"] for tx in query.get_spent(connection, create.id, 0)] == [transfer.id]
    query.delete_transactions(connection, [transfer.id])  # what core.rollback does
    assert list(query.get_spent(connection, create.id, 0)) == []
    assert app.check_tx(raw(transfer.to_dict())).code == 0
