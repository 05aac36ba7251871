"""The crypto-conditions BigchainDB 2.0 locks outputs with, for the client library.

An output held by one public key carries an ed25519-sha-256 condition; one held by several
keys together carries an n-of-n threshold-sha-256 condition over them (nested lists of keys
nest thresholds). A transaction shows each condition twice, as its URI
(`ni:///sha-256;...`) and as `details`; an input is fulfilled by the DER encoding of the
signed fulfillment, written base64url without padding.

The encodings are those of the crypto-conditions draft (draft-thomas-crypto-conditions-03)
as the `cryptoconditions` package writes them for BigchainDB, so that a transaction built
here has the same bytes, id and signatures as one built by the server
(tests/unit/test_light_transaction.py compares them). Only what BigchainDB 2.0 transactions
use is here: ed25519-sha-256 and threshold-sha-256.
"""
import base64
import hashlib
from collections import namedtuple

import base58
from nacl.signing import SigningKey

KeyPair = namedtuple("KeyPair", ("private_key", "public_key"))


def generate_key_pair():
    """A new Ed25519 key pair, both keys base58 (the private key is the 32-byte seed)."""
    signing_key = SigningKey.generate()
    return KeyPair(_b58(bytes(signing_key)), _b58(bytes(signing_key.verify_key)))


def public_key_of(private_key):
    """The base58 public key of a base58 private key."""
    return _b58(bytes(SigningKey(base58.b58decode(private_key)).verify_key))


class Ed25519Sha256:
    """One public key's signature."""

    TYPE_ID = 4
    TYPE_NAME = "ed25519-sha-256"
    COST = 131072

    def __init__(self, public_key, signature=None):
        if len(public_key) != 32:
            raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
        self.public_key = public_key
        self.signature = signature

    @property
    def cost(self):
        return self.COST

    @property
    def subtypes(self):
        return set()

    @property
    def fingerprint(self):
        return hashlib.sha256(_sequence(_primitive(0, self.public_key))).digest()

    def details(self):
        return {"type": self.TYPE_NAME, "public_key": _b58(self.public_key)}

    def fulfillment_binary(self):
        if self.signature is None:
            raise ValueError(f"the key {_b58(self.public_key)} has not signed")
        return _constructed(self.TYPE_ID, _primitive(0, self.public_key) + _primitive(1, self.signature))

    def sign(self, message, private_keys):
        """Sign `message` with the private key (bytes) of this key, from `private_keys`
        (public key bytes -> private key bytes)."""
        if self.public_key not in private_keys:
            raise MissingPrivateKeyError(f"no private key given for {_b58(self.public_key)}")
        self.signature = SigningKey(private_keys[self.public_key]).sign(message).signature

    def is_signed(self):
        return self.signature is not None

    def leaves(self):
        return [self]


class ThresholdSha256:
    """`threshold` of several subconditions. BigchainDB sets the threshold to their number;
    a payment channel's output is 1 of 2 (listener or receiver)."""

    TYPE_ID = 2
    TYPE_NAME = "threshold-sha-256"

    def __init__(self, threshold, subconditions):
        self.threshold = threshold
        self.subconditions = list(subconditions)

    @property
    def cost(self):
        costs = sorted(sub.cost for sub in self.subconditions)
        return sum(costs[-self.threshold:]) + 1024 * len(costs)

    @property
    def subtypes(self):
        return {name for sub in self.subconditions for name in sub.subtypes | {sub.TYPE_NAME}
                if name != self.TYPE_NAME}

    @property
    def fingerprint(self):
        conditions = [condition_binary(sub) for sub in self.subconditions]
        return hashlib.sha256(_sequence(_primitive(0, _integer(self.threshold))
                                        + _constructed(1, _set_of(conditions)))).digest()

    def details(self):
        return {"type": self.TYPE_NAME, "threshold": self.threshold,
                "subconditions": [sub.details() for sub in self.subconditions]}

    def fulfillment_binary(self):
        # The cheapest `threshold` signed subfulfillments (a stable order among equal costs);
        # the others are left as bare conditions (none for BigchainDB's n of n).
        signed = [sub for sub in sorted(self.subconditions, key=lambda sub: sub.cost) if sub.is_signed()]
        chosen = signed[:self.threshold]
        if len(chosen) < self.threshold:
            raise ValueError(f"{len(chosen)} of {self.threshold} required signatures")
        rest = [condition_binary(sub) for sub in self.subconditions if sub not in chosen]
        return _constructed(self.TYPE_ID,
                            _constructed(0, _set_of([sub.fulfillment_binary() for sub in chosen]))
                            + _constructed(1, _set_of(rest)))

    def sign(self, message, private_keys):
        """Every subcondition signs; below n of n, those whose keys are given, as long as
        at least `threshold` of them can."""
        missing = None
        for sub in self.subconditions:
            try:
                sub.sign(message, private_keys)
            except MissingPrivateKeyError as exc:
                missing = exc
        if missing is not None and (self.threshold == len(self.subconditions)
                                    or not self.is_signed()):
            raise missing

    def is_signed(self):
        return sum(sub.is_signed() for sub in self.subconditions) >= self.threshold

    def leaves(self):
        return [leaf for sub in self.subconditions for leaf in sub.leaves()]


