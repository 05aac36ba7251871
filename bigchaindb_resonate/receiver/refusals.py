"""Why a receiver refuses a voucher: one class per failure, each with a stable code.

These are answers of the receiver's protocol (docs/receiver.md lists every code), not
refusals of the network: the validators run their own rules when a settlement arrives.
The receiver checks what it can before a track starts, so that what it accepts settles.
A code is never renumbered or reused. `retry` says whether the same voucher may be
accepted later unchanged (the ledger was unreachable, the channel's open has not
committed yet), so a player knows whether to try again or to build another voucher.
"""


class VoucherRefused(Exception):
    code = "RECEIVER_REFUSED"
    meaning = "the receiver refused the voucher"
    retry = False
    status = 400  # the HTTP status the receiver answers with

    def __init__(self, detail=None, *, field=None, expected=None):
        self.detail = detail or self.meaning
        self.field = field
        self.expected = expected
        super().__init__(f"{self.code}: {self.detail}")

    def to_dict(self):
        return {"status": "refused", "code": self.code, "detail": self.detail,
                "field": self.field, "expected": self.expected, "retry": self.retry}


class Malformed(VoucherRefused):
    code = "RECEIVER_MALFORMED"
    meaning = "the body is not a voucher: a JSON object with exactly the voucher's fields and types"


class BadSignature(VoucherRefused):
    code = "RECEIVER_BAD_SIGNATURE"
    meaning = "the signature is not the listener's over the voucher's fields"


class UnknownChannel(VoucherRefused):
    code = "RECEIVER_UNKNOWN_CHANNEL"
    meaning = "no channel with this id is committed on the ledger (yet)"
    retry = True


class OtherReceiver(VoucherRefused):
    code = "RECEIVER_OTHER_RECEIVER"
    meaning = "the channel pays another receiver key than this receiver's"


class WrongListener(VoucherRefused):
    code = "RECEIVER_WRONG_LISTENER"
    meaning = "the voucher's listener is not the channel's"


class ChannelClosing(VoucherRefused):
    code = "RECEIVER_CHANNEL_CLOSING"
    meaning = "the channel is closing or closed: it takes no more vouchers"


class Stale(VoucherRefused):
    code = "RECEIVER_STALE"
    meaning = ("the sequence is at or below one the receiver already holds for the channel, "
               "and the voucher is not the one it holds (a replay or a competing voucher)")


class SequenceGap(VoucherRefused):
    code = "RECEIVER_SEQUENCE_GAP"
    meaning = "the sequence skips: it must be one more than the latest the receiver holds"


class PlayNumber(VoucherRefused):
    code = "RECEIVER_PLAY_NUMBER"
    meaning = ("the play number does not continue the listener's count for the track: the "
               "ledger's count plus the vouchers the receiver holds (a gap or a repeat)")


class WrongPrice(VoucherRefused):
    code = "RECEIVER_WRONG_PRICE"
    meaning = "the price is not the stream-to-own curve's for the play number"


class WrongTotal(VoucherRefused):
    code = "RECEIVER_WRONG_TOTAL"
    meaning = "the running total is not the previous voucher's total plus this price"


class Overdrawn(VoucherRefused):
    code = "RECEIVER_OVERDRAWN"
    meaning = "the running total exceeds the channel's deposit: top up the channel"


class UnknownTerritory(VoucherRefused):
    code = "RECEIVER_UNKNOWN_TERRITORY"
    meaning = "the territory is not an ISO 3166-1 alpha-2 country code"


class UnknownTrack(VoucherRefused):
    code = "RECEIVER_UNKNOWN_TRACK"
    meaning = "the track is not a committed MANIFESTATION"


class NoSplit(VoucherRefused):
    code = "RECEIVER_NO_SPLIT"
    meaning = "a paid play needs a royalty split in force for the track"


class LicenceUnknown(VoucherRefused):
    code = "RECEIVER_LICENCE_UNKNOWN"
    meaning = "the licence is not a committed RIGHT"


class LicenceNotPlatform(VoucherRefused):
    code = "RECEIVER_LICENCE_NOT_PLATFORM"
    meaning = "the licence is not held (even in part) by the co-op's platform key"


class LicenceNotStreaming(VoucherRefused):
    code = "RECEIVER_LICENCE_NOT_STREAMING"
    meaning = "the licence does not allow on-demand streaming"


class LicenceTerritory(VoucherRefused):
    code = "RECEIVER_LICENCE_TERRITORY"
    meaning = "the licence does not cover the voucher's territory"


class LicenceNotInForce(VoucherRefused):
    code = "RECEIVER_LICENCE_NOT_IN_FORCE"
    meaning = "the licence is not valid today (the receiver's UTC date)"


class LicenceOtherTrack(VoucherRefused):
    code = "RECEIVER_LICENCE_OTHER_TRACK"
    meaning = "the licence does not derive from a Copyright in the track or its work"


class LedgerUnreachable(VoucherRefused):
    code = "RECEIVER_LEDGER_UNREACHABLE"
    meaning = ("the receiver needs a ledger read it has not cached and no node answered; "
               "try again shortly")
    retry = True
    status = 503


class StoreFailed(VoucherRefused):
    code = "RECEIVER_STORE_FAILED"
    meaning = ("the receiver could not store the voucher durably and stops; nothing was "
               "acknowledged: send it again once the receiver is back")
    retry = True
    status = 503


def all_refusals():
    return sorted(VoucherRefused.__subclasses__(), key=lambda cls: cls.code)
