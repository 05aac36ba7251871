"""Back up a stopped node's store and chain at one height, and restore them on any machine.

A node is three processes writing two stores: Tendermint its blocks and consensus state
(`tendermint/data/`), BigchainDB the ledger it derives from them (FerretDB's SQLite files
in `store/` locally, MongoDB in production). Copied while they run, the two could be at
different heights and each could be caught mid-write. Copied while all three are
stopped, they are exactly what a node finds after a power cut, which it recovers from at
start: BigchainDB rolls back a block it had not finished storing (`core.py` rollback) and
Tendermint's handshake replays to the app whatever blocks it stored that the app has not
committed. So a backup is taken with the node stopped, for the seconds a copy takes; the
other validators keep committing meanwhile, and the node catches up when it starts.

The archive (tar.gz, mode 600) holds `tendermint/data/` and `store/` and a manifest:
the chain id, the height and app hash of the last block in the store, the store format
(store_format.py) and the release that took it. It holds no key: the validator and node
keys are in `tendermint/config/`, backed up once and privately (network/README.md), so
that an archive can also seed another member's node without handing over anyone's keys.

Restoring writes both back into a node directory whose configuration (genesis, keys,
config.toml, bigchaindb.json) is in place and whose store and chain are empty. If the
directory still has the validator's last-signed state (`priv_validator_state.json`) and
it is later than the archive's, it is kept: a validator must never sign again at a
height it has signed.

Both need a node directory laid out as the local testnet's (`<node>/tendermint/`,
`<node>/store/`); `resonate testnet backup-node|restore-node` stop and start a local
node around them. A production node's store is MongoDB: network/README.md ("Backups")
gives the same procedure with `mongodump` and `mongorestore`.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from bigchaindb_resonate import __version__, store_format

ARCHIVE_FORMAT = "resonate-node-backup/1"
MANIFEST = "manifest.json"
CHAIN = Path("tendermint") / "data"
STORE = Path("store")
GENESIS = Path("tendermint") / "config" / "genesis.json"
VALIDATOR_STATE = CHAIN / "priv_validator_state.json"
PROGRESS_BYTES = 64 * 2 ** 20

Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says what to do."""


@dataclass(frozen=True)
class Manifest:
    format: str
    chain_id: str
    height: int | None  # of the last block in the store; None when it holds none
    app_hash: str | None
    store_format: int | None  # None: the store was never started by a release that records it
    taken_by: str
    taken_at: str  # UTC, for people; nothing depends on it

    @classmethod
    def read(cls, archive: tarfile.TarFile, path: Path) -> "Manifest":
        try:
            data = json.load(archive.extractfile(MANIFEST))
            if data.get("format") != ARCHIVE_FORMAT:
                raise BackupError(f"{path} is a backup of format {data.get('format')!r}; this "
                                  f"release restores {ARCHIVE_FORMAT}: restore it with the "
                                  f"release that took it ({data.get('taken_by')})")
            return cls(**data)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"{path} has no readable {MANIFEST}, so it is not a node backup "
                              f"taken by `resonate node backup`; check the file") from exc


def chain_id(node: Path) -> str:
    try:
        return json.loads((node / GENESIS).read_text())["chain_id"]
    except (OSError, ValueError, KeyError) as exc:
        raise BackupError(f"{node / GENESIS} is missing or unreadable; give the directory of "
                          f"a node with its configuration in place (`resonate testnet status` "
                          f"or `resonate network member` made it)") from exc


def open_by_processes(paths: list[Path]) -> dict[int, str]:
    """Processes that hold a file under `paths` open (Linux /proc): pid -> command name.
    Only what this user may see; a process of another user is reported by the copy
    failing or, worse, not at all, so stop the node before copying."""
    roots = [str(path.resolve()) + os.sep for path in paths]
    holders = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if any(os.readlink(fd).startswith(root) for root in roots):
                    holders[int(entry.name)] = (entry / "comm").read_text().strip()
                    break
        except OSError:  # gone, or not ours to see
            continue
    return holders


