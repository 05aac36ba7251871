"""`resonate`: the command line for developers and integrators.

    resonate testnet up|status|stop-node|start-node|down   a local network (see testnet/cli.py)
    resonate testnet add-node|join-as-validator              a member joining as a validator
    resonate network compose|member                          files for co-op members (network/)
    resonate keys new                                        a key pair for signing
    resonate party register ...                              register a PARTY
    resonate work register | recording register ...          register a WORK / MANIFESTATION
    resonate copyright register | right derive | right assign   copyrights, licences, shares
    resonate show record|history|holders|rights|holdings|recordings|lookup   registry reads
    resonate credits issue|buy|balance                       the credit token, purchases, balances
    resonate split set|show                                  a recording's royalty split
    resonate play --track ID --right ID --territory CC       stream to own: one paid (or free) play
    resonate tx show ID                                      a committed transaction
    resonate report [--scope S] [--format F] [--charts DIR]  a usage and royalty report
    resonate audit REPORT --node URL [--node URL ...]        recompute a report from nodes
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


def _refused(exc, operation):
    """What an integrator needs to fix a refusal: the stable code, the field, what was
    expected, and the spec listing the rule."""
    print(f"refused: {getattr(exc, 'detail', None) or exc}", file=sys.stderr)
    for label in ("code", "field", "expected"):
        if getattr(exc, label, None):
            print(f"  {label + ':':<10}{getattr(exc, label)}", file=sys.stderr)
    print(f"  see docs/spec/{operation.lower()}.md (shared codes: docs/spec/common.md)",
          file=sys.stderr)
    return 2


def _write(args, operation, send):
    """Run `send(client)` and print the committed transaction's id, or why it failed."""
    from bigchaindb_resonate.client import ClientError, TransactionRefused
    from bigchaindb_resonate.errors import ResonateValidationError

    client = _client(args)
    try:
        tx = send(client)
    except (TransactionRefused, ResonateValidationError) as exc:
        return _refused(exc, operation)
    except (ClientError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(tx["id"])
    return 0


def _fields(pairs):
    """The record properties whose option was given."""
    return {key: value for key, value in pairs if value not in (None, [], False)}


def _share(text):
    """KEY=SHARES, as a (public key, integer shares) pair."""
    key, _, shares = text.partition("=")
    try:
        return key, int(shares)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not PUBLIC_KEY=SHARES") from None


def _keys(args):
    return [_load_keypair(path) for path in args.key]


def _terms(args):
    territory = _fields([("include", args.territory), ("exclude", args.exclude)])
    return _fields([("territory", territory), ("validFrom", args.valid_from),
                    ("validThrough", args.valid_through)])


def _party_register(args):
    data = _fields([("@type", args.type), ("name", args.name), ("givenName", args.given_name),
                    ("familyName", args.family_name), ("isni", args.isni),
                    ("ipiNameNumber", args.ipi), ("roles", args.role)])
    return _write(args, "PARTY", lambda client: client.register_party(_keys(args), data))


def _work_register(args):
    data = _fields([("@type", "MusicComposition"), ("name", args.name),
                    ("composer", args.composer), ("lyricist", args.lyricist),
                    ("iswcCode", args.iswc), ("inLanguage", args.language),
                    ("datePublished", args.date_published)])
    return _write(args, "WORK", lambda client: client.register_work(_keys(args), data))


def _recording_register(args):
    link = args.link or ("recordingOf" if args.type == "MusicRecording" else "manifestationOf")
    data = _fields([("@type", args.type), ("name", args.name), (link, args.work),
                    ("byArtist", args.artist), ("isrcCode", args.isrc),
                    ("datePublished", args.date_published), ("url", args.url)])
    return _write(args, "MANIFESTATION",
                  lambda client: client.register_manifestation(_keys(args), data))


def _copyright_register(args):
    data = {"rightsOf": args.of, **_terms(args)}
    return _write(args, "COPYRIGHT", lambda client: client.register_copyright(
        _keys(args), data, holders=args.holder))


def _right_derive(args):
    data = _fields([("source", args.source), ("usageType", args.usage),
                    ("numberOfUses", args.uses)])
    data.update(_terms(args), exclusive=args.exclusive,
                license={"uri": args.license_uri, "hash": args.license_hash})
    return _write(args, "RIGHT", lambda client: client.derive_right(
        _keys(args), data, licensees=args.licensee))


def _right_assign(args):
    if len(args.key) != 1:
        raise SystemExit("error: an assignment is signed by one holder: give one --key")
    contract = _fields([("uri", args.contract_uri), ("hash", args.contract_hash)])
    action = _fields([("transferContract", contract)])
    return _write(args, "RIGHTS_ASSIGNMENT", lambda client: client.assign(
        _keys(args)[0], args.asset, args.to, shares=args.shares, action=action))


def _holders_text(holders):
    return ", ".join(f"{'+'.join(entry['public_keys'])}:{entry['amount']}" for entry in holders)


def _name(data):
    return data.get("name") or " ".join(filter(None, (data.get("givenName"), data.get("familyName"))))


def _print_table(headers, rows):
    widths = [max(len(str(value)) for value in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())


def _record_rows(answer):
    rows = [("id", answer["id"]), ("operation", answer["operation"])]
    rows += [(key, json.dumps(value)) for key, value in answer["data"].items()]
    return ("property", "value"), rows + [("holders", _holders_text(answer["holders"]))]


def _history_rows(answer):
    return ("height", "operation", "transaction", "holders after"), [
        (step["height"], step["operation"], step["transaction_id"], _holders_text(step["holders"]))
        for step in answer["steps"]]


def _holder_rows(answer):
    return ("public keys", "amount", "output"), [
        ("+".join(entry["public_keys"]), entry["amount"],
         f"{entry['transaction_id']}:{entry['output_index']}") for entry in answer["holders"]]


def _rights_rows(answer):
    return ("depth", "right", "source", "usage", "territory", "holders"), [
        (entry["depth"], entry["id"], entry["source"], ",".join(entry["data"]["usageType"]),
         json.dumps(entry["data"]["territory"]), _holders_text(entry["holders"]))
        for entry in answer["rights"]]


def _holdings_rows(answer):
    return ("asset", "operation", "amount"), [
        (entry["asset_id"], entry["operation"], entry["amount"]) for entry in answer["holdings"]]


def _recordings_rows(answer):
    return ("manifestation", "@type", "name", "link", "isrc"), [
        (entry["id"], entry["data"]["@type"], _name(entry["data"]), entry["link"],
         entry["data"].get("isrcCode", "")) for entry in answer["recordings"]]


def _lookup_rows(answer):
    return ("record", "operation", "name"), [
        (entry["id"], entry["operation"], _name(entry["data"])) for entry in answer["records"]]


# `resonate show VIEW`: (what it needs, how the client reads it, its table)
SHOW = {
    "record": ("id", lambda client, args: client.record(args.id), _record_rows),
    "history": ("id", lambda client, args: client.history(args.id), _history_rows),
    "holders": ("id", lambda client, args: client.holders_of(args.id), _holder_rows),
    "rights": ("id", lambda client, args: client.rights_of(args.id, whole_tree=args.all),
               _rights_rows),
    "holdings": ("public_key", lambda client, args: client.holdings(args.public_key),
                 _holdings_rows),
    "recordings": ("id", lambda client, args: client.recordings_of(args.id), _recordings_rows),
    "lookup": (None, lambda client, args: (client.lookup_iswc(args.iswc) if args.iswc
                                           else client.lookup_isrc(args.isrc)), _lookup_rows),
}


def _show(args):
    from bigchaindb_resonate.client import ClientError

    _, read, rows = SHOW[args.view]
    try:
        answer = read(_client(args), args)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if answer is None:
        print(f"nothing found on {args.node or _default_node()}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
    else:
        _print_table(*rows(answer))
    return 0


def _one_key(args, role):
    if len(args.key) != 1:
        raise SystemExit(f"error: {role} signs alone: give one --key")
    return _keys(args)[0]


def _credits_issue(args):
    return _write(args, "CREDIT", lambda client: client.issue_credit_token(_one_key(args, "the treasury")))


def _credits_buy(args):
    return _write(args, "TRANSFER", lambda client: client.buy_credits(
        _one_key(args, "the treasury"), args.to, args.tokens))


def _credits_balance(args):
    client = _client(args)
    answer = client.credit_history(args.public_key) if args.history else client.balance(args.public_key)
    if answer is None:
        print(f"no credit token on {client.api_url} yet", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
    elif args.history:
        _print_table(("height", "operation", "transaction", "received", "spent", "balance"), [
            (step["height"], step["operation"], step["transaction_id"], step["received"],
             step["spent"], step["balance"]) for step in answer["steps"]])
    else:
        tokens = answer["balance"]
        print(f"{tokens} tokens ({tokens // 1000}.{tokens % 1000:03d} credits)")
    return 0


def _split_set(args):
    return _write(args, "SPLIT", lambda client: client.set_split(_keys(args), args.subject, args.payee))


def _split_show(args):
    answer = _client(args).splits_of(args.track)
    if answer is None:
        print(f"no track {args.track} on {args.node or _default_node()}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    _print_table(("height", "split", "subject", "payees", "in force"), [
        (entry["height"], entry["id"], entry["subject"],
         ", ".join(f"{payee['publicKey']}:{payee['shareBp']}bp" for payee in entry["payees"]),
         "yes" if entry["id"] == answer["in_force"] else "") for entry in answer["splits"]])
    return 0


def _play(args):
    listener = _one_key(args, "a listener")
    status = _write(args, "PLAY", lambda client: client.play(listener, args.track, args.right,
                                                             args.territory))
    if status == 0:
        standing = _client(args).owns(listener.public_key, args.track)
        print(f"plays: {standing['plays']}, tokens paid: {standing['tokens_paid']}, "
              f"owned: {'yes' if standing['owned'] else 'no'}, next play: {standing['next_price']} tokens")
    return status


def _tx_show(args):
    tx = _client(args).get_transaction(args.id)
    if tx is None:
        print(f"no committed transaction {args.id} on {args.node or _default_node()}", file=sys.stderr)
        return 1
    print(json.dumps(tx, indent=2, sort_keys=True))
    return 0


def _consensus_seconds(text):
    """Seconds since the epoch, given as such or as an ISO 8601 date or time (UTC unless it
    says otherwise)."""
    import datetime

    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is neither seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def _report(args):
    from bigchaindb_resonate.client import ClientError
    from bigchaindb_resonate.reports.charts import write_charts
    from bigchaindb_resonate.reports.formats import read_lines

    client = _client(args)
    period = _fields([("from_height", args.from_height), ("to_height", args.to_height),
                      ("from_time", args.from_time), ("to_time", args.to_time)])
    try:
        context = client.report_context(args.scope, args.at_height)
        if context is None:
            print(f"error: {args.scope} is not on {client.api_url}", file=sys.stderr)
            return 1
        # Every request below reads the same block, however far the chain moves meanwhile.
        at_height = context["at_height"]
        chunks = client.report(args.scope, args.format, at_height, **period)
        with (args.out.open("w") if args.out else _stdout()) as out:
            out.writelines(chunks)
        if args.charts:
            text = "".join(client.report(args.scope, "json", at_height, **period))
            files = write_charts(read_lines(text.splitlines(True), "json"), args.charts)
            print("charts: " + ", ".join(map(str, files)), file=sys.stderr)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.out:
        print(f"wrote the report at height {at_height} to {args.out}", file=sys.stderr)
    return 0


def _stdout():
    import contextlib

    return contextlib.nullcontext(sys.stdout)


def _audit(args):
    from bigchaindb_resonate import host
    from bigchaindb_resonate.client import ClientError
    from bigchaindb_resonate.reports.audit import AuditError, audit, audit_totals
    from bigchaindb_resonate.reports.formats import ReportFormatError

    if (args.report is None) == (not args.totals):
        print("error: name a report file to audit, or give --totals to audit the nodes' "
              "report totals", file=sys.stderr)
        return 2
    host.apply()  # parse PLAY transactions with our types, as a node does
    try:
        if args.totals:
            result = audit_totals(args.node)
        else:
            with args.report.open() as text:
                result = audit(text, args.node)
    except (OSError, AuditError, ClientError, ReportFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for finding in result.findings:
        print(finding)
    verdict = "matches" if result.ok else f"does NOT match ({len(result.findings)} findings)"
    what = "the report totals" if args.totals else args.report
    compared = "totals documents" if args.totals else "lines"
    print(f"{what}: {verdict}; {result.lines} {compared} compared with {len(result.nodes)} "
          f"node(s), {result.transactions} transaction checks (id, signatures, conservation)",
          file=sys.stderr)
    return 0 if result.ok else 1


def _summary(args):
    from bigchaindb_resonate.client import ClientError

    client = _client(args)
    try:
        answer = client.report_summary(None if args.payee else args.scope, args.payee,
                                       args.from_date, args.to_date)
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if answer is None:
        print(f"error: {args.scope} is not on {client.api_url}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    figures = list(answer["totals"])
    rows = [["all", *answer["totals"].values()]]
    rows += [[row["track"], *(row[name] for name in figures)] for row in answer.get("tracks", [])]
    rows += [[row["date"], *(row[name] for name in figures)] for row in answer.get("days", [])]
    _print_table(["", *figures], rows)
    print(f"{answer['scope']}: plays up to height {answer['last_play_height']} (tokens: "
          f"1 token = 0.001 credit)", file=sys.stderr)
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

    signer = argparse.ArgumentParser(add_help=False, parents=[node])
    signer.add_argument("--key", required=True, action="append",
                        help="key pair file from `resonate keys new` (repeat for several signers)")

    terms = argparse.ArgumentParser(add_help=False)
    terms.add_argument("--territory", required=True, action="append",
                       help="ISO 3166-1 alpha-2 code or Worldwide (repeatable)")
    terms.add_argument("--exclude", action="append", help="a code excluded (repeatable)")
    terms.add_argument("--valid-from", required=True, help="YYYY-MM-DD")
    terms.add_argument("--valid-through", help="YYYY-MM-DD (default: open-ended)")

    def register_command(noun, help_text, *parents):
        parent = commands.add_parser(noun, help=help_text)
        return parent.add_subparsers(dest=f"{noun}_command", required=True).add_parser(
            "register", parents=[signer, *parents], help=f"register a {noun} held by your key")

    register = register_command("party", "parties: artists, bands, labels, publishers, members")
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

    register = register_command("work", "works: compositions (docs/spec/work.md)")
    register.add_argument("--name", required=True)
    register.add_argument("--composer", required=True, action="append", help="PARTY id (repeatable)")
    register.add_argument("--lyricist", action="append", help="PARTY id (repeatable)")
    register.add_argument("--iswc", help="display forms accepted, e.g. T-034.524.680-1")
    register.add_argument("--language", help="e.g. en")
    register.add_argument("--date-published", help="YYYY-MM-DD")
    register.set_defaults(func=_work_register)

    register = register_command("recording", "manifestations: recordings, albums, releases "
                                             "(docs/spec/manifestation.md)")
    register.add_argument("--type", default="MusicRecording",
                          choices=["MusicRecording", "MusicAlbum", "MusicRelease"])
    register.add_argument("--name", required=True)
    register.add_argument("--work", required=True, help="the WORK id")
    register.add_argument("--link", choices=["recordingOf", "manifestationOf", "manifestationOfWork"],
                          help="how it names the work (default: recordingOf for a recording)")
    register.add_argument("--artist", required=True, action="append", help="PARTY id (repeatable)")
    register.add_argument("--isrc", help="display forms accepted, e.g. GB-AYE-69-00531")
    register.add_argument("--date-published", help="YYYY-MM-DD")
    register.add_argument("--url")
    register.set_defaults(func=_recording_register)

    register = register_command("copyright", "copyrights in works and recordings "
                                             "(docs/spec/copyright.md)", terms)
    register.add_argument("--of", required=True, help="the MANIFESTATION or WORK id")
    register.add_argument("--holder", type=_share, action="append",
                          help="PUBLIC_KEY=SHARES, summing to 100 (default: you hold all)")
    register.set_defaults(func=_copyright_register)

    right = commands.add_parser("right", help="licences: derive and assign (docs/spec/right.md)")
    right_commands = right.add_subparsers(dest="right_command", required=True)
    derive = right_commands.add_parser("derive", parents=[signer, terms],
                                       help="derive a Right from a Copyright or Right you hold")
    derive.add_argument("--source", required=True, help="the COPYRIGHT or RIGHT id")
    derive.add_argument("--usage", required=True, action="append",
                        help="on_demand_stream, non_interactive_stream, download, sync, "
                             "performance, mechanical, print (repeatable)")
    derive.add_argument("--exclusive", action="store_true")
    derive.add_argument("--uses", type=int, help="number of uses (default: unlimited)")
    derive.add_argument("--license-uri", required=True)
    derive.add_argument("--license-hash", required=True, help="sha256 of the licence, hex")
    derive.add_argument("--licensee", type=_share, action="append",
                        help="PUBLIC_KEY=SHARES, summing to 100 (default: you hold all)")
    derive.set_defaults(func=_right_derive)
    assign = right_commands.add_parser("assign", parents=[signer],
                                       help="move your shares of a Copyright or Right")
    assign.add_argument("--asset", required=True, help="the COPYRIGHT or RIGHT id")
    assign.add_argument("--to", required=True, help="the recipient's public key")
    assign.add_argument("--shares", type=int, help="how many (default: all you hold)")
    assign.add_argument("--contract-uri")
    assign.add_argument("--contract-hash", help="sha256 of the contract, hex")
    assign.set_defaults(func=_right_assign)

    show = commands.add_parser("show", help="read the registry from a node")
    views = show.add_subparsers(dest="view", required=True)
    output = argparse.ArgumentParser(add_help=False, parents=[node])
    output.add_argument("--json", action="store_true", help="the node's JSON answer")
    for view, (argument, _, _) in SHOW.items():
        parser_ = views.add_parser(view, parents=[output], help=f"GET .../{view}")
        if argument:
            parser_.add_argument(argument)
        parser_.set_defaults(func=_show)
    views.choices["rights"].add_argument("--all", action="store_true",
                                         help="the whole tree, not only direct children")
    lookup = views.choices["lookup"].add_mutually_exclusive_group(required=True)
    lookup.add_argument("--iswc", help="display forms accepted")
    lookup.add_argument("--isrc", help="display forms accepted")

    credits = commands.add_parser("credits", help="the credit token (docs/spec/credit.md)")
    credit_commands = credits.add_subparsers(dest="credits_command", required=True)
    issue = credit_commands.add_parser("issue", parents=[signer],
                                       help="create the network's credit token (a treasury key, once)")
    issue.set_defaults(func=_credits_issue)
    buy = credit_commands.add_parser("buy", parents=[signer],
                                     help="a treasury TRANSFER of credits to a listener")
    buy.add_argument("--to", required=True, help="the listener's public key")
    buy.add_argument("--tokens", required=True, type=int, help="how many (1 token = 0.001 credit)")
    buy.set_defaults(func=_credits_buy)
    balance = credit_commands.add_parser("balance", parents=[output], help="a key's credit tokens")
    balance.add_argument("public_key")
    balance.add_argument("--history", action="store_true", help="the transactions behind it")
    balance.set_defaults(func=_credits_balance)

    split = commands.add_parser("split", help="royalty splits (docs/spec/split.md)")
    split_commands = split.add_subparsers(dest="split_command", required=True)
    set_split = split_commands.add_parser("set", parents=[signer],
                                          help="set a recording's split (all Copyright holders sign)")
    set_split.add_argument("--subject", required=True, help="the MANIFESTATION or COPYRIGHT id")
    set_split.add_argument("--payee", required=True, type=_share, action="append",
                           help="PUBLIC_KEY=BASIS_POINTS (repeatable), summing to 10000")
    set_split.set_defaults(func=_split_set)
    show_split = split_commands.add_parser("show", parents=[output],
                                           help="a track's splits and the one in force")
    show_split.add_argument("track", help="the MANIFESTATION id")
    show_split.set_defaults(func=_split_show)

    play = commands.add_parser("play", parents=[signer],
                               help="play a track, paying by the stream-to-own curve (docs/spec/play.md)")
    play.add_argument("--track", required=True, help="the MANIFESTATION id")
    play.add_argument("--right", required=True, help="the RIGHT the co-op streams it under")
    play.add_argument("--territory", required=True, help="where you are: ISO 3166-1 alpha-2, e.g. GB")
    play.set_defaults(func=_play)

    tx = commands.add_parser("tx", help="transactions").add_subparsers(dest="tx_command", required=True)
    show = tx.add_parser("show", parents=[node], help="print a committed transaction")
    show.add_argument("id")
    show.set_defaults(func=_tx_show)

    report = commands.add_parser("report", parents=[node],
                                 help="a usage and royalty report computed by a node")
    report.add_argument("--scope", default="network",
                        help="network (default), track:<MANIFESTATION id> or party:<PARTY id>")
    report.add_argument("--from-height", type=int, help="first block height (inclusive)")
    report.add_argument("--to-height", type=int, help="last block height (inclusive)")
    report.add_argument("--from-time", type=_consensus_seconds,
                        help="consensus time from (inclusive): seconds or ISO 8601, UTC")
    report.add_argument("--to-time", type=_consensus_seconds,
                        help="consensus time to (exclusive): seconds or ISO 8601, UTC")
    report.add_argument("--at-height", type=int, help="compute at this block (default: latest)")
    report.add_argument("--format", default="json", choices=["json", "csv", "dsr"])
    report.add_argument("--out", type=Path, help="write it here (default: standard output)")
    report.add_argument("--charts", type=Path, help="also draw PNG charts into this directory")
    report.set_defaults(func=_report)

    audit = commands.add_parser("audit", help="recompute a report from nodes and name every "
                                              "line that differs")
    audit.add_argument("report", type=Path, nargs="?", help="a report file (JSON, CSV or DSR)")
    audit.add_argument("--totals", action="store_true",
                       help="instead, recompute the report totals each node keeps at commit "
                            "from its ledger and compare them")
    audit.add_argument("--node", required=True, action="append",
                       help="a node's HTTP API URL (repeat to compare several)")
    audit.set_defaults(func=_audit)

    summary = commands.add_parser(
        "summary", parents=[node],
        help="summary figures from the totals a node keeps at commit (fast at any size)")
    summary.add_argument("--scope", default="network",
                         help="network (default), track:<MANIFESTATION id> or party:<PARTY id>")
    summary.add_argument("--payee", help="instead of a scope: what this public key was paid")
    summary.add_argument("--from-date", help="also per consensus day from this date (YYYY-MM-DD, UTC)")
    summary.add_argument("--to-date", help="... to this date (inclusive; at most 366 days)")
    summary.add_argument("--json", action="store_true", help="print the node's JSON answer")
    summary.set_defaults(func=_summary)

    demo = commands.add_parser("demo", help="run the main job against the local testnet")
    demo.add_argument("--dir", type=Path, default=None, help="the testnet's directory")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
