"""Every reason the network refuses a transaction, each with a stable code.

The codes are a public contract with integrators: they appear in HTTP 400 bodies, in
Tendermint's CheckTx log and in `docs/spec/`. A code is never renumbered or reused; a
retired failure keeps its class so that its code stays reserved.

Every expected failure is a `ValidationError` subclass, because that is the only exception
BigchainDB's validation path turns into a rejection rather than a crash. The client
library, installed without BigchainDB Server, raises the same classes from its builders
(a bad identifier, say), over a plain exception.
"""
try:
    from bigchaindb.common.exceptions import ValidationError
except ModuleNotFoundError as missing:
    if missing.name != "bigchaindb":  # the server is there but broken: never hide that
        raise
    ValidationError = Exception


class ResonateValidationError(ValidationError):
    """Base of our refusals: `code` and `meaning` are fixed per class."""

    code = "RESONATE_ERROR"
    meaning = "the transaction was refused"

    def __init__(self, detail=None, *, field=None, expected=None):
        self.detail = detail or self.meaning
        self.field = field
        self.expected = expected
        super().__init__(self.describe())

    def describe(self):
        parts = [f"{self.code}: {self.detail}"]
        if self.field:
            parts.append(f"field `{self.field}`")
        if self.expected:
            parts.append(f"expected {self.expected}")
        return "; ".join(parts)

    def to_dict(self):
        return {"code": self.code, "error": type(self).__name__, "detail": self.detail,
                "field": self.field, "expected": self.expected}


# -- Admission: checks on the raw transaction, applied to every operation, ours and the host's.

class TransactionTooLarge(ResonateValidationError):
    code = "TX_TOO_LARGE"
    meaning = "the encoded transaction is larger than the network's maximum size"


class MalformedTransaction(ResonateValidationError):
    code = "TX_MALFORMED"
    meaning = "the transaction is not a single JSON object with unique keys"


class NonFiniteNumber(ResonateValidationError):
    code = "TX_NON_FINITE_NUMBER"
    meaning = "NaN and Infinity cannot be stored by every node's database"


class NegativeZero(ResonateValidationError):
    code = "TX_NEGATIVE_ZERO"
    meaning = "-0.0 is stored as 0.0 by some stores, which changes the transaction's hash"


class NulCharacter(ResonateValidationError):
    code = "TX_NUL_CHARACTER"
    meaning = "a string or key contains the NUL character"


class NestedArray(ResonateValidationError):
    code = "TX_NESTED_ARRAY"
    meaning = "an array directly inside an array cannot be stored by every node's database"


class IntegerOutOfRange(ResonateValidationError):
    code = "TX_INTEGER_OUT_OF_RANGE"
    meaning = "an integer does not fit in a signed 64-bit number"


class TooDeeplyNested(ResonateValidationError):
    code = "TX_TOO_DEEP"
    meaning = "objects and arrays are nested deeper than the network allows"


class ReservedKey(ResonateValidationError):
    code = "TX_RESERVED_KEY"
    meaning = "a key starts with `$` or contains `.`, which the database reserves"


class ValidationCrashed(ResonateValidationError):
    code = "TX_INTERNAL_ERROR"
    meaning = "validation failed unexpectedly; the node refused the transaction and kept running"


# -- Rules shared by our transaction types. A type's own refusals live in its module.

class AssetMovesByItsOwnOperation(ResonateValidationError):
    code = "ASSET_NEEDS_OWN_OPERATION"
    meaning = "this asset can only be transferred by the operation its type names"


class OutputHeld(ResonateValidationError):
    code = "OUTPUT_HELD"
    meaning = "this output moves only by the operations its transaction's type names"


class RecordNeedsOwnOperation(ResonateValidationError):
    code = "RECORD_NEEDS_OWN_OPERATION"
    meaning = "a registry record is registered by its own operation, never by a plain CREATE"


class SchemaViolation(ResonateValidationError):
    code = "SCHEMA_VIOLATION"
    meaning = "the transaction does not match its operation's schema"


