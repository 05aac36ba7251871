"""CHANNEL_SETTLE: pays the next vouchers of a channel, as the same PLAYs would.

Spec: docs/spec/channel_settle.md. Spends the channel output into the channel output
less what the vouchers pay, and one output per recipient: each voucher divides its price
exactly as a PLAY does (validators/royalties.py) under the split in force, summed per key.
Every voucher is checked as a PLAY is (types/play.py): the listener's signature, the play
number against the listener's count of plays of the track (direct and channel plays alike),
the price curve, the licence; and the channel's running total against its deposit. The
metadata carries the vouchers themselves, their Merkle root and count (vouchers.py), so
any one play can be proven included and audited.

A settlement is filed under the listener's play count key of each voucher's track once
per voucher, so the count PLAY and later settlements read stays one head lookup.

`settle_channel` holds the rules for one channel's vouchers; CHANNEL_SETTLE_BATCH
(types/channel_settle_batch.py) applies them to each of its channels.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.ledger import metadata_key
from bigchaindb_resonate.operations import channel_settle as client_part
from bigchaindb_resonate.operations.play import OPERATION as PLAY
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channels import (
    ChannelTransaction, closes_at, state_of,
)
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.play import (
    PlayUnknownTerritory, check_licence, count_earlier_plays, split_to_pay,
)
from bigchaindb_resonate.types.split import payees_of
from bigchaindb_resonate.validators.royalties import pooled_payouts, price
from bigchaindb_resonate.validators.terms import COUNTRY_CODES
from bigchaindb_resonate.vouchers import VoucherSignatureError, merkle_root, verify_signature


class ChannelExpired(ResonateValidationError):
    code = "CHANNEL_EXPIRED"
    meaning = "the closing channel's settle delay has passed: it can only be refunded"


class ChannelVoucherOtherChannel(ResonateValidationError):
    code = "CHANNEL_VOUCHER_OTHER_CHANNEL"
    meaning = "a voucher names another channel or another listener than the channel's"


class ChannelStaleVoucher(ResonateValidationError):
    code = "CHANNEL_STALE_VOUCHER"
    meaning = "a voucher's sequence is settled already, or repeats an earlier voucher's (a replay)"


class ChannelSequenceGap(ResonateValidationError):
    code = "CHANNEL_SEQUENCE_GAP"
    meaning = "vouchers' sequences must continue the channel's settled sequence by 1 each, without a gap"


class ChannelBadSignature(ResonateValidationError):
    code = "CHANNEL_BAD_SIGNATURE"
    meaning = "a voucher is not signed by the channel's listener over its fields"


class ChannelWrongPrice(ResonateValidationError):
    code = "CHANNEL_WRONG_PRICE"
    meaning = "a voucher's price is not the curve's for its play number (2^(n+1) tokens for n = 0..8, then 0)"


class ChannelPlayNumberMismatch(ResonateValidationError):
    code = "CHANNEL_PLAY_NUMBER_MISMATCH"
    meaning = ("a voucher's play number is not the count of the listener's earlier plays of "
               "the track (PLAYs and channel plays, committed, earlier in the block or earlier "
               "in this settlement): a gap or a repeat")


class ChannelWrongTotal(ResonateValidationError):
    code = "CHANNEL_WRONG_TOTAL"
    meaning = "a voucher's total is not the previous total (the settled total for the first) plus its price"


class ChannelOverdrawn(ResonateValidationError):
    code = "CHANNEL_OVERDRAWN"
    meaning = "a voucher's total exceeds the channel's deposit"


class ChannelWrongSplits(ResonateValidationError):
    code = "CHANNEL_WRONG_SPLITS"
    meaning = "`splits` must name exactly the split in force of each track with a paid voucher"


class ChannelWrongCommitment(ResonateValidationError):
    code = "CHANNEL_WRONG_COMMITMENT"
    meaning = "`count` and `root` are not the number and the Merkle root of the vouchers"


class ChannelDoubleSettlement(ResonateValidationError):
    code = "CHANNEL_DOUBLE_SETTLEMENT"
    meaning = "this settlement is committed already (or earlier in the block)"


def play_key(listener, track_id):
    """Where a listener's plays of a track are counted (PLAY's INDEXED_METADATA key)."""
    return metadata_key(PLAY, {"listener": listener, "track": track_id})


class SettlementReads:
    """What settling vouchers reads of the ledger, once per settlement however many
    channels and vouchers it pays: each track's record, each listener's count of plays of
    a track, each licence checked (right, track, territory), each paid track's split."""

    def __init__(self, ledger, parameters):
        self.ledger, self.parameters = ledger, parameters
        self.tracks, self.counts, self.licensed, self.splits = {}, {}, set(), {}

    def check_splits(self, named, field="metadata.splits"):
        """`named` ({track: split id}) names exactly the split in force of each paid track."""
        expected = {track: split.id for track, split in self.splits.items()}
        if named != expected:
            raise ChannelWrongSplits(field=field, expected=str(expected))


