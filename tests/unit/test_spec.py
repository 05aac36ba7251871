"""The specs under docs/spec/ are a contract: every error code we define is listed in one,
and each type's example is generated here, from a fixed key, and must match the file.

Regenerate the examples after an intended change: RESONATE_WRITE_EXAMPLES=1 scripts/test tests/unit/test_spec.py
"""
import json
import os
import re
from pathlib import Path

import base58
import nacl.signing
import pytest
from bigchaindb.common.crypto import CryptoKeypair
from bigchaindb.models import Transaction

from bigchaindb_resonate import registry
from bigchaindb_resonate.errors import all_error_classes

SPEC_DIR = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLES = {
    "PARTY": {"@type": "MusicGroup", "name": "Kokoroko", "isni": "0000 0001 2103 2683",
              "roles": ["artist"]},
}


def fixed_keypair(label):
    """A reproducible key: Ed25519 signatures are deterministic, so the example is too."""
    seed = label.encode().ljust(32, b".")[:32]
    signing = nacl.signing.SigningKey(seed)
    return CryptoKeypair(base58.b58encode(seed).decode(),
                         base58.b58encode(bytes(signing.verify_key)).decode())


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
    keypair = fixed_keypair(cls.OPERATION)
    tx = cls.build([keypair.public_key], EXAMPLES[cls.OPERATION]).sign([keypair.private_key]).to_dict()
    assert type(Transaction.from_dict(tx)) is cls
    example = SPEC_DIR / "examples" / f"{cls.OPERATION.lower()}.json"
    rendered = json.dumps(tx, indent=2, sort_keys=True) + "\n"
    if os.environ.get("RESONATE_WRITE_EXAMPLES"):
        example.write_text(rendered)
    assert example.read_text() == rendered, "example out of date: regenerate it (see module doc)"
    assert f"examples/{example.name}" in spec.read_text()
