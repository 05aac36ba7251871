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
    resonate channel open|top-up|play|status|settle|close|refund   plays through a payment channel
    resonate receiver serve --key FILE --store DIR           a channel receiver (docs/receiver.md)
    resonate tx show ID                                      a committed transaction
    resonate report [--scope S] [--format F] [--charts DIR]  a usage and royalty report
    resonate audit REPORT --node URL [--node URL ...]        recompute a report from nodes
    resonate config set-node URL | show                      the node used without --node
    resonate demo                                            the main job, on the local network
"""
import argparse
import contextlib
import itertools
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from bigchaindb_resonate.client import Client, ClientError, NotFoundError, TransactionRefused
from bigchaindb_resonate.testnet.cli import add_testnet_commands
from bigchaindb_resonate.testnet.compose import add_network_commands
from bigchaindb_resonate.node_commands import add_node_commands

NODE_VARIABLE = "RESONATE_NODE"
FALLBACK_NODE = "http://127.0.0.1:9984"
PROGRESS_SECONDS = 3
# `resonate` exits like a Unix tool killed by SIGPIPE when its reader goes away (`| head`).
BROKEN_PIPE_STATUS = 128 + 13
BUG_STATUS = 70  # EX_SOFTWARE (sysexits.h): an internal error, not the user's


class CommandError(Exception):
    """A failure the user can act on; the message says what to do next."""


def node_url(text):
    """A node's HTTP API URL; `HOST:PORT` alone means http://HOST:PORT."""
    url = text.strip()
    if "://" not in url:
        url = f"http://{url}"
    try:
        parts = urllib.parse.urlsplit(url)
        # `port` raises ValueError for a port that is not a number from 0 to 65535.
        valid = (parts.scheme in ("http", "https") and bool(parts.hostname)
                 and parts.port != 0)
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"`{text}` is not a node URL: give http://HOST:PORT, "
                                         f"e.g. {FALLBACK_NODE}")
    return url.rstrip("/")


def config_path():
    """Where `resonate config set-node` keeps the default node."""
    home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(home) / "resonate" / "config.json"


def _configured_node():
    """The node in the config file, if one is set there."""
    path = config_path()
    if not path.exists():
        return None
    try:
        return node_url(json.loads(path.read_text())["node"])
    except (OSError, ValueError, KeyError, TypeError, argparse.ArgumentTypeError) as exc:
        raise CommandError(f"cannot read the default node from {path} ({exc}); set it again "
                           f"with `resonate config set-node URL`") from None


def _default_node_and_source():
    """--node's default and where it comes from: $RESONATE_NODE, else the config file, else
    the first node of the default local testnet where one exists, else BigchainDB's usual
    port on this machine."""
    from bigchaindb_resonate.testnet import Testnet

    if os.environ.get(NODE_VARIABLE):
        try:
            return node_url(os.environ[NODE_VARIABLE]), f"${NODE_VARIABLE}"
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"{NODE_VARIABLE}: {exc}, or unset it") from None
    configured = _configured_node()
    if configured:
        return configured, str(config_path())
    testnet = Testnet()
    try:
        if testnet.exists:
            return testnet.nodes[0].api_url, f"the local testnet in {testnet.directory}"
    except (OSError, ValueError, KeyError) as exc:
        raise CommandError(f"cannot read the local testnet in {testnet.directory} ({exc}); "
                           f"give --node URL or set {NODE_VARIABLE}") from None
    return FALLBACK_NODE, "the usual port of a node on this machine"


def _default_node():
    return _default_node_and_source()[0]


def _config_set_node(args):
    path = config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"node": args.url}, indent=2) + "\n")
    except OSError as exc:
        raise CommandError(f"cannot write {path} ({exc.strerror}); set XDG_CONFIG_HOME to a "
                           f"directory you can write, or use ${NODE_VARIABLE}") from None
    print(f"commands without --node now use {args.url} (kept in {path})")
    return 0


def _config_show(args):
    url, source = _default_node_and_source()
    print(f"node: {url} (from {source})")
    return 0


def _node(args):
    return args.node or _default_node()


class _ProgressClient(Client):
    """A client that says on standard error what each write waits for."""

    def submit(self, tx, mode="commit"):
        tx_id = tx["id"] if isinstance(tx, dict) else tx.id
        print(f"sent {tx_id} to {self.api_url}; waiting until a block commits it",
              file=sys.stderr, flush=True)
        with _ticking(lambda: "still waiting for the commit"):
            return super().submit(tx, mode)


def _client(args):
    return Client(_node(args))


def _writing_client(args):
    return _ProgressClient(_node(args))


@contextlib.contextmanager
def _ticking(status):
    """Print `status()` and the time so far on standard error every PROGRESS_SECONDS,
    until the block ends."""
    started = time.monotonic()
    done = threading.Event()

    def tick():
        while not done.wait(PROGRESS_SECONDS):
            print(f"  {status()} ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _is_key(text):
    import base58

    try:
        return len(base58.b58decode(text)) == 32
    except (ValueError, TypeError):
        return False


def public_key(text):
    """An Ed25519 public key, base58, as `resonate keys new` prints it."""
    if not _is_key(text.strip()):
        raise argparse.ArgumentTypeError(f"`{text}` is not a public key: give the base58 key "
                                         f"`resonate keys new` printed")
    return text.strip()


def record_id(text):
    """A record's or transaction's id: 64 hex digits, as each write prints it."""
    value = text.strip().lower()
    if len(value) != 64 or value.strip("0123456789abcdef"):
        raise argparse.ArgumentTypeError(f"`{text}` is not an id: give the 64 hex digits "
                                         f"that the write which made it printed")
    return value


def country(text):
    """An ISO 3166-1 alpha-2 code or Worldwide, as records store it (` gb ` is GB)."""
    from bigchaindb_resonate.validators.terms import normalise_country

    return normalise_country(text)


def _load_keypair(path):
    from bigchaindb_resonate.conditions import KeyPair, public_key_of

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no key file {path}; make one with `resonate keys new --out {path}`"
                           if not path.exists() else f"{path} is not a file; give a key pair "
                           f"file that `resonate keys new --out FILE` wrote")
    try:
        document = json.loads(path.read_text())
        keypair = KeyPair(document["private_key"], document["public_key"])
        matching = _is_key(keypair.private_key) and public_key_of(keypair.private_key) == keypair.public_key
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        matching = False
    if not matching:
        raise CommandError(f"{path} does not hold a key pair; give the file "
                           f"`resonate keys new --out FILE` wrote (it never overwrites one)")
    return keypair


