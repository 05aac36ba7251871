"""`resonate testnet up|status|stop-node|start-node|replay-node|add-node|join-as-validator|down`, and
`backup-node|restore-node` (backup.py).

`add_testnet_commands(subparsers)` adds the `testnet` command to an argparse CLI; each
sub-command sets `func`, which takes the parsed arguments and returns an exit code.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bigchaindb_resonate.backup import BackupError
from bigchaindb_resonate.binaries import BuildError
from bigchaindb_resonate.testnet import (
    Testnet, TestnetError, default_directory, differing_rules, unknown_rule_versions,
)
from bigchaindb_resonate.testnet.description import MAX_NODES, PortsBusy


def add_testnet_commands(subparsers) -> None:
    testnet = subparsers.add_parser(
        "testnet", help="run a local multi-node network on loopback",
        description="A local network of BigchainDB nodes, each with its own Tendermint "
                    "and FerretDB, all on 127.0.0.1.")
    commands = testnet.add_subparsers(dest="testnet_command", required=True)
    directory = argparse.ArgumentParser(add_help=False)
    directory.add_argument("--dir", type=Path, default=None,
                           help=f"where the network lives (default {default_directory()})")

    up = commands.add_parser("up", parents=[directory],
                             help="create or restart the network and wait until it runs")
    up.add_argument("--nodes", type=int, default=None,
                    help=f"number of validator nodes, 1 to {MAX_NODES} (default 4; "
                         f"an existing network keeps its own)")
    up.add_argument("--base-port", type=int, default=None,
                    help="first of the ten loopback ports each node uses in turn")
    up.add_argument("--timeout", type=float, default=None,
                    help="seconds to wait for every node (default 240)")
    up.set_defaults(func=_up)

    status = commands.add_parser("status", parents=[directory],
                                 help="each node's URLs, chain state and processes")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)

    stop_node = commands.add_parser("stop-node", parents=[directory],
                                    help="stop one node's processes")
    stop_node.add_argument("name", help="the node, e.g. node2 (`resonate testnet status` lists them)")
    stop_node.set_defaults(func=_stop_node)

    start_node = commands.add_parser("start-node", parents=[directory],
                                     help="start a stopped node and wait until it caught up")
    start_node.add_argument("name", help="the node, e.g. node2 (`resonate testnet status` lists them)")
    start_node.set_defaults(func=_start_node)

    replay_node = commands.add_parser(
        "replay-node", parents=[directory],
        help="delete one node's store and chain and let it replay from genesis, then wait "
             "until it caught up")
    replay_node.add_argument("name", help="the node, e.g. node2 (`resonate testnet status` lists them)")
    replay_node.set_defaults(func=_replay_node)

    add_node = commands.add_parser(
        "add-node", parents=[directory],
        help="add a node to the running network as a non-validator and wait until it "
             "caught up",
        description="Add a node that is not in the genesis: it gets its own ports and "
                    "keys, dials every other node and syncs the chain. "
                    "`join-as-validator` then makes it a validator.")
    add_node.add_argument("name", nargs="?", default=None,
                          help="its name (default: the next free nodeN)")
    add_node.add_argument("--timeout", type=float, default=None,
                          help="seconds to wait until it caught up (default 240)")
    add_node.set_defaults(func=_add_node)

    join = commands.add_parser(
        "join-as-validator", parents=[directory],
        help="make a node a validator through BigchainDB's upsert-validator election",
        description="An existing validator proposes the node; enough validators approve "
                    "to pass 2/3 of the votes; returns once every node lists it as a "
                    "validator and it has signed a block. Its power must be under 1/3 of "
                    "the validators' current total.")
    join.add_argument("name", help="the node added with `resonate testnet add-node`")
    join.add_argument("--power", type=int, default=None,
                      help="its voting power (default 10, or the largest allowed if less)")
    join.add_argument("--proposer", default=None,
                      help="the validator that proposes it (default: the first one)")
    join.add_argument("--timeout", type=float, default=None,
                      help="seconds to wait once approved (default 180)")
    join.set_defaults(func=_join_as_validator)

    backup_node = commands.add_parser(
        "backup-node", parents=[directory],
        help="stop a node, archive its chain and store, start it again",
        description="`resonate node backup` on a node of the running network, stopped for "
                    "the copy; the other validators commit meanwhile.")
    backup_node.add_argument("name", help="the node, e.g. node3 (`resonate testnet status` lists them)")
    backup_node.add_argument("--out", type=Path, required=True,
                             help="the archive to write (a new .tar.gz file)")
    backup_node.set_defaults(func=_backup_node)

    restore_node = commands.add_parser(
        "restore-node", parents=[directory],
        help="replace a node's chain and store with a backup and wait until it caught up",
        description="Stops the node, deletes its chain and store (its keys and its "
                    "validator's last-signed state stay), restores the backup and starts "
                    "it; it catches up from the backup's height.")
    restore_node.add_argument("name", help="the node, e.g. node3 (`resonate testnet status` lists them)")
    restore_node.add_argument("archive", type=Path, help="the file `backup-node` wrote")
    restore_node.set_defaults(func=_restore_node)

    down = commands.add_parser("down", parents=[directory], help="stop the network")
    down.add_argument("--purge", action="store_true",
                      help="also delete its keys, chain and stores")
    down.set_defaults(func=_down)


def _reported(command):
    """Turn the failures a user can act on into a message and exit code 1."""
    def run(args) -> int:
        try:
            command(Testnet(args.dir), args)
            return 0
        except (TestnetError, PortsBusy, BuildError, BackupError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return run


@_reported
def _up(testnet: Testnet, args) -> None:
    started = time.monotonic()
    options = {"timeout": args.timeout} if args.timeout else {}
    testnet.up(nodes=args.nodes, base_port=args.base_port, **options)
    print(f"network up in {time.monotonic() - started:.0f}s")
    for node in testnet.nodes:
        print(f"  {node.name}: API {node.api_url}  RPC {node.rpc_url}")


@_reported
def _status(testnet: Testnet, args) -> None:
    report = testnet.status()
    warning, lacking = differing_rules(report), unknown_rule_versions(report)
    if args.json:
        print(json.dumps({"directory": str(testnet.directory), "running": testnet.running,
                          "nodes": report, "rules_differ": warning is not None,
                          "rule_versions_lacking": lacking is not None}, indent=2))
    else:
        print(f"{testnet.directory}: {'running' if testnet.running else 'not running'}")
        print(format_table(report))
    for line in (warning, lacking):
        if line:
            print(line, file=sys.stderr)


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _rule_versions(node: dict) -> str:
    """`knows 1,2; in force 1; 2 from 57`: the versions a node knows, the one in force at its
    next height and those voted in for later (`!` marks one it lacks)."""
    if not node.get("rule_versions"):
        return "-"
    cell = "knows " + ",".join(map(str, node["rule_versions"]))
    if node.get("rules_version_in_force") is not None:
        cell += f"; in force {node['rules_version_in_force']}"
    for entry in node.get("rule_versions_scheduled") or []:
        cell += f"; {entry['version']}{'' if entry['known'] else '!'} from {entry['activation_height']}"
    return cell


def format_table(report: list[dict]) -> str:
    header = ["NODE", "API", "RPC", "HEIGHT", "APP HASH", "CATCHING UP", "VALIDATOR",
              "PLUGIN, RULES", "RULE VERSIONS", "FERRETDB", "BIGCHAINDB", "TENDERMINT"]
    rows = [header]
    for node in report:
        processes = node["processes"]
        rows.append([
            node["name"] + (" (stop requested)" if node["stop_requested"] else ""),
            node["api_url"] + ("" if node["api_up"] else " (down)"),
            node["rpc_url"],
            "-" if node["height"] is None else str(node["height"]),
            (node["app_hash"] or "-")[:16],
            _yes_no(node["catching_up"]),
            _yes_no(node["validator"]) + (f", power {node['power']}" if node["validator"]
                                          else ""),
            f"{node['plugin_version']}, {node['rules'][7:19]}" if node["rules"] else "-",
            _rule_versions(node),
            processes["ferretdb"], processes["bigchaindb"], processes["tendermint"],
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


@_reported
def _stop_node(testnet: Testnet, args) -> None:
    testnet.stop_node(args.name)
    print(f"{args.name} stopped")


@_reported
def _start_node(testnet: Testnet, args) -> None:
    testnet.start_node(args.name)
    print(f"{args.name} is up")


@_reported
def _replay_node(testnet: Testnet, args) -> None:
    started = time.monotonic()
    testnet.replay_node(args.name)
    print(f"{args.name} replayed the chain from genesis and caught up in "
          f"{time.monotonic() - started:.0f}s")


@_reported
def _add_node(testnet: Testnet, args) -> None:
    started = time.monotonic()
    options = {"timeout": args.timeout} if args.timeout else {}
    node = testnet.add_node(args.name, **options)
    print(f"added {node.name} in {time.monotonic() - started:.0f}s, not a validator: "
          f"API {node.api_url}  RPC {node.rpc_url}")


@_reported
def _join_as_validator(testnet: Testnet, args) -> None:
    started = time.monotonic()
    options = {"timeout": args.timeout} if args.timeout else {}
    joined = testnet.join_as_validator(args.name, power=args.power, proposer=args.proposer,
                                       **options)
    print(f"{args.name} is a validator after {time.monotonic() - started:.0f}s: "
          f"election {joined.election_id}, approved by {', '.join(joined.approved_by)}")


@_reported
def _down(testnet: Testnet, args) -> None:
    testnet.down(purge=args.purge)
    print("network down")



@_reported
def _backup_node(testnet: Testnet, args) -> None:
    manifest = testnet.backup_node(args.name, args.out)
    print(f"{args.out}: {args.name} at height {manifest.height}, app hash {manifest.app_hash}")


@_reported
def _restore_node(testnet: Testnet, args) -> None:
    started = time.monotonic()
    manifest = testnet.restore_node(args.name, args.archive)
    print(f"{args.name} restored at height {manifest.height} and caught up in "
          f"{time.monotonic() - started:.0f}s")
