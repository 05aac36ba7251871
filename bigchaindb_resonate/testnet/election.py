"""Validator elections on a testnet: BigchainDB's rules, and its `election` commands.

A node joins the validators through BigchainDB's `upsert-validator` election
(`bigchaindb/upsert_validator/validator_election.py`): an existing validator proposes
the node's Tendermint key, power and node id; every validator receives votes equal to
its power; the election concludes in the block where approvals reach 2/3 of those votes,
and Tendermint applies the change two blocks later.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# BigchainDB's own thresholds (ValidatorElection.validate, Election.has_concluded), kept
# in its float arithmetic so that a boundary case is judged exactly as the nodes judge it.
CHANGE_LIMIT = 1 / 3
APPROVAL_THRESHOLD = 2 / 3
CLI_TIMEOUT = 120

_PROPOSAL_ID = re.compile(r"Submitted proposal with id: ([0-9a-f]{64})")
_VOTE_SUBMITTED = "Your vote has been submitted"


class ElectionError(RuntimeError):
    pass


class PowerTooLarge(ElectionError):
    pass


def largest_allowed_power(total: int) -> int:
    """The largest power one validator change may have while the validators' total
    power is `total`."""
    power = int(total * CHANGE_LIMIT) + 1
    while power > 0 and power >= CHANGE_LIMIT * total:
        power -= 1
    return power


def check_power(power: int, total: int) -> None:
    if power < 1:
        raise ElectionError(f"a validator's power is a positive whole number, not {power}")
    if power >= CHANGE_LIMIT * total:
        raise PowerTooLarge(
            f"power {power} is too large: BigchainDB accepts a validator change only if "
            f"its power is under 1/3 of the validators' current total power ({total}), so "
            f"that no single election can give one key enough votes to stall consensus; "
            f"the largest power allowed now is {largest_allowed_power(total)}")


def approvers(voters: list[tuple[str, int]], total: int) -> list[str]:
    """The fewest of `voters` (name, power), taken in order, whose approvals conclude an
    election whose votes total `total`."""
    chosen, votes = [], 0
    for name, power in voters:
        if votes >= APPROVAL_THRESHOLD * total:
            break
        chosen.append(name)
        votes += power
    if votes < APPROVAL_THRESHOLD * total:
        raise ElectionError(f"the validators whose keys are here hold {votes} of {total} "
                            f"votes; an election needs 2/3")
    return chosen


def _node_cli(config: Path, *args: str) -> str:
    """Run `bigchaindb-resonate -c CONFIG ARGS`; its log lines (stderr) are the result,
    as its exit code is 0 whether or not the election command succeeded."""
    # This interpreter has our package, wherever `bigchaindb-resonate` is on PATH.
    argv = [sys.executable, "-m", "bigchaindb_resonate.node", "-c", str(config), *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ElectionError(f"`bigchaindb-resonate {' '.join(args[:3])}` did not finish in "
                            f"{CLI_TIMEOUT}s") from exc
    return done.stdout + done.stderr


def _failure(output: str) -> str:
    errors = [line.split(":", 2)[-1] for line in output.splitlines()
              if line.startswith("ERROR:")]
    return "; ".join(errors) or output.strip()[-500:] or "no output"


def new_upsert_validator(config: Path, private_key: Path, public_key: str, power: int,
                         node_id: str) -> str:
    """Propose a validator (`public_key` base64, as in priv_validator_key.json) from the
    node configured by `config`, signed with its validator key; the election's id."""
    output = _node_cli(config, "election", "new", "upsert-validator", public_key,
                       str(power), node_id, "--private-key", str(private_key))
    found = _PROPOSAL_ID.search(output)
    if not found:
        raise ElectionError(f"the election was not created: {_failure(output)}")
    return found.group(1)


def approve(config: Path, private_key: Path, election_id: str) -> None:
    output = _node_cli(config, "election", "approve", election_id,
                       "--private-key", str(private_key))
    if _VOTE_SUBMITTED not in output:
        raise ElectionError(f"the vote was not committed: {_failure(output)}")