def _keys_new(args):
    from bigchaindb_resonate.conditions import generate_key_pair

    keypair = generate_key_pair()
    document = json.dumps({"public_key": keypair.public_key,
                           "private_key": keypair.private_key}, indent=2) + "\n"
    if not args.out:
        print(document, end="")
        return 0
    _write_private(args.out, document, replace=args.force)
    print(f"wrote a new key pair to {args.out} (readable by you only); public key "
          f"{keypair.public_key}")
    return 0


def _write_private(path, text, replace):
    """Write `text` to a file readable by its owner only from the moment it exists; an
    existing file is kept unless `replace`, and then swapped whole, never half-written."""
    import tempfile

    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a file name for --out")
    if path.exists() and not replace:
        raise CommandError(f"{path} exists and may hold a private key: keep it and pick another "
                           f"--out, or give --force to replace it")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise CommandError(f"cannot write in {path.parent} ({exc.strerror}); pick an --out in "
                           f"a directory you can write") from None
    try:
        with os.fdopen(descriptor, "w") as out:  # mkstemp made it mode 600
            out.write(text)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails, rather than replaces, if it appeared meanwhile
    except FileExistsError:
        raise CommandError(f"{path} appeared meanwhile; pick another --out, or give --force") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


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


def _write(args, operation, send, then=None):
    """Run `send(client)` and print the committed transaction's id, or why it failed;
    once it is committed, `then(client)` tells what follows (a balance, the next step)."""
    from bigchaindb_resonate.errors import ResonateValidationError

    client = _writing_client(args)
    try:
        tx = send(client)
    except (TransactionRefused, ResonateValidationError) as exc:
        return _refused(exc, operation)
    except ValueError as exc:
        raise CommandError(f"{exc}; see `{args.prog} --help`") from None
    print(tx["id"])
    if then is not None:
        then(_client(args))
    return 0


def played_track():
    """The options that say what is played, paid by PLAY or through a channel."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--track", required=True, type=record_id, help="the MANIFESTATION id")
    parser.add_argument("--right", required=True, type=record_id,
                        help="the RIGHT the co-op streams it under")
    parser.add_argument("--territory", required=True, type=country,
                        help="where you are: ISO 3166-1 alpha-2, any case, e.g. GB")
    return parser


def _fields(pairs):
    """The record properties whose option was given."""
    return {key: value for key, value in pairs if value not in (None, [], False)}


def _pair(unit):
    """The argument type PUBLIC_KEY=<unit>, as a (public key, integer) pair."""
    def parse(text):
        key, _, amount = text.partition("=")
        try:
            return public_key(key), int(amount)
        except (ValueError, argparse.ArgumentTypeError):
            raise argparse.ArgumentTypeError(f"`{text}` is not PUBLIC_KEY={unit}") from None
    parse.__name__ = f"PUBLIC_KEY={unit}"  # how argparse names the type in its messages
    return parse


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
    holder = _one_key(args, "an assignment's holder")
    contract = _fields([("uri", args.contract_uri), ("hash", args.contract_hash)])
    action = _fields([("transferContract", contract)])
    return _write(args, "RIGHTS_ASSIGNMENT", lambda client: client.assign(
        holder, args.asset, args.to, shares=args.shares, action=action))


def _holders_text(holders):
    return ", ".join(f"{'+'.join(entry['public_keys'])}:{entry['amount']}" for entry in holders)


def _name(data):
    from bigchaindb_resonate.reports.compute import party_name  # the reports' modules load lazily

    return party_name(data) or ""


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


# `resonate show VIEW`: (what it shows, its argument, how the client reads it, its table)
SHOW = {
    "record": ("a record (any registry type): its data and current holders", "id",
               lambda client, args: client.record(args.id), _record_rows),
    "history": ("a record's creation and every transfer, in commit order", "id",
                lambda client, args: client.history(args.id), _history_rows),
    "holders": ("who holds a record now, and how many shares", "id",
                lambda client, args: client.holders_of(args.id), _holder_rows),
    "rights": ("the Rights derived from a Copyright or Right", "id",
               lambda client, args: client.rights_of(args.id, whole_tree=args.all),
               _rights_rows),
    "holdings": ("every record a public key holds shares of", "public_key",
                 lambda client, args: client.holdings(args.public_key), _holdings_rows),
    "recordings": ("the recordings (Manifestations) of a Work", "id",
                   lambda client, args: client.recordings_of(args.id), _recordings_rows),
    "lookup": ("the Work with an ISWC or the recording with an ISRC", None,
               lambda client, args: (client.lookup_iswc(args.iswc) if args.iswc
                                     else client.lookup_isrc(args.isrc)), _lookup_rows),
}


def _nothing(what, client):
    return CommandError(f"no {what} on {client.api_url}; check it (each write prints its id), "
                        f"or ask a node that has caught up (`resonate testnet status`)")


def _found(client, what, read):
    """`read()`, or the CommandError saying what the node does not have."""
    try:
        return read()
    except NotFoundError:
        raise _nothing(what, client) from None


def _print_json(answer):
    print(json.dumps(answer, indent=2, sort_keys=True))


def _print_answer(args, client, answer, rows):
    """`answer` as JSON with --json, else as the table `rows(answer)` gives; status 0."""
    if args.json:
        _print_json(answer)
    else:
        _print_table(*_node_answer(client, rows, answer))
    return 0


def _show(args):
    _, argument, read, rows = SHOW[args.view]
    client = _client(args)
    asked = getattr(args, argument) if argument else (args.iswc or args.isrc)
    answer = _found(client, f"{args.view} for {asked}", lambda: read(client, args))
    return _print_answer(args, client, answer, rows)


def _node_answer(client, render, answer):
    """`render(answer)`; an answer without the fields a node sends comes from something
    else listening at the node's URL."""
    try:
        return render(answer)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _not_a_node(client, exc) from None


