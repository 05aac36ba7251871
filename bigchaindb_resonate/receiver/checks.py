"""What a receiver checks before it accepts a voucher: pure functions of the voucher, what
the ledger said (cached), and what the receiver already holds.

The same rules the validators apply to a settlement (docs/spec/), checked one voucher at a
time so that everything accepted can settle: the listener's signature, the channel open
and paying this receiver, a sequence and running total that continue the channel's, a
play number that continues the listener's count for the track (the ledger's count plus the
vouchers held), the price by the stream-to-own curve, the deposit bound, and the licence
as far as cached reads show it (held by the co-op, streaming, the territory, today's date,
the track). Nothing here reads a clock, a file or the network; the caller passes `today`.
"""
import re
import sys
from dataclasses import dataclass
from typing import Any, Optional

import rapidjson
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from bigchaindb_resonate.receiver import refusals
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.validators.terms import COUNTRY_CODES, period_covers
from bigchaindb_resonate.vouchers import FIELDS, VERSION, signed_bytes

STREAMING = "on_demand_stream"
MAX_VOUCHER_BYTES = 4096
_ID = re.compile(r"[0-9a-f]{64}")
_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# base58 characters to their digits (0 to 57); every other byte is deleted.
_TO_DIGITS = bytes.maketrans(_ALPHABET, bytes(range(58)))
_NOT_BASE58 = bytes(set(range(256)) - set(_ALPHABET))
# Two digits at once, read as one native 16-bit number, to their value in base 58.
_PAIRS = [0] * 65536
for _high in range(58):
    for _low in range(58):
        _PAIRS[int.from_bytes(bytes([_high, _low]), sys.byteorder)] = _high * 58 + _low
_INTEGERS = ("version", "sequence", "play", "price", "total")
_STRINGS = ("channel", "listener", "track", "territory", "right", "signature")


@dataclass
class Channel:
    """A channel as the ledger shows it (cached by the receiver)."""
    id: str
    listener: str
    receiver: str
    deposit: int
    status: str  # open, closing (either side started closing) or closed
    settled_sequence: int = 0  # the last settled voucher's sequence
    settled_total: int = 0  # what settlements paid so far
    closes_at: Optional[int] = None  # consensus seconds when settling ends, once closing


@dataclass(slots=True)  # one is made per voucher accepted
class Held:
    """The latest voucher the receiver holds for a channel (or the ledger's settled state
    before it holds any)."""
    sequence: int
    total: int
    signature: Optional[str] = None
    committed: Any = None  # the receiver's Commit that stores it (service.py)


@dataclass(frozen=True)
class Licence:
    """What the cached reads say about a RIGHT."""
    holders: frozenset
    usages: frozenset
    countries: frozenset  # the country codes its territory covers
    period: dict  # validFrom and, where set, validThrough
    subject: str  # what the Copyright at the root of its chain is in


@dataclass(frozen=True)
class Track:
    id: str
    work: Optional[str]
    split: Optional[str]  # the split in force, if any


def parse(body):
    """The voucher in a request body (bytes), or Malformed."""
    if len(body) > MAX_VOUCHER_BYTES:
        raise refusals.Malformed(f"{len(body)} bytes", expected=f"at most {MAX_VOUCHER_BYTES}")
    try:
        voucher = rapidjson.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise refusals.Malformed("not JSON") from None
    return check_fields(voucher)


def check_fields(voucher):
    """The voucher, if it has exactly the voucher's fields and types; else Malformed."""
    if not isinstance(voucher, dict) or voucher.keys() != _KEYS:
        fields = sorted(voucher) if isinstance(voucher, dict) else type(voucher).__name__
        raise refusals.Malformed(f"fields {fields}", expected=f"exactly {sorted(_KEYS)}")
    for name in _INTEGERS:
        value = voucher[name]
        if type(value) is not int or value < 0:
            raise refusals.Malformed(f"`{name}` is {value!r}", field=name,
                                     expected="a non-negative integer")
    for name in _STRINGS:
        if type(voucher[name]) is not str:
            raise refusals.Malformed(f"`{name}` is not a string", field=name)
    if voucher["version"] != VERSION:
        raise refusals.Malformed(f"version {voucher['version']}", field="version",
                                 expected=str(VERSION))
    for name in ("channel", "track", "right"):
        if not _ID.fullmatch(voucher[name]):
            raise refusals.Malformed(f"`{name}` is not an id", field=name, expected="64 hex digits")
    if voucher["sequence"] < 1:
        raise refusals.Malformed("sequence 0", field="sequence", expected="1 or more")
    return voucher


_KEYS = frozenset(FIELDS) | {"signature"}


