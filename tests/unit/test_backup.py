"""Backup archives and what restore refuses or keeps, on node directories of real files
(backup.py); a real node backed up, wiped and restored is in tests/integration/test_drills.py."""
import io
import json
import stat
import tarfile

import pytest

from bigchaindb_resonate import backup, store_format


def node(root, chain="resonate-test", signed=5, data=True):
    (root / "tendermint" / "config").mkdir(parents=True)
    (root / "tendermint" / "config" / "genesis.json").write_text(json.dumps({"chain_id": chain}))
    (root / "tendermint" / "config" / "priv_validator_key.json").write_text("{}")
    (root / "tendermint" / "data").mkdir()
    (root / "store").mkdir()
    if data:
        (root / "tendermint" / "data" / "blockstore.db").mkdir()
        (root / "tendermint" / "data" / "blockstore.db" / "000001.log").write_bytes(b"blocks")
        (root / "store" / "bigchain.sqlite").write_bytes(b"")  # FerretDB's file, empty here
    state = {"height": str(signed), "round": "0", "step": 3}
    (root / backup.VALIDATOR_STATE).write_text(json.dumps(state))
    return root


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "node.tar.gz"
    backup.backup(node(tmp_path / "source", signed=5), path, progress=lambda line: None)
    return path


def test_an_archive_is_owner_only_holds_chain_store_and_manifest_and_no_key(archive):
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as opened:
        names = sorted(opened.getnames())
        manifest = json.load(opened.extractfile(backup.MANIFEST))
    assert names == [backup.MANIFEST, "store/bigchain.sqlite", "tendermint/data/blockstore.db/000001.log",
                     "tendermint/data/priv_validator_state.json"]
    assert manifest["chain_id"] == "resonate-test" and manifest["format"] == backup.ARCHIVE_FORMAT


def test_a_backup_never_overwrites_a_file(archive, tmp_path):
    with pytest.raises(backup.BackupError, match="never overwrites"):
        backup.backup(tmp_path / "source", archive, progress=lambda line: None)


def test_restore_writes_chain_and_store_and_keeps_a_later_last_signed_state(archive, tmp_path):
    later = node(tmp_path / "later", signed=9, data=False)
    backup.restore(archive, later, progress=lambda line: None)
    assert (later / "tendermint/data/blockstore.db/000001.log").read_bytes() == b"blocks"
    assert json.loads((later / backup.VALIDATOR_STATE).read_text())["height"] == "9"

    earlier = node(tmp_path / "earlier", signed=2, data=False)
    backup.restore(archive, earlier, progress=lambda line: None)
    assert json.loads((earlier / backup.VALIDATOR_STATE).read_text())["height"] == "5"


@pytest.mark.parametrize("target, message", [
    ({"chain": "another-chain", "data": False}, "is a backup of chain resonate-test"),
    ({"data": True}, "already holds a chain or store"),
])
def test_restore_refuses_another_chain_or_a_node_with_a_chain(archive, tmp_path, target, message):
    with pytest.raises(backup.BackupError, match=message):
        backup.restore(archive, node(tmp_path / "target", **target), progress=lambda line: None)


def rewritten(archive, tmp_path, manifest=None, extra=None):
    """A copy of `archive` with its manifest changed and/or one more member."""
    copy = tmp_path / "rewritten.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(copy, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == backup.MANIFEST and manifest:
                data = json.dumps({**json.loads(data), **manifest}).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
        if extra:
            info = tarfile.TarInfo(extra)
            info.size = 1
            target.addfile(info, io.BytesIO(b"x"))
    return copy


@pytest.mark.parametrize("change, message", [
    ({"manifest": {"store_format": store_format.STORE_FORMAT + 1}}, "reads store formats up to"),
    ({"manifest": {"format": "resonate-node-backup/99"}}, "restore it with the release that took it"),
    ({"extra": "../outside"}, "which no node backup holds"),
    ({"extra": "tendermint/config/priv_validator_key.json"}, "which no node backup holds"),
])
def test_restore_refuses_a_newer_store_another_format_or_a_file_outside_chain_and_store(
        archive, tmp_path, change, message):
    target = node(tmp_path / "target", data=False)
    with pytest.raises(backup.BackupError, match=message):
        backup.restore(rewritten(archive, tmp_path, **change), target, progress=lambda line: None)
    assert not (target / "store" / "bigchain.sqlite").exists()


def test_what_is_not_an_archive_is_refused_saying_so(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not an archive")
    with pytest.raises(backup.BackupError, match="is not a node backup"):
        backup.restore(junk, node(tmp_path / "target", data=False), progress=lambda line: None)
