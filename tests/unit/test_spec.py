"""The specs under docs/spec/ are a contract: every error code we define is listed in one,
and each type's example is generated here, from a fixed key, and must match the file.

Regenerate the examples after an intended change: RESONATE_WRITE_EXAMPLES=1 scripts/test tests/unit/test_spec.py
"""
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

import base58
import nacl.signing
import pytest
from bigchaindb.common.crypto import CryptoKeypair
from bigchaindb.models import Transaction

from bigchaindb_resonate import registry
from bigchaindb_resonate.errors import all_error_classes
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.payout_cancel import PayoutCancel
from bigchaindb_resonate.types.payout_request import PayoutRequest
from bigchaindb_resonate.types.payout_settle import PayoutSettle
from bigchaindb_resonate.types.play import Play
from bigchaindb_resonate.types.shares import SharedRecord

SPEC_DIR = Path(__file__).resolve().parents[2] / "docs" / "spec"


class ExampleId(NamedTuple):
    """Stands, inside an example, for the id of another type's example: links need real ids."""
    operation: str


class ExampleKey(NamedTuple):
    """Stands, inside an example, for the public key of a fixed key pair."""
    label: str


EXAMPLES = {
    "PARTY": {"@type": "MusicGroup", "name": "Kokoroko", "isni": "0000 0001 2103 2683",
              "roles": ["artist"]},
    "WORK": {"@type": "MusicComposition", "name": "Abusey Junction",
             "composer": [ExampleId("PARTY")], "iswcCode": "T-034.524.680-1", "inLanguage": "en",
             "datePublished": "2018-01-19"},
    "MANIFESTATION": {"@type": "MusicRecording", "name": "Abusey Junction",
                      "recordingOf": ExampleId("WORK"), "byArtist": [ExampleId("PARTY")],
                      "isrcCode": "GB-AYE-69-00531", "datePublished": "2018-01-19",
                      "url": "https://resonate.coop/kokoroko/abusey-junction"},
    "COPYRIGHT": {"rightsOf": ExampleId("MANIFESTATION"),
                  "territory": {"include": ["Worldwide"], "exclude": ["US"]},
                  "validFrom": "2018-01-19"},
    "RIGHT": {"source": ExampleId("COPYRIGHT"), "usageType": ["on_demand_stream", "download"],
              "territory": {"include": ["GB", "IE"]}, "validFrom": "2026-01-01",
              "validThrough": "2028-12-31", "exclusive": False, "numberOfUses": 100000,
              "license": {"uri": "https://resonate.coop/licences/stream-v1.pdf",
                          "hash": "5e" * 32}},
    "CREDIT": {"name": "Resonate credit"},
    "RIGHTS_ASSIGNMENT": {"description": "40 shares of the UK and Ireland streaming licence",
                          "transferContract": {"uri": "https://resonate.coop/contracts/42.pdf",
                                               "hash": "0f" * 32}},
    "SPLIT": {"subject": ExampleId("MANIFESTATION"),
              "payees": [[ExampleKey("PARTY"), 7000], [ExampleKey("WORK"), 3000]]},
    "PLAY": {"track": ExampleId("MANIFESTATION"), "territory": "GB", "right": ExampleId("RIGHT"),
             "split": ExampleId("SPLIT"), "playNumber": 0},
    "PAYOUT_REQUEST": {"amount": 8000},
    "PAYOUT_SETTLE": {"reference": "SEPA-2026-11-29-0001"},
    "PAYOUT_CANCEL": {},
}
# Examples the rules want signed by another example's key, so that together the examples
# make a valid history: a Copyright by its subject's registrant, a Right by the holder of
# its source, an assignment by the holder it takes shares from. Each is held by (or
# assigns to) its own key.
SIGNED_BY = {"COPYRIGHT": "MANIFESTATION", "RIGHT": "COPYRIGHT", "RIGHTS_ASSIGNMENT": "RIGHT",
             "SPLIT": "COPYRIGHT"}
