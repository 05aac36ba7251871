"""`resonate node backup|restore`: a stopped node's chain and store, at one height (backup.py).

`add_node_commands(subparsers)` adds the `node` command to an argparse CLI; each
sub-command sets `func`, which takes the parsed arguments and returns an exit code.
"""
from __future__ import annotations

import sys
from pathlib import Path

from bigchaindb_resonate.backup import BackupError, backup, restore


def add_node_commands(subparsers) -> None:
    node = subparsers.add_parser(
        "node", help="back up and restore a stopped node's chain and store",
        description="A node's Tendermint data and its store, archived together at one "
                    "height while the node is stopped, and restored on any machine into a "
                    "node with the same chain's configuration. A local testnet node is "
                    "stopped and started for you by `resonate testnet backup-node` and "
                    "`restore-node`; a production node's MongoDB: network/README.md, "
                    "\"Backups\".")
    commands = node.add_subparsers(dest="node_command", required=True)

    take = commands.add_parser("backup", help="archive a stopped node's chain and store",
                               description="Refused while a process still uses the node's "
                                           "files. The archive holds no key.")
    take.add_argument("directory", type=Path,
                      help="the node's directory (it holds tendermint/ and store/)")
    take.add_argument("--out", type=Path, required=True,
                      help="the archive to write (a new .tar.gz file, readable by you only)")
    take.set_defaults(func=_backup)

    put = commands.add_parser("restore", help="write a backup into a stopped node",
                              description="The node's configuration (genesis of the same "
                                          "chain, keys) must be in place and its chain and "
                                          "store empty; a later last-signed state of its "
                                          "validator is kept.")
    put.add_argument("archive", type=Path, help="the file `resonate node backup` wrote")
    put.add_argument("directory", type=Path,
                     help="the node's directory (it holds tendermint/config/)")
    put.set_defaults(func=_restore)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _backup(args) -> int:
    try:
        manifest = backup(args.directory, args.out, _progress)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {manifest.chain_id} at height {manifest.height}, app hash "
          f"{manifest.app_hash}")
    return 0


def _restore(args) -> int:
    try:
        manifest = restore(args.archive, args.directory, _progress)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.directory}: restored {manifest.chain_id} at height {manifest.height}")
    return 0
