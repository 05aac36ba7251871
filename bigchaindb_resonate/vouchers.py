"""Play vouchers: what a listener signs for each play paid through a payment channel, and
the commitment a settlement makes to the vouchers it pays for.

A voucher is a small JSON object, signed by the listener's Ed25519 key over a
domain-separated canonical encoding (`signed_bytes`), so that anyone with the listener's
public key can check it, off the ledger or on it. `sequence` orders a channel's vouchers
(1, 2, ...); `total` is the channel's running total of tokens, so a later voucher supersedes
earlier ones for payment, while each voucher remains the evidence of one play.

A settlement commits to the list of vouchers it pays for by the root of a Merkle tree over
their leaf hashes (`merkle_root`) and their count; `inclusion_proof` and `proves_inclusion`
show that one voucher is among them. Leaves and inner nodes are hashed with different
prefixes, and an odd node is carried up unpaired rather than paired with itself, so no two
different lists share a root (the duplicated-last-leaf ambiguity of Bitcoin's tree).

Pure and dependency-light: the client, the receiver and the validators share it.
"""
import functools
from collections import OrderedDict
from hashlib import sha3_256

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from bigchaindb_resonate.transaction import serialize

VERSION = 1
DOMAIN = b"resonate-voucher/1\n"
FIELDS = ("version", "channel", "listener", "sequence", "track", "play", "price", "total",
          "territory", "right")


class VoucherSignatureError(ValueError):
    """The signature is missing, malformed, or not the listener's over these fields."""


def body_of(voucher):
    """The signed fields of a voucher (everything but its signature)."""
    return {field: voucher[field] for field in FIELDS}


def signed_bytes(voucher):
    return DOMAIN + serialize(body_of(voucher)).encode()


def make_voucher(private_key, *, channel, listener, sequence, track, play, price, total,
                 territory, right):
    """A voucher signed with `private_key` (base58 seed) for the listener `listener`."""
    voucher = {"version": VERSION, "channel": channel, "listener": listener,
               "sequence": sequence, "track": track, "play": play, "price": price,
               "total": total, "territory": territory, "right": right}
    signature = SigningKey(base58.b58decode(private_key)).sign(signed_bytes(voucher)).signature
    return {**voucher, "signature": base58.b58encode(signature).decode()}


def b58decode(text):
    """The bytes `base58.b58decode` gives, with the same refusals (ValueError), made from
    the decoded number at once: the package's divmod per byte costs as much as checking
    the signature."""
    text = text.rstrip()
    zeros = len(text) - len(text.lstrip("1"))  # each leading "1" is a zero byte
    number = base58.b58decode_int(text)
    return bytes(zeros) + number.to_bytes((number.bit_length() + 7) // 8, "big")


@functools.lru_cache(maxsize=4096)
def _verify_key(listener):
    """A listener's key, decoded once: a settlement's vouchers, and a receiver's stream of
    them, are mostly one listener's."""
    return VerifyKey(b58decode(listener))


class VerifiedSignatures:
    """The signatures this process has found valid, by (digest of the signed bytes,
    signature, public key), at most `capacity`, the oldest forgotten first. A validator
    checks a settlement's vouchers in CheckTx and again in DeliverTx: the second check is
    a lookup. Only successes are kept, and a success is a pure function of its key, so an
    answer from here is the one a fresh check gives (tests/unit/test_vouchers.py)."""

    def __init__(self, capacity):
        self.capacity = capacity
        self._keys = OrderedDict()

    def __contains__(self, key):
        return key in self._keys

    def __len__(self):
        return len(self._keys)

    def add(self, key):
        self._keys[key] = None
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)


# About 100 bytes each: the vouchers of 1,000 settlements of 100 in 10 MB.
VERIFIED = VerifiedSignatures(100_000)


def verify_signature(voucher):
    """Raise VoucherSignatureError unless the voucher's listener signed its fields."""
    try:
        message = signed_bytes(voucher)
        verified = (sha3_256(message).digest(), voucher["signature"], voucher["listener"])
        if verified in VERIFIED:
            return
        key = _verify_key(voucher["listener"])
        key.verify(message, b58decode(voucher["signature"]))
    except (BadSignatureError, ValueError, TypeError, KeyError) as exc:
        raise VoucherSignatureError(f"not signed by the listener: {type(exc).__name__}") from None
    VERIFIED.add(verified)


def leaf_hash(voucher):
    """The voucher's leaf in a settlement's tree: its fields and its signature."""
    return sha3_256(b"\x00" + serialize(voucher).encode()).digest()


def _parent(left, right):
    return sha3_256(b"\x01" + left + right).digest()


def _levels(leaves):
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append([_parent(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                       for i in range(0, len(level), 2)])
    return levels


def merkle_root(vouchers):
    """The hex root over the vouchers' leaf hashes, in the order given."""
    if not vouchers:
        raise ValueError("a settlement commits to at least one voucher")
    return _levels([leaf_hash(voucher) for voucher in vouchers])[-1][0].hex()


def inclusion_proof(vouchers, index):
    """The sibling hashes from voucher `index` up to the root: [(side, hex)], side "L" when
    the sibling is on the left."""
    proof = []
    for level in _levels([leaf_hash(voucher) for voucher in vouchers])[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(("L" if sibling < index else "R", level[sibling].hex()))
        index //= 2
    return proof


def proves_inclusion(voucher, proof, root):
    """True when `proof` leads from `voucher` to the hex `root`."""
    node = leaf_hash(voucher)
    try:
        for side, sibling in proof:
            sibling = bytes.fromhex(sibling)
            node = _parent(sibling, node) if side == "L" else _parent(node, sibling)
    except (ValueError, TypeError):
        return False
    return node.hex() == root