# A transfer's example moves this many shares of another type's example.
MOVES = {"RIGHTS_ASSIGNMENT": ("RIGHT", 40)}
# The play example's network: the credit example's key is the treasury, the Right
# example's holder the platform.
PARAMETERS = {"treasury_keys": ["CREDIT"], "platform_key": "RIGHT", "coop_share_bp": 3000}
PURCHASE = 5000


def fixed_keypair(label):
    """A reproducible key: Ed25519 signatures are deterministic, so the example is too."""
    seed = label.encode().ljust(32, b".")[:32]
    signing = nacl.signing.SigningKey(seed)
    return CryptoKeypair(base58.b58encode(seed).decode(),
                         base58.b58encode(bytes(signing.verify_key)).decode())


def resolved(value):
    if isinstance(value, ExampleId):
        return example_tx(value.operation)["id"]
    if isinstance(value, ExampleKey):
        return fixed_keypair(value.label).public_key
    if isinstance(value, dict):
        return {key: resolved(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item) for item in value]
    return value


def example_tx(operation):
    """The signed example of `operation`, built from fixed keys."""
    if operation.startswith("CHANNEL_"):
        return example_channel(operation)
    cls = registry.type_for(operation)
    owner = fixed_keypair(operation)
    signer = fixed_keypair(SIGNED_BY.get(operation, operation))
    data = resolved(EXAMPLES[operation])
    if operation in MOVES:
        moved, shares = MOVES[operation]
        tx = cls.assign(Transaction.from_dict(example_tx(moved)), signer.public_key,
                        owner.public_key, shares, data)
    elif operation == "PLAY":
        tx = example_play(data, owner)
    elif operation.startswith("PAYOUT_"):
        return example_payout(operation, data)
    elif operation in SIGNED_BY and issubclass(cls, SharedRecord):
        tx = cls.build([signer.public_key], data, holders=[(owner.public_key, 100)])
    else:
        tx = cls.build([signer.public_key], data)
    return tx.sign([signer.private_key]).to_dict()


def example_play(play, listener):
    """The listener buys credits by a treasury TRANSFER of the credit example, then plays
    by the split example."""
    purchase = example_purchase(listener)
    payees = [(payee["publicKey"], payee["shareBp"])
              for payee in example_tx("SPLIT")["asset"]["data"]["payees"]]
    parameters = {"platform_key": fixed_keypair(PARAMETERS["platform_key"]).public_key,
                  "coop_share_bp": PARAMETERS["coop_share_bp"]}
    return Play.pay([(purchase, 0)], listener.public_key, play, payees, parameters)


def example_payout(operation, data):
    """The request example's payee bought credits from the treasury (the credit example's
    key) and asks for some to be paid out; the treasury settles it, or the payee cancels.
    Signed with the client library, which signs one key of the held output's 1-of-2."""
    payee = fixed_keypair("PAYOUT_REQUEST")
    treasury = fixed_keypair(PARAMETERS["treasury_keys"][0])
    if operation == "PAYOUT_REQUEST":
        purchase = example_purchase(payee, 2 * data["amount"])
        tx, signer = PayoutRequest.request([(purchase, 0)], payee.public_key, treasury.public_key,
                                           data["amount"], purchase.asset["id"]), payee
    elif operation == "PAYOUT_SETTLE":
        tx, signer = PayoutSettle.settle(example_tx("PAYOUT_REQUEST"), data["reference"], {
            "payout_rate": 800, "payout_currency": "EUR"}), treasury
    else:
        tx, signer = PayoutCancel.cancel(example_tx("PAYOUT_REQUEST")), payee
    return LightTransaction.from_dict(tx.to_dict()).sign([signer.private_key]).to_dict()


def example_purchase(buyer, amount=PURCHASE):
    """A treasury TRANSFER of `amount` tokens of the credit example to `buyer`."""
    treasury = fixed_keypair(PARAMETERS["treasury_keys"][0])
    credit = Transaction.from_dict(example_tx("CREDIT"))
    return Transaction.transfer(credit.to_inputs(), [
        ([buyer.public_key], amount), ([treasury.public_key], credit.outputs[0].amount - amount)],
        asset_id=credit.id).sign([treasury.private_key])


