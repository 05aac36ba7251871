"""`resonate`: the command line for developers and integrators.

    resonate testnet up|status|stop-node|start-node|down   a local network (see testnet/cli.py)
    resonate testnet add-node|join-as-validator              a member joining as a validator
    resonate network compose|member                          files for co-op members (network/)
    resonate keys new                                        a key pair for signing
    resonate party register ...                              register a PARTY
    resonate tx show ID                                      a committed transaction
    resonate demo                                            the main job, on the local network
"""
import argparse
import json
import sys
from pathlib import Path

from bigchaindb_resonate.testnet.cli import add_testnet_commands
from bigchaindb_resonate.testnet.compose import add_network_commands


def _default_node():
    """The first node of the default local testnet, where one exists."""
    from bigchaindb_resonate.testnet import Testnet

    testnet = Testnet()
    return testnet.nodes[0].api_url if testnet.exists else "http://127.0.0.1:9984"


def _client(args):
    from bigchaindb_resonate import host
    from bigchaindb_resonate.client import Client

    host.apply()  # parse and build with our types registered, as a node does
    return Client(args.node or _default_node())


def _load_keypair(path):
    from bigchaindb.common.crypto import CryptoKeypair

    try:
        document = json.loads(Path(path).read_text())
        return CryptoKeypair(document["private_key"], document["public_key"])
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"error: cannot read a key pair from {path} ({exc}); "
                         f"make one with `resonate keys new --out {path}`")


def _keys_new(args):
    from bigchaindb.common.crypto import generate_key_pair

    keypair = generate_key_pair()
    document = json.dumps({"public_key": keypair.public_key,
                           "private_key": keypair.private_key}, indent=2)
    if args.out:
        args.out.write_text(document + "\n")
        args.out.chmod(0o600)
        print(f"wrote a new key pair to {args.out}; public key {keypair.public_key}")
    else:
        print(document)
    return 0


def _refused(exc):
    print(f"refused: {exc}", file=sys.stderr)
    if getattr(exc, "code", None):
        print(f"  see docs/spec/ for {exc.code}", file=sys.stderr)
    return 2


def _party_register(args):
    from bigchaindb_resonate.client import ClientError, TransactionRefused
    from bigchaindb_resonate.errors import ResonateValidationError

    client = _client(args)
    keypair = _load_keypair(args.key)
    data = {"@type": args.type}
    for key, value in (("name", args.name), ("givenName", args.given_name),
                       ("familyName", args.family_name), ("isni", args.isni),
                       ("ipiNameNumber", args.ipi), ("roles", args.role)):
        if value:
            data[key] = value
    try:
        tx = client.register_party(keypair, data)
    except (TransactionRefused, ResonateValidationError) as exc:
        return _refused(exc)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(tx["id"])
    return 0


def _tx_show(args):
    tx = _client(args).get_transaction(args.id)
    if tx is None:
        print(f"no committed transaction {args.id} on {args.node or _default_node()}", file=sys.stderr)
        return 1
    print(json.dumps(tx, indent=2, sort_keys=True))
    return 0


def _demo(args):
    from bigchaindb_resonate.demo import run

    return run(args.dir)


def build_parser():
    parser = argparse.ArgumentParser(prog="resonate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_testnet_commands(commands)
    add_network_commands(commands)

    node = argparse.ArgumentParser(add_help=False)
    node.add_argument("--node", help="a node's HTTP API URL (default: the local testnet's first node)")

    keys = commands.add_parser("keys", help="key pairs").add_subparsers(dest="keys_command", required=True)
    new = keys.add_parser("new", help="make a new Ed25519 key pair")
    new.add_argument("--out", type=Path, help="write it to this file (mode 600) instead of printing it")
    new.set_defaults(func=_keys_new)

    party = commands.add_parser("party", help="parties: artists, bands, labels, publishers, members")
    register = party.add_subparsers(dest="party_command", required=True).add_parser(
        "register", parents=[node], help="register a party held by your key")
    register.add_argument("--key", required=True, help="key pair file from `resonate keys new`")
    register.add_argument("--type", required=True, choices=["Person", "Organization", "MusicGroup"])
    register.add_argument("--name")
    register.add_argument("--given-name")
    register.add_argument("--family-name")
    register.add_argument("--isni", help="display forms accepted, e.g. 'ISNI 0000 0001 2103 2683'")
    register.add_argument("--ipi", help="IPI name number, display forms accepted")
    register.add_argument("--role", action="append",
                          help="artist, composer, lyricist, producer, label, publisher, coop_member, "
                               "listener (repeatable)")
    register.set_defaults(func=_party_register)

    tx = commands.add_parser("tx", help="transactions").add_subparsers(dest="tx_command", required=True)
    show = tx.add_parser("show", parents=[node], help="print a committed transaction")
    show.add_argument("id")
    show.set_defaults(func=_tx_show)

    demo = commands.add_parser("demo", help="run the main job against the local testnet")
    demo.add_argument("--dir", type=Path, default=None, help="the testnet's directory")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
