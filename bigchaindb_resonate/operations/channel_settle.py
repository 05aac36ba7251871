"""CHANNEL_SETTLE, the client part (rules: types/channel_settle.py; spec:
docs/spec/channel_settle.md)."""
from bigchaindb_resonate.operations.channels import (
    SETTLE, channel_input, channel_transfer, record,
)
from bigchaindb_resonate.validators.royalties import pooled_payouts
from bigchaindb_resonate.vouchers import merkle_root

OPERATION = SETTLE
SCHEMA = "channel_settle_v1.0"
# A settlement carries its vouchers (about 450 bytes each): at most this many keeps it far
# below the 64 KiB transaction limit (admission.py).
MAX_VOUCHERS = 100


def settle(state, vouchers, splits, parameters, asset_id):
    """An unsigned CHANNEL_SETTLE of the channel read `state` paying `vouchers` (the next
    ones by sequence). `splits` maps each track with a paid voucher to (split id, its
    (key, basis points) payees); `parameters` are the network's (platform_key,
    coop_share_bp); `asset_id` the credit token's id."""
    if not 1 <= len(vouchers) <= MAX_VOUCHERS:
        raise ValueError(f"a settlement pays 1 to {MAX_VOUCHERS} vouchers, not {len(vouchers)}")
    plays = [(voucher["price"], splits[voucher["track"]][1] if voucher["price"] else [])
             for voucher in vouchers]
    paid = pooled_payouts(plays, parameters["coop_share_bp"], parameters["platform_key"])
    after = {**state, "settled": vouchers[-1]["total"], "sequence": vouchers[-1]["sequence"]}
    # A track with no split in force (None): the node answers PLAY_NO_SPLIT.
    named = {voucher["track"]: splits[voucher["track"]][0] for voucher in vouchers
             if voucher["price"] and splits[voucher["track"]][0] is not None}
    metadata = record("ChannelSettlement", after, splits=named, count=len(vouchers),
                      root=merkle_root(vouchers), vouchers=list(vouchers))
    return channel_transfer(OPERATION, [channel_input(state)], after,
                            [([key], tokens) for key, tokens in paid], asset_id, metadata)