def _not_a_node(client, missing):
    return CommandError(f"{client.api_url} answered without {missing}; check that --node is a "
                        f"bigchaindb-resonate node's HTTP API, of this version "
                        f"(`resonate testnet status` lists the local nodes)")


def _one_key(args, role):
    if len(args.key) != 1:
        raise CommandError(f"{role} signs alone: give one --key")
    return _keys(args)[0]


def _credits_issue(args):
    return _write(args, "CREDIT", lambda client: client.issue_credit_token(_one_key(args, "the treasury")))


def _credits_buy(args):
    return _write(args, "TRANSFER", lambda client: client.buy_credits(
        _one_key(args, "the treasury"), args.to, args.tokens))


def _no_credit_token(client):
    return CommandError(f"no credit token on {client.api_url} yet; a treasury key creates it "
                        f"with `resonate credits issue --key TREASURY_KEY_FILE`")


def _credits_balance(args):
    client = _client(args)
    read = client.credit_history if args.history else client.balance
    try:
        answer = read(args.public_key)
    except NotFoundError:
        raise _no_credit_token(client) from None
    if args.json:
        _print_json(answer)
    elif args.history:
        _print_table(*_node_answer(client, _credit_rows, answer))
    else:
        tokens = _node_answer(client, lambda answer: int(answer["balance"]), answer)
        print(f"{tokens} tokens ({tokens // 1000}.{tokens % 1000:03d} credits)")
    return 0


def _credit_rows(answer):
    return ("height", "operation", "transaction", "received", "spent", "balance"), [
        (step["height"], step["operation"], step["transaction_id"], step["received"],
         step["spent"], step["balance"]) for step in answer["steps"]]


def _split_set(args):
    return _write(args, "SPLIT", lambda client: client.set_split(_keys(args), args.subject, args.payee))


def _split_rows(answer):
    return ("height", "split", "subject", "payees", "in force"), [
        (entry["height"], entry["id"], entry["subject"],
         ", ".join(f"{payee['publicKey']}:{payee['shareBp']}bp" for payee in entry["payees"]),
         "yes" if entry["id"] == answer["in_force"] else "") for entry in answer["splits"]]


def _split_show(args):
    client = _client(args)
    answer = _found(client, f"track {args.track}", lambda: client.splits_of(args.track))
    return _print_answer(args, client, answer, _split_rows)


def _play(args):
    listener = _one_key(args, "a listener")

    def ownership(client):
        print(_node_answer(client, lambda standing: (
            f"plays: {standing['plays']}, tokens paid: {standing['tokens_paid']}, "
            f"owned: {'yes' if standing['owned'] else 'no'}, next play: "
            f"{standing['next_price']} tokens"), client.owns(listener.public_key, args.track)))

    return _write(args, "PLAY", lambda client: client.play(listener, args.track, args.right,
                                                           args.territory), then=ownership)


def _payout_request(args):
    payee = _one_key(args, "a payee")

    def account(client):
        _print_account(client, payee.public_key)
        print("next: the treasury pays it and records the payment with `resonate payout settle "
              "--request ID --reference REF`", file=sys.stderr)

    return _write(args, "PAYOUT_REQUEST", lambda client: client.request_payout(
        payee, args.tokens, args.treasury), then=account)


def _payout_settle(args):
    treasury = _one_key(args, "the treasury")

    def account(client):
        settled = client.get_transaction(args.request)
        _print_account(client, _node_answer(client, lambda tx: tx["metadata"]["payee"], settled))

    return _write(args, "PAYOUT_SETTLE", lambda client: client.settle_payout(
        treasury, args.request, args.reference), then=account)


def _payout_cancel(args):
    signer = _one_key(args, "the payee or the treasury")
    return _write(args, "PAYOUT_CANCEL", lambda client: client.cancel_payout(signer, args.request))


def _payout_status(args):
    client = _client(args)
    if args.json:
        _print_json(client.payee_account(args.public_key))
    else:
        _print_account(client, args.public_key)
    return 0


def _print_account(client, payee):
    """A payee's account as people read it: tokens, and money at the rate in force."""
    from bigchaindb_resonate.money import format_money, money_minor

    account = client.payee_account(payee)

    def lines(account):
        currency, rate = account["currency"], account["rate"]

        def money(tokens):
            return format_money(money_minor(tokens, rate, currency), currency) if rate else "-"

        rows = [(entry["id"], entry["amount"], money(entry["amount"]), entry["requested_at"])
                for entry in account["open_requests"]]
        paid = [(entry["settlement"], entry["amount"],
                 format_money(entry["money_minor"], entry["currency"]), entry["reference"],
                 entry["height"]) for entry in account["payouts"]]
        summary = (f"{payee}: balance {account['balance']} tokens, owed {account['owed']} tokens "
                   f"({money(account['owed'])} at {rate} tokens per {currency}), paid "
                   f"{account['paid']} tokens")
        return summary, rows, paid

    summary, rows, paid = _node_answer(client, lines, account)
    print(summary)
    if rows:
        print("open requests:")
        _print_table(("request", "tokens", "money at the rate", "requested at"), rows)
    if paid:
        print("payouts:")
        _print_table(("settlement", "tokens", "paid", "reference", "height"), paid)


