"""Which release's layout a node's store holds, so that an older release never runs on it.

A release reads the documents the same or earlier releases wrote; a store that a newer
release wrote may hold collections, keys or index layouts this one misreads (the rule
index changed its layout once already: README "Storage"), and a node that misreads its
store decides differently from its peers. So at every start, before crash recovery or
anything else touches the store (host._store_format_checked_at_start), the node reads
the format recorded in the store, refuses to start if it is newer than its own, and
records its own otherwise (the first start of a new store records it too).

Raise STORE_FORMAT whenever a release changes what is stored or how it is keyed in a way
the previous release would misread, and say in network/README.md ("Upgrading") how a
store of the old format is carried over (a rebuild from the stored blocks, or a replay
from genesis).
"""
from __future__ import annotations

from bigchaindb_resonate import __version__

# 2: credit balances kept at commit (balances.py); a format-1 store is carried over by
# `bigchaindb-resonate rebuild-totals`, its balance reads answering 503 until then.
STORE_FORMAT = 2
COLLECTION = "store_format"
KEY = "store_format"


class StoreTooNew(RuntimeError):
    """The store was written by a release with a newer store format than this one."""


def written(connection) -> dict | None:
    """The recorded format of the store behind `connection` (BigchainDB's backend
    connection): {"format": int, "written_by": "bigchaindb-resonate X"}, or None."""
    return connection.run(connection.collection(COLLECTION).find_one({"_id": KEY},
                                                                     {"_id": False}))


def check_and_record(connection) -> None:
    """Refuse a store of a newer format (StoreTooNew); record ours in any other."""
    recorded = written(connection)
    if recorded and recorded["format"] > STORE_FORMAT:
        raise StoreTooNew(refusal(recorded))
    if recorded is None or recorded["format"] != STORE_FORMAT:
        connection.run(connection.collection(COLLECTION).replace_one(
            {"_id": KEY}, {"_id": KEY, "format": STORE_FORMAT,
                           "written_by": f"bigchaindb-resonate {__version__}"}, upsert=True))


def refusal(recorded: dict) -> str:
    return (f"this node's store was written by {recorded['written_by']} (store format "
            f"{recorded['format']}); this is bigchaindb-resonate {__version__}, which reads "
            f"store formats up to {STORE_FORMAT} and could decide differently from its "
            f"peers on it. Install {recorded['written_by']} or later, or restore a backup "
            f"this release took (network/README.md, \"Backups\" and \"Upgrading\")")
