"""A node killed at any store round trip of a block's EndBlock and Commit, then started
again (crash recovery, core.py rollback) and given the block again where Tendermint would
replay it, holds the store it would have held without the kill: on a real FerretDB."""
import base64

import pytest
from abci import ABCI, TmVersion
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction
from google.protobuf.timestamp_pb2 import Timestamp

from .abci import commit_block, party, raw
from .conftest import new_database

pytestmark = pytest.mark.integration

# Written by the start itself (store_format.py), not by a block.
WRITTEN_AT_START = {"store_format"}


class Killed(BaseException):
    """SIGKILL: nothing after it runs, no handler sees it."""


def started_app(port, name, genesis=False):
    """The ABCI app of a process starting on database `name`; crash recovery runs as
    `bigchaindb start` runs it, before the app is made."""
    import bigchaindb
    import bigchaindb.start
    from bigchaindb.commands import bigchaindb as commands
    from bigchaindb.lib import BigchainDB

    from bigchaindb_resonate import host

    host.COMMITTED.clear()  # a new process remembers nothing
    bigchaindb.config["database"].update(host="127.0.0.1", port=port, name=name)
    if not genesis:
        commands.run_recover(BigchainDB())
    types = ABCI(TmVersion.v0_31_5).types
    app = bigchaindb.start.App(abci=types)
    if genesis:
        validator = types.ValidatorUpdate(pub_key=types.PubKey(type="ed25519", data=base64.b64decode(
            "zL/DasvKulXZzhSNFwx4cLRXKkSM9GPK7Y0nZ4FEylM=")), power=10)
        app.init_chain(types.RequestInitChain(validators=[validator], chain_id="test-chain"))
        app.height = 0
    return app


def deliver_and_commit(app, raw_transactions, height):
    types = app.abci
    header = types.Header(height=height, num_txs=len(raw_transactions),
                          time=Timestamp(seconds=1_790_000_000 + 60 * height))
    app.begin_block(types.RequestBeginBlock(header=header))
    codes = [app.deliver_tx(raw_tx).code for raw_tx in raw_transactions]
    app.end_block(types.RequestEndBlock(height=height))
    app.commit()
    return codes


def killed_at(app, round_trip, action):
    """Run `action`, the process killed before its `round_trip`th store round trip (None:
    never); how many round trips it made."""
    connection_class = type(app.bigchaindb.connection)
    upstream = connection_class.run
    made = 0

    def run(self, query):
        nonlocal made
        if made == round_trip:
            raise Killed()
        made += 1
        return upstream(self, query)

    connection_class.run = run
    try:
        action()
    except Killed:
        pass
    finally:
        connection_class.run = upstream
    return made


def store_contents(app):
    connection = app.bigchaindb.connection
    database = connection.conn[connection.dbname]
    return {name: sorted(repr(sorted((key, value) for key, value in document.items()
                                     if key != "_id" or isinstance(value, str)))
                         for document in database[name].find({}))
            for name in database.list_collection_names() if name not in WRITTEN_AT_START}


def two_blocks():
    alice, bob = generate_key_pair(), generate_key_pair()
    create = Transaction.create([alice.public_key], [([alice.public_key], 1)]).sign([alice.private_key])
    transfer = Transaction.transfer(create.to_inputs(), [([bob.public_key], 1)],
                                    asset_id=create.id).sign([alice.private_key])
    return ([raw(create.to_dict()), raw(party(alice, "Before the kill"))],
            [raw(transfer.to_dict()), raw(party(bob, "During the kill"))])


def test_a_kill_at_any_store_round_trip_of_a_commit_recovers_to_the_same_store(ferretdb):
    first, second = two_blocks()
    name, _ = new_database(ferretdb)
    app = started_app(ferretdb, name, genesis=True)
    commit_block(app, first)
    round_trips = killed_at(app, None, lambda: deliver_and_commit(app, second, 2))
    expected = store_contents(app)

    differing = []
    for round_trip in range(round_trips):
        name, _ = new_database(ferretdb)
        app = started_app(ferretdb, name, genesis=True)
        commit_block(app, first)
        killed_at(app, round_trip, lambda: deliver_and_commit(app, second, 2))
        app = started_app(ferretdb, name)
        # Tendermint replays the block to an app whose last block is behind its own
        # (App.info); otherwise it only updates its own state.
        if app.bigchaindb.get_latest_block()["height"] < 2:
            assert deliver_and_commit(app, second, 2) == [0, 0], round_trip
        contents = store_contents(app)
        differing += [(round_trip, collection) for collection in sorted(set(expected) | set(contents))
                      if expected.get(collection) != contents.get(collection)]
    assert round_trips > 10  # the kill points cover the whole commit
    assert not differing, f"(round trip killed before, collection that differs): {differing}"
