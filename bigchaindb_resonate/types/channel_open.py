"""CHANNEL_OPEN: a listener locks credit tokens in a payment channel towards a receiver.

Spec: docs/spec/channel_open.md. TRANSFER-like on the network's CREDIT asset: it spends
the listener's own credit outputs into the channel output (1 of 2 of listener and
receiver, holding the deposit and the anchor token) and the listener's change. Its id is
the channel's. A listener has at most one live channel (docs/spec/channels.md).
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import channel_open as client_part
from bigchaindb_resonate.operations.channels import holds
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channels import (
    ChannelNotListener, ChannelTransaction, channel_id_of, listener_credits, live_channel,
)


class ChannelUnknownReceiver(ResonateValidationError):
    code = "CHANNEL_UNKNOWN_RECEIVER"
    meaning = ("a channel's receiver is the genesis platform_key or one of receiver_keys, "
               "and not the listener")


class ChannelListenerHasChannel(ResonateValidationError):
    code = "CHANNEL_LISTENER_HAS_CHANNEL"
    meaning = "the listener has an open or closing channel already; a listener has one at a time"


class ChannelOpen(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    def check_channel(self, ledger, parameters):
        listener, receiver = self.metadata["listener"], self.metadata["receiver"]
        receivers = [parameters["platform_key"], *parameters["receiver_keys"]]
        if receiver not in receivers or receiver == listener:
            raise ChannelUnknownReceiver(f"`{receiver}`", field="metadata.receiver",
                                         expected="platform_key or one of receiver_keys, not the listener")
        live = live_channel(ledger, listener)
        if live is not None:
            raise ChannelListenerHasChannel(f"channel `{channel_id_of(live, listener)}`", field="metadata.listener",
                                            expected="its refund first")
        spent = listener_credits(ledger, self.inputs, listener, ChannelNotListener)
        state = {"listener": listener, "receiver": receiver, "deposit": self.metadata["deposit"],
                 "settled": 0, "sequence": 0}
        self.check_state(state)
        self.check_outputs(state, [([listener], spent - holds(state))] if spent > holds(state) else [])

    open_channel = client_builder(client_part.open_channel)