class RecordShape(ResonateValidationError):
    code = "RECORD_SHAPE"
    meaning = "a registry record must have one signer and one output of amount 1"


class LinkNotFound(ResonateValidationError):
    code = "LINK_NOT_FOUND"
    meaning = "a link names no committed record (nor one earlier in the block)"


class LinkWrongKind(ResonateValidationError):
    code = "LINK_WRONG_KIND"
    meaning = "a link names a record of another kind than the property requires"


class IdentifierTaken(ResonateValidationError):
    code = "IDENTIFIER_TAKEN"
    meaning = "the identifier is already registered to another record"


class InvalidIsni(ResonateValidationError):
    code = "INVALID_ISNI"
    meaning = "an ISNI must be 16 characters with a valid ISO 7064 MOD 11-2 check character"


class InvalidIpiNameNumber(ResonateValidationError):
    code = "INVALID_IPI_NAME_NUMBER"
    meaning = "an IPI name number must be 11 digits with a valid mod-101 check"


class InvalidIswc(ResonateValidationError):
    code = "INVALID_ISWC"
    meaning = "an ISWC must be T, 9 digits and a valid check digit"


class InvalidIsrc(ResonateValidationError):
    code = "INVALID_ISRC"
    meaning = "an ISRC must be 2 letters, 3 letters or digits, 2 year digits and 5 digits"


class EmptyTerritory(ResonateValidationError):
    code = "EMPTY_TERRITORY"
    meaning = "a territory must leave at least one country after its exclusions"


class InvalidDate(ResonateValidationError):
    code = "INVALID_DATE"
    meaning = "dates are calendar dates written YYYY-MM-DD"


class InvalidPeriod(ResonateValidationError):
    code = "INVALID_PERIOD"
    meaning = "validThrough must not be before validFrom"


class IdentifierNotCanonical(ResonateValidationError):
    code = "IDENTIFIER_NOT_CANONICAL"
    meaning = "identifiers are stored in compact canonical form; clients normalise display forms"


# Codes for the host's own refusals (bigchaindb/common/exceptions.py), so that every 400
# carries a code.
HOST_ERROR_CODES = {
    "SchemaValidationError": "HOST_SCHEMA_VIOLATION",
    "InvalidHash": "HOST_INVALID_ID",
    "InvalidSignature": "HOST_INVALID_SIGNATURE",
    "DuplicateTransaction": "HOST_DUPLICATE_TRANSACTION",
    "DoubleSpend": "HOST_DOUBLE_SPEND",
    "InputDoesNotExist": "HOST_INPUT_DOES_NOT_EXIST",
    "AssetIdMismatch": "HOST_ASSET_ID_MISMATCH",
    "AmountError": "HOST_AMOUNT_ERROR",
    "ThresholdTooDeep": "HOST_THRESHOLD_TOO_DEEP",
    "InvalidProposer": "HOST_INVALID_PROPOSER",
    "UnequalValidatorSet": "HOST_UNEQUAL_VALIDATOR_SET",
    "InvalidPowerChange": "HOST_INVALID_POWER_CHANGE",
    "MultipleInputsError": "HOST_MULTIPLE_INPUTS",
    "InvalidPublicKey": "HOST_INVALID_PUBLIC_KEY",
}


def error_body(exc):
    """The JSON an integrator receives for a refused transaction."""
    if isinstance(exc, ResonateValidationError):
        return exc.to_dict()
    code = next((HOST_ERROR_CODES[cls.__name__] for cls in type(exc).__mro__
                 if cls.__module__ == "bigchaindb.common.exceptions" and cls.__name__ in HOST_ERROR_CODES),
                "HOST_VALIDATION_ERROR")
    return {"code": code, "error": type(exc).__name__, "detail": str(exc),
            "field": None, "expected": None}


def all_error_classes():
    """Every concrete refusal class we define, for the contract tests and the spec."""
    found, pending = [], [ResonateValidationError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return sorted(found, key=lambda cls: cls.code)
