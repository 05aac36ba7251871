"""The commit path keeps the documents only it writes (ledger.KeptDocuments: rule-index and
owner-index heads, report totals) in the committing process, over a real FerretDB: what
it derives is byte for byte what a node reading every document from the store derives,
and a crash inside a commit recovers to exactly what a node that never crashed holds."""
import json

import pytest
from abci import ABCI, TmVersion
from bigchaindb.backend import connect, schema
from bigchaindb.common.crypto import generate_key_pair
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from bigchaindb_resonate import balances, host
from bigchaindb_resonate.host import SPENDS, TEXT_TERMS
from bigchaindb_resonate.ledger import (
    BLOCK_TIMES, CHAIN_HEAD, COMMIT_POSITIONS, OWNER_INDEX, RULE_INDEX, forget_kept, forget_settled,
)
from bigchaindb_resonate.reports import totals

from .abci import GENESIS_SECONDS, commit_block, raw
from .test_bounded_state import a_first_play, sales
from .test_plays_abci import COOP_SHARE_BP, Market, chain  # noqa: F401 (a fixture)
from .test_registry_abci import codes

pytestmark = pytest.mark.integration

KEPT = (RULE_INDEX, OWNER_INDEX, totals.COLLECTION)
# Every collection a commit writes whose documents are keyed by content (text terms get a
# generated `_id`: compared without it).
DERIVED = (RULE_INDEX, OWNER_INDEX, totals.COLLECTION, totals.ROWS, COMMIT_POSITIONS, SPENDS,
           BLOCK_TIMES, CHAIN_HEAD, "blocks", "transactions", "assets", "metadata")
DAY = 86400


def derived(connection):
    """Every document the commit path wrote, as raw BSON (field order and all), by `_id`."""
    raw_documents = CodecOptions(document_class=RawBSONDocument)
    found = {}
    for name in DERIVED:
        documents = connection.collection(name).with_options(codec_options=raw_documents).find({})
        found[name] = sorted((document["_id"], document.raw) for document in connection.run(documents))
    # The kept balances are read by key, field by field: a block replayed from their journal
    # after a crash writes the same fields in another order, so they compare by content.
    kept = connection.run(connection.collection(balances.COLLECTION).find({}))
    found[balances.COLLECTION] = sorted(json.dumps(document, sort_keys=True) for document in kept)
    terms = connection.run(connection.collection(TEXT_TERMS).find({}, {"_id": False}))
    found[TEXT_TERMS] = sorted(json.dumps(term, sort_keys=True) for term in terms)
    return found


def same_chain_app(app, database):
    """An ABCI app on a fresh `database` of the same FerretDB, with `app`'s genesis."""
    import bigchaindb
    import bigchaindb.start

    bigchaindb.config["database"]["name"] = database
    schema.init_database(connect())
    types = ABCI(TmVersion.v0_31_5).types
    other = bigchaindb.start.App(abci=types)
    parameters = {"treasury_keys": [app.treasury.public_key],
                  "platform_key": app.platform.public_key, "coop_share_bp": COOP_SHARE_BP}
    other.init_chain(types.RequestInitChain(
        chain_id="plays", app_state_bytes=json.dumps({"resonate": parameters}).encode()))
    other.height = 0
    return other


def blocks_of_plays(market):
    """After the market's setup block: purchases for four listeners; first plays, the
    market listener's plays (a head that exists) and a new split; a play on a later day
    (new day totals). As [(raw transactions, header seconds or None)]."""
    listeners = [generate_key_pair() for _ in range(4)]
    purchases = sales(market, listeners)
    blocks = [([raw(tx) for tx in purchases], None)]
    first = market.play()
    market.played(first)
    blocks.append(([raw(a_first_play(market, listeners[0], purchases[0])),
                    raw(a_first_play(market, listeners[1], purchases[1])), raw(first)], None))
    second = market.play()
    market.played(second)
    split = market.set_split({market.artist: 5000, market.producer: 5000})
    blocks.append(([raw(a_first_play(market, listeners[2], purchases[2])), raw(second), raw(split)],
                   None))
    market.split = split  # in force from the next block
    third = market.play(territory="FR")
    market.played(third)
    blocks.append(([raw(a_first_play(market, listeners[3], purchases[3])), raw(third)],
                   GENESIS_SECONDS + 2 * DAY))
    return blocks


@pytest.fixture
def two_nodes(chain):  # noqa: F811
    """The market's app, and another on its own store that committed the same first block."""
    import bigchaindb

    setup, deliver = [], chain.deliver_tx
    chain.deliver_tx = lambda raw_transaction: setup.append(raw_transaction) or deliver(raw_transaction)
    market = Market(chain)
    del chain.deliver_tx  # the class's again
    name = bigchaindb.config["database"]["name"]
    other = same_chain_app(chain, name + "_other")
    assert codes(commit_block(other, setup)) == ["OK"] * 8
    yield market, other
    schema.drop_database(other.bigchaindb.connection, name + "_other")
    bigchaindb.config["database"]["name"] = name


def test_a_node_keeping_documents_derives_byte_for_byte_what_one_reading_the_store_does(two_nodes):
    market, cold = two_nodes
    for transactions, seconds in blocks_of_plays(market):
        assert codes(commit_block(market.app, transactions, seconds)) == ["OK"] * len(transactions)
        for collection in KEPT:  # as if every block were the first the process commits
            forget_kept(cold.bigchaindb.connection, collection)
        assert codes(commit_block(cold, transactions, seconds)) == ["OK"] * len(transactions)
    kept, read = derived(market.app.bigchaindb.connection), derived(cold.bigchaindb.connection)
    assert kept == read
    connection = market.app.bigchaindb.connection
    network = connection.run(connection.collection(totals.COLLECTION).find_one({"_id": "network"}))
    assert network["paid_plays"] + network["free_plays"] == 7
    assert network["height"] == market.app.height


class Crash(Exception):
    """The node stops here."""


@pytest.mark.parametrize("crash", ["after end_block", "after the transactions and indexes are stored"])
def test_a_crash_inside_a_commit_recovers_to_what_a_node_that_never_crashed_holds(two_nodes, crash):
    import bigchaindb.start
    from bigchaindb.core import rollback
    from bigchaindb.lib import BigchainDB

    market, steady = two_nodes
    app, blocks = market.app, blocks_of_plays(market)
    for transactions, seconds in blocks[:-1]:
        commit_block(app, transactions, seconds)
        commit_block(steady, transactions, seconds)
    transactions, seconds = blocks[-1]
    commit_block(steady, transactions, seconds)
    # The last block: decided, delivered, folded into the totals; then the node stops.
    if crash == "after end_block":
        app.commit = lambda: (_ for _ in ()).throw(Crash())
    else:  # after store_bulk_transactions (rule and owner index filed), before store_block
        app.bigchaindb.store_block = lambda block: (_ for _ in ()).throw(Crash())
    with pytest.raises(Crash):
        commit_block(app, transactions, seconds)
    # A new process: nothing kept, nothing cached; crash recovery at start, as
    # `bigchaindb start` runs it; then Tendermint delivers the block again.
    host.COMMITTED.clear()
    forget_settled()
    restarted = bigchaindb.start.App(abci=app.abci, bigchaindb=BigchainDB(
        connect(name=app.bigchaindb.connection.dbname)))
    rollback(restarted.bigchaindb)
    restarted.height = app.height - 1
    assert codes(commit_block(restarted, transactions, seconds)) == ["OK"] * len(transactions)
    assert derived(restarted.bigchaindb.connection) == derived(steady.bigchaindb.connection)
