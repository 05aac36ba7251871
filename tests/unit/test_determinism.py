"""Everything that runs inside consensus is deterministic: every validator must reach the
same verdict, with the same code, from the same transaction and ledger.

Two checks: the consensus modules use nothing that differs between machines or runs
(clocks, randomness, environment, files, network, floats), and the stateless verdicts on a
set of valid and invalid transactions are identical under different hash seeds (so no rule
depends on set or dict ordering that Python randomises).
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bigchaindb_resonate"
CONSENSUS_MODULES = sorted(
    [*PACKAGE.glob("types/*.py"), *PACKAGE.glob("validators/*.py"),
     *(PACKAGE / name for name in ("admission.py", "ledger.py", "registry.py", "parameters.py", "vouchers.py",
                                   "errors.py", "schemas/__init__.py", "money.py"))])
FORBIDDEN_IMPORTS = {"time", "random", "secrets", "uuid", "os", "socket", "requests", "urllib",
                     "http", "subprocess", "threading", "multiprocessing"}
FORBIDDEN_CALLS = {"float", "open", "input", "now", "utcnow", "today", "getenv", "hash", "id"}


@pytest.mark.parametrize("path", CONSENSUS_MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_consensus_code_uses_nothing_that_differs_between_validators(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & FORBIDDEN_IMPORTS, f"{path.name}:{node.lineno} imports {names & FORBIDDEN_IMPORTS}"
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            assert called not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {called}()"
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float), f"{path.name}:{node.lineno} has a float literal"


VERDICTS = """
import copy, json, sys
from bigchaindb_resonate import host
host.apply()
from bigchaindb.models import Transaction
examples = json.loads(sys.stdin.read())
verdicts = []
for example in examples:
    for mutate in ("none", "extra", "drop_context", "empty_outputs"):
        tx = copy.deepcopy(example)
        if mutate == "extra":
            (tx["asset"].get("data") or tx["metadata"])["surprise"] = [3, 1, 2]
        elif mutate == "drop_context":
            (tx["asset"].get("data") or tx["metadata"]).pop("@context", None)
        elif mutate == "empty_outputs":
            tx["outputs"] = []
        try:
            Transaction.from_dict(tx)
            verdicts.append("valid")
        except Exception as exc:
            verdicts.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(verdicts))
"""


def test_stateless_verdicts_do_not_depend_on_the_hash_seed():
    examples = [json.loads(path.read_text())
                for path in sorted((PACKAGE.parent / "docs" / "spec" / "examples").glob("*.json"))]
    outcomes = []
    for seed in ("1", "2", "12345"):
        run = subprocess.run([sys.executable, "-c", VERDICTS], input=json.dumps(examples),
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr[-2000:]
        outcomes.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert "valid" in outcomes[0] and any(verdict != "valid" for verdict in outcomes[0])
