"""CHANNEL_CLOSE, the client part (rules: types/channel_close.py; spec: docs/spec/channel_close.md)."""
from bigchaindb_resonate.operations.channels import CLOSE, channel_input, channel_transfer, record

OPERATION = CLOSE
SCHEMA = "channel_close_v1.0"


def close(state, asset_id):
    """An unsigned CHANNEL_CLOSE of the channel read `state`: starts the settle delay."""
    return channel_transfer(OPERATION, [channel_input(state)], state, [], asset_id,
                            record("ChannelClose", state))
