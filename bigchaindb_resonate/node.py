"""`bigchaindb-resonate`: BigchainDB's own command line with our plugin loaded.

BigchainDB 2.2.2 has no loader for new transaction types (its `validation_plugin` setting
is read but never called), so this entry point adapts the host and registers our types
before BigchainDB parses its arguments. `start` forks its web and event processes after
that, so every process has the types registered.
"""
import importlib.util
import sys


def main(argv=None):
    if importlib.util.find_spec("bigchaindb") is None:
        sys.exit("error: this is the client library alone; a node needs BigchainDB Server: install "
                 "bigchaindb-resonate[node] the way scripts/bootstrap does (network/README.md)")
    from bigchaindb_resonate import host

    host.apply()
    from bigchaindb.commands import bigchaindb as bigchaindb_cli

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    if {"-v", "--version"} & set(sys.argv[1:]):
        # BigchainDB's own answer names only itself: validators compare rule digests.
        from bigchaindb_resonate import rules

        print(rules.version_line())
        return
    bigchaindb_cli.main()


if __name__ == "__main__":
    main()
