"""Credit balances kept at commit (balances.py) through the node's ABCI application over a
real FerretDB: after every block they equal the balance computed from each key's history;
a block folded again after a crash (Tendermint delivers a block whose commit did not
finish again), in the same process or a new one, leaves what one fold leaves; a rebuild
from the stored blocks writes the same documents."""
import pytest
from bigchaindb.elections.election import Election
from google.protobuf.timestamp_pb2 import Timestamp

from bigchaindb_resonate import balances, reads
from bigchaindb_resonate.types.credit import credit_token
from bigchaindb_resonate.ledger import LedgerView

from .abci import raw
from .test_plays_abci import chain, market  # noqa: F401 (fixtures)
from .test_rights_abci import delivered

pytestmark = pytest.mark.integration


def kept_documents(app):
    conn = app.bigchaindb.connection
    return sorted((document for document in conn.run(conn.collection(balances.COLLECTION).find({}))
                   if not document["_id"].startswith(balances.JOURNAL)), key=lambda d: d["_id"])


def from_history(app, public_key):
    """The balance read before balances were kept: every transaction that paid the key."""
    token = credit_token(LedgerView(app.bigchaindb))
    held = next((holding for holding in reads.holdings(app.bigchaindb, public_key)
                 if holding["asset_id"] == token.id), {"outputs": []})
    outputs = {(o["transaction_id"], o["output_index"]): o["amount"]
               for o in held["outputs"] if o["public_keys"] == [public_key]}
    return sum(outputs.values()), outputs


def kept(app, public_key):
    answer = reads.credit_balance(app.bigchaindb, public_key, limit=reads.MAX_OUTPUTS_PER_PAGE)
    assert answer["next"] is None and answer["output_count"] == len(answer["outputs"])
    return answer["balance"], {(o["transaction_id"], o["output_index"]): o["amount"]
                               for o in answer["outputs"]}


def test_kept_balances_follow_plays_survive_a_replayed_block_and_rebuild_the_same(market):
    app = market.app
    keys = [key.public_key for key in (market.listener, market.artist, market.producer, app.platform)]
    for block in ([0], [1, 2], [3]):
        plays = []
        for _ in block:
            plays.append(market.play())
            market.played(plays[-1])
        assert delivered(app, *plays) == ["OK"] * len(plays)
        for key in keys:
            assert kept(app, key) == from_history(app, key)
    # A block decided and delivered; end_block folds it; then the node stops before commit.
    last = market.play()
    types = app.abci
    app.height += 1
    app.begin_block(types.RequestBeginBlock(header=types.Header(
        height=app.height, num_txs=1, time=Timestamp(seconds=1_790_100_000))))
    assert app.deliver_tx(raw(last)).code == 0
    app.end_block(types.RequestEndBlock(height=app.height))
    folded = kept_documents(app)
    # Delivered again, by this process, then by a new one that keeps nothing yet.
    Election.process_block(app.bigchaindb, app.new_height, app.block_transactions)
    assert kept_documents(app) == folded
    balances.forget_kept(app.bigchaindb.connection, balances.COLLECTION)
    Election.process_block(app.bigchaindb, app.new_height, app.block_transactions)
    assert kept_documents(app) == folded
    app.commit()
    market.played(last)
    for key in keys:
        assert kept(app, key) == from_history(app, key)
    assert kept(app, app.platform.public_key)[1]  # the co-op was paid by the plays
    height, moves = balances.rebuild(app.bigchaindb)
    assert height == app.height and moves >= 6  # the token, the purchase, five plays
    assert kept_documents(app) == folded
