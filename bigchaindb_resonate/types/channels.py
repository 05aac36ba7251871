"""What the payment channel types share: the channel's state, read from its latest
transaction, and the checks every channel transaction makes (spec: docs/spec/channels.md).

A channel is the chain of transactions spending each other's output 0 (the channel
output, operations/channels.py), starting at its CHANNEL_OPEN, whose id is the channel's.
Each carries the state after it in its metadata, checked here to follow from the state
before it, so the channel's state is its latest transaction's metadata: found by the head
of `channel|<id>` in the rule index (one lookup). The listener's latest channel
transaction is filed under `channel-listener|<key>`, which says whether the listener has
a live (open or closing) channel.
"""
from bigchaindb_resonate.conditions import any_one_of, condition_for, condition_uri
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations.channels import (
    CHANNEL_OUTPUT, CLOSE, OPEN, REFUND, SETTLE_BATCH, SPENDS_CHANNEL_OUTPUT, STATE_FIELDS, holds,
)
from bigchaindb_resonate.types.base import ResonateTransfer


class ChannelNotCredit(ResonateValidationError):
    code = "CHANNEL_NOT_CREDIT"
    meaning = "a channel holds the network's credit token and nothing else"


class ChannelNotListener(ResonateValidationError):
    code = "CHANNEL_NOT_LISTENER"
    meaning = "credits put into a channel must come from outputs held by the listener alone"


class ChannelOutputLocked(ResonateValidationError):
    code = "CHANNEL_OUTPUT_LOCKED"
    meaning = ("a channel output moves only by the channel's own operations, never by a plain "
               "TRANSFER, a PLAY or another channel's transaction")


class ChannelWrongInput(ResonateValidationError):
    code = "CHANNEL_WRONG_INPUT"
    meaning = "the first input must spend the channel's current output, and only it (besides a top-up's credits)"


class ChannelClosed(ResonateValidationError):
    code = "CHANNEL_CLOSED"
    meaning = "the channel was refunded: nothing can settle, top up, close or refund it any more"


class ChannelStaleState(ResonateValidationError):
    code = "CHANNEL_STALE_STATE"
    meaning = ("another channel transaction spent the channel output first (a second "
               "settlement of the same state, a close or a top-up): build again from the "
               "channel's current state")


class ChannelWrongState(ResonateValidationError):
    code = "CHANNEL_WRONG_STATE"
    meaning = "the state the metadata carries is not the one that follows from the channel's state before it"


class ChannelWrongOutputs(ResonateValidationError):
    code = "CHANNEL_WRONG_OUTPUTS"
    meaning = "the outputs are not exactly those the channel's rules give, in that order and with those conditions"


class ChannelClosing(ResonateValidationError):
    code = "CHANNEL_CLOSING"
    meaning = "the channel is closing: it can only be settled (until the delay ends) and then refunded"


def channel_key(channel_id):
    return f"channel|{channel_id}"


def listener_key(listener):
    return f"channel-listener|{listener}"


def live_channel(ledger, listener):
    """The latest transaction of the listener's open or closing channel, or None."""
    filed = ledger.filed_under(listener_key(listener))
    latest = filed[-1] if filed else None
    return latest if latest is not None and latest.operation != REFUND else None


def _batch_positions(tx):
    """{channel id: i, ("listener", key): i} of a batch settlement's channels, once per
    transaction object (the node keeps committed ones)."""
    positions = tx.__dict__.get("_channel_positions")
    if positions is None:
        positions = {}
        for index, entry in enumerate(tx.metadata["channels"]):
            positions.setdefault(entry["channel"], index)
            positions.setdefault(("listener", entry["listener"]), index)
        tx.__dict__["_channel_positions"] = positions
    return positions


def channel_part(tx, channel=None, listener=None):
    """(the index of the channel output, the metadata fields carrying the channel's state)
    of one channel in its transaction `tx`: a batch settlement carries many channels (the
    one named by `channel`, else by `listener`), any other channel transaction one, whose
    channel output is output 0."""
    if tx.operation != SETTLE_BATCH:
        return CHANNEL_OUTPUT, tx.metadata
    positions = _batch_positions(tx)
    index = positions[channel] if channel is not None else positions[("listener", listener)]
    return index, {**tx.metadata["channels"][index], "receiver": tx.metadata["receiver"]}


def channel_id_of(tx, listener=None):
    return tx.id if tx.operation == OPEN else channel_part(tx, listener=listener)[1]["channel"]


def state_of(tx, channel=None, listener=None):
    """The channel's state after its transaction `tx`, as the metadata carries it, with
    `closing` set from a CHANNEL_CLOSE itself (`channel` or `listener` say which channel
    of a batch settlement)."""
    fields = channel_part(tx, channel, listener)[1]
    state = {field: fields[field] for field in STATE_FIELDS if field in fields}
    state["channel"] = tx.id if tx.operation == OPEN else fields["channel"]
    if tx.operation == CLOSE:
        state["closing"] = tx.id
    return state


def status_of(tx, channel=None, listener=None):
    if tx.operation == REFUND:
        return "closed"
    return "closing" if tx.operation == CLOSE or "closing" in channel_part(tx, channel, listener)[1] \
        else "open"


def latest_of(ledger, channel_id, field):
    """The latest transaction of a channel (its CHANNEL_OPEN when nothing followed)."""
    opened = ledger.linked(channel_id, (OPEN,), field)
    later = ledger.filed_under(channel_key(channel_id))
    return later[-1] if later else opened