def _tx_show(args):
    client = _client(args)
    tx = _found(client, f"committed transaction {args.id}", lambda: client.get_transaction(args.id))
    if tx.get("id") != args.id:
        raise _not_a_node(client, f"transaction {args.id}")
    _print_json(tx)
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
    from bigchaindb_resonate.reports import dsr
    from bigchaindb_resonate.reports.charts import write_charts
    from bigchaindb_resonate.reports.formats import read_lines

    # A DSR written into a directory takes the file name DSRF gives it (its HEAD's sender,
    # recipient, service and period, its territories), known once it is written.
    named = args.out is not None and args.out.is_dir()
    if named and args.format != "dsr":
        raise CommandError(f"--out {args.out} is a directory; only a DSR is named for you: "
                           f"give a file name, or --format dsr")
    client = _client(args)
    period = _fields([("from_height", args.from_height), ("to_height", args.to_height),
                      ("from_time", args.from_time), ("to_time", args.to_time)])
    context = _found(client, f"{args.scope} (the report's --scope)",
                     lambda: client.report_context(args.scope, args.at_height))
    # Every request below reads the same block, however far the chain moves meanwhile.
    at_height = _node_answer(client, lambda context: int(context["at_height"]), context)
    print(f"computing the {args.scope} report at height {at_height} on {client.api_url}",
          file=sys.stderr, flush=True)
    path = args.out / ".report.partial" if named else args.out
    with _output(path) as out:
        out.writelines(_received(client.report(args.scope, args.format, at_height, **period)))
    if named:
        with path.open() as text:
            path = path.rename(args.out / dsr.file_name(dsr.parse(text)))
    if path:
        print(f"wrote the report at height {at_height} to {path}", file=sys.stderr)
    if args.charts:
        text = "".join(client.report(args.scope, "json", at_height, **period))
        try:
            files = write_charts(read_lines(text.splitlines(True), "json"), args.charts)
        except OSError as exc:
            raise CommandError(f"cannot draw charts into {args.charts} ({exc.strerror}); pick "
                               f"a --charts directory you can write") from None
        print("charts: " + ", ".join(map(str, files)), file=sys.stderr)
    return 0


def _received(chunks):
    """The report's chunks as they arrive, saying on standard error how much has come."""
    lines = size = 0

    def status():
        return f"received {lines:,} lines ({size / 1e6:.1f} MB) so far"

    with _ticking(status):
        for chunk in chunks:
            lines += chunk.count("\n")
            size += len(chunk)
            yield chunk


@contextlib.contextmanager
def _output(path):
    """The file at `path`, or standard output."""
    if path is None:
        yield sys.stdout
        return
    try:
        out = path.open("w")
    except OSError as exc:
        raise CommandError(f"cannot write {path} ({exc.strerror}); pick an --out you can "
                           f"write") from None
    with out:
        yield out


def _audit(args):
    from bigchaindb_resonate import host
    from bigchaindb_resonate.reports.audit import AuditError, audit, audit_balances, audit_totals
    from bigchaindb_resonate.reports.formats import ReportFormatError
    from bigchaindb_resonate.reports import statements

    if (args.report is None) == (not args.totals):
        print("error: name a report file to audit, or give --totals to audit the nodes' "
              "report totals", file=sys.stderr)
        return 2
    host.apply()  # parse PLAY transactions with our types, as a node does
    try:
        if args.totals:  # the credit balances are kept at commit beside them
            results = [("the report totals", "totals documents", audit_totals(args.node)),
                       ("the credit balances", "keys", audit_balances(args.node))]
        else:
            with args.report.open() as text:
                first = text.readline()
                if statements.is_statement(first):
                    result = statements.audit(first + text.read(), args.node)
                else:
                    result = audit(itertools.chain([first], text), args.node)
            results = [(args.report, "lines", result)]
    except OSError as exc:
        raise CommandError(f"cannot read {args.report} ({exc.strerror}); give a report file "
                           f"`resonate report --out FILE` wrote") from None
    except (AuditError, ReportFormatError, statements.StatementError, UnicodeDecodeError) as exc:
        raise CommandError(f"{exc}; give a file `resonate report --out FILE` or `resonate "
                           f"statement --out FILE` wrote, and nodes of the network it came "
                           f"from") from None
    for what, compared, result in results:
        for finding in result.findings:
            print(finding)
        verdict = "matches" if result.ok else f"does NOT match ({len(result.findings)} findings)"
        print(f"{what}: {verdict}; {result.lines} {compared} compared with {len(result.nodes)} "
              f"node(s), {result.transactions} transaction checks (id, signatures, conservation)",
              file=sys.stderr)
    return 0 if all(result.ok for _, _, result in results) else 1


def _statement(args):
    import datetime

    client = _client(args)
    period = _fields([("from_height", args.from_height), ("to_height", args.to_height),
                      ("from_time", args.from_date and _consensus_seconds(args.from_date)),
                      ("to_time", args.to_date and _consensus_seconds(
                          (datetime.date.fromisoformat(args.to_date) + datetime.timedelta(days=1)).isoformat()))])
    context = _found(client, f"block {args.at_height}", lambda: client.report_context("network", args.at_height))
    at_height = _node_answer(client, lambda context: int(context["at_height"]), context)
    print(f"computing the statement of {args.payee} at height {at_height} on {client.api_url}",
          file=sys.stderr, flush=True)
    with _ticking(lambda: "still computing"):
        text = client.statement(args.payee, args.format, at_height, **period)
    with _output(args.out) as out:
        out.write(text)
    if args.out:
        print(f"wrote the statement at height {at_height} to {args.out}; check it with "
              f"`resonate audit {args.out} --node URL`", file=sys.stderr)
    return 0


def _date(text):
    """A calendar date YYYY-MM-DD (UTC)."""
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a date: give YYYY-MM-DD") from None
    return text


def _summary(args):
    client = _client(args)
    asked = f"payee {args.payee}" if args.payee else args.scope
    answer = _found(client, asked, lambda: client.report_summary(
        None if args.payee else args.scope, args.payee, args.from_date, args.to_date))
    if args.json:
        _print_json(answer)
        return 0
    _print_table(*_node_answer(client, _summary_rows, answer))
    print(f"{answer['scope']}: plays up to height {answer['last_play_height']} (tokens: "
          f"1 token = 0.001 credit)", file=sys.stderr)
    return 0


def _summary_rows(answer):
    figures = list(answer["totals"])
    rows = [["all", *answer["totals"].values()]]
    rows += [[row["track"], *(row[name] for name in figures)] for row in answer.get("tracks", [])]
    rows += [[row["date"], *(row[name] for name in figures)] for row in answer.get("days", [])]
    return ["", *figures], rows


def _demo(args):
    from bigchaindb_resonate.demo import run

    return run(args.dir)


# -- governance: parameter elections (docs/spec/parameter_election.md)

# Blocks beyond the earliest activation a default proposal leaves for its own commit: the
# earliest height is counted from the block that carries the proposal.
PROPOSAL_MARGIN_BLOCKS = 2


