"""The receiver's durable store: one SQLite file in write-ahead-log mode, synced on every
commit, so that a voucher is on disk before the receiver acknowledges it.

`synchronous=FULL` in WAL mode syncs the log at each commit: once `append` returns, a
kill -9 of the process (or a power cut, as far as the disk honours its syncs) keeps the
vouchers. Accepting many listeners at once costs one sync per batch, not per voucher: the
service gathers the vouchers that arrive while the previous batch is being synced
(group commit) and answers each only after its batch is committed.

What it keeps:
  vouchers     every accepted voucher as received, by (channel, sequence): the evidence of
               each play, and what settlements pay
  settlements  each settlement transaction the receiver built: the range of sequences it
               pays, its Merkle root, and whether it committed or was refused
  facts        the last ledger read of each channel, track and licence, so that a receiver
               restarted while the ledger is unreachable still knows the deposits it may
               accept within and the licences it checked
  meta         the receiver's key and the network parameters it last read
"""
import json
import sqlite3
import threading
from pathlib import Path

# Vouchers are rows in the order accepted (the table's rowid), so a commit writes its rows
# at the end of the table and touches elsewhere only the small (channel, sequence) index;
# a table clustered on (channel, sequence) had a commit of N listeners' vouchers rewrite N
# pages of whole rows (benchmarks/RESULTS.md, "Voucher rate"). Stores made before keep
# that layout: the queries are the same.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (
    channel TEXT NOT NULL, sequence INTEGER NOT NULL, listener TEXT NOT NULL,
    track TEXT NOT NULL, play INTEGER NOT NULL, total INTEGER NOT NULL, body TEXT NOT NULL,
    UNIQUE (channel, sequence));
CREATE TABLE IF NOT EXISTS settlements (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, first_sequence INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL, total INTEGER NOT NULL, root TEXT NOT NULL,
    state TEXT NOT NULL, detail TEXT, tx TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS settlements_by_channel ON settlements (channel, last_sequence);
CREATE TABLE IF NOT EXISTS facts (
    kind TEXT NOT NULL, key TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (kind, key)) WITHOUT ROWID;
"""
FILE_NAME = "receiver.sqlite"
# Settlement states: in a block, or refused by the network.
COMMITTED, REFUSED = "committed", "refused"


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


class Store:
    def __init__(self, directory):
        self.path = Path(directory) / FILE_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the receiver's store {self.path} ({exc}); give "
                             f"--store a directory you can write") from None
        if mode.lower() != "wal":
            raise StoreError(f"{self.path} cannot use a write-ahead log (journal mode {mode}); "
                             f"put --store on a local file system")
        # One writer at a time (the committing thread, the settlement bookkeeping); each
        # thread reads through its own connection, which never sees a write half done.
        self.lock = threading.Lock()
        self._readers = threading.local()
        self._opened = [self.db]

    @property
    def reader(self):
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._readers.connection = connection
            self._opened.append(connection)
        return connection

    def close(self):
        for connection in self._opened:
            connection.close()

    # -- meta

    def get_meta(self, name):
        row = self.reader.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, name, value):
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    # -- vouchers

    def append(self, vouchers, facts=()):
        """Store accepted vouchers, (voucher dict, body text) pairs, and ledger facts read
        since the last commit, (kind, key, document), in one synced commit."""
        rows = [(voucher["channel"], voucher["sequence"], voucher["listener"], voucher["track"],
                 voucher["play"], voucher["total"], body) for voucher, body in vouchers]
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT INTO vouchers VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                self.db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?)",
                                    [(kind, key, json.dumps(document)) for kind, key, document in facts])
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def voucher(self, channel, sequence):
        row = self.reader.execute("SELECT body FROM vouchers WHERE channel = ? AND sequence = ?",
                              (channel, sequence)).fetchone()
        return json.loads(row[0]) if row else None

    def vouchers(self, channel, after=0, limit=None):
        """The channel's vouchers with a sequence above `after`, in order."""
        rows = self.reader.execute(
            "SELECT body FROM vouchers WHERE channel = ? AND sequence > ? ORDER BY sequence"
            + (" LIMIT ?" if limit else ""), (channel, after, *([limit] if limit else [])))
        return [json.loads(body) for body, in rows]

    def latest(self):
        """{channel: its latest voucher}, for the state a restarted receiver starts from."""
        rows = self.reader.execute(
            "SELECT v.body FROM vouchers v JOIN (SELECT channel, MAX(sequence) AS top FROM vouchers "
            "GROUP BY channel) m ON v.channel = m.channel AND v.sequence = m.top")
        return {voucher["channel"]: voucher for voucher in (json.loads(body) for body, in rows)}

    def lanes(self):
        """{(listener, track): highest play number held}."""
        rows = self.reader.execute("SELECT listener, track, MAX(play) FROM vouchers "
                               "GROUP BY listener, track")
        return {(listener, track): play for listener, track, play in rows}

    def count(self):
        return self.reader.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0]

    # -- settlements

    def record_settlements(self, settlements, state, detail=None):
        """Keep the channels' settlements the receiver sent (a batch's, in one write):
        committed, or refused with the network's code (then `id` names the range it tried)."""
        rows = [(settlement["id"], settlement["channel"], settlement["first_sequence"],
                 settlement["last_sequence"], settlement["total"], settlement["root"], state, detail,
                 json.dumps(settlement["tx"])) for settlement in settlements]
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT OR REPLACE INTO settlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def settlements(self, channel=None, state=None):
        query, args = "SELECT id, channel, first_sequence, last_sequence, total, root, state, " \
                      "detail, tx FROM settlements WHERE 1", []
        if channel:
            query, args = query + " AND channel = ?", args + [channel]
        if state:
            query, args = query + " AND state = ?", args + [state]
        names = ("id", "channel", "first_sequence", "last_sequence", "total", "root", "state",
                 "detail", "tx")
        return [dict(zip(names, row[:-1] + (json.loads(row[-1]),)))
                for row in self.reader.execute(query + " ORDER BY channel, last_sequence", args)]

    def settled_through(self):
        """{channel: highest sequence a committed settlement paid}."""
        rows = self.reader.execute("SELECT channel, MAX(last_sequence) FROM settlements "
                               "WHERE state = ? GROUP BY channel", (COMMITTED,))
        return dict(rows)

    # -- the ledger's facts, as last read

    def facts(self):
        """[(kind, key, document)] of every fact kept."""
        return [(kind, key, json.loads(document))
                for kind, key, document in self.reader.execute("SELECT kind, key, document FROM facts")]
