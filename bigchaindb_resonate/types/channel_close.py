"""CHANNEL_CLOSE: either side starts closing a channel.

Spec: docs/spec/channel_close.md. Spends the channel output into the same output; from
the consensus time of its block, the receiver has `channel_settle_delay_s` to settle what
it holds, after which CHANNEL_REFUND returns the rest to the listener.
"""
from bigchaindb_resonate.operations import channel_close as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channels import ChannelClosing, ChannelTransaction, state_of


class ChannelClose(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    def check_channel(self, ledger, parameters):
        self.check_only_input()
        latest = self.state_before(ledger)
        state = state_of(latest, self.metadata["channel"])
        if "closing" in state:
            raise ChannelClosing(f"closing since `{state['closing']}`",
                                 field="metadata.channel", expected="an open channel")
        self.check_state(state)
        self.check_outputs(state, [])

    close = client_builder(client_part.close)
