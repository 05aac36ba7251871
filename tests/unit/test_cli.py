"""`resonate` never prints a traceback and every failure says what to do next.

The whole command tree is walked (argparse's own tree, so a new command is covered without
touching this file) and each command runs with hostile arguments: nothing at all, junk of
the wrong type, well-formed ids nobody registered, missing files, a node URL without a
scheme, a loopback port where nothing listens, and two real HTTP servers on loopback that
are not BigchainDB nodes (one answering text like Tendermint's RPC, one answering JSON).

The matrix runs in-process through `cli.main`, which is all the console script runs
(`resonate = bigchaindb_resonate.cli:main`), so an exception escaping it is the traceback
a user would see. What only a real process shows (the exit status, a reader that went away)
is checked by running .venv/bin/resonate itself, for the failures first reported and for
a closed pipe.
"""
import argparse
import contextlib
import http.server
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bigchaindb.common.crypto import generate_key_pair

from bigchaindb_resonate import cli

RESONATE = Path(sys.executable).parent / "resonate"
UNKNOWN_ID = "0" * 64
UNKNOWN_KEY = generate_key_pair().public_key
BUG = "this is a bug in resonate"
# Words and forms that tell the user what to do next: a command, an option, a verb.
NEXT_STEP = re.compile(r"usage: |`resonate [^`]+`|--[a-z]|\b(give|check|pick|make|run|start|"
                       r"try|set|use|see|ask|keep|wait|unset|report it)\b")
# Commands whose well-formed run would start a network; they get only values they refuse.
STARTS_PROCESSES = {("testnet", "up"), ("demo",), ("receiver", "serve")}


def leaf_commands():
    return [(words, parser) for words, parser in cli.command_tree(cli.build_parser())
            if not any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)]


LEAVES = leaf_commands()


# -- servers on loopback that are not nodes

class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"404 page not found\n"
    content_type = "text/plain; charset=utf-8"
    status = 404

    def _answer(self):
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class _JsonHandler(_Handler):
    """Answers any path with the JSON-RPC shape Tendermint's RPC uses at its root."""
    body = json.dumps({"jsonrpc": "2.0", "id": "", "result": {"node_info": {}}}).encode()
    content_type = "application/json"
    status = 200


