"""What the node tells a client about a transaction it accepted (outcome.py): committed,
refused for good, or pending; and how `mode=commit` waits for it without holding a pooled
connection while it sleeps."""
import contextlib

import pytest
from bigchaindb.common.exceptions import DoubleSpend, DuplicateTransaction, InputDoesNotExist

from bigchaindb_resonate import outcome

from .memory_store import MemoryStore

TXID = "ab" * 32


class Tx:
    id = TXID


class Node:
    """A node's answers about one transaction: committed after `commits_after` looks (None:
    never), and what validating it raises at each look (None: valid)."""

    def __init__(self, refusals, commits_after=None):
        self.connection = MemoryStore()
        self.refusals = list(refusals)
        self.commits_after = commits_after
        self.looks = 0

    def is_committed(self, txid):
        committed = self.commits_after is not None and self.looks >= self.commits_after
        if committed and not self.connection.collection("blocks").documents:
            self.connection.commit(7, {"id": txid, "operation": "CREATE", "asset": {"data": {}}, "metadata": None})
        return committed

    def validate_transaction(self, tx):
        self.looks += 1
        refusal = self.refusals.pop(0) if self.refusals else None
        if refusal is not None:
            raise refusal
        return tx


def test_valid_and_not_committed_is_pending():
    assert outcome.outcome(Node([None]), Tx()) == {
        "id": TXID, "status": "pending",
        "detail": "accepted, not committed yet: still valid against every committed block"}


def test_a_conflict_with_the_committed_ledger_is_refused_with_its_code():
    found = outcome.outcome(Node([DoubleSpend("input spent")]), Tx())
    assert (found["status"], found["code"], found["detail"]) == ("refused", "HOST_DOUBLE_SPEND", "input spent")


def test_a_missing_dependency_is_pending_and_says_what_it_waits_for():
    found = outcome.outcome(Node([InputDoesNotExist("input `cd` doesn't exist")]), Tx())
    assert found["status"] == "pending" and found["waiting_for"]["code"] == "HOST_INPUT_DOES_NOT_EXIST"


def test_committing_while_being_validated_is_committed_not_a_duplicate():
    node = Node([DuplicateTransaction("exists")], commits_after=1)
    assert outcome.outcome(node, Tx()) == {"id": TXID, "status": "committed", "height": 7}


def test_a_crash_in_a_rule_is_refused_as_tx_internal_error():
    found = outcome.outcome(Node([ZeroDivisionError()]), Tx())
    assert (found["status"], found["code"]) == ("refused", "TX_INTERNAL_ERROR")


class Pool:
    """BigchainDB's pool of one instance, recording whether it is held."""

    def __init__(self, node):
        self.node, self.held = node, False

    @contextlib.contextmanager
    def __call__(self):
        assert not self.held
        self.held = True
        yield self.node
        self.held = False


def sleeping(monkeypatch, pool):
    """Record, at each sleep of await_outcome, whether a pooled connection is held."""
    held = []
    monkeypatch.setattr(outcome.time, "sleep", lambda seconds: held.append(pool.held))
    return held


def test_commit_mode_answers_as_soon_as_a_conflict_commits(monkeypatch):
    pool = Pool(Node([None, None, DoubleSpend("input spent")]))
    held = sleeping(monkeypatch, pool)
    found = outcome.await_outcome(pool, Tx(), timeout=60)
    assert (found["status"], found["code"]) == ("refused", "HOST_DOUBLE_SPEND")
    assert held == [False, False], "a waiting request never holds a pooled connection"


def test_commit_mode_answers_once_committed(monkeypatch):
    pool = Pool(Node([None] * 5, commits_after=3))
    held = sleeping(monkeypatch, pool)
    assert outcome.await_outcome(pool, Tx(), timeout=60) == {"id": TXID, "status": "committed", "height": 7}
    assert held == [False, False, False]


def test_commit_mode_answers_pending_at_its_deadline(monkeypatch):
    pool = Pool(Node([None] * 100))
    held = sleeping(monkeypatch, pool)
    assert outcome.await_outcome(pool, Tx(), timeout=0)["status"] == "pending"
    assert held == []
