"""CHANNEL_TOPUP: the listener adds credit tokens to their open channel's deposit.

Spec: docs/spec/channel_topup.md. Spends the channel output and the listener's own credit
outputs; the channel output grows by `added`, the rest returns to the listener.
"""
from bigchaindb_resonate.operations import channel_topup as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channels import (
    ChannelClosing, ChannelNotListener, ChannelTransaction, ChannelWrongInput, listener_credits,
    state_of, status_of,
)


class ChannelTopUp(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    def check_channel(self, ledger, parameters):
        channel = self.metadata["channel"]
        latest = self.state_before(ledger)
        if status_of(latest, channel) != "open":
            raise ChannelClosing("a closing channel takes no top-up", field="metadata.channel",
                                 expected="an open channel")
        if len(self.inputs) < 2:
            raise ChannelWrongInput("no credits to add", field="inputs",
                                    expected="the channel output, then the listener's credits")
        before = state_of(latest, channel)
        added = self.metadata["added"]
        spent = listener_credits(ledger, self.inputs[1:], before["listener"], ChannelNotListener, first=1)
        after = {**before, "deposit": before["deposit"] + added}
        self.check_state(after)
        self.check_outputs(after, [([before["listener"]], spent - added)] if spent > added else [])

    top_up = client_builder(client_part.top_up)
