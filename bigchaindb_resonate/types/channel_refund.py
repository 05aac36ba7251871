"""CHANNEL_REFUND: once a closing channel's settle delay has passed, what it holds returns
to the listener.

Spec: docs/spec/channel_refund.md. Either side may submit it; its one output pays the
channel output's tokens (the unsettled deposit and the anchor) to the listener alone.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import channel_refund as client_part
from bigchaindb_resonate.operations.channels import holds
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channels import ChannelTransaction, closes_at, state_of


class ChannelNotClosing(ResonateValidationError):
    code = "CHANNEL_NOT_CLOSING"
    meaning = "only a closing channel is refunded: close it first (CHANNEL_CLOSE)"


class ChannelEarlyRefund(ResonateValidationError):
    code = "CHANNEL_EARLY_REFUND"
    meaning = "the settle delay has not passed: the receiver may still settle until closes_at"


class ChannelRefund(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    HELD_OUTPUTS = {}  # its output 0 pays the listener: the channel is over

    def check_channel(self, ledger, parameters):
        self.check_only_input()
        state = state_of(self.state_before(ledger), self.metadata["channel"])
        if "closing" not in state:
            raise ChannelNotClosing(field="metadata.channel", expected="a CHANNEL_CLOSE first")
        deadline, now = closes_at(ledger, state, parameters), ledger.consensus_time()
        if deadline is None or now is None or now < deadline:
            raise ChannelEarlyRefund(f"consensus time {now}", field="metadata.channel",
                                     expected=f"from {deadline} on")
        self.check_state(state)
        self.check_outputs(None, [([state["listener"]], holds(state))])

    refund = client_builder(client_part.refund)
