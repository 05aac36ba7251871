"""Versioned JSON Schemas of our records, compiled once at import.

A released schema file is never edited: a change is a new file (`party_v1.1.yaml`) beside
the old one, and the type module names the version it enforces.

Schemas use JSON Schema draft 4 only: the fast rapidjson validator silently ignores later
keywords such as `const`, which would let it accept what jsonschema refuses.
"""
from pathlib import Path

import jsonschema
import rapidjson
import yaml

from bigchaindb_resonate.errors import SchemaViolation
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT  # noqa: F401 (records name it)

SCHEMA_DIR = Path(__file__).parent


class CompiledSchema:
    def __init__(self, name, document=None):
        """The released schema `name` (`schemas/<name>.yaml`), or `document` under that name."""
        self.name = name
        self.document = document or yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text())
        jsonschema.Draft4Validator.check_schema(self.document)
        self._fast = rapidjson.Validator(rapidjson.dumps(self.document))
        self._explaining = jsonschema.Draft4Validator(self.document)

    def check(self, instance, field):
        """Validate quickly; on failure ask jsonschema which field is wrong and why."""
        try:
            self._fast(rapidjson.dumps(instance))
        except ValueError as refusal:
            error = jsonschema.exceptions.best_match(self._explaining.iter_errors(instance))
            if error is None:
                # The two validators disagree (e.g. on `$` before a final newline). The
                # fast one decides, on every node alike; only its message is less precise.
                raise SchemaViolation(f"{refusal} (schema {self.name})", field=field) from None
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise SchemaViolation(f"{error.message} (schema {self.name})", field=f"{field}{path}",
                                  expected=_describe(error)) from None


def _describe(error):
    if error.validator in ("enum", "pattern", "type", "maxLength", "minLength",
                           "maximum", "minimum", "maxItems", "minItems"):
        return f"{error.validator} {error.validator_value!r}"
    return None
