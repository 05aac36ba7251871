"""Each service's configuration, as `resonate network` generates it, through that
service's own validator (nginx -t, promtool, the Compose implementation's `config`), every
pulled image pinned by digest, and nothing private committed.

The validators are Debian packages that scripts/bootstrap installs (nginx, prometheus for
promtool, docker-compose); a missing one fails here rather than passing unchecked. MongoDB
has no validator here: no MongoDB server installs from the registries these machines
reach, and the store is configured by command-line flags checked in test_network_files."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bigchaindb_resonate.testnet import compose, config
from bigchaindb_resonate.testnet.description import describe_hosts

REPO = Path(__file__).resolve().parents[2]
GENESIS_TIME = "2024-05-01T12:00:00.000000Z"


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed: run scripts/bootstrap (it installs it with apt)"
    return path


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, argv))}:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def member(tmp_path_factory):
    out = tmp_path_factory.mktemp("validated")
    founders = describe_hosts(2, genesis_time=GENESIS_TIME)
    compose.write_compose(founders, out / "founders")
    ids = config.node_ids(founders, out / "founders")
    genesis = config.node_dir(out / "founders", founders.nodes[0]).genesis
    peers = [f"{ids[node.name]}@{node.name}.coop.example:26656" for node in founders.nodes]
    compose.write_member(out / "member", "kokoroko", "kokoroko.coop.example", genesis, peers,
                         self_signed_tls=True)
    return out


def test_the_proxy_configuration_passes_nginx_t(member, tmp_path):
    # Outside compose no service name resolves: the same template, upstreams on loopback.
    tls = member / "member" / "node" / "tls"
    (tmp_path / "nginx.conf").write_text(compose.render_proxy_config(
        "kokoroko.coop.example", tls_dir=str(tls), upstream="127.0.0.1"))
    result = run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    assert "test is successful" in result.stderr
    shipped = (member / "member" / "node" / "proxy" / "nginx.conf").read_text()
    assert "client_max_body_size" in shipped and "limit_req zone=writes" in shipped
    assert "listen 8443 ssl;" in shipped


def test_the_prometheus_scrape_config_and_rules_pass_promtool(member):
    prometheus = member / "member" / "prometheus"
    result = run([tool("promtool"), "check", "config", str(prometheus / "prometheus.yml")])
    assert "SUCCESS" in result.stdout + result.stderr
    run([tool("promtool"), "check", "rules", str(REPO / "network/prometheus/resonate-rules.yml")])


@pytest.mark.parametrize("layout", ["member", "founders"])
def test_the_compose_files_pass_the_compose_implementations_own_check(member, layout):
    directory = member / layout
    compose_file = directory / (compose.MEMBER_FILE if layout == "member" else compose.NETWORK_FILE)
    result = run([tool("docker-compose"), "-f", str(compose_file), "config"], cwd=directory)
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == set(yaml.safe_load(compose_file.read_text())["services"])
    # .env gave every service the generating user's uid, never root.
    assert {service["user"].split(":")[0] for service in resolved["services"].values()} != {"0"}


def image_references():
    """Every image a committed compose file or Dockerfile names, with where."""
    found = []
    for path in (REPO / "network").glob("docker-compose.*.yml"):
        for name, service in yaml.safe_load(path.read_text())["services"].items():
            found.append((f"{path.name}:{name}", service["image"], "build" in service
                          or service.get("pull_policy") == "never"))
    for line in (REPO / "network/Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            found.append(("Dockerfile", line.split()[1], False))
    return found


def test_every_pulled_image_is_pinned_by_digest():
    references = image_references()
    assert len(references) > 10
    for where, image, built_here in references:
        if built_here:
            assert image == compose.NODE_IMAGE, where
        else:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), (where, image)


# Private material: key files, PEM private keys, Tendermint/BigchainDB private keys, and
# passwords written into configuration rather than generated per node.
PRIVATE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\"priv_key\"\s*:\s*\{"
    r"|(?i:password)[\"']?\s*:\s*[\"'](?![$\{])[^\"'\s]{6,}[\"']"
    r"|[A-Z_]*PASSWORD=(?![$\"'])\S{6,}")
DEFAULT_PASSWORDS = re.compile(r"(?i)\b(changeme|example-password|secret123|password123|"
                               r"admin:admin|root:root)\b")


def committed_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def test_no_private_material_or_default_password_is_committed():
    offending = []
    for path in committed_files():
        if path.suffix in {".png", ".pdf", ".pyc"} or "tests/" in str(path.relative_to(REPO)):
            continue
        text = path.read_text(errors="replace")
        for pattern in (PRIVATE, DEFAULT_PASSWORDS):
            match = pattern.search(text)
            if match:
                offending.append(f"{path.relative_to(REPO)}: {match.group(0)[:60]}")
    assert offending == []
    for name in ("priv_validator_key.json", "node_key.json", "privkey.pem", ".env"):
        assert not [path for path in committed_files() if path.name == name], name


def test_the_private_material_check_finds_what_it_looks_for():
    assert PRIVATE.search('{"priv_key": {"type": "tendermint/PrivKeyEd25519"')
    assert PRIVATE.search("-----BEGIN EC PRIVATE KEY-----")
    assert PRIVATE.search('"password": "hunter22"')
    assert PRIVATE.search("MONGO_INITDB_ROOT_PASSWORD=s3cretpass")
    assert not PRIVATE.search("MONGO_INITDB_ROOT_PASSWORD_FILE: /run/secrets/mongodb-root-password")
    assert not PRIVATE.search('password=database_password)')
    assert DEFAULT_PASSWORDS.search("password: changeme")