def closes_at(ledger, state, parameters):
    """Consensus seconds from which a closing channel can no longer settle and may be
    refunded: its close's block time plus the settle delay in force; None when not
    closing (or the close's block time is unknown)."""
    if "closing" not in state:
        return None
    started = ledger.block_time_of(state["closing"])
    return None if started is None else started + parameters["channel_settle_delay_s"]


def output_rows(outputs):
    """Outputs as (public keys, amount, condition URI), what the rules compare."""
    return [(output.public_keys, output.amount, output.fulfillment.condition_uri) for output in outputs]


def expected_rows(state, others):
    """The rows of a channel transaction's outputs: the channel output for `state` (none
    when None; one per state, in order, for a list of them), then `others` as (public keys,
    amount), each locked as BigchainDB locks it."""
    states = [] if state is None else state if isinstance(state, list) else [state]
    rows = [([each["listener"], each["receiver"]], holds(each),
             condition_uri(any_one_of([each["listener"], each["receiver"]]))) for each in states]
    return rows + [(keys, amount, condition_uri(condition_for(keys))) for keys, amount in others]


class ChannelTransaction(ResonateTransfer):
    """A channel's transaction: the credit token, the state check and the filing every
    channel operation shares; a type module adds `check_channel`."""

    # Output 0 is the channel output (a refund says otherwise): only the channel's own
    # operations spend it, and state_before checks it is their channel's.
    HELD_OUTPUTS = {CHANNEL_OUTPUT: SPENDS_CHANNEL_OUTPUT}
    HELD_ERROR = ChannelOutputLocked

    @classmethod
    def extra_index_keys(cls, metadata):
        keys = [listener_key(metadata["listener"])]
        if "channel" in metadata:
            keys.insert(0, channel_key(metadata["channel"]))
        return keys

    def check_stateful(self, ledger):
        # Imported here: credit.py and play.py are heavier and import this module.
        from bigchaindb_resonate.types.credit import check_credit_asset, parameters_in_force

        parameters = parameters_in_force(ledger)
        check_credit_asset(self, ledger, ChannelNotCredit)
        self.check_channel(ledger, parameters)

    def check_channel(self, ledger, parameters):
        """The type's own rules."""

    def state_before(self, ledger, channel=None, position=0, field="metadata.channel"):
        """The channel's latest transaction, checked to be what this transaction's input
        `position` spends (the channel: `channel`, else the metadata's); only a refunded
        channel has none."""
        channel = channel or self.metadata["channel"]
        latest = latest_of(ledger, channel, field)
        if latest.operation == REFUND:
            raise ChannelClosed(f"refunded by `{latest.id}`", field=field)
        output = channel_part(latest, channel)[0]
        fulfills = self.inputs[position].fulfills
        if (fulfills.txid, fulfills.output) != (latest.id, output):
            raise ChannelWrongInput(f"spends output {fulfills.output} of `{fulfills.txid}`",
                                    field=f"inputs[{position}].fulfills",
                                    expected=f"output {output} of `{latest.id}`")
        return latest

    def check_only_input(self):
        if len(self.inputs) != 1:
            raise ChannelWrongInput(f"{len(self.inputs)} inputs", field="inputs",
                                    expected="the channel output alone")

    def check_state(self, expected, carried=None, where="metadata"):
        """The state fields `carried` (the metadata's, unless given; at `where`) are exactly
        `expected`'s."""
        carried = self.metadata if carried is None else carried
        for field in STATE_FIELDS:
            if carried.get(field) != expected.get(field):
                raise ChannelWrongState(f"{field} {carried.get(field)!r}",
                                        field=f"{where}.{field}", expected=repr(expected.get(field)))

    def check_outputs(self, state, others):
        expected = expected_rows(state, others)
        if output_rows(self.outputs) != expected:
            raise ChannelWrongOutputs(field="outputs",
                                      expected=str([(keys, amount) for keys, amount, _ in expected]))

    def double_spent(self, ledger):
        channel = self.metadata.get("channel")
        return moved_on(latest_of(ledger, channel, "metadata.channel"), channel, 0) \
            if channel else super().double_spent(ledger)


def spends_latest(latest, channel, input_):
    """True when `input_` spends the channel output of the channel's latest transaction."""
    return (input_.fulfills.txid, input_.fulfills.output) == (latest.id, channel_part(latest, channel)[0])


def moved_on(latest, channel, position, field="metadata.channel"):
    """The refusal of a transaction whose input `position` spends the channel's output
    after another transaction did: the channel was refunded, or `latest` moved it on."""
    if latest.operation == REFUND:
        return ChannelClosed(f"refunded by `{latest.id}`", field=field)
    output = channel_part(latest, channel)[0]
    return ChannelStaleState(f"the channel's latest transaction is `{latest.id}`",
                             field=f"inputs[{position}].fulfills",
                             expected=f"output {output} of `{latest.id}`")


def listener_credits(ledger, inputs, listener, refusal, first=0):
    """The tokens `inputs` spend, each checked to be free (no output a type holds for its
    own operations, such as a channel output: that type's refusal) and held by the
    listener alone (`refusal` otherwise). `first` numbers the inputs' fields."""
    from bigchaindb_resonate.registry import check_held_output  # the registry imports the types

    total = 0
    for index, input_ in enumerate(inputs, start=first):
        field = f"inputs[{index}].fulfills"
        check_held_output(ledger, input_.fulfills, field)
        output = ledger.get_transaction(input_.fulfills.txid).outputs[input_.fulfills.output]
        if output.public_keys != [listener]:
            raise refusal(f"the output is held by {output.public_keys}", field=field,
                          expected=f"[{listener!r}]")
        total += output.amount
    return total

