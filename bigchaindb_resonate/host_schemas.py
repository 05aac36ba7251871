"""BigchainDB's transaction schemas, checked as upstream checks them, faster.

Upstream's `_validate_schema` (common/schema/__init__.py:47-69) validates the whole
transaction with a compiled rapidjson validator. Almost all of that time is one pattern of
the common schema, an output's condition URI (transaction_v2.0.yaml, `output` →
`condition.uri`): rapidjson's regex engine takes about 0.25 ms per output, several times the
rest of the schema, so a transaction costs by its outputs (a play has two to four).

A condition URI is a function of the keys that lock the output, and the same few keys (a
track's payees, the co-op, a listener's change) lock output after output. So a schema with
that pattern is checked in two parts that together are the whole schema: the transaction
against the schema without the pattern, then each output's URI against the pattern alone,
by the same rapidjson engine, once per distinct URI (a matching URI is remembered, up to
URIS_KEPT). Whenever either part fails, upstream's check runs on the whole transaction and
its verdict and message are the answer, so what is accepted and every refusal stay
upstream's. A schema without the pattern goes straight to upstream's check.
"""
import copy

import rapidjson
from bigchaindb.common import schema as upstream_schema

# Where the common schema keeps the pattern (checked by tests/unit/test_host.py).
URI_PATTERN_PATH = ("definitions", "output", "properties", "condition", "properties", "uri", "pattern")
# Distinct matching URIs remembered per pattern (then forgotten all at once, and checked again).
URIS_KEPT = 20_000

UPSTREAM = getattr(upstream_schema._validate_schema, "resonate_upstream",
                   upstream_schema._validate_schema)


class UriPattern:
    """The condition URI pattern alone, in rapidjson's engine, remembering what matched."""

    def __init__(self, pattern):
        self._validator = rapidjson.Validator(rapidjson.dumps({"pattern": pattern}))
        self._matched = set()

    def matches(self, uri):
        if uri in self._matched:
            return True
        try:
            self._validator(rapidjson.dumps(uri))
        except ValueError:
            return False
        if len(self._matched) >= URIS_KEPT:
            self._matched.clear()
        self._matched.add(uri)
        return True


class SplitSchema:
    """A schema with the URI pattern, as the schema without it and the pattern alone."""

    _patterns = {}  # pattern → UriPattern, shared by every schema that has it

    def __init__(self, document):
        document = copy.deepcopy(document)
        *path, last = URI_PATTERN_PATH
        node = document
        for key in path:
            node = node[key]
        pattern = node.pop(last)
        self._structure = rapidjson.Validator(rapidjson.dumps(document))
        self._uris = self._patterns.setdefault(pattern, UriPattern(pattern))

    def passes(self, body):
        try:
            self._structure(rapidjson.dumps(body))
        except ValueError:
            return False
        # The structure holds: `outputs` is a list of objects whose condition.uri is a string.
        return all(self._uris.matches(output["condition"]["uri"]) for output in body["outputs"])


def _has_uri_pattern(document):
    node = document
    for key in URI_PATTERN_PATH:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


# id(compiled validator) → (the schema, kept so that the id is never reused; its SplitSchema
# or None). Schemas are module-level values, a handful per process.
_SPLITS = {}


def _split_of(schema):
    entry = _SPLITS.get(id(schema[1]))
    if entry is None or entry[0] is not schema:
        entry = _SPLITS[id(schema[1])] = (
            schema, SplitSchema(schema[0]) if _has_uri_pattern(schema[0]) else None)
    return entry[1]


def validate_schema(schema, body):
    """What upstream's `_validate_schema(schema, body)` does: return, or raise what it raises."""
    split = _split_of(schema)
    if split is not None and split.passes(body):
        return
    UPSTREAM(schema, body)
