"""CHANNEL_REFUND, the client part (rules: types/channel_refund.py; spec:
docs/spec/channel_refund.md)."""
from bigchaindb_resonate.operations.channels import (
    REFUND, channel_input, channel_transfer, holds, record,
)

OPERATION = REFUND
SCHEMA = "channel_refund_v1.0"


def refund(state, asset_id):
    """An unsigned CHANNEL_REFUND of the closing channel read `state`: everything the
    channel output holds returns to the listener."""
    return channel_transfer(OPERATION, [channel_input(state)], None,
                            [([state["listener"]], holds(state))], asset_id,
                            record("ChannelRefund", state))
