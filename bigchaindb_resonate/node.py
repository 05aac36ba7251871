"""`bigchaindb-resonate`: BigchainDB's own command line with our plugin loaded.

BigchainDB 2.2.2 has no loader for new transaction types (its `validation_plugin` setting
is read but never called), so this entry point adapts the host and registers our types
before BigchainDB parses its arguments. `start` forks its web and event processes after
that, so every process has the types registered.

One command of our own sits next to BigchainDB's: `bigchaindb-resonate [-c CONFIG]
rebuild-totals` recomputes the report totals (reports/totals.py) and the credit balances
(balances.py) from the node's ledger.
"""
import argparse
import importlib.util
import sys

REBUILD_TOTALS = "rebuild-totals"


def main(argv=None):
    if importlib.util.find_spec("bigchaindb") is None:
        sys.exit("error: this is the client library alone; a node needs BigchainDB Server: install "
                 "bigchaindb-resonate[node] the way scripts/bootstrap does (network/README.md)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if "start" in argv:
        from bigchaindb_resonate import metrics

        # Before anything imports prometheus_client, in the process every other forks from.
        metrics.prepare(metrics.settings_from(config_file(argv)))
    from bigchaindb_resonate import host

    host.apply()
    if REBUILD_TOTALS in argv:
        return rebuild_totals(argv)
    from bigchaindb.commands import bigchaindb as bigchaindb_cli

    sys.argv = [sys.argv[0], *argv]
    if {"-v", "--version"} & set(argv):
        # BigchainDB's own answer names only itself: validators compare rule digests.
        from bigchaindb_resonate import rules

        print(rules.version_line())
        return
    bigchaindb_cli.main()


def config_file(argv):
    """The file BigchainDB's `-c`/`--config` names, if any."""
    for index, word in enumerate(argv):
        if word in ("-c", "--config") and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--config="):
            return word.split("=", 1)[1]
    return None


def rebuild_totals(argv):
    parser = argparse.ArgumentParser(
        prog=f"bigchaindb-resonate {REBUILD_TOTALS}",
        description="Recompute the report totals and credit balances from this node's "
                    "ledger and replace the stored ones. Stop the node first: a block "
                    "committing meanwhile could be missed.")
    parser.add_argument("-c", "--config", help="the node's BigchainDB configuration file "
                                               "(default: BigchainDB's own lookup)")
    parser.add_argument("command", choices=[REBUILD_TOTALS])
    args = parser.parse_args(argv)
    import bigchaindb
    from bigchaindb.lib import BigchainDB

    from bigchaindb_resonate import balances
    from bigchaindb_resonate.host import STORE_ERRORS
    from bigchaindb_resonate.reports import totals

    bigchaindb.config_utils.autoconfigure(filename=args.config, force=True)
    database = bigchaindb.config["database"]
    print(f"rebuilding report totals from {database['name']} at "
          f"{database['host']}:{database['port']} …", file=sys.stderr)
    try:
        height, documents = totals.rebuild(
            BigchainDB(), progress=lambda line: print(line, file=sys.stderr))
        balances_height, moves = balances.rebuild(
            BigchainDB(), progress=lambda line: print(line, file=sys.stderr))
    except STORE_ERRORS as exc:
        print(f"error: cannot use the node's store ({exc}); check that its database is "
              f"running and that -c names this node's configuration", file=sys.stderr)
        return 1
    print(f"report totals rebuilt at height {height}: {documents} documents")
    print(f"credit balances rebuilt at height {balances_height}: {moves} credit transactions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
