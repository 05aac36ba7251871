"""Report totals and rows through the node's ABCI application over a real FerretDB: a
block folded again after a crash (Tendermint delivers a block whose commit did not
finish again) is counted once; the totals kept block by block equal those recomputed
from the ledger; the report read from the rows has the transactions' plays."""
from types import SimpleNamespace

import pytest
from bigchaindb.elections.election import Election
from google.protobuf.timestamp_pb2 import Timestamp

from bigchaindb_resonate.reports import totals
from bigchaindb_resonate.reports.compute import Period, Scope, StoreLedger, report_lines

from .abci import commit_block, raw
from .test_plays_abci import chain, market  # noqa: F401 (fixtures)
from .test_registry_abci import codes

pytestmark = pytest.mark.integration


def stored(app):
    conn = app.bigchaindb.connection
    return {doc["_id"]: doc for doc in conn.run(conn.collection(totals.COLLECTION).find({}))}


def test_a_block_folded_again_after_a_crash_counts_once(market):
    app = market.app
    first = market.play()
    assert codes(commit_block(app, [raw(first)])) == ["OK"]
    market.played(first)
    second = market.play()
    # The block is decided and delivered; end_block folds it into the totals.
    types = app.abci
    app.height += 1
    header = types.Header(height=app.height, num_txs=1, time=Timestamp(seconds=1_790_100_000))
    app.begin_block(types.RequestBeginBlock(header=header))
    assert app.deliver_tx(raw(second)).code == 0
    app.end_block(types.RequestEndBlock(height=app.height))
    folded = stored(app)
    assert folded["network"]["paid_plays"] == 2 and folded["network"]["height"] == app.height
    # A crash before the commit finished: Tendermint delivers the block again, and
    # end_block folds it again (core.py end_block -> Election.process_block).
    Election.process_block(app.bigchaindb, app.new_height, app.block_transactions)
    app.commit()
    market.played(second)
    assert stored(app) == folded
    ledger = StoreLedger(SimpleNamespace(connection=app.bigchaindb.connection))
    tip = ledger.tip()["height"]
    rebuilt = totals.recompute(ledger, tip).documents
    assert {key: {k: v for k, v in doc.items() if k not in ("_id", "height")}
            for key, doc in stored(app).items()} == rebuilt
    from_rows = list(ledger.plays(1, tip, None))
    assert [tx["id"] for _, _, tx in from_rows] == [first["id"], second["id"]]
    assert [(height, time) for height, time, _ in from_rows] == [
        (height, time) for height, time, _ in ledger.plays_from_transactions(1, tip, None)]
    lines = list(report_lines(ledger, Scope("network"), Period()))
    assert [line["kind"] for line in lines].count("play") == 2
