"""State that stays bounded as one asset's history grows, and what a play costs the store,
through the node's ABCI application over a real FerretDB store.

Round trips are counted by wrapping the real connection's `run`: each call is one query
sent to the store."""
import collections
import contextlib

import bson
import pytest
from bigchaindb.backend import query
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate import host
from bigchaindb_resonate.ledger import (
    OWNER_INDEX, RULE_INDEX, forget_kept, forget_settled, keep_rule_index_reads, metadata_key,
    rebuild_rule_index,
)
from bigchaindb_resonate.types.play import Play

from .abci import commit_block, raw
from .test_plays_abci import COOP_SHARE_BP, Market, chain  # noqa: F401 (a fixture)
from .test_registry_abci import codes
from .test_rights_abci import signed

pytestmark = pytest.mark.integration

# Plays by one listener of one track, and the blocks they are committed in: thousands of
# transfers of the credit token, all filed under one (listener, track) key.
SOAK_PLAYS = 2000
SOAK_BLOCK = 500
# An entry ({_id: "<key>#<n>", id}) or a head ({_id: key, count, latest}): a few hundred
# bytes at most, whatever the history. (The old layout's one document per key held ~77
# bytes per play: 150 KiB here, 16 MiB after ~218,000.)
DOCUMENT_BOUND = 400


@contextlib.contextmanager
def counted(connection):
    """The queries sent through `connection` while the block runs, by collection."""
    queries = collections.Counter()
    upstream = connection.run

    def run(query):
        # BigchainDB's lazy query: [getitem, ([db],), getitem, ([collection],), method, ...]
        queries[query.stack[3][0][0]] += 1
        return upstream(query)

    connection.run = run
    try:
        yield queries
    finally:
        del connection.run


def validation_queries(app, tx):
    """The store queries of validating `tx` as the HTTP pre-check and CheckTx do."""
    bigchain = app.bigchaindb
    with counted(bigchain.connection) as queries:
        assert bigchain.validate_transaction(Transaction.from_dict(tx))
    return queries


def cold_start(app):
    """Forget what this process has read, as a freshly started node has."""
    host.COMMITTED.clear()
    forget_settled()
    for collection in (RULE_INDEX, OWNER_INDEX):
        forget_kept(app.bigchaindb.connection, collection)
    keep_rule_index_reads(app.bigchaindb)


def next_plays(market, count):
    plays = []
    for _ in range(count):
        plays.append(market.play())
        market.played(plays[-1])
    return plays


@pytest.fixture
def market(chain):  # noqa: F811
    return Market(chain)


def test_one_assets_long_history_keeps_documents_small_and_validation_reads_flat(market):
    app = market.app
    connection = app.bigchaindb.connection
    assert codes(commit_block(app, [raw(tx) for tx in next_plays(market, 10)])) == ["OK"] * 10
    probe = market.play()
    early = validation_queries(app, probe)
    while market.plays < SOAK_PLAYS:
        block = next_plays(market, min(SOAK_BLOCK, SOAK_PLAYS - market.plays))
        assert codes(commit_block(app, [raw(tx) for tx in block])) == ["OK"] * len(block)
    late = validation_queries(app, market.play())
    assert late == early, "validating the next play reads more as the history grows"
    documents = list(connection.run(connection.collection(RULE_INDEX).find({})))
    largest = max(len(bson.BSON.encode(document)) for document in documents)
    assert largest < DOCUMENT_BOUND
    key = metadata_key("PLAY", {"listener": market.listener.public_key, "track": market.track["id"]})
    head = connection.run(connection.collection(RULE_INDEX).find_one({"_id": key}))
    assert head["count"] == SOAK_PLAYS and head["latest"] == market.wallet[0]["id"]


def sales(market, listeners):
    """100 credits to each listener, each sale spending the treasury's change of the one
    before (the market's first sale left the change in output 1)."""
    treasury, holding, sold = market.app.treasury, market.wallet[0], []
    for listener in listeners:
        tx = Transaction.from_dict(holding)
        change = tx.outputs[-1].amount
        holding = signed(Transaction.transfer(tx.to_inputs([len(tx.outputs) - 1]), [
            ([listener.public_key], 100), ([treasury.public_key], change - 100)],
            asset_id=tx.asset["id"]), treasury)
        sold.append(holding)
    return sold


