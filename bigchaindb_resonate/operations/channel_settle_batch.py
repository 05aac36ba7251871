"""CHANNEL_SETTLE_BATCH, the client part (rules: types/channel_settle_batch.py; spec:
docs/spec/channel_settle_batch.md).

One settlement of many channels: input i spends the channel output of the i-th channel,
output i is its channel output after, then the payouts of every voucher of every channel,
pooled. Vouchers travel compact: what a channel's entry or the batch's `terms` already say
(channel, listener, track, right, territory) and what follows from the entry's state after
(sequence, price, total) is left out, and `whole_vouchers` gives back exactly the vouchers
the listener signed.
"""
from bigchaindb_resonate.operations.channels import (
    SETTLE_BATCH, STATE_FIELDS, channel_input, channel_transfer, record,
)
from bigchaindb_resonate.validators.royalties import pooled_payouts, price
from bigchaindb_resonate.vouchers import VERSION, merkle_root

OPERATION = SETTLE_BATCH
SCHEMA = "channel_settle_batch_v1.0"
# The schema's bounds: at most this many channels, each with at most this many vouchers;
# what fits is bounded by the batch's 512 KiB transaction limit (admission.py, and
# estimated_bytes below).
MAX_VOUCHERS = 3000
MAX_CHANNELS = 1000
TERMS_FIELDS = ("track", "right", "territory")
# The state fields a channel's entry carries: the receiver is the batch's.
ENTRY_FIELDS = tuple(field for field in STATE_FIELDS if field != "receiver")


def terms_of(voucher):
    return tuple(voucher[field] for field in TERMS_FIELDS)


def whole_vouchers(metadata, entry):
    """The vouchers of one channel's `entry` of a batch's `metadata`, whole, as signed: the
    last one's sequence and total are the entry's (its state after), each earlier one's
    one less and its successor's less that one's price. `terms` indexes must be in range
    (the type's stateless check)."""
    compact, terms = entry["vouchers"], metadata["terms"]
    prices = [price(voucher["play"]) for voucher in compact]
    totals, total = [], entry["settled"]
    for amount in reversed(prices):
        totals.append(total)
        total -= amount
    totals.reverse()
    first = entry["sequence"] - len(compact) + 1
    return [{"version": VERSION, "channel": entry["channel"], "listener": entry["listener"],
             "sequence": first + index, **terms[voucher["terms"]], "play": voucher["play"],
             "price": prices[index], "total": totals[index], "signature": voucher["signature"]}
            for index, voucher in enumerate(compact)]


def settle_batch(settlements, splits, parameters, asset_id):
    """An unsigned CHANNEL_SETTLE_BATCH. `settlements`: (state, vouchers) per channel, each
    `state` a channel read (all towards one receiver) and `vouchers` its next ones by
    sequence; `splits`, `parameters`, `asset_id` as for channel_settle.settle."""
    if not 1 <= len(settlements) <= MAX_CHANNELS or \
            not all(1 <= len(vouchers) <= MAX_VOUCHERS for _, vouchers in settlements):
        raise ValueError(f"a batch settles 1 to {MAX_CHANNELS} channels, each with 1 to "
                         f"{MAX_VOUCHERS} vouchers, not {[len(vouchers) for _, vouchers in settlements]}")
    receivers = {state["receiver"] for state, _ in settlements}
    if len(receivers) != 1:
        raise ValueError(f"a batch settles channels towards one receiver, not {sorted(receivers)}")
    terms, entries, afters, plays = {}, [], [], []
    for state, vouchers in settlements:
        after = {**state, "settled": vouchers[-1]["total"], "sequence": vouchers[-1]["sequence"]}
        afters.append(after)
        compact = [{"terms": terms.setdefault(terms_of(voucher), len(terms)), "play": voucher["play"],
                    "signature": voucher["signature"]} for voucher in vouchers]
        entries.append({**{field: after[field] for field in ENTRY_FIELDS if after.get(field) is not None},
                        "count": len(vouchers), "root": merkle_root(vouchers), "vouchers": compact})
        plays += [(voucher["price"], splits[voucher["track"]][1] if voucher["price"] else [])
                  for voucher in vouchers]
    # A track with no split in force (None): the node answers PLAY_NO_SPLIT.
    named = {voucher["track"]: splits[voucher["track"]][0] for _, vouchers in settlements
             for voucher in vouchers if voucher["price"] and splits[voucher["track"]][0] is not None}
    metadata = {**record("ChannelSettlementBatch", {}), "receiver": receivers.pop(),
                "terms": [dict(zip(TERMS_FIELDS, each)) for each in terms], "splits": named,
                "channels": entries}
    return channel_transfer(OPERATION, [channel_input(state) for state, _ in settlements], afters,
                            [([key], tokens) for key, tokens in pooled_payouts(plays, parameters)],
                            asset_id, metadata)


# What a batch takes once signed, for packing one below its limit: its fixed part, each
# channel's input, output and entry (two keys, a threshold condition and fulfillment, the
# state and root), and each compact voucher (measured: tests/unit/test_channel_settle_batch.py).
FIXED_BYTES = 2_000
BYTES_PER_CHANNEL = 1_400
BYTES_PER_VOUCHER = 140


def estimated_bytes(channels, vouchers):
    """An upper bound of a signed batch's encoded size with this many channels and vouchers."""
    return FIXED_BYTES + BYTES_PER_CHANNEL * channels + BYTES_PER_VOUCHER * vouchers
