"""Driving the node's ABCI application block by block, as Tendermint does, in tests."""
import json

from bigchaindb_resonate.types.party import Party


GENESIS_SECONDS = 1_790_000_000  # 2026-09-21, a fixed consensus clock for these tests


def commit_block(app, raw_transactions, seconds=None):
    """One block as Tendermint drives it; its header time defaults to one minute a block."""
    from google.protobuf.timestamp_pb2 import Timestamp

    types = app.abci
    app.height += 1
    header = types.Header(height=app.height, num_txs=len(raw_transactions),
                          time=Timestamp(seconds=seconds or GENESIS_SECONDS + 60 * app.height))
    app.begin_block(types.RequestBeginBlock(header=header))
    results = [app.deliver_tx(raw) for raw in raw_transactions]
    app.end_block(types.RequestEndBlock(height=app.height))
    app.commit()
    return results


def raw(tx_dict):
    return json.dumps(tx_dict).encode()


def party(keypair, name):
    return Party.build([keypair.public_key], {"@type": "MusicGroup", "name": name}).sign(
        [keypair.private_key]).to_dict()