def _require_stopped(node: Path) -> None:
    holders = open_by_processes([node / CHAIN, node / STORE])
    if holders:
        named = ", ".join(f"{name} (pid {pid})" for pid, name in sorted(holders.items()))
        raise BackupError(f"{named} still use {node}'s chain or store; stop the node first "
                          f"(`resonate testnet stop-node NAME` locally, `docker compose stop` "
                          f"in production) or use `resonate testnet backup-node|restore-node`, "
                          f"which stop and start a local node around it")


def store_state(store: Path) -> tuple[int | None, str | None, int | None]:
    """(height, app hash) of the last block in a stopped node's FerretDB/SQLite store, and
    its recorded store format, read from FerretDB's SQLite files without writing them.
    Nones where the store does not hold them."""
    database = next(iter(sorted(store.glob("*.sqlite"))), None)
    if database is None:
        return None, None, None
    from bigchaindb_resonate.ledger import CHAIN_HEAD, LATEST_BLOCK

    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        created = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                     "AND name = '_ferretdb_collections'").fetchone()
        tables = dict(connection.execute("SELECT name, table_name FROM _ferretdb_collections")
                      if created else [])  # a database FerretDB created but never wrote

        def document(collection: str, key: str) -> dict | None:
            if collection not in tables:
                return None
            # FerretDB keeps each document as JSON with its _id at the top level.
            for (text,) in connection.execute(
                    f'SELECT _ferretdb_sjson FROM "{tables[collection]}" '
                    f"WHERE json_extract(_ferretdb_sjson, '$._id') = ?", (key,)):
                return json.loads(text)
            return None

        block = document(CHAIN_HEAD, LATEST_BLOCK) or {}
        recorded = document(store_format.COLLECTION, store_format.KEY) or {}
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the store in {store} ({exc}); check that it is a "
                          f"node's FerretDB store directory and that the node is stopped") from exc
    finally:
        connection.close()
    return block.get("height"), block.get("app_hash"), recorded.get("format")


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def check_destination(out: Path) -> None:
    """Refuse an archive path a backup cannot write."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} exists; give a new file name (a backup never overwrites one)")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory; make it first or pick another --out")


def backup(node: Path, out: Path, progress: Progress = print) -> Manifest:
    """Archive the stopped node in directory `node` to `out`; its manifest."""
    node, out = Path(node), Path(out)
    for part in (CHAIN, STORE):
        if not (node / part).is_dir():
            raise BackupError(f"{node / part} does not exist: give the directory of a node "
                              f"(it holds tendermint/ and store/), e.g. <testnet dir>/node3")
    check_destination(out)
    _require_stopped(node)
    height, app_hash, format_ = store_state(node / STORE)
    manifest = Manifest(format=ARCHIVE_FORMAT, chain_id=chain_id(node), height=height,
                        app_hash=app_hash, store_format=format_,
                        taken_by=f"bigchaindb-resonate {__version__}",
                        taken_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    progress(f"backing up {node} ({manifest.chain_id}, height {height}) to {out}")
    # Written beside its final name, owner-only from the start, renamed when complete.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            text = json.dumps(asdict(manifest), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(text), int(time.time())
            archive.addfile(info, io.BytesIO(text))
            for part in (CHAIN, STORE):
                _add(archive, node, part, progress)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    progress(f"wrote {out} ({out.stat().st_size / 2 ** 20:.1f} MB)")
    return manifest


def _add(archive: tarfile.TarFile, node: Path, part: Path, progress: Progress) -> None:
    files = _files(node / part)
    copied = reported = 0
    for path in files:
        archive.add(path, arcname=str(path.relative_to(node)), recursive=False)
        copied += path.stat().st_size
        if copied - reported >= PROGRESS_BYTES:
            progress(f"  {part}: {copied / 2 ** 20:.0f} MB …")
            reported = copied
    progress(f"  {part}: {len(files)} files, {copied / 2 ** 20:.1f} MB")


def _signed_position(state: dict) -> tuple[int, int, int]:
    return int(state.get("height", 0)), int(state.get("round", 0)), int(state.get("step", 0))


def check_archive(archive_path: Path, node: Path) -> Manifest:
    """The manifest of `archive_path` once it is known to be a backup this release can
    restore into the node in directory `node` (same chain, store format not newer)."""
    archive, manifest, _ = _opened(Path(archive_path), Path(node))
    archive.close()
    return manifest


def _opened(archive_path: Path, node: Path):
    if not archive_path.is_file():
        raise BackupError(f"{archive_path} does not exist; give the file "
                          f"`resonate node backup` wrote")
    target_chain = chain_id(node)
    try:
        archive = tarfile.open(archive_path, mode="r:gz")
        members = archive.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive_path} is not a node backup ({exc}); check the file") from exc
    try:
        manifest = Manifest.read(archive, archive_path)
        if manifest.chain_id != target_chain:
            raise BackupError(f"{archive_path} is a backup of chain {manifest.chain_id}, but "
                              f"{node} is configured for {target_chain}; restore it into a node "
                              f"of that chain, or use the genesis of that chain")
        if (manifest.store_format or 0) > store_format.STORE_FORMAT:
            raise BackupError(store_format.refusal({"format": manifest.store_format,
                                                    "written_by": manifest.taken_by}))
        members = [member for member in members if member.name != MANIFEST]
        for member in members:
            if not _restorable(member):
                raise BackupError(f"{archive_path} holds {member.name}, which no node backup "
                                  f"holds; check the file")
    except BaseException:
        archive.close()
        raise
    return archive, manifest, members


def restore(archive_path: Path, node: Path, progress: Progress = print) -> Manifest:
    """Write the backup `archive_path` into the stopped node in directory `node`, whose
    configuration is in place and whose chain and store are empty; its manifest."""
    archive_path, node = Path(archive_path), Path(node)
    archive, manifest, members = _opened(archive_path, node)
    with archive:
        _require_stopped(node)
        occupied = [path for part in (CHAIN, STORE) for path in _files(node / part)
                    if path != node / VALIDATOR_STATE]
        if occupied:
            raise BackupError(f"{node} already holds a chain or store ({occupied[0]}, …); "
                              f"move {node / CHAIN} and {node / STORE} away first (keep "
                              f"{node / VALIDATOR_STATE}: restore keeps it when it is later)")
        kept = _kept_validator_state(node, archive)
        progress(f"restoring {archive_path} ({manifest.chain_id}, height {manifest.height}, "
                 f"taken by {manifest.taken_by} at {manifest.taken_at}) into {node}")
        restored = 0
        for member in members:
            target = node / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(target, "wb") as copy:
                shutil.copyfileobj(source, copy)
            os.chmod(target, member.mode & 0o700)
            restored += member.size
            if restored // PROGRESS_BYTES != (restored - member.size) // PROGRESS_BYTES:
                progress(f"  {restored / 2 ** 20:.0f} MB …")
    if kept is not None:
        (node / VALIDATOR_STATE).write_bytes(kept)
        progress(f"kept the validator's later last-signed state in {node / VALIDATOR_STATE}")
    (node / STORE).mkdir(exist_ok=True)
    progress(f"restored {len(members)} files ({restored / 2 ** 20:.1f} MB); start the node "
             f"and it catches up from height {manifest.height}")
    return manifest


def _restorable(member: tarfile.TarInfo) -> bool:
    """A plain file under the chain or the store, never outside the node's directory."""
    name = Path(member.name)
    return (member.isfile() and not name.is_absolute() and ".." not in name.parts
            and (name.parts[:2] == CHAIN.parts or name.parts[:1] == STORE.parts))


def _kept_validator_state(node: Path, archive: tarfile.TarFile) -> bytes | None:
    """The target's own last-signed state when it is later than the archive's."""
    present = node / VALIDATOR_STATE
    if not present.exists():
        return None
    mine = present.read_bytes()
    try:
        theirs = json.load(archive.extractfile(str(VALIDATOR_STATE)))
    except KeyError:
        return mine
    return mine if _signed_position(json.loads(mine)) >= _signed_position(theirs) else None
