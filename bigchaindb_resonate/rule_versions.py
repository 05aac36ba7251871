"""Rule versions: a change of the network's logic ships as a new numbered rule set beside
the ones before it, and a parameter election of `rules_version` switches it on at an agreed
height (docs/spec/rule_versions.md; the pattern of BigchainDB's BEP-42).

A rule that differs between versions selects its behaviour by the version in force at the
height being validated (`LedgerView.rules_version()`), so a node replaying from genesis
validates each block under the rules of its height. Each version is the one before it plus
its change, and a released version is never edited or removed: history replays under it.
A type's record schemas are kept the same way (`SCHEMAS` in types/base.py).

Rules checked when a transaction is parsed (`check_stateless`) hold under every version; a
rule that changes from some version on is checked where the version is known (the stateful
check, or a new schema version). Reading a committed transaction never runs them again
(host._committed_reads_under_their_own_rules).
"""
from dataclasses import dataclass

from bigchaindb_resonate import __version__
from bigchaindb_resonate.errors import ResonateValidationError


@dataclass(frozen=True)
class RuleVersion:
    number: int
    name: str
    change: str  # what it changes from the version before, as docs/spec/rule_versions.md says


VERSIONS = {version.number: version for version in (
    RuleVersion(1, "stream to own",
                "the rules the network started with: a paid play pays coop_share_bp of its price "
                "to the co-op and the rest to the split's payees, each rounded down, the "
                "remainder to the co-op"),
    RuleVersion(2, "penny per play",
                "the payees of a paid play together receive at least min_play_payout tokens, "
                "topped up from the co-op's share, never more than the price; their pool is "
                "paid out whole (the rounding remainder a token each to the first payees)"),
    RuleVersion(3, "batched settlements",
                "CHANNEL_SETTLE_BATCH is valid: one transaction settles many channels, each as "
                "a CHANNEL_SETTLE of it would; before, it is refused"),
)}
FIRST = 1
PENNY_PER_PLAY = 2
BATCHED_SETTLEMENTS = 3


class RulesVersionUnknown(ResonateValidationError):
    code = "RULES_VERSION_UNKNOWN"
    meaning = ("the rule version is not one this node's plugin knows: upgrade "
               "bigchaindb-resonate to a release that has it")


def known():
    """The rule versions this plugin carries, oldest first."""
    return sorted(VERSIONS)


def check_known(version, field="rules_version"):
    """`version`, or RulesVersionUnknown when this plugin does not carry it."""
    if version not in VERSIONS:
        raise RulesVersionUnknown(f"rules version {version!r}", field=field,
                                  expected=f"one of {known()} (bigchaindb-resonate {__version__})")
    return version


def check_proposal(tx):
    """At a node's door only (the HTTP pre-check and CheckTx): refuse a parameter election
    proposing a `rules_version` this node lacks. Never in DeliverTx: a block carrying it,
    proposed by nodes that have the version, is delivered as on every node, and this node
    is warned instead (`unknown_voted_in`)."""
    from bigchaindb_resonate.operations.parameter_election import OPERATION

    if tx.operation == OPERATION and tx.asset["data"].get("parameter") == "rules_version":
        check_known(tx.asset["data"].get("value"), field="asset.data.value")


def on_chain(bigchain):
    """The rule versions of this node and its chain, as nodes report them: those it knows,
    the one in force at the next height, each voted in from the next height or later, and
    those voted in (in force or to come) that it lacks."""
    from bigchaindb_resonate.ledger import LedgerView, parameter_changes

    ledger = LedgerView(bigchain)
    height = ledger.height()
    parameters = ledger.parameters_at(height)
    voted = parameter_changes(bigchain.connection, height) if parameters else []
    changes = [change for change in voted if change["parameter"] == "rules_version"]  # by activation
    in_force = parameters["rules_version"] if parameters else FIRST
    current = [change for change in changes if change["activation_height"] < height][-1:]
    coming = [change for change in changes if change["activation_height"] >= height]
    unknown = [{"version": change["value"], "activation_height": change["activation_height"]}
               for change in current + coming if change["value"] not in VERSIONS]
    from_genesis = not any(change["activation_height"] <= height for change in changes)
    if in_force not in VERSIONS and from_genesis:
        unknown.insert(0, {"version": in_force, "activation_height": 1})
    return {"known": known(), "plugin_version": __version__, "next_height": height,
            "in_force": in_force,
            "scheduled": [{"version": change["value"], "election": change["election"],
                           "activation_height": change["activation_height"],
                           "known": change["value"] in VERSIONS} for change in coming],
            "unknown_voted_in": unknown}


def warning(state):
    """What a node that lacks a version voted in must be told, or None."""
    if not state["unknown_voted_in"]:
        return None
    missing = ", ".join(f"{entry['version']} (from height {entry['activation_height']})"
                        for entry in state["unknown_voted_in"])
    return (f"rules version {missing} was voted in, and this node's bigchaindb-resonate "
            f"{state['plugin_version']} knows only versions {state['known']}: install a release "
            f"that has it before its height, or this node stops there")
