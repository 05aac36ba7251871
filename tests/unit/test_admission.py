import json

import pytest

from bigchaindb_resonate import admission
from bigchaindb_resonate.errors import (
    IntegerOutOfRange, MalformedTransaction, NegativeZero, NestedArray, NonFiniteNumber, NulCharacter,
    ReservedKey, TooDeeplyNested, TransactionTooLarge,
)


@pytest.mark.parametrize("raw, error", [
    (b'{"a": NaN}', NonFiniteNumber),
    (b'{"a": Infinity}', NonFiniteNumber),
    (b'{"a": -Infinity}', NonFiniteNumber),
    (b'{"a": 1e400}', NonFiniteNumber),
    (b'{"a": -0.0}', NegativeZero),
    (b'{"a": [1, -0e5]}', NegativeZero),
    (b'{"a": "x\\u0000y"}', NulCharacter),
    (b'{"a\\u0000": 1}', NulCharacter),
    (b'{"a": [[1, 2]]}', NestedArray),
    (b'{"a": 9223372036854775808}', IntegerOutOfRange),
    (b'{"a": -9223372036854775809}', IntegerOutOfRange),
    (b'{"$where": 1}', ReservedKey),
    (b'{"a.b": 1}', ReservedKey),
    (b'{"a": 1, "a": 2}', MalformedTransaction),
    (b'[1, 2]', MalformedTransaction),
    (b'"tx"', MalformedTransaction),
    (b'{"a": ', MalformedTransaction),
    (b'\xff\xfe', MalformedTransaction),
])
def test_decode_refuses_what_a_store_cannot_hold(raw, error):
    with pytest.raises(error):
        admission.decode(raw)


@pytest.mark.parametrize("value", [
    {"a": 1.5, "b": [1, {"c": [2]}], "d": None, "e": True, "f": "ok"},
    {"n": 2 ** 63 - 1, "m": -(2 ** 63), "zero": 0, "negative_int_zero_is_zero": -0, "z": 0.0},
    {"text": "ünïcode ✓"},
])
def test_decode_accepts_ordinary_json(value):
    assert admission.decode(json.dumps(value).encode()) == value


def test_error_names_the_field():
    with pytest.raises(NulCharacter) as caught:
        admission.decode(b'{"asset": {"data": {"tags": ["ok", "bad\\u0000"]}}}')
    assert caught.value.field == "asset.data.tags[1]"


def test_depth_limit():
    deep = {}
    node = deep
    for _ in range(admission.MAX_NESTING_DEPTH + 1):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(TooDeeplyNested):
        admission.check_storable(deep)
    shallow = {}
    node = shallow
    for _ in range(admission.MAX_NESTING_DEPTH - 1):
        node["x"] = {}
        node = node["x"]
    admission.check_storable(shallow)


@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_nesting_too_deep_for_the_parser_is_refused_as_too_deep(opening, closing):
    with pytest.raises(TooDeeplyNested) as caught:
        admission.decode(opening * 10_000 + b"1" + closing * 10_000)
    assert caught.value.field == "(root)"


def test_size_limit_is_exact():
    filler = "x" * (admission.MAX_TRANSACTION_BYTES - len(json.dumps({"a": ""})))
    at_limit = json.dumps({"a": filler}).encode()
    assert len(at_limit) == admission.MAX_TRANSACTION_BYTES
    admission.decode(at_limit)
    with pytest.raises(TransactionTooLarge) as caught:
        admission.decode(json.dumps({"a": filler + "x"}).encode())
    assert caught.value.code == "TX_TOO_LARGE"


@pytest.mark.parametrize("txid", ["zz", 7, "A" * 64, "a" * 63])
def test_transaction_id_must_be_hex_before_the_host_hashes_it(txid):
    with pytest.raises(MalformedTransaction) as caught:
        admission.decode(json.dumps({"id": txid}).encode())
    assert caught.value.field == "id"