def parameter_value(text):
    """A parameter's value as JSON (`15`, `"EUR"`, `["key"]`); a bare word is a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _validator_keypair(args):
    """The signing key of a validator: --key (Tendermint's priv_validator_key.json, or a
    `resonate keys new` file) or --validator (a node of the local testnet)."""
    from bigchaindb_resonate.operations.parameter_election import validator_keypair
    from bigchaindb_resonate.testnet import Testnet, TestnetError

    if args.validator:
        try:
            path = Testnet(args.dir).validator_key(args.validator).path
        except (TestnetError, OSError, ValueError, KeyError) as exc:
            raise CommandError(f"no validator key for {args.validator} in the local testnet "
                               f"({exc}); check the name with `resonate testnet status`, or "
                               f"give --key FILE") from None
    else:
        path = Path(args.key)
    try:
        return validator_keypair(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CommandError(f"{path} holds no validator key ({type(exc).__name__}); give the "
                           f"node's Tendermint priv_validator_key.json, or a key file "
                           f"`resonate keys new` wrote") from None


def _election_line(election):
    return (f"election {election['id']}: {election['parameter']} = "
            f"{json.dumps(election['value'])} from height {election['activation_height']}; "
            f"{election['status']}, {election['votes']} of {election['total']} votes "
            f"(passes at {election['needed']})")


def _governance_propose(args):
    client = _client(args)
    if args.at_height is None:
        answer = client.parameters()
        lead = _node_answer(
            client, lambda answer: answer["parameters"]["activation_lead_blocks"]["value"], answer)
        activation = answer["height"] + (args.in_blocks if args.in_blocks is not None
                                         else lead + PROPOSAL_MARGIN_BLOCKS)
    else:
        activation = args.at_height
    keypair = _validator_keypair(args)
    print(f"proposing {args.parameter} = {json.dumps(args.value)} from height {activation}",
          file=sys.stderr)

    def next_step(client):
        print("each validator votes with `resonate governance vote ELECTION_ID --validator "
              "NAME` (or --key FILE); `resonate governance status ELECTION_ID` follows it",
              file=sys.stderr)

    return _write(args, "PARAMETER_ELECTION", lambda client: client.propose_parameter(
        keypair, args.parameter, args.value, activation), then=next_step)


def _governance_vote(args):
    keypair = _validator_keypair(args)

    def election(client):
        print(_node_answer(client, _election_line, client.election(args.election)), file=sys.stderr)

    return _write(args, "PARAMETER_ELECTION", lambda client: client.vote(keypair, args.election),
                  then=election)


def _governance_status(args):
    client = _client(args)
    if args.election:
        answer = _found(client, f"parameter election {args.election}",
                        lambda: client.election(args.election))
        if args.json:
            _print_json(answer)
            return 0
        print(_node_answer(client, _election_line, answer))
        _print_table(*_node_answer(client, lambda answer: (("voter", "power", "voted"), [
            (voter["public_key"], voter["power"], "yes" if voter["voted"] else "")
            for voter in answer["voters"]]), answer))
        return 0
    answer = client.elections()
    if args.json:
        _print_json(answer)
        return 0
    elections = _node_answer(client, lambda answer: answer["elections"], answer)
    for election in elections:
        print(_node_answer(client, _election_line, election))
    if not elections:
        print(f"no parameter election is open at height {answer.get('next_height')}; a "
              f"validator proposes one with `resonate governance propose PARAMETER VALUE`",
              file=sys.stderr)
    return 0


def _governance_history(args):
    client = _client(args)
    if args.parameter:
        answer = _found(client, f"network parameter `{args.parameter}`",
                        lambda: client.parameter_history(args.parameter))
        rows = lambda answer: (("from height", "to height", "value", "election"), [
            (step["from_height"], step["to_height"] or "", json.dumps(step["value"]),
             step["election"] or "genesis") for step in answer["history"]])
    else:
        answer = _found(client, "network parameters (the genesis set none)",
                        lambda: client.parameters(args.at_height))
        rows = lambda answer: (("parameter", "value", "since height", "election"), [
            (name, json.dumps(entry["value"]), entry["since_height"], entry["election"] or "genesis")
            for name, entry in sorted(answer["parameters"].items())])
    return _print_answer(args, client, answer, rows)


def _governance_rules(args):
    client = _client(args)
    answer = client.rule_versions()
    if args.json:
        _print_json(answer)
        return 0

    def lines(answer):
        chain = answer["chain_rule_versions"]
        known = ", ".join(map(str, answer["rule_versions"]))
        said = [f"{client.api_url}: bigchaindb-resonate {answer['version']} knows rule versions "
                f"{known}; version {chain['in_force']} is in force at height {chain['next_height']}"]
        said += [f"version {entry['version']} voted in from height {entry['activation_height']} "
                 f"(election {entry['election']})" + ("" if entry["known"] else ": this node lacks it")
                 for entry in chain["scheduled"]]
        return said, chain["unknown_voted_in"]

    said, lacking = _node_answer(client, lines, answer)
    print("\n".join(said))
    if lacking:
        print(f"warning: this node lacks rules version "
              f"{', '.join(str(entry['version']) for entry in lacking)} voted in: install a "
              f"bigchaindb-resonate release that has it before its height, or the node stops "
              f"there", file=sys.stderr)
    return 0


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with each option's default where it has one and its help does not
    already say."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def command_tree(parser, path=()):
    """(command words, parser) of `parser` and every sub-command below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from command_tree(child, (*path, name))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="resonate", description=__doc__.splitlines()[0],
        epilog=f"Commands that talk to a node use --node URL, else ${NODE_VARIABLE}, else the "
               f"node `resonate config set-node` kept, else the local testnet's first node, "
               f"else {FALLBACK_NODE}. `resonate COMMAND --help` documents each command.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_testnet_commands(commands)
    add_network_commands(commands)
    add_node_commands(commands)

    node = argparse.ArgumentParser(add_help=False)
    node.add_argument("--node", type=node_url,
                      help=f"a node's HTTP API URL, e.g. http://127.0.0.1:9984 (default: "
                           f"${NODE_VARIABLE}, else `resonate config set-node`'s, else the "
                           f"local testnet's first node: `resonate config show` says which)")

    keys = commands.add_parser("keys", help="key pairs").add_subparsers(dest="keys_command", required=True)
    new = keys.add_parser("new", help="make a new Ed25519 key pair")
    new.add_argument("--out", type=Path, help="write it to this new file, readable by you only, "
                                              "instead of printing it")
    new.add_argument("--force", action="store_true",
                     help="replace --out if it exists (its private key is lost)")
    new.set_defaults(func=_keys_new)

    signer = argparse.ArgumentParser(add_help=False, parents=[node])
    signer.add_argument("--key", required=True, action="append", metavar="KEY_FILE",
                        help="key pair file from `resonate keys new` (repeat for several signers)")

    terms = argparse.ArgumentParser(add_help=False)
    terms.add_argument("--territory", required=True, action="append", type=country,
                       help="where it applies: an ISO 3166-1 alpha-2 code (any case) or "
                            "Worldwide (repeatable)")
    terms.add_argument("--exclude", action="append", type=country,
                       help="a country code left out of --territory (repeatable)")
    terms.add_argument("--valid-from", required=True, metavar="YYYY-MM-DD",
                       help="first day it applies")
    terms.add_argument("--valid-through", metavar="YYYY-MM-DD",
                       help="last day it applies (default: open-ended)")

    def register_command(noun, help_text, *parents):
        parent = commands.add_parser(noun, help=help_text)
        return parent.add_subparsers(dest=f"{noun}_command", required=True).add_parser(
            "register", parents=[signer, *parents], help=f"register a {noun} held by your key")

    register = register_command("party", "parties: artists, bands, labels, publishers, members "
                                         "(docs/spec/party.md)")
    register.add_argument("--type", required=True, choices=["Person", "Organization", "MusicGroup"],
                          help="its schema.org type: Person, Organization or MusicGroup")
    register.add_argument("--name", help="its name (a Person may give --given-name and "
                                         "--family-name instead)")
    register.add_argument("--given-name", help="a Person's given name")
    register.add_argument("--family-name", help="a Person's family name")
    register.add_argument("--isni", help="display forms accepted, e.g. 'ISNI 0000 0001 2103 2683'")
    register.add_argument("--ipi", help="IPI name number, display forms accepted")
    register.add_argument("--role", action="append",
                          help="artist, composer, lyricist, producer, label, publisher, coop_member, "
                               "listener (repeatable)")
    register.set_defaults(func=_party_register)

    register = register_command("work", "works: compositions (docs/spec/work.md)")
    register.add_argument("--name", required=True, help="the composition's title")
    register.add_argument("--composer", required=True, action="append", type=record_id,
                          help="PARTY id (repeatable)")
    register.add_argument("--lyricist", action="append", type=record_id, help="PARTY id (repeatable)")
    register.add_argument("--iswc", help="display forms accepted, e.g. T-034.524.680-1")
    register.add_argument("--language", help="e.g. en")
    register.add_argument("--date-published", metavar="YYYY-MM-DD", help="when it was published")
    register.set_defaults(func=_work_register)

    register = register_command("recording", "manifestations: recordings, albums, releases "
                                             "(docs/spec/manifestation.md)")
    register.add_argument("--type", default="MusicRecording",
                          choices=["MusicRecording", "MusicAlbum", "MusicRelease"],
                          help="its schema.org type")
    register.add_argument("--name", required=True, help="its title")
    register.add_argument("--work", required=True, type=record_id, help="the WORK id")
    register.add_argument("--link", choices=["recordingOf", "manifestationOf", "manifestationOfWork"],
                          help="how it names the work (default: recordingOf for a recording, "
                               "else manifestationOf)")
    register.add_argument("--artist", required=True, action="append", type=record_id,
                          help="PARTY id (repeatable)")
    register.add_argument("--isrc", help="display forms accepted, e.g. GB-AYE-69-00531")
    register.add_argument("--date-published", metavar="YYYY-MM-DD", help="when it was published")
    register.add_argument("--url", help="where it can be found")
    register.set_defaults(func=_recording_register)

    register = register_command("copyright", "copyrights in works and recordings "
                                             "(docs/spec/copyright.md)", terms)
    register.add_argument("--of", required=True, type=record_id,
                          help="the MANIFESTATION or WORK id")
    register.add_argument("--holder", type=_pair("SHARES"), action="append",
                          metavar="PUBLIC_KEY=SHARES",
                          help="a holder and their shares, all summing to 100 (repeatable; "
                               "default: you hold all)")
    register.set_defaults(func=_copyright_register)

    right = commands.add_parser("right", help="licences: derive and assign (docs/spec/right.md)")
    right_commands = right.add_subparsers(dest="right_command", required=True)
    derive = right_commands.add_parser("derive", parents=[signer, terms],
                                       help="derive a Right from a Copyright or Right you hold")
    derive.add_argument("--source", required=True, type=record_id, help="the COPYRIGHT or RIGHT id")
    derive.add_argument("--usage", required=True, action="append",
                        help="on_demand_stream, non_interactive_stream, download, sync, "
                             "performance, mechanical, print (repeatable)")
    derive.add_argument("--exclusive", action="store_true", help="an exclusive licence")
    derive.add_argument("--uses", type=int, help="number of uses (default: unlimited)")
    derive.add_argument("--license-uri", required=True, help="where the licence text is")
    derive.add_argument("--license-hash", required=True, help="sha256 of the licence, hex")
    derive.add_argument("--licensee", type=_pair("SHARES"), action="append",
                        metavar="PUBLIC_KEY=SHARES",
                        help="a licensee and their shares, all summing to 100 (repeatable; "
                             "default: you hold all)")
    derive.set_defaults(func=_right_derive)
    assign = right_commands.add_parser("assign", parents=[signer],
                                       help="move your shares of a Copyright or Right")
    assign.add_argument("--asset", required=True, type=record_id, help="the COPYRIGHT or RIGHT id")
    assign.add_argument("--to", required=True, type=public_key, help="the recipient's public key")
    assign.add_argument("--shares", type=int, help="how many (default: all you hold)")
    assign.add_argument("--contract-uri", help="where the assignment contract is")
    assign.add_argument("--contract-hash", help="sha256 of the contract, hex")
    assign.set_defaults(func=_right_assign)

    show = commands.add_parser("show", help="read the registry from a node (records, history, "
                                            "holders, rights, holdings, recordings, lookup)")
    views = show.add_subparsers(dest="view", required=True)
    output = argparse.ArgumentParser(add_help=False, parents=[node])
    output.add_argument("--json", action="store_true", help="print the node's JSON answer")
    for view, (help_text, argument, _, _) in SHOW.items():
        view_parser = views.add_parser(view, parents=[output], help=help_text)
        if argument == "id":
            view_parser.add_argument("id", type=record_id, help="the record's id")
        elif argument == "public_key":
            view_parser.add_argument("public_key", type=public_key, help="the holder's public key")
        view_parser.set_defaults(func=_show)
    views.choices["rights"].add_argument("--all", action="store_true",
                                         help="the whole tree, not only direct children")
    lookup = views.choices["lookup"].add_mutually_exclusive_group(required=True)
    lookup.add_argument("--iswc", help="a Work's ISWC; display forms accepted")
    lookup.add_argument("--isrc", help="a recording's ISRC; display forms accepted")

    credits = commands.add_parser("credits", help="the credit token (docs/spec/credit.md)")
    credit_commands = credits.add_subparsers(dest="credits_command", required=True)
    issue = credit_commands.add_parser("issue", parents=[signer],
                                       help="create the network's credit token (a treasury key, once)")
    issue.set_defaults(func=_credits_issue)
    buy = credit_commands.add_parser("buy", parents=[signer],
                                     help="a treasury TRANSFER of credits to a listener")
    buy.add_argument("--to", required=True, type=public_key, help="the listener's public key")
    buy.add_argument("--tokens", required=True, type=int, help="how many (1 token = 0.001 credit)")
    buy.set_defaults(func=_credits_buy)
    balance = credit_commands.add_parser("balance", parents=[output], help="a key's credit tokens")
    balance.add_argument("public_key", type=public_key, help="whose balance")
    balance.add_argument("--history", action="store_true", help="the transactions behind it")
    balance.set_defaults(func=_credits_balance)

    split = commands.add_parser("split", help="royalty splits (docs/spec/split.md)")
    split_commands = split.add_subparsers(dest="split_command", required=True)
    set_split = split_commands.add_parser("set", parents=[signer],
                                          help="set a recording's split (all Copyright holders sign)")
    set_split.add_argument("--subject", required=True, type=record_id,
                           help="the MANIFESTATION or COPYRIGHT id")
    set_split.add_argument("--payee", required=True, type=_pair("BASIS_POINTS"), action="append",
                           metavar="PUBLIC_KEY=BASIS_POINTS",
                           help="a payee and their share in basis points, all summing to 10000 "
                                "(repeatable)")
    set_split.set_defaults(func=_split_set)
    show_split = split_commands.add_parser("show", parents=[output],
                                           help="a track's splits and the one in force")
    show_split.add_argument("track", type=record_id, help="the MANIFESTATION id")
    show_split.set_defaults(func=_split_show)

    play = commands.add_parser("play", parents=[signer, played_track()],
                               help="play a track, paying by the stream-to-own curve (docs/spec/play.md)")
    play.set_defaults(func=_play)

    payout = commands.add_parser("payout", help="payouts of tokens in money (docs/spec/payout_request.md)")
    payout_commands = payout.add_subparsers(dest="payout_command", required=True)
    request = payout_commands.add_parser(
        "request", parents=[signer], help="ask for some of your tokens to be paid out (at least "
                                          "the network's payout_threshold)")
    request.add_argument("--tokens", required=True, type=int, help="how many (1 token = 0.001 credit)")
    request.add_argument("--treasury", type=public_key,
                         help="the treasury key to settle it (default: the network's first)")
    request.set_defaults(func=_payout_request)
    settle = payout_commands.add_parser(
        "settle", parents=[signer], help="record, as the request's treasury key, that you paid it")
    settle.add_argument("--request", required=True, type=record_id, help="the PAYOUT_REQUEST id")
    settle.add_argument("--reference", required=True,
                        help="the payment's reference (bank or payment provider transfer id)")
    settle.set_defaults(func=_payout_settle)
    cancel = payout_commands.add_parser(
        "cancel", parents=[signer], help="withdraw (payee) or refuse (treasury) an open request")
    cancel.add_argument("--request", required=True, type=record_id, help="the PAYOUT_REQUEST id")
    cancel.set_defaults(func=_payout_cancel)
    payout_status = payout_commands.add_parser("status", parents=[output],
                                        help="what a payee is owed and was paid")
    payout_status.add_argument("public_key", type=public_key, help="the payee's public key")
    payout_status.set_defaults(func=_payout_status)

    tx = commands.add_parser("tx", help="transactions").add_subparsers(dest="tx_command", required=True)
    show = tx.add_parser("show", parents=[node], help="print a committed transaction")
    show.add_argument("id", type=record_id, help="the transaction's id")
    show.set_defaults(func=_tx_show)

    report = commands.add_parser("report", parents=[node],
                                 help="a usage and royalty report computed by a node")
    report.add_argument("--scope", default="network",
                        help="network, track:<MANIFESTATION id> or party:<PARTY id>")
    report.add_argument("--from-height", type=int, help="first block height (inclusive)")
    report.add_argument("--to-height", type=int, help="last block height (inclusive)")
    report.add_argument("--from-time", type=_consensus_seconds,
                        help="consensus time from (inclusive): seconds or ISO 8601, UTC")
    report.add_argument("--to-time", type=_consensus_seconds,
                        help="consensus time to (exclusive): seconds or ISO 8601, UTC")
    report.add_argument("--at-height", type=int, help="compute at this block (default: latest)")
    report.add_argument("--format", default="json", choices=["json", "csv", "dsr"],
                        help="json or csv (every line), or dsr (a DDEX DSRF Basic Audio "
                             "Profile flat file)")
    report.add_argument("--out", type=Path, help="write it here (default: standard output); a "
                                                 "directory: a DSR under its standard file name")
    report.add_argument("--charts", type=Path, help="also draw PNG charts into this directory")
    report.set_defaults(func=_report)

    statement = commands.add_parser("statement", parents=[node],
                                    help="a payee's statement for a period, computed by a node")
    statement.add_argument("--payee", required=True, type=public_key, help="the payee's public key")
    statement.add_argument("--from-date", type=_date, help="first day (YYYY-MM-DD, UTC, inclusive)")
    statement.add_argument("--to-date", type=_date, help="last day (YYYY-MM-DD, UTC, inclusive)")
    statement.add_argument("--from-height", type=int, help="first block height (inclusive)")
    statement.add_argument("--to-height", type=int, help="last block height (inclusive)")
    statement.add_argument("--at-height", type=int, help="compute at this block (default: latest)")
    statement.add_argument("--format", default="html", choices=["json", "csv", "html"],
                           help="json or csv (every line), or html (a printable page)")
    statement.add_argument("--out", type=Path, help="write it here (default: standard output)")
    statement.set_defaults(func=_statement)

    audit = commands.add_parser("audit", help="recompute a report or a statement from nodes "
                                              "and name every line that differs")
    audit.add_argument("report", type=Path, nargs="?",
                       help="a report (JSON, CSV or DSR) or statement (JSON, CSV or HTML) file")
    audit.add_argument("--totals", action="store_true",
                       help="instead, recompute the report totals and credit balances each "
                            "node keeps at commit from its ledger and compare them")
    audit.add_argument("--node", required=True, action="append", type=node_url,
                       help="a node's HTTP API URL (repeat to compare several)")
    audit.set_defaults(func=_audit)

    summary = commands.add_parser(
        "summary", parents=[node],
        help="summary figures from the totals a node keeps at commit (fast at any size)")
    summary.add_argument("--scope", default="network",
                         help="network, track:<MANIFESTATION id> or party:<PARTY id>")
    summary.add_argument("--payee", type=public_key,
                         help="instead of a scope: what this public key was paid")
    summary.add_argument("--from-date", help="also per consensus day from this date (YYYY-MM-DD, UTC)")
    summary.add_argument("--to-date", help="... to this date (inclusive; at most 366 days)")
    summary.add_argument("--json", action="store_true", help="print the node's JSON answer")
    summary.set_defaults(func=_summary)

    governance = commands.add_parser(
        "governance", help="parameter elections: the validators change a network parameter "
                           "from an agreed height (docs/spec/parameter_election.md)")
    governance_commands = governance.add_subparsers(dest="governance_command", required=True)
    validator = argparse.ArgumentParser(add_help=False, parents=[node])
    signing = validator.add_mutually_exclusive_group(required=True)
    signing.add_argument("--validator", metavar="NAME",
                         help="sign with this local testnet node's validator key, e.g. node1")
    signing.add_argument("--key", metavar="KEY_FILE",
                         help="sign with this validator key: the node's Tendermint "
                              "priv_validator_key.json")
    validator.add_argument("--dir", type=Path, default=None,
                           help="the local testnet's directory, for --validator (default: the "
                                "local testnet's)")
    propose = governance_commands.add_parser(
        "propose", parents=[validator], help="propose a new value of a network parameter")
    propose.add_argument("parameter", help="its name (docs/spec/parameters.md), e.g. coop_share_bp")
    propose.add_argument("value", type=parameter_value,
                         help="the new value as JSON, e.g. 1500, '\"EUR\"' or '[\"KEY\"]'")
    when = propose.add_mutually_exclusive_group()
    when.add_argument("--at-height", type=int, help="the height it is in force from")
    when.add_argument("--in-blocks", type=int,
                      help="in force this many blocks after the next one (default: the "
                           f"network's activation_lead_blocks + {PROPOSAL_MARGIN_BLOCKS})")
    propose.set_defaults(func=_governance_propose)
    vote = governance_commands.add_parser("vote", parents=[validator],
                                          help="vote for a parameter election with all your votes")
    vote.add_argument("election", type=record_id, help="the election's id, as propose printed it")
    vote.set_defaults(func=_governance_vote)
    election_status = governance_commands.add_parser(
        "status", parents=[output], help="an election's votes and status, or every open election")
    election_status.add_argument("election", type=record_id, nargs="?",
                                 help="the election's id (default: list the open ones)")
    election_status.set_defaults(func=_governance_status)
    history = governance_commands.add_parser(
        "history", parents=[output],
        help="a parameter's values over time with the elections that set them, or every "
             "parameter in force")
    history.add_argument("parameter", nargs="?", help="its name (default: every parameter in force)")
    history.add_argument("--at-height", type=int, help="without a parameter: in force at this "
                                                       "height (default: the next block)")
    history.set_defaults(func=_governance_history)
    rules = governance_commands.add_parser(
        "rules", parents=[output],
        help="the rule versions the node knows, the one in force and those voted in "
             "(docs/spec/rule_versions.md); a rule version is proposed as the parameter "
             "rules_version")
    rules.set_defaults(func=_governance_rules)

    config = commands.add_parser("config", help="settings kept for later commands")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    set_node = config_commands.add_parser(
        "set-node", help="the node commands use without --node (unless $RESONATE_NODE is set)")
    set_node.add_argument("url", type=node_url, help="its HTTP API URL, e.g. http://127.0.0.1:9984")
    set_node.set_defaults(func=_config_set_node)
    config_commands.add_parser("show", help="the node commands use without --node, and why"
                               ).set_defaults(func=_config_show)

    from bigchaindb_resonate.receiver.commands import add_commands as add_channel_commands

    add_channel_commands(commands, node, signer)

    demo = commands.add_parser("demo", help="run the main job against the local testnet")
    demo.add_argument("--dir", type=Path, default=None,
                      help="the testnet's directory (default: the local testnet's)")
    demo.set_defaults(func=_demo)

    for words, command in command_tree(parser):
        command.formatter_class = HelpFormatter
        command.set_defaults(prog=command.prog)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        status = args.func(args)
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return status
    except BrokenPipeError:
        # Nobody reads the rest: stop quietly, as `| head` expects.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_STATUS
    except (CommandError, ClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort; tests/unit/test_cli.py fails on this message
        if os.environ.get("RESONATE_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}\n"
              f"  this is a bug in resonate: please report it with the command you ran "
              f"(RESONATE_DEBUG=1 shows where it happened)", file=sys.stderr)
        return BUG_STATUS


if __name__ == "__main__":
    sys.exit(main())