def settle_channel(reads, before, vouchers, count, root, where="metadata"):
    """The channel's state after paying `vouchers` (whole, in order) from its state
    `before`, and each voucher's (price, payees); refused as docs/spec/channel_settle.md
    says, with fields under `where`. `count` and `root` are the settlement's commitment."""
    if count != len(vouchers) or root != merkle_root(vouchers):
        raise ChannelWrongCommitment(field=f"{where}.root",
                                     expected=f"count {len(vouchers)}, root {merkle_root(vouchers)}")
    ledger, parameters = reads.ledger, reads.parameters
    deadline = closes_at(ledger, before, parameters)
    if "closing" in before and (deadline is None or (ledger.consensus_time() or 0) >= deadline):
        raise ChannelExpired(f"closed for settlement at {deadline}", field=f"{where}.channel",
                             expected="a CHANNEL_REFUND")
    plays = _check_vouchers(reads, before, vouchers, where)
    last = vouchers[-1]
    return {**before, "settled": last["total"], "sequence": last["sequence"]}, plays


def _check_vouchers(reads, before, vouchers, where):
    """Each voucher continues the one before it (the channel's settled state for the
    first): [(price, payees)] of every voucher."""
    ledger, listener = reads.ledger, before["listener"]
    sequence, total = before["sequence"], before["settled"]
    tracks, counts, splits, licensed, plays = reads.tracks, reads.counts, reads.splits, reads.licensed, []
    for index, voucher in enumerate(vouchers):
        field = f"{where}.vouchers[{index}]"
        if voucher["sequence"] <= sequence:
            raise ChannelStaleVoucher(f"sequence {voucher['sequence']}", field=f"{field}.sequence",
                                      expected=str(sequence + 1))
        if voucher["sequence"] != sequence + 1:
            raise ChannelSequenceGap(f"sequence {voucher['sequence']}", field=f"{field}.sequence",
                                     expected=str(sequence + 1))
        try:
            verify_signature(voucher)
        except VoucherSignatureError as exc:
            raise ChannelBadSignature(str(exc), field=f"{field}.signature") from None
        track_id, lane = voucher["track"], (listener, voucher["track"])
        if track_id not in tracks:
            tracks[track_id] = ledger.linked(track_id, (Manifestation.OPERATION,), f"{field}.track")
        if lane not in counts:
            counts[lane] = count_earlier_plays(ledger, listener, track_id)
        if voucher["play"] != counts[lane]:
            raise ChannelPlayNumberMismatch(f"play {voucher['play']}", field=f"{field}.play",
                                            expected=str(counts[lane]))
        if voucher["total"] != total + voucher["price"]:
            raise ChannelWrongTotal(f"total {voucher['total']}", field=f"{field}.total",
                                    expected=str(total + voucher["price"]))
        if voucher["total"] > before["deposit"]:
            raise ChannelOverdrawn(f"total {voucher['total']}", field=f"{field}.total",
                                   expected=f"at most the deposit, {before['deposit']}")
        if (voucher["right"], track_id, voucher["territory"]) not in licensed:
            check_licence(ledger, voucher, tracks[track_id], reads.parameters["platform_key"], field)
            licensed.add((voucher["right"], track_id, voucher["territory"]))
        if voucher["price"] and track_id not in splits:
            splits[track_id] = split_to_pay(ledger, track_id, f"{field}.track")
        plays.append((voucher["price"], payees_of(splits[track_id]) if voucher["price"] else []))
        sequence, total, counts[lane] = voucher["sequence"], voucher["total"], counts[lane] + 1
    return plays


def check_voucher_terms(voucher, field):
    """A voucher's (or a batch's shared terms') territory is a country code."""
    if voucher["territory"] not in COUNTRY_CODES:
        raise PlayUnknownTerritory(f"`{voucher['territory']}`", field=f"{field}.territory",
                                   expected="an ISO 3166-1 alpha-2 code")


class ChannelSettle(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    @classmethod
    def extra_index_keys(cls, metadata):
        return super().extra_index_keys(metadata) + [
            play_key(metadata["listener"], voucher["track"]) for voucher in metadata["vouchers"]]

    @classmethod
    def check_stateless(cls, tx):
        # Cheap checks only: this also runs each time a stored settlement is parsed. The
        # signatures and the commitment are checked in CheckTx and DeliverTx.
        metadata = tx["metadata"]
        for index, voucher in enumerate(metadata["vouchers"]):
            field = f"metadata.vouchers[{index}]"
            if (voucher["channel"], voucher["listener"]) != (metadata["channel"], metadata["listener"]):
                raise ChannelVoucherOtherChannel(field=f"{field}.channel",
                                                 expected=f"channel {metadata['channel']}")
            check_voucher_terms(voucher, field)
            if voucher["price"] != price(voucher["play"]):
                raise ChannelWrongPrice(f"{voucher['price']} tokens for play {voucher['play']}",
                                        field=f"{field}.price", expected=str(price(voucher["play"])))

    def check_channel(self, ledger, parameters):
        self.check_only_input()
        channel = self.metadata["channel"]
        reads = SettlementReads(ledger, parameters)
        after, plays = settle_channel(reads, state_of(self.state_before(ledger), channel),
                                      self.metadata["vouchers"], self.metadata["count"],
                                      self.metadata["root"])
        reads.check_splits(self.metadata["splits"])
        self.check_state(after)
        self.check_outputs(after, [([key], tokens) for key, tokens in pooled_payouts(plays, parameters)])

    def already_exists(self):
        return ChannelDoubleSettlement(f"settlement `{self.id}` is committed already",
                                       field="metadata.channel", expected="the channel's next vouchers")

    settle = client_builder(client_part.settle)