class MissingPrivateKeyError(ValueError):
    """An input needs a signature by a key whose private key was not given."""


def condition_for(public_keys):
    """The condition locking an output to `public_keys`: one base58 key, or all of several
    (a nested list of at least two keys is a nested threshold), as BigchainDB builds it."""
    if not isinstance(public_keys, list) or not public_keys:
        raise ValueError("public keys are a non-empty list")
    if len(public_keys) == 1 and not isinstance(public_keys[0], list):
        return Ed25519Sha256(base58.b58decode(public_keys[0]))
    return ThresholdSha256(len(public_keys), [_subcondition(keys) for keys in public_keys])


def one_of(public_keys):
    """The condition that any one of `public_keys` fulfils (a 1-of-n threshold)."""
    return ThresholdSha256(1, [Ed25519Sha256(base58.b58decode(key)) for key in public_keys])


def _subcondition(keys):
    if isinstance(keys, list):
        if len(keys) < 2:
            raise ValueError("a nested list of public keys needs at least two keys")
        return condition_for(keys)
    return Ed25519Sha256(base58.b58decode(keys))


def from_details(details, depth=0):
    """The condition a transaction's `details` (or unsigned input fulfillment) describes."""
    if depth == 100:
        raise ValueError("threshold conditions nested too deeply")
    if details["type"] == Ed25519Sha256.TYPE_NAME:
        return Ed25519Sha256(base58.b58decode(details["public_key"]))
    if details["type"] == ThresholdSha256.TYPE_NAME:
        return ThresholdSha256(details["threshold"], [from_details(sub, depth + 1)
                                                      for sub in details["subconditions"]])
    raise ValueError(f"unsupported condition type {details['type']!r}")


def condition_binary(condition):
    """The DER encoding of a condition: fingerprint, cost and (compound types) subtypes."""
    body = _primitive(0, condition.fingerprint) + _primitive(1, _integer(condition.cost))
    if isinstance(condition, ThresholdSha256):
        body += _primitive(2, _bit_string({_TYPE_IDS[name] for name in condition.subtypes}))
    return _constructed(condition.TYPE_ID, body)


def condition_uri(condition):
    uri = (f"ni:///sha-256;{_b64url(condition.fingerprint)}?fpt={condition.TYPE_NAME}"
           f"&cost={condition.cost}")
    if isinstance(condition, ThresholdSha256):
        uri += "&subtypes=" + ",".join(sorted(condition.subtypes))
    return uri


def fulfillment_uri(condition):
    """The signed fulfillment of a condition, as an input carries it."""
    return _b64url(condition.fulfillment_binary())


_TYPE_IDS = {Ed25519Sha256.TYPE_NAME: Ed25519Sha256.TYPE_ID,
             ThresholdSha256.TYPE_NAME: ThresholdSha256.TYPE_ID}


# -- DER, only the few shapes above

def _length(size):
    if size < 0x80:
        return bytes([size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _primitive(tag, content):
    """A context-specific, implicitly tagged primitive value."""
    return bytes([0x80 | tag]) + _length(len(content)) + content


def _constructed(tag, content):
    return bytes([0xA0 | tag]) + _length(len(content)) + content


def _sequence(content):
    return b"\x30" + _length(len(content)) + content


def _set_of(encodings):
    """DER orders the elements of a SET OF by their encodings."""
    return b"".join(sorted(encodings))


def _integer(value):
    """A non-negative INTEGER's content octets: big-endian, minimal, a leading 0 when the
    top bit would read as a sign."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _bit_string(bits):
    """A BIT STRING's content octets with the bits numbered in `bits` set (0 is the first
    octet's top bit): the count of unused trailing bits, then the octets."""
    used = max(bits) + 1 if bits else 0
    octets = bytearray((used + 7) // 8)
    for bit in bits:
        octets[bit // 8] |= 0x80 >> bit % 8
    return bytes([len(octets) * 8 - used]) + bytes(octets)


def _b58(raw):
    return base58.b58encode(raw).decode()


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