def example_channel(operation):
    """A channel of the CHANNEL_OPEN example's key towards the platform (the Right
    example's holder): opened from a purchase, then each later operation from the open's
    state, signed by one side with the client library (the channel output is 1 of 2)."""
    from bigchaindb_resonate.operations import (
        channel_close, channel_open, channel_refund, channel_settle, channel_settle_batch, channel_topup,
    )
    from bigchaindb_resonate.transaction import Transaction as LightTransaction
    from bigchaindb_resonate.vouchers import make_voucher

    listener, platform = fixed_keypair("CHANNEL_OPEN"), fixed_keypair(PARAMETERS["platform_key"])
    credit_id = example_tx("CREDIT")["id"]
    purchase = example_purchase(listener)
    opened = channel_open.open_channel([(purchase.to_dict(), 0)], listener.public_key,
                                       platform.public_key, 2000).sign([listener.private_key])
    state = {"channel": opened.id, "listener": listener.public_key, "receiver": platform.public_key,
             "deposit": 2000, "settled": 0, "sequence": 0, "latest_transaction": opened.id}
    track, right, split = (example_tx(name) for name in ("MANIFESTATION", "RIGHT", "SPLIT"))
    vouchers = [make_voucher(listener.private_key, channel=opened.id, listener=listener.public_key,
                             sequence=number + 1, track=track["id"], play=number,
                             price=2 ** (number + 1), total=2 ** (number + 2) - 2, territory="GB",
                             right=right["id"]) for number in range(3)]
    payees = [(payee["publicKey"], payee["shareBp"]) for payee in split["asset"]["data"]["payees"]]
    parameters = {"platform_key": platform.public_key, "coop_share_bp": PARAMETERS["coop_share_bp"]}
    closed = channel_close.close(state, credit_id).sign([listener.private_key])
    built = {
        "CHANNEL_OPEN": lambda: opened,
        "CHANNEL_TOPUP": lambda: channel_topup.top_up(state, [(opened, 1)], 1000).sign([listener.private_key]),
        "CHANNEL_SETTLE": lambda: channel_settle.settle(state, vouchers, {track["id"]: (split["id"], payees)},
                                                        parameters, credit_id).sign([platform.private_key]),
        "CHANNEL_SETTLE_BATCH": lambda: channel_settle_batch.settle_batch(
            [(state, vouchers)], {track["id"]: (split["id"], payees)}, parameters,
            credit_id).sign([platform.private_key]),
        "CHANNEL_CLOSE": lambda: closed,
        "CHANNEL_REFUND": lambda: channel_refund.refund(
            {**state, "closing": closed.id, "latest_transaction": closed.id}, credit_id).sign([platform.private_key]),
    }[operation]()
    return LightTransaction.from_dict(built.to_dict()).to_dict()


def spec_text():
    return "\n".join(path.read_text() for path in SPEC_DIR.glob("*.md"))


def test_every_error_code_is_documented_once_with_its_class():
    text = spec_text()
    for cls in all_error_classes():
        rows = re.findall(rf"^\|\s*`{cls.code}`\s*\|\s*`{cls.__name__}`\s*\|", text, re.M)
        assert len(rows) == 1, f"{cls.code} ({cls.__name__}) must have exactly one row in docs/spec"


def test_codes_are_unique():
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", registry.TYPES, ids=lambda cls: cls.OPERATION)
def test_each_type_has_a_spec_and_a_current_example(cls):
    spec = SPEC_DIR / f"{cls.OPERATION.lower()}.md"
    assert spec.exists(), f"docs/spec/{spec.name} is missing"
    tx = example_tx(cls.OPERATION)
    assert type(Transaction.from_dict(tx)) is cls
    example = SPEC_DIR / "examples" / f"{cls.OPERATION.lower()}.json"
    rendered = json.dumps(tx, indent=2, sort_keys=True) + "\n"
    if os.environ.get("RESONATE_WRITE_EXAMPLES"):
        example.write_text(rendered)
    assert example.read_text() == rendered, "example out of date: regenerate it (see module doc)"
    assert f"examples/{example.name}" in spec.read_text()
