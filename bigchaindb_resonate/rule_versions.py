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
)}
FIRST = 1
PENNY_PER_PLAY = 2


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


def described():
    """What a node reports about the versions it knows."""
    return [{"version": version.number, "name": version.name, "change": version.change}
            for version in (VERSIONS[number] for number in known())]
