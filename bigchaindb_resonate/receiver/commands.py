"""`resonate receiver serve` and `resonate channel open|top-up|play|status|settle|close|refund`.

`add_commands(commands, node, signer)` adds both to the `resonate` command line (cli.py);
each sub-command sets `func`, which takes the parsed arguments and returns an exit code.
Channels are the network's (docs/spec/channels.md); the receiver is docs/receiver.md.
"""
import argparse
import os
import sys
import time
from pathlib import Path

RECEIVER_VARIABLE = "RESONATE_RECEIVER"
DEFAULT_PORT = 7400
DEFAULT_RECEIVER = f"http://127.0.0.1:{DEFAULT_PORT}"


def listen_address(text):
    """HOST:PORT to listen on (PORT alone means 127.0.0.1:PORT)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"`{text}` is not HOST:PORT: give e.g. "
                                         f"127.0.0.1:{DEFAULT_PORT}")
    return host or "127.0.0.1", int(port)


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"`{text}` is not a positive number")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def add_commands(commands, node, signer):
    from bigchaindb_resonate.cli import node_url, played_track, public_key, record_id

    receiver_url = argparse.ArgumentParser(add_help=False)
    receiver_url.add_argument("--receiver", type=node_url,
                              help=f"the receiver's URL (default: ${RECEIVER_VARIABLE}, else "
                                   f"{DEFAULT_RECEIVER})")

    receiver = commands.add_parser("receiver", help="run a payment-channel receiver "
                                                    "(docs/receiver.md)")
    serve = receiver.add_subparsers(dest="receiver_command", required=True).add_parser(
        "serve", help="accept play vouchers and settle them on the ledger")
    serve.add_argument("--key", required=True, metavar="KEY_FILE",
                       help="the receiver's key pair file: the platform key or one of the "
                            "network's receiver_keys")
    serve.add_argument("--store", required=True, type=Path,
                       help="directory of its durable store (made if missing; one per key)")
    serve.add_argument("--node", type=node_url, action="append",
                       help="a node's HTTP API URL (repeat: it reads and settles through any "
                            "that answers; default: every node of the local testnet, else "
                            "the node other commands use)")
    serve.add_argument("--listen", type=listen_address, default=f"127.0.0.1:{DEFAULT_PORT}",
                       help="HOST:PORT to answer players on")
    serve.add_argument("--settle-every", type=positive(float), default=30.0,
                       help="seconds between settlements (at most half the network's settle "
                            "delay)")
    serve.add_argument("--settle-after", type=positive(int), default=1000,
                       help="settle as soon as this many vouchers are unsettled")
    serve.set_defaults(func=_serve)

    channel = commands.add_parser("channel", help="payment channels: plays off the ledger, "
                                                  "settled by it (docs/spec/channels.md)")
    channel_commands = channel.add_subparsers(dest="channel_command", required=True)
    open_ = channel_commands.add_parser("open", parents=[signer],
                                        help="lock credits in a channel towards a receiver")
    open_.add_argument("--deposit", required=True, type=positive(int),
                       help="tokens vouchers may spend in all (1 token = 0.001 credit)")
    open_.add_argument("--receiver-key", type=public_key,
                       help="the receiver's public key (default: the network's platform key)")
    open_.set_defaults(func=_open)
    top_up = channel_commands.add_parser("top-up", parents=[signer],
                                         help="add credits to your open channel")
    top_up.add_argument("--channel", required=True, type=record_id, help="the channel id")
    top_up.add_argument("--tokens", required=True, type=positive(int), help="how many to add")
    top_up.set_defaults(func=_top_up)
    play = channel_commands.add_parser(
        "play", parents=[signer, receiver_url, played_track()],
        help="play a track: sign its voucher and have the receiver accept it")
    play.add_argument("--channel", type=record_id, help="the channel (default: your open one)")
    play.set_defaults(func=_play)
    status = channel_commands.add_parser(
        "status", parents=[node, receiver_url],
        help="a channel on the ledger and at its receiver")
    which = status.add_mutually_exclusive_group(required=True)
    which.add_argument("--channel", type=record_id, help="the channel id")
    which.add_argument("--listener", type=public_key, help="a listener's public key: their "
                                                           "open or closing channel")
    status.add_argument("--json", action="store_true", help="print both answers as JSON")
    status.set_defaults(func=_status)
    settle = channel_commands.add_parser("settle", parents=[receiver_url],
                                         help="have the receiver settle a channel now")
    settle.add_argument("--channel", required=True, type=record_id, help="the channel id")
    settle.set_defaults(func=_settle)
    for name, help_text, func in (
            ("close", "start closing a channel (either side): its receiver may settle until "
                      "the delay ends", _close),
            ("refund", "once a closing channel's delay has ended, return what is left to "
                       "the listener", _refund)):
        command = channel_commands.add_parser(name, parents=[signer], help=help_text)
        command.add_argument("--channel", required=True, type=record_id, help="the channel id")
        command.set_defaults(func=func)


def _base():
    from bigchaindb_resonate import cli

    return cli


def _receiver_client(args):
    from bigchaindb_resonate.client import ReceiverClient

    url = args.receiver or os.environ.get(RECEIVER_VARIABLE) or DEFAULT_RECEIVER
    try:
        url = _base().node_url(url)
    except argparse.ArgumentTypeError as exc:
        raise _base().CommandError(f"{RECEIVER_VARIABLE}: {exc}, or unset it") from None
    return ReceiverClient(url)


def _receiver_refused(refusal):
    print(f"refused by the receiver: {refusal.detail}", file=sys.stderr)
    for label in ("code", "field", "expected"):
        if getattr(refusal, label, None):
            print(f"  {label + ':':<10}{getattr(refusal, label)}", file=sys.stderr)
    print("  " + ("try again shortly; " if refusal.retry else "")
          + "see docs/receiver.md for every code", file=sys.stderr)
    return 2


# -- the receiver

def _serve(args):
    cli = _base()
    from bigchaindb_resonate.receiver import ReceiverSetupError, StoreError, open_receiver, serve

    keypair = cli._load_keypair(args.key)
    nodes = args.node or _local_nodes() or [cli._default_node()]
    print(f"starting the receiver {keypair.public_key} on the store in {args.store}, reading "
          f"the ledger through {', '.join(nodes)}", file=sys.stderr, flush=True)
    try:
        receiver = open_receiver(keypair, args.store, nodes, args.settle_every, args.settle_after)
    except (ReceiverSetupError, StoreError) as exc:
        raise cli.CommandError(str(exc)) from None

    def ready(address):
        print(f"receiver listening on http://{address[0]}:{address[1]} (settling every "
              f"{receiver.settle_every:g}s or after {receiver.settle_after} vouchers; "
              f"{receiver.store.count()} vouchers stored)", flush=True)

    try:
        return serve(receiver, *args.listen, ready)
    except OSError as exc:
        raise cli.CommandError(f"cannot listen on {args.listen[0]}:{args.listen[1]} "
                               f"({exc.strerror}); pick another --listen") from None


def _local_nodes():
    from bigchaindb_resonate.testnet import Testnet

    try:
        testnet = Testnet()
        return [node.api_url for node in testnet.nodes] if testnet.exists else []
    except (OSError, ValueError, KeyError):
        return []


# -- channels on the ledger

def _open(args):
    cli = _base()
    listener = cli._one_key(args, "a listener")

    def send(client):
        receiver = args.receiver_key
        if receiver is None:
            parameters, = client._fields(client.network(), "parameters")
            if not parameters:
                raise cli.CommandError(f"{client.api_url} has no network parameters; give "
                                       f"--receiver-key")
            receiver = parameters["platform_key"]
        print(f"opening a channel of {args.deposit} tokens towards {receiver}", file=sys.stderr)
        return client.open_channel(listener, receiver, args.deposit)

    return cli._write(args, "CHANNEL_OPEN", send, then=lambda client: print(
        "play through it with `resonate channel play --key KEY_FILE --track ID --right ID "
        "--territory CC`", file=sys.stderr))


def _top_up(args):
    cli = _base()
    listener = cli._one_key(args, "the channel's listener")
    return cli._write(args, "CHANNEL_TOPUP",
                      lambda client: client.top_up_channel(listener, args.channel, args.tokens))


def _close(args):
    cli = _base()
    keypair = cli._one_key(args, "one side of the channel")
    return cli._write(args, "CHANNEL_CLOSE", lambda client: client.close_channel(keypair, args.channel),
                      then=lambda client: print("closing: the receiver may settle until the delay "
                                                "ends; then `resonate channel refund` returns the "
                                                "rest", file=sys.stderr))


def _refund(args):
    cli = _base()
    keypair = cli._one_key(args, "one side of the channel")
    return cli._write(args, "CHANNEL_REFUND", lambda client: client.refund_channel(keypair, args.channel))


CHANNEL_FIELDS = ("channel", "status", "listener", "receiver", "deposit", "sequence", "settled")


def _ledger_channel(client, args):
    """The channel's state as the node reads it (by --channel, else the listener's)."""
    cli = _base()
    if getattr(args, "channel", None):
        state = cli._found(client, f"channel {args.channel}", lambda: client.channel(args.channel))
    else:
        try:
            state = client.listener_channel(args.listener)
        except cli.NotFoundError:
            raise cli.CommandError(f"{args.listener} has no open channel on {client.api_url}; "
                                   f"open one with `resonate channel open --key KEY_FILE "
                                   f"--deposit TOKENS`") from None
    if not isinstance(state, dict) or not all(field in state for field in CHANNEL_FIELDS):
        raise cli._not_a_node(client, "a channel's fields")
    return state


# -- through the receiver

def _play(args):
    cli = _base()
    from bigchaindb_resonate.client import ChannelPlayer, ReceiverRefused

    listener = cli._one_key(args, "a listener")
    channel_id = args.channel
    if channel_id is None:
        args.listener = listener.public_key
        channel_id = _ledger_channel(cli._client(args), args)["channel"]
    player = ChannelPlayer(_receiver_client(args), listener, channel_id)
    started = time.perf_counter()
    try:
        answer = player.play(args.track, args.right, args.territory)
    except ReceiverRefused as refusal:
        return _receiver_refused(refusal)
    took = (time.perf_counter() - started) * 1000
    print(f"accepted by {player.receiver.url} in {took:.0f} ms: play {answer['play'] + 1} of "
          f"the track (sequence {answer['sequence']}, channel total {answer['total']} tokens)"
          + (" (already held)" if answer.get("duplicate") else ""))
    return 0


def _status(args):
    cli = _base()
    from bigchaindb_resonate.client import ClientError

    client = cli._client(args)
    state = _ledger_channel(client, args)
    at_receiver, unreachable = None, None
    try:
        at_receiver = _receiver_client(args).channel(state["channel"])
    except ClientError as exc:
        unreachable = str(exc)
    if args.json:
        cli._print_json({"ledger": state, "receiver": at_receiver})
        return 0
    cli._print_table(("", "ledger", "receiver"), [
        ("channel", state["channel"], ""), ("status", state["status"], ""),
        ("listener", state["listener"], ""), ("receiver", state["receiver"], ""),
        ("deposit", state["deposit"], ""), ("closes at", state.get("closes_at") or "", ""),
        ("sequence", state["sequence"], at_receiver["sequence"] if at_receiver else "?"),
        ("total paid", state["settled"], at_receiver["total"] if at_receiver else "?"),
    ])
    if unreachable:
        print(f"receiver: {unreachable}", file=sys.stderr)
    elif at_receiver["sequence"] > state["sequence"]:
        print(f"{at_receiver['sequence'] - state['sequence']} vouchers accepted, not settled "
              f"yet (`resonate channel settle --channel {state['channel']}` settles now)",
              file=sys.stderr)
    return 0


def _settle(args):
    from bigchaindb_resonate.client import ReceiverRefused

    receiver = _receiver_client(args)
    print(f"asking {receiver.url} to settle {args.channel}; waiting for the commit",
          file=sys.stderr, flush=True)
    try:
        with _base()._ticking(lambda: "still settling"):
            answer = receiver.settle(args.channel)
    except ReceiverRefused as refusal:
        return _receiver_refused(refusal)
    print(f"settled through sequence {answer['settled_sequence']} ({answer['settled_total']} "
          f"tokens paid in all; {answer['settlements']} settlement(s) now)")
    return 0
