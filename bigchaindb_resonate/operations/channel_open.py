"""CHANNEL_OPEN, the client part (rules: types/channel_open.py; spec: docs/spec/channel_open.md)."""
from bigchaindb_resonate.operations.channels import OPEN, channel_transfer, holds, listener_inputs, record

OPERATION = OPEN
SCHEMA = "channel_open_v1.0"


def open_channel(credits, listener, receiver, deposit):
    """An unsigned CHANNEL_OPEN by the public key `listener` towards `receiver`, locking
    `deposit` tokens (and the anchor token) from `credits`: the listener's (committed
    transaction, output index) pairs. The rest returns to the listener."""
    inputs, spent, asset_id = listener_inputs(credits)
    state = {"listener": listener, "receiver": receiver, "deposit": deposit, "settled": 0, "sequence": 0}
    if spent < holds(state):
        raise ValueError(f"a deposit of {deposit} tokens locks {holds(state)} with the anchor; "
                         f"the credits given hold {spent}")
    change = [([listener], spent - holds(state))] if spent > holds(state) else []
    return channel_transfer(OPERATION, inputs, state, change, asset_id, record("PaymentChannel", state))