def b58decode(text, size):
    """`text` decoded as base58 into exactly `size` bytes, as the `base58` package decodes
    it (leading `1`s are zero bytes), or ValueError; about six times faster."""
    try:
        encoded = text.encode("ascii")
    except (AttributeError, UnicodeEncodeError):
        raise ValueError("not base58") from None
    digits = encoded.translate(_TO_DIGITS, _NOT_BASE58)
    if len(digits) != len(encoded):
        raise ValueError("not base58")
    number = 0
    if len(digits) % 2:
        number, digits = digits[0], digits[1:]
    for pair in memoryview(digits).cast("H"):  # half as many steps as digit by digit
        number = number * 3364 + _PAIRS[pair]
    zeros = len(text) - len(text.lstrip("1"))
    if zeros + (number.bit_length() + 7) // 8 != size:
        raise ValueError(f"not {size} bytes")
    return number.to_bytes(size, "big")


class SignatureChecker:
    """Checks listeners' signatures, keeping each listener's decoded key."""

    def __init__(self, capacity=100_000):
        self.keys = {}
        self.capacity = capacity

    def key(self, listener):
        key = self.keys.get(listener)
        if key is None:
            key = b58decode(listener, 32)
            if len(self.keys) >= self.capacity:
                self.keys.clear()
            self.keys[listener] = key
        return key

    def check(self, voucher):
        """The same verdict as vouchers.verify_signature, or BadSignature."""
        try:
            signature = b58decode(voucher["signature"], 64)
            crypto_sign_open(signature + signed_bytes(voucher), self.key(voucher["listener"]))
        except (BadSignatureError, ValueError, TypeError):
            raise refusals.BadSignature(field="signature",
                                        expected="the listener's Ed25519 signature") from None


def check_channel(voucher, channel, receiver_key):
    if channel is None:
        raise refusals.UnknownChannel(f"channel {voucher['channel']}", field="channel",
                                      expected="a channel whose open has committed")
    if channel.receiver != receiver_key:
        raise refusals.OtherReceiver(f"the channel pays {channel.receiver}", field="channel",
                                     expected=f"a channel towards {receiver_key}")
    if voucher["listener"] != channel.listener:
        raise refusals.WrongListener(field="listener", expected=channel.listener)
    if channel.status != "open":
        raise refusals.ChannelClosing(f"the channel is {channel.status}", field="channel",
                                      expected="an open channel")


def is_duplicate(voucher, held):
    """The voucher is the latest one held (a player retrying after a lost answer)."""
    return voucher["sequence"] == held.sequence and voucher["signature"] == held.signature


def check_continues(voucher, channel, held, next_play):
    """Sequence, play number, price, running total and deposit continue what is held;
    `next_play` is the listener's count for the track (ledger and held vouchers)."""
    if voucher["sequence"] <= held.sequence:
        raise refusals.Stale(f"sequence {voucher['sequence']}", field="sequence",
                             expected=str(held.sequence + 1))
    if voucher["sequence"] != held.sequence + 1:
        raise refusals.SequenceGap(f"sequence {voucher['sequence']}", field="sequence",
                                   expected=str(held.sequence + 1))
    if voucher["play"] != next_play:
        raise refusals.PlayNumber(f"play number {voucher['play']}", field="play",
                                  expected=str(next_play))
    expected_price = price(voucher["play"])
    if voucher["price"] != expected_price:
        raise refusals.WrongPrice(f"{voucher['price']} tokens", field="price",
                                  expected=str(expected_price))
    if voucher["total"] != held.total + expected_price:
        raise refusals.WrongTotal(f"total {voucher['total']}", field="total",
                                  expected=str(held.total + expected_price))
    if voucher["total"] > channel.deposit:
        raise refusals.Overdrawn(f"total {voucher['total']}", field="total",
                                 expected=f"at most the deposit, {channel.deposit}")


def check_licence(voucher, track, licence, platform_key, today):
    """The track and licence as the cached reads show them; `today` is YYYY-MM-DD (UTC)."""
    territory = voucher["territory"]
    if territory not in COUNTRY_CODES:
        raise refusals.UnknownTerritory(f"`{territory}`", field="territory",
                                        expected="an ISO 3166-1 alpha-2 code")
    if track is None:
        raise refusals.UnknownTrack(field="track", expected="a MANIFESTATION id")
    if voucher["price"] and track.split is None:
        raise refusals.NoSplit(field="track", expected="a SPLIT of the track or its Copyright")
    if licence is None:
        raise refusals.LicenceUnknown(field="right", expected="a RIGHT id")
    if platform_key not in licence.holders:
        raise refusals.LicenceNotPlatform(field="right", expected=f"held by `{platform_key}`")
    if STREAMING not in licence.usages:
        raise refusals.LicenceNotStreaming(field="right", expected=f"usageType with {STREAMING}")
    if territory not in licence.countries:
        raise refusals.LicenceTerritory(f"{territory} is not licensed", field="territory",
                                        expected="a country the licence covers")
    if not period_covers(licence.period, today):
        raise refusals.LicenceNotInForce(field="right", expected=f"in force on {today}")
    if licence.subject not in (track.id, track.work):
        raise refusals.LicenceOtherTrack(f"its Copyright covers `{licence.subject}`",
                                         field="right", expected="a Right from a Copyright "
                                                                 "in the track or its work")
