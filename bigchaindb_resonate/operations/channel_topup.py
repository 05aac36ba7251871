"""CHANNEL_TOPUP, the client part (rules: types/channel_topup.py; spec: docs/spec/channel_topup.md)."""
from bigchaindb_resonate.operations.channels import (
    TOPUP, channel_input, channel_transfer, listener_inputs, record,
)

OPERATION = TOPUP
SCHEMA = "channel_topup_v1.0"


def top_up(state, credits, amount):
    """An unsigned CHANNEL_TOPUP adding `amount` tokens from `credits` (the listener's
    (committed transaction, output index) pairs) to the channel read `state`."""
    inputs, spent, asset_id = listener_inputs(credits)
    if spent < amount:
        raise ValueError(f"the credits given hold {spent} tokens, not {amount}")
    after = {**state, "deposit": state["deposit"] + amount}
    change = [([state["listener"]], spent - amount)] if spent > amount else []
    return channel_transfer(OPERATION, [channel_input(state), *inputs], after, change, asset_id,
                            record("ChannelTopUp", after, added=amount))