def a_first_play(market, listener, purchase):
    """`listener`'s first play of the market's track, paid from the committed `purchase`."""
    split = market.split
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in split["asset"]["data"]["payees"]]
    tx = Play.pay([(Transaction.from_dict(purchase), 0)], listener.public_key, {
        "track": market.track["id"], "territory": "GB", "right": market.licence["id"],
        "playNumber": 0, "split": split["id"]}, payees,
        {"platform_key": market.app.platform.public_key, "coop_share_bp": COOP_SHARE_BP})
    return signed(tx, listener)


def a_gift(purchase, holder, recipient):
    """A plain TRANSFER of a committed purchase's credits, from its holder to `recipient`."""
    tx = Transaction.from_dict(purchase)
    return signed(Transaction.transfer(tx.to_inputs([0]), [([recipient.public_key], tx.outputs[0].amount)],
                                       asset_id=tx.asset["id"]), holder)


def test_a_play_costs_the_store_no_more_round_trips_than_a_plain_transfer(market):
    listeners = [generate_key_pair() for _ in range(4)]
    purchases = sales(market, listeners)
    assert codes(commit_block(market.app, [raw(tx) for tx in purchases])) == ["OK"] * 4
    cold_start(market.app)
    play_cold = validation_queries(market.app, a_first_play(market, listeners[0], purchases[0]))
    play_warm = validation_queries(market.app, a_first_play(market, listeners[1], purchases[1]))
    cold_start(market.app)
    transfer_cold = validation_queries(market.app, a_gift(purchases[2], listeners[2], market.artist))
    transfer_warm = validation_queries(market.app, a_gift(purchases[3], listeners[3], market.artist))
    print({"play cold": dict(play_cold), "play warm": dict(play_warm),
           "transfer cold": dict(transfer_cold), "transfer warm": dict(transfer_warm)})
    # Once a process has read what never changes (the genesis parameters, the credit token)
    # and what changes only at commit (the split in force, the licence's holders), a play
    # reads what a transfer reads, and two heads: its count, and whether its listener has a
    # live payment channel (then it must pay through it: docs/spec/channels.md).
    assert "network_parameters" not in play_warm
    assert play_warm["rule_index"] == 2
    assert sum(play_warm.values()) <= sum(transfer_warm.values()) + 2
    assert sum(play_cold.values()) > sum(play_warm.values())  # the measurement measures


def rule_index(connection):
    return sorted(connection.run(connection.collection(RULE_INDEX).find({})),
                  key=lambda document: document["_id"])


def test_crash_recovery_unfiles_the_block_it_deletes(market):
    connection = market.app.bigchaindb.connection
    assert codes(commit_block(market.app, [raw(tx) for tx in next_plays(market, 2)])) == ["OK"] * 2
    before = rule_index(connection)
    block = next_plays(market, 2) + [market.set_split({market.producer: 10000})]
    assert codes(commit_block(market.app, [raw(tx) for tx in block])) == ["OK"] * 3
    assert rule_index(connection) != before
    # What core.rollback does at start for a block stored but not committed.
    query.delete_transactions(connection, [tx["id"] for tx in block])
    assert rule_index(connection) == before


def test_the_rule_index_rebuilds_from_the_stored_blocks_as_commits_filed_it(market):
    connection = market.app.bigchaindb.connection
    assert codes(commit_block(market.app, [raw(tx) for tx in next_plays(market, 3)])) == ["OK"] * 3
    assert codes(commit_block(market.app, [raw(market.set_split({market.producer: 10000}))])) == ["OK"]

    def index():
        return rule_index(connection)

    filed = index()
    # What an older version left: one growing list per key.
    connection.run(connection.collection(RULE_INDEX).delete_many({}))
    connection.run(connection.collection(RULE_INDEX).insert_one({"_id": "PLAY|x", "ids": ["a", "b"]}))
    rebuild_rule_index(market.app.bigchaindb)
    assert index() == filed
    assert any(document["_id"].endswith("#1") for document in filed)  # more than heads
