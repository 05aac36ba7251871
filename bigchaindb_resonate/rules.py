"""Which rules a node enforces: the plugin's version and a digest of its rule set.

Validators must enforce identical rules, or they disagree on blocks. The digest covers
what a validator can compare: our transaction types and their schemas, every refusal
code, the admission limits, and the source of every module that runs in CheckTx and
DeliverTx (a changed price curve changes no schema and no code, but changes decisions).
Two nodes with the same digest run the same rules; `resonate testnet status` warns
when they differ. Shown by `bigchaindb-resonate --version` and on the node's API.
"""
import functools
import hashlib
import json
from pathlib import Path

import bigchaindb

from bigchaindb_resonate import __version__, admission, registry, rule_versions
from bigchaindb_resonate.errors import HOST_ERROR_CODES, all_error_classes

PACKAGE = Path(__file__).parent
# The source that runs in CheckTx and DeliverTx, relative to the package.
CONSENSUS_SOURCES = ("admission.py", "errors.py", "host.py", "ledger.py", "parameters.py",
                     "registry.py", "rule_versions.py", "schemas/*.yaml", "types/*.py",
                     "validators/*.py", "vouchers.py", "conditions.py", "operations/channels.py",
                     "money.py")


@functools.cache
def rule_set():
    sources = sorted({path for pattern in CONSENSUS_SOURCES for path in PACKAGE.glob(pattern)})
    return {
        "types": [{"operation": cls.OPERATION, "schema": cls.SCHEMA,
                   "kind": "record" if cls.CREATE == cls.OPERATION else "transfer"}
                  for cls in registry.TYPES],
        "schemas": {cls.SCHEMA: cls._data_schema.document for cls in registry.TYPES},
        "error_codes": sorted({cls.code for cls in all_error_classes()} | set(HOST_ERROR_CODES.values())),
        "admission": {"max_transaction_bytes": admission.MAX_TRANSACTION_BYTES,
                      "max_transaction_bytes_by_operation": admission.MAX_TRANSACTION_BYTES_BY_OPERATION,
                      "max_nesting_depth": admission.MAX_NESTING_DEPTH},
        "sources": {path.relative_to(PACKAGE).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
                    for path in sources},
    }


def digest(rules):
    encoded = json.dumps(rules, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def summary():
    """What the node's API reports about the rules it runs."""
    rules = rule_set()
    return {"software": "bigchaindb-resonate", "version": __version__, "rules": digest(rules),
            "types": [entry["operation"] for entry in rules["types"]],
            "schemas": sorted(rules["schemas"]), "error_codes": len(rules["error_codes"]),
            "rule_versions": rule_versions.known(), "bigchaindb": bigchaindb.__version__}


def version_line():
    rules = rule_set()
    return (f"bigchaindb-resonate {__version__} (rules {digest(rules)}; rule versions "
            f"{', '.join(map(str, rule_versions.known()))}; BigchainDB {bigchaindb.__version__})")
