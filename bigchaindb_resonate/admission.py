"""Checks every transaction passes before any type-specific rule runs.

They guard the nodes rather than the music rules: a value that one node's store cannot
hold (NaN, NUL inside a string, an array inside an array) must be refused identically by
every node during validation, or it halts the nodes whose store fails at commit time.
The same functions run in the HTTP API, in CheckTx and in DeliverTx. Pure and deterministic.
"""
import json
import math
import re

from bigchaindb_resonate.errors import (
    IntegerOutOfRange, MalformedTransaction, NegativeZero, NestedArray, NonFiniteNumber, NulCharacter,
    ReservedKey, TooDeeplyNested, TransactionTooLarge,
)

# Measured on the JSON text of the transaction as BigchainDB hands it to Tendermint
# (json.dumps with default separators). Registry records and plays are a few KiB.
MAX_TRANSACTION_BYTES = 64 * 1024
# Operations allowed more: a batch settlement carries thousands of vouchers. Tendermint
# 0.31's RPC takes bodies up to 1,000,000 bytes, the transaction base64-encoded inside
# (4/3 larger), so anything above ~740,000 bytes could never reach a mempool.
MAX_TRANSACTION_BYTES_BY_OPERATION = {"CHANNEL_SETTLE_BATCH": 512 * 1024}
LARGEST_TRANSACTION_BYTES = max(MAX_TRANSACTION_BYTES, *MAX_TRANSACTION_BYTES_BY_OPERATION.values())
# An HTTP body may be pretty-printed; it is parsed up to this size, then the exact limit
# is applied to the encoded transaction.
HTTP_BODY_LIMIT = 4 * LARGEST_TRANSACTION_BYTES
# Deep enough for any COALA IP record; shallow enough that no store or recursion limit bites.
MAX_NESTING_DEPTH = 32
_TXID = re.compile(r"[0-9a-f]{64}")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def encoded_size(tx_dict):
    """Bytes of the transaction exactly as BigchainDB sends it to Tendermint."""
    return len(json.dumps(tx_dict).encode("utf8"))


def check_size(size, limit=MAX_TRANSACTION_BYTES):
    if size > limit:
        raise TransactionTooLarge(f"the transaction has {size} bytes",
                                  expected=f"at most {limit} bytes")


def limit_for(operation):
    """The most bytes a transaction of `operation` may have once encoded."""
    return MAX_TRANSACTION_BYTES_BY_OPERATION.get(operation, MAX_TRANSACTION_BYTES)


def check_size_of(tx, size):
    """The transaction `tx` (a decoded dict), `size` bytes once encoded, is within its
    operation's limit."""
    operation = tx.get("operation")
    check_size(size, limit_for(operation if isinstance(operation, str) else None))


def _refuse_constant(name):
    raise NonFiniteNumber(f"`{name}` is not a JSON number")


def _unique_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedTransaction(f"the key `{key}` appears twice in one object")
        obj[key] = value
    return obj


def decode(raw, limit=LARGEST_TRANSACTION_BYTES):
    """Parse raw JSON bytes strictly into a transaction dict, or refuse it; the size is
    checked against `limit` first, then against its operation's (check_size_of)."""
    check_size(len(raw), limit)
    try:
        value = json.loads(raw.decode("utf8"), parse_constant=_refuse_constant,
                           object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, MalformedTransaction | NonFiniteNumber):
            raise
        raise MalformedTransaction(f"not valid UTF-8 JSON ({exc})") from None
    except RecursionError:
        # The parser recurses per level and stops at the interpreter's limit (about a
        # thousand levels), far beyond ours: the same refusal as any depth over ours.
        raise TooDeeplyNested("nested deeper than the parser follows", field="(root)",
                              expected=f"at most {MAX_NESTING_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise MalformedTransaction(f"the transaction is a JSON {type(value).__name__}",
                                   expected="a JSON object")
    check_storable(value)
    # The host hashes `id` as hex before validating it (common/memoize.py HDict), so a
    # non-hex id would crash rather than be refused.
    if "id" in value and not (isinstance(value["id"], str) and _TXID.fullmatch(value["id"])):
        raise MalformedTransaction("the transaction id is not 64 lower-case hex digits", field="id")
    if limit != HTTP_BODY_LIMIT:  # an HTTP body is measured again once encoded
        check_size_of(value, len(raw))
    return value


def check_storable(value, path="", depth=0):
    """Refuse values some MongoDB-wire stores cannot hold, naming the field."""
    if depth > MAX_NESTING_DEPTH:
        raise TooDeeplyNested(field=path or "(root)", expected=f"at most {MAX_NESTING_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                raise MalformedTransaction("object keys must be strings", field=child)
            if "\x00" in key:
                raise NulCharacter(field=child)
            if key.startswith("$") or "." in key:
                raise ReservedKey(field=child)
            check_storable(item, child, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = f"{path}[{index}]"
            if isinstance(item, list):
                raise NestedArray(field=child)
            check_storable(item, child, depth + 1)
    elif isinstance(value, str):
        if "\x00" in value:
            raise NulCharacter(field=path)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise IntegerOutOfRange(field=path, expected="a signed 64-bit integer")
    elif isinstance(value, float):
        # JSON like 1e400 parses to infinity without passing through parse_constant.
        if not math.isfinite(value):
            raise NonFiniteNumber(field=path)
        if value == 0 and math.copysign(1, value) < 0:
            raise NegativeZero(field=path, expected="0 or 0.0")
    else:
        raise MalformedTransaction(f"unsupported value of type {type(value).__name__}", field=path)