@contextlib.contextmanager
def serving(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def urls():
    """Node URLs that are not nodes: refused connections, text, JSON that is not ours."""
    with socket.socket() as unlistened, serving(_Handler) as text, serving(_JsonHandler) as json_:
        unlistened.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = unlistened.getsockname()[1]
        yield {"nothing listening": f"http://127.0.0.1:{port}",
               "no scheme": f"127.0.0.1:{port}", "text service": text, "json service": json_}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    keypair = generate_key_pair()
    (root / "key.json").write_text(json.dumps({"public_key": keypair.public_key,
                                               "private_key": keypair.private_key}))
    (root / "junk.json").write_text("not json at all {")
    (root / "empty.json").write_text("{}")
    (root / "not-a-key.json").write_text(json.dumps({"public_key": "x", "private_key": "y"}))
    return root


# -- hostile values, chosen by what each argument is

def value(action, scenario, urls, files):
    """The hostile value `scenario` gives `action`."""
    kind = action.type
    if kind is cli.node_url:
        return urls[scenario] if scenario in urls else urls["nothing listening"]
    if scenario == "junk":
        return "%%junk%%"
    if action.dest == "key":
        return str(files / {"missing files": "missing.json", "not a key": "not-a-key.json",
                            "text service": "junk.json"}.get(scenario, "key.json"))
    if kind is Path and action.dest in ("report", "genesis"):  # files read
        return str(files / {"missing files": "missing.json", "not a key": "empty.json"}.get(
            scenario, "junk.json"))
    if kind is Path:  # files and directories written
        return str(files / ("missing" if scenario == "missing files" else "out") / action.dest)
    if action.choices:
        return next(iter(action.choices))
    if kind is int:
        return "-1"
    if kind is float:
        return "0"
    if kind is cli.record_id:
        return UNKNOWN_ID
    if kind is cli.public_key:
        return UNKNOWN_KEY
    if kind is cli.country:
        return " zz "
    if getattr(kind, "__name__", "").startswith("PUBLIC_KEY="):
        return f"{UNKNOWN_KEY}=100"
    if kind is cli._consensus_seconds:
        return "2020-01-01"
    return {"peer": f"{'ab' * 20}@127.0.0.1:26656", "name": "nosuchnode", "scope": f"track:{UNKNOWN_ID}"
            }.get(action.dest, "nosuch")


SCENARIOS = ["bare", "junk", "missing files", "not a key", "nothing listening", "no scheme",
             "text service", "json service"]


def argv_for(words, parser, scenario, urls, files):
    argv = list(words)
    if scenario == "bare":
        return argv
    exclusive = {id(action) for group in parser._mutually_exclusive_groups
                 for action in group._group_actions[1:]}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or id(action) in exclusive:
            continue
        if action.nargs == 0:  # a flag
            if action.option_strings and action.dest != "force":
                argv.append(action.option_strings[0])
            continue
        given = value(action, scenario, urls, files)
        if tuple(words) in STARTS_PROCESSES and action.dest == "nodes":
            given = "0"  # the only well-formed value `up` refuses before starting anything
        argv += [action.option_strings[0], given] if action.option_strings else [given]
    return argv


def run_in_process(argv, monkeypatch, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exc:  # argparse's usage errors and --help
            status = exc.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real testnet, node setting or cache of the machine is read, and no network is
    started: a hostile argument that got that far fails the test instead."""
    from bigchaindb_resonate.testnet import Testnet

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(Testnet, "_start_supervisor",
                        lambda *args: pytest.fail("a hostile argument started a network"))
    monkeypatch.delenv(cli.NODE_VARIABLE, raising=False)
    monkeypatch.delenv("RESONATE_DEBUG", raising=False)


def assert_says_what_to_do(argv, status, out, err):
    shown = " ".join(argv)
    assert "Traceback" not in out + err, f"resonate {shown}\n{err}"
    assert BUG not in err, f"resonate {shown}\n{err}"
    if status not in (0, None):
        assert err.strip(), f"resonate {shown} failed ({status}) saying nothing"
        assert NEXT_STEP.search(err), f"resonate {shown} does not say what to do next:\n{err}"


@pytest.mark.parametrize("words, parser", LEAVES, ids=[" ".join(words) for words, _ in LEAVES])
def test_every_command_with_hostile_arguments_says_what_to_do_and_never_crashes(
        words, parser, urls, files, monkeypatch, tmp_path):
    seen = set()
    for scenario in SCENARIOS:
        if scenario == "bare" and tuple(words) in STARTS_PROCESSES:
            continue
        argv = argv_for(words, parser, scenario, urls, files)
        if tuple(argv) in seen:
            continue
        seen.add(tuple(argv))
        status, out, err = run_in_process(argv, monkeypatch, tmp_path)
        assert_says_what_to_do(argv, status, out, err)
        if tuple(words) in STARTS_PROCESSES:
            assert status != 0, f"resonate {' '.join(argv)} was meant to be refused"


def test_the_tree_has_every_command_group():
    groups = {words[0] for words, _ in LEAVES}
    assert {"testnet", "network", "keys", "party", "work", "recording", "copyright", "right",
            "show", "credits", "split", "play", "tx", "report", "audit", "config", "demo",
            "governance", "channel", "receiver"} <= groups
    assert len(LEAVES) >= 30


@pytest.mark.parametrize("words, parser", LEAVES, ids=[" ".join(words) for words, _ in LEAVES])
def test_help_documents_every_option_and_its_default(words, parser):
    for action in parser._actions:
        assert action.help, f"resonate {' '.join(words)}: {action.dest} has no help"
    text = parser.format_help()
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
            described = parser.formatter_class(parser.prog)._get_help_string(action)
            assert "default" in described, f"resonate {' '.join(words)} {action.option_strings[0]}"
    assert "Traceback" not in text


# -- the real entry point

def run(*argv, env=None):
    return subprocess.run([str(RESONATE), *map(str, argv)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_the_failures_first_reported_are_answers_through_the_real_entry_point(urls, files, tmp_path):
    (tmp_path / "genesis.json").write_text(json.dumps({"genesis_time": "2020-01-01T00:00:00Z"}))
    key, unlistened = files / "key.json", urls["nothing listening"]
    cases = [
        ["show", "record", UNKNOWN_ID, "--node", urls["no scheme"]],
        ["play", "--key", key, "--track", UNKNOWN_ID, "--right", UNKNOWN_ID, "--territory", "GB",
         "--node", urls["json service"]],
        ["credits", "balance", "not-a-key", "--node", unlistened],
        ["network", "member", "--name", "m", "--host", "h", "--genesis", tmp_path / "genesis.json",
         "--peer", f"{'ab' * 20}@h:26656", "--out", tmp_path / "member"],
        ["show", "holdings", UNKNOWN_KEY, "--node", urls["text service"]],  # like Tendermint's RPC
        ["keys", "new", "--out", key],
    ]
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda argv: (argv, run(*argv, env=env)), cases))
    for argv, result in results:
        assert result.returncode in (1, 2), (argv, result.stderr)
        assert_says_what_to_do([str(arg) for arg in argv], result.returncode, result.stdout,
                               result.stderr)
    assert "chain_id" in results[3][1].stderr and "genesis.json" in results[3][1].stderr
    assert "--force" in results[5][1].stderr


@pytest.mark.parametrize("argv, status", [
    (["keys", "new"], cli.BROKEN_PIPE_STATUS),
    (["--help"], 0),  # argparse writes help and exits 0 itself, ignoring a closed pipe
])
def test_a_reader_that_goes_away_ends_it_quietly(argv, status):
    process = subprocess.Popen([str(RESONATE), *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # like `| head` that has read enough before anything came
    err = process.stderr.read()
    assert process.wait(timeout=60) == status, err
    assert err == ""


# -- key files

def test_keys_new_refuses_to_overwrite_and_writes_owner_only_files(tmp_path, monkeypatch):
    out = tmp_path / "me.json"
    assert run_in_process(["keys", "new", "--out", str(out)], monkeypatch, tmp_path)[0] == 0
    first = out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    status, _, err = run_in_process(["keys", "new", "--out", str(out)], monkeypatch, tmp_path)
    assert status == 1 and out.read_text() == first and "--force" in err
    status, _, _ = run_in_process(["keys", "new", "--out", str(out), "--force"], monkeypatch, tmp_path)
    assert status == 0 and out.read_text() != first
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text()).keys() == {"public_key", "private_key"}
    assert [path.name for path in tmp_path.iterdir()] == ["me.json"]  # no temporary left


def test_a_key_file_is_created_owner_only_not_narrowed_afterwards(tmp_path, monkeypatch):
    """Between its creation and its first byte, nobody else may open it: the mode it is
    created with is the one it keeps, whatever the umask allows."""
    created = []
    real_open = os.open

    def watching_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_open)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: pytest.fail("chmod after creation"))
    old_umask = os.umask(0)
    try:
        assert run_in_process(["keys", "new", "--out", str(tmp_path / "k.json")],
                              monkeypatch, tmp_path)[0] == 0
    finally:
        os.umask(old_umask)
    assert created == [0o600]
    assert stat.S_IMODE((tmp_path / "k.json").stat().st_mode) == 0o600


def test_a_bad_key_file_is_never_answered_with_a_command_that_overwrites_it(tmp_path, monkeypatch):
    bad = tmp_path / "mine.json"
    bad.write_text("{}")
    status, _, err = run_in_process(["credits", "issue", "--key", str(bad)], monkeypatch, tmp_path)
    assert status == 1 and f"--out {bad}" not in err and "keys new" in err


# -- node URLs and the default node

@pytest.mark.parametrize("text, url", [
    ("127.0.0.1:29003", "http://127.0.0.1:29003"),
    (" http://node.example:9984/ ", "http://node.example:9984"),
    ("https://node.example", "https://node.example"),
])
def test_node_urls(text, url):
    assert cli.node_url(text) == url


@pytest.mark.parametrize("text", ["ftp://x", "http://", "127.0.0.1:port", ""])
def test_what_is_not_a_node_url(text):
    with pytest.raises(argparse.ArgumentTypeError, match="give http://HOST:PORT"):
        cli.node_url(text)


def test_the_default_node_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(cli.NODE_VARIABLE, "10.0.0.5:9984")
    assert cli._default_node() == "http://10.0.0.5:9984"
    monkeypatch.setenv(cli.NODE_VARIABLE, "ftp://x")
    with pytest.raises(cli.CommandError, match="unset it"):
        cli._default_node()


def test_the_default_node_without_a_setting_or_testnet():
    assert cli._default_node() == cli.FALLBACK_NODE


def test_the_default_node_set_once_in_the_config_file(monkeypatch, tmp_path):
    status, out, _ = run_in_process(["config", "set-node", "10.0.0.7:9984"], monkeypatch, tmp_path)
    assert status == 0 and "http://10.0.0.7:9984" in out
    assert cli._default_node() == "http://10.0.0.7:9984"
    assert "from " + str(cli.config_path()) in run_in_process(["config", "show"], monkeypatch,
                                                               tmp_path)[1]
    monkeypatch.setenv(cli.NODE_VARIABLE, "http://10.0.0.8:9984")  # the environment wins
    assert cli._default_node() == "http://10.0.0.8:9984"
    monkeypatch.delenv(cli.NODE_VARIABLE)
    cli.config_path().write_text("{")
    status, _, err = run_in_process(["show", "record", UNKNOWN_ID], monkeypatch, tmp_path)
    assert status == 1 and "`resonate config set-node URL`" in err


# -- values normalised as people type them

@pytest.mark.parametrize("text, code", [(" gb ", "GB"), ("fr", "FR"), ("worldwide", "Worldwide"),
                                        ("WORLDWIDE", "Worldwide"), ("ZZ", "ZZ")])
def test_country_codes_are_normalised(text, code):
    assert cli.country(text) == code


def test_split_payees_are_basis_points_and_holders_shares(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["split", "set", "--key", "k", "--subject", UNKNOWN_ID,
                                       "--payee", "nokey=10000"])
    assert "PUBLIC_KEY=BASIS_POINTS" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["copyright", "register", "--key", "k", "--of", UNKNOWN_ID,
                                       "--territory", "GB", "--valid-from", "2020-01-01",
                                       "--holder", f"{UNKNOWN_KEY}=x"])
    assert "PUBLIC_KEY=SHARES" in capsys.readouterr().err


# -- the client under the commands

def test_the_client_turns_every_unusable_url_into_a_client_error(urls):
    from bigchaindb_resonate.client import Client, ClientError

    for url, says in [(urls["no scheme"], "http://127.0.0.1:9984"),
                      (urls["nothing listening"], "is it running"),
                      (urls["text service"], "not as a node does")]:
        with pytest.raises(ClientError, match=re.escape(says)):
            Client(url).record(UNKNOWN_ID)
    with pytest.raises(ClientError, match="answered without plays"):
        Client(urls["json service"]).play(generate_key_pair(), UNKNOWN_ID, UNKNOWN_ID, "GB")


def test_the_client_stores_territories_as_records_do():
    from bigchaindb_resonate.operations.shares import normalised_territory

    assert normalised_territory({"territory": {"include": [" gb", "worldwide"], "exclude": ["us "]},
                                  "validFrom": "2020-01-01"}) == {
        "territory": {"include": ["GB", "Worldwide"], "exclude": ["US"]}, "validFrom": "2020-01-01"}


# -- long work says what it is doing

class _SlowCommitHandler(_Handler):
    """Accepts a transaction after a while, as a node does once a block commits it."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        threading.Event().wait(0.7)
        self.body, self.status, self.content_type = b"{}", 202, "application/json"
        self._answer()


def test_a_write_says_what_it_waits_for_until_the_commit(monkeypatch, capsys):
    monkeypatch.setattr(cli, "PROGRESS_SECONDS", 0.2)
    keypair = generate_key_pair()
    with serving(_SlowCommitHandler) as url:
        client = cli._ProgressClient(url)
        tx = client.register_party(keypair, {"@type": "MusicGroup", "name": "Slow"})
    err = capsys.readouterr().err
    assert f"sent {tx['id']} to {url}; waiting until a block commits it" in err
    assert "still waiting for the commit" in err


def test_a_report_says_how_much_has_arrived(monkeypatch, capsys):
    monkeypatch.setattr(cli, "PROGRESS_SECONDS", 0.05)

    def slow_chunks():
        for _ in range(3):
            threading.Event().wait(0.1)
            yield "line\n" * 1000

    assert "".join(cli._received(slow_chunks())) == "line\n" * 3000
    assert re.search(r"received [\d,]+ lines \(0\.\d MB\) so far", capsys.readouterr().err)


def test_only_a_dsr_report_is_named_into_a_directory(tmp_path, capsys):
    """A DSR takes the file name the standard gives it; JSON or CSV have none, so a
    directory as --out is refused before any node is asked."""
    status = cli.main(["report", "--format", "csv", "--out", str(tmp_path),
                       "--node", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert status != 0 and "is a directory; only a DSR is named for you" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_a_write_says_what_follows_only_once_committed(monkeypatch, capsys):
    from bigchaindb_resonate.errors import OutputHeld

    reader, writer, followed = object(), object(), []
    monkeypatch.setattr(cli, "_client", lambda args: reader)
    monkeypatch.setattr(cli, "_writing_client", lambda args: writer)
    args = argparse.Namespace(prog="resonate")
    assert cli._write(args, "PLAY", lambda client: {"id": "ab" * 32}, then=followed.append) == 0
    assert followed == [reader] and capsys.readouterr().out == "ab" * 32 + "\n"

    def refused(client):
        raise OutputHeld("output 0", field="inputs[0].fulfills")

    assert cli._write(args, "PLAY", refused, then=followed.append) == 2
    assert followed == [reader] and "OUTPUT_HELD" in capsys.readouterr().err
