"""The client library installed the way an integrator installs it: `pip install` of a wheel
built from this checkout into a fresh virtual environment of each CPython this machine has
among those supported (3.9 to 3.13; 3.11 always), with its dependencies from the package
index or pip's cache. Nothing of the server may come along, and a PLAY built and signed
there, in a fresh process, has the bytes the server's own builder gives.

Slow (a venv and a download of four small packages per interpreter), so marked
integration; it starts no node."""
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import base58
import pytest
from bigchaindb.common.utils import serialize as host_serialize
from nacl.signing import SigningKey

from bigchaindb_resonate import registry
from bigchaindb_resonate.conditions import KeyPair

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("bigchaindb", "bigchaindb-abci", "pymongo", "gevent", "flask", "pyyaml", "jsonschema",
               "cryptoconditions")


def interpreters():
    """Python 3.11, and the oldest and newest other supported CPython found on PATH or
    under pyenv: the versions that bound what the library claims."""
    found = {}
    for minor in range(9, 14):
        candidates = [*sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"))),
                      shutil.which(f"python3.{minor}")]
        path = next((path for path in candidates if path and runs_as(path, minor)), None)
        if path:
            found[minor] = path
    others = [minor for minor in found if minor != 11]
    chosen = sorted({11, *others[:1], *others[-1:]} & set(found))
    return [pytest.param(found[minor], id=f"python3.{minor}") for minor in chosen]


def runs_as(python, minor):
    """A pyenv shim is on PATH even where it cannot run that version."""
    answer = subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                            capture_output=True, text=True, timeout=30)
    return answer.returncode == 0 and answer.stdout.strip() == str(minor)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel of this checkout, built from a copy so the checkout stays clean."""
    source = tmp_path_factory.mktemp("source")
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "bigchaindb_resonate", source / "bigchaindb_resonate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), str(source)],
                   check=True, timeout=120)
    [built] = out.glob("bigchaindb_resonate-*.whl")
    return built


# Run in the fresh environment: fixed keys, so the test can build the same PLAY itself.
PLAY_SCRIPT = """
import json, sys
import base58
from nacl.signing import SigningKey
from bigchaindb_resonate.client import Client
from bigchaindb_resonate.conditions import KeyPair
from bigchaindb_resonate.operations import play

def key(seed):
    signing = SigningKey(bytes([seed]) * 32)
    return KeyPair(base58.b58encode(bytes(signing)).decode(), base58.b58encode(bytes(signing.verify_key)).decode())

arguments = json.loads(sys.argv[1])
listener = key(3)
tx = play.pay(arguments["credits"], listener.public_key, arguments["play"], arguments["payees"],
              arguments["parameters"])
print(json.dumps(Client.fulfill(tx, [listener.private_key])))
"""


def fixed_key(seed):
    signing = SigningKey(bytes([seed]) * 32)
    return KeyPair(base58.b58encode(bytes(signing)).decode(),
                   base58.b58encode(bytes(signing.verify_key)).decode())


def play_arguments():
    """A committed purchase of 5000 tokens by the listener (key 3), and their fourth play."""
    from bigchaindb_resonate.operations import credit

    treasury, listener, artist = fixed_key(1), fixed_key(3), fixed_key(2)
    token = credit.build([treasury.public_key], supply=10 ** 6).sign([treasury.private_key])
    purchase = credit.sell([(token, 0)], treasury.public_key, listener.public_key, 5000,
                           token.id).sign([treasury.private_key])
    return {"credits": [(purchase.to_dict(), 0)],
            "play": {"track": "ab" * 32, "territory": "GB", "right": "cd" * 32, "playNumber": 3,
                     "split": "ef" * 32},
            "payees": [(artist.public_key, 10000)],
            "parameters": {"platform_key": fixed_key(4).public_key, "coop_share_bp": 3000}}


@pytest.mark.parametrize("python", interpreters())
def test_pip_installs_the_client_alone_and_it_signs_what_the_server_signs(tmp_path, wheel, python):
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", str(wheel)], check=True, timeout=300)
    installed = {entry["name"].lower() for entry in json.loads(subprocess.run(
        [*pip, "list", "--format=json"], check=True, capture_output=True, text=True).stdout)}
    assert "bigchaindb-resonate" in installed
    assert not installed & set(SERVER_ONLY), installed & set(SERVER_ONLY)

    arguments = play_arguments()
    # -I: only the installed package, not this checkout, can be imported.
    result = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", PLAY_SCRIPT, json.dumps(arguments)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    by_client = json.loads(result.stdout)

    listener = fixed_key(3)
    by_server = registry.type_for("PLAY").pay(
        arguments["credits"], listener.public_key, arguments["play"], arguments["payees"],
        arguments["parameters"]).sign([listener.private_key]).to_dict()
    assert host_serialize(by_client) == host_serialize(by_server)

    node = subprocess.run([str(venv / "bin" / "bigchaindb-resonate"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert node.returncode != 0 and "Traceback" not in node.stderr
    assert "bigchaindb-resonate[node]" in node.stderr
