"""What the payment channel types' client parts share (rules: types/channels.py; spec:
docs/spec/channels.md).

A channel is a chain of transactions of the credit token, each spending the output 0 of
the one before: the channel output. It is locked 1 of 2 to the listener and the receiver,
so either side can act, while consensus dictates every output of whatever spends it. It
holds the unspent deposit plus one anchor token, so it never runs empty; the anchor
returns to the listener with the rest at the refund.

Every channel transaction's metadata carries the channel's state after it (STATE_FIELDS):
a read of the channel is a read of its latest transaction.
"""
from bigchaindb_resonate.conditions import any_one_of
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT
from bigchaindb_resonate.transaction import Input, Output, Transaction

OPEN, TOPUP, SETTLE, CLOSE, REFUND = ("CHANNEL_OPEN", "CHANNEL_TOPUP", "CHANNEL_SETTLE",
                                      "CHANNEL_CLOSE", "CHANNEL_REFUND")
# A settlement of many channels at once: its output i is the channel output of its i-th channel.
SETTLE_BATCH = "CHANNEL_SETTLE_BATCH"
# The operations that spend a channel output: the next transaction of its channel.
SPENDS_CHANNEL_OUTPUT = (TOPUP, SETTLE, CLOSE, REFUND, SETTLE_BATCH)
CHANNEL_OUTPUT = 0
ANCHOR = 1
STATE_FIELDS = ("channel", "listener", "receiver", "deposit", "settled", "sequence", "closing")


def channel_output(listener, receiver, amount):
    """The channel output: `amount` tokens that the listener or the receiver may spend."""
    keys = [listener, receiver]
    return Output(any_one_of(keys), keys, amount)


def holds(state):
    """Tokens in the channel output for `state`: the unspent deposit and the anchor."""
    return state["deposit"] - state["settled"] + ANCHOR


def channel_input(state):
    """An input spending the channel output of the channel read `state` (its
    `channel_output`, else output 0 of its `latest_transaction`); either side's key signs it."""
    keys = [state["listener"], state["receiver"]]
    output = state.get("channel_output") or {}
    return Input(any_one_of(keys), keys, (output.get("transaction_id", state["latest_transaction"]),
                                          output.get("output_index", CHANNEL_OUTPUT)))


def record(record_type, state, **extra):
    """A channel transaction's metadata: `record_type`, the state after it, `extra`."""
    fields = {field: state[field] for field in STATE_FIELDS if state.get(field) is not None}
    return {"@context": COALAIP_CONTEXT, "@type": record_type, **fields, **extra}


def channel_transfer(operation, inputs, state, others, asset_id, metadata):
    """An unsigned channel transaction: output 0 the channel output for `state` (none when
    `state` is None; one per state, in order, for a list of them), then `others` as
    (public keys, amount)."""
    states = [] if state is None else state if isinstance(state, list) else [state]
    outputs = [channel_output(each["listener"], each["receiver"], holds(each)) for each in states]
    outputs += [Output.locked_to(keys, amount) for keys, amount in others]
    return Transaction(operation, {"id": asset_id}, inputs, outputs, metadata)


def listener_inputs(credits):
    """Inputs spending `credits`: (committed transaction, output index) pairs."""
    from bigchaindb_resonate.operations.common import as_transaction

    credits = [(as_transaction(tx), index) for tx, index in credits]
    return ([input_ for tx, index in credits for input_ in tx.to_inputs([index])],
            sum(tx.outputs[index].amount for tx, index in credits), credits[0][0].asset_id)
