"""Build and cache the Tendermint and FerretDB binaries a node needs.

BigchainDB 2.2.2 speaks to Tendermint 0.31.5 and to a MongoDB-compatible
store (FerretDB with its SQLite backend here). Neither ships a binary we can
rely on, so we build both from the Go module proxy and keep them under
``CACHE_ROOT/bin/<name>-<version>/<name>``. FerretDB is built with the patches in
``patches/ferretdb/`` of the checkout applied (each file says why), and cached under
``<name>-<version>-<digest of the patches>`` so that a binary built without them, or
with other ones, is never taken for it.

Pure standard library: importable without BigchainDB installed.
Run ``python -m bigchaindb_resonate.binaries [tendermint] [ferretdb]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping


def default_cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("RESONATE_CACHE", "~/.cache/bigchaindb-resonate")).expanduser()


CACHE_ROOT = default_cache_root()

TENDERMINT_VERSION = "0.31.5"
FERRETDB_VERSION = "1.24.2"

TENDERMINT_MODULE = "github.com/tendermint/tendermint"
# v0.32.0 is the first Tendermint release with a go.mod. Its pseudo-versions
# name most of the same commits as v0.31.5's Gopkg.lock, and Gopkg.lock only
# has commit hashes, so it is where we look up the commit timestamps.
TENDERMINT_REFERENCE = "v0.32.0"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
# Read from the checkout, like network/tendermint/ (the project is installed editable).
FERRETDB_PATCHES = Path(__file__).resolve().parent.parent / "patches" / "ferretdb"

MIN_GO = (1, 21)  # oldest Go that can fetch a newer toolchain by itself (GOTOOLCHAIN)
FALLBACK_GO = "/usr/local/go/bin/go"
GO_TIMEOUT = 30 * 60  # seconds; a cold build takes ~30 s on 2 cores, this only stops hangs

Progress = Callable[[str], None]


class BuildError(RuntimeError):
    """A binary could not be built; the message says what to do next."""


# --------------------------------------------------------------------------
# Cache layout and version checks


def binary_path(name: str, version: str, patches_digest: str = "") -> Path:
    build = f"{name}-{version}" + (f"-{patches_digest}" if patches_digest else "")
    return CACHE_ROOT / "bin" / build / name


def digest_of(patches: Iterable[Path]) -> str:
    """12 hex digits naming a patch series: its file names and contents, in order."""
    digest = hashlib.sha256()
    for patch in patches:
        digest.update(patch.name.encode() + b"\0" + patch.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def ferretdb_patches() -> list[Path]:
    patches = sorted(FERRETDB_PATCHES.glob("*.patch"))
    if not patches:
        raise BuildError(f"no FerretDB patches in {FERRETDB_PATCHES}: build from a checkout "
                         "of bigchaindb-resonate (scripts/bootstrap), which carries them.")
    return patches


# How each binary prints its version: `tendermint version` -> "0.31.5",
# `ferretdb --version` -> "version: v1.24.2" plus more lines.
VERSION_ARGS = {"tendermint": ["version"], "ferretdb": ["--version"]}
_VERSION_RE = re.compile(r"^(?:version:\s*)?v?(\d+\.\d+\.\d+)\s*$", re.MULTILINE)


def parse_reported_version(output: str) -> str | None:
    match = _VERSION_RE.search(output)
    return match.group(1) if match else None


def reported_version(binary: Path) -> str | None:
    """The version `binary` says it is, or None if it does not run."""
    try:
        result = subprocess.run(
            [str(binary), *VERSION_ARGS[binary.name]],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return parse_reported_version(result.stdout)


def is_cached(name: str, version: str, patches_digest: str = "") -> bool:
    path = binary_path(name, version, patches_digest)
    return path.is_file() and reported_version(path) == version


# --------------------------------------------------------------------------
# Go toolchain


def parse_go_version(text: str) -> tuple[int, int] | None:
    match = re.search(r"go(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_go() -> str:
    go = shutil.which("go")
    if go is None and os.access(FALLBACK_GO, os.X_OK):
        go = FALLBACK_GO
    need = "Go >= %d.%d" % MIN_GO
    if go is None:
        raise BuildError(
            f"`go` was not found on PATH (nor at {FALLBACK_GO}). Install {need} "
            "from https://go.dev/dl/ (1.24+ spares FerretDB a toolchain download) "
            "and re-run scripts/build-binaries."
        )
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"could not run {go}: {exc}. Install {need}.") from exc
    have = parse_go_version(out)
    if have is not None and have < MIN_GO:
        raise BuildError(f"{go} is {out.strip()}; install {need} from https://go.dev/dl/.")
    return go


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"  # static binaries; Tendermint then uses goleveldb
    env["GO111MODULE"] = "on"
    env["GOWORK"] = "off"  # a go.work above the temp dir must not take part
    return env


_NETWORK_HINTS = ("proxy.golang.org", "dial tcp", "no such host", "i/o timeout",
                  "403 Forbidden", "404 Not Found", "410 Gone", "TLS handshake")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run_go(go: str, args: list[str], cwd: Path, what: str) -> str:
    cmd = [go, *args]
    try:
        result = subprocess.run(cmd, cwd=cwd, env=_go_env(), capture_output=True,
                                text=True, timeout=GO_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{what} timed out after {GO_TIMEOUT}s: {' '.join(cmd)}. "
                         "Check network access to the Go module proxy and retry.") from exc
    if result.returncode != 0:
        stderr = result.stderr.strip()
        if not stderr:  # `go mod download -json` puts its error in the JSON on stdout
            try:
                stderr = json.loads(result.stdout)["Error"]
            except (ValueError, KeyError, TypeError):
                stderr = result.stdout
        hint = "Fix the error above and re-run scripts/build-binaries."
        if any(h in stderr for h in _NETWORK_HINTS):
            proxy = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
            hint = (f"The Go module proxy (GOPROXY={proxy}) could not be reached or "
                    "does not serve a needed module; check network access and "
                    "GOPROXY, then re-run scripts/build-binaries.")
        raise BuildError(f"{what} failed: {' '.join(cmd)}\n{_tail(stderr)}\n{hint}")
    return result.stdout


def _download(go: str, module: str, version: str, cwd: Path) -> dict:
    """`go mod download -json`: fetches module@version and says where it is."""
    out = _run_go(go, ["mod", "download", "-json", f"{module}@{version}"], cwd,
                  f"downloading {module}@{version}")
    return json.loads(out)


# --------------------------------------------------------------------------
# Tendermint: pin dependencies from Gopkg.lock


@dataclass(frozen=True)
class Pin:
    """One [[projects]] entry of a dep Gopkg.lock."""
    module: str
    revision: str
    tag: str | None = None


def parse_gopkg_lock(text: str) -> list[Pin]:
    data = tomllib.loads(text)
    return [Pin(p["name"], p["revision"], p.get("version"))
            for p in data.get("projects", [])]


def canonical_tag(module: str, tag: str | None) -> str | None:
    """A dep tag as a Go module version ("v1.0" -> "v1.0.0"), or None."""
    match = re.fullmatch(r"v(\d+)(?:\.(\d+))?(?:\.(\d+))?", tag or "")
    if not match:
        return None  # branch name or non-semver tag: fall back to the revision
    major, minor, patch = (int(g or 0) for g in match.groups())
    version = f"v{major}.{minor}.{patch}"
    # A v2+ tag on a path without /vN (and not gopkg.in) is a pre-modules
    # release, which Go names "+incompatible".
    if major >= 2 and not module.startswith("gopkg.in/") and not re.search(r"/v\d+$", module):
        version += "+incompatible"
    return version


def parse_go_mod_requires(text: str) -> dict[str, str]:
    """module -> version for the require directives of a go.mod."""
    requires: dict[str, str] = {}
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
                continue
        elif line == "require (":
            in_block = True
            continue
        elif line.startswith("require "):
            line = line[len("require "):].strip()
        else:
            continue
        parts = line.split()
        if len(parts) == 2:
            requires[parts[0]] = parts[1]
    return requires


def pseudo_revision(version: str) -> str | None:
    """The 12-hex commit of a pseudo-version ("v0.0.0-2018...-3a771d992973")."""
    match = re.search(r"\d{14}-([0-9a-f]{12})(?:\+incompatible)?$", version)
    return match.group(1) if match else None


def resolve_pins(pins: Iterable[Pin], reference: Mapping[str, str]) -> tuple[dict[str, str], list[Pin]]:
    """Turn pins into module versions without network access.

    A tag is used as is; a bare revision is matched against the pseudo-versions
    of a reference go.mod. Returns (module -> version, pins left unresolved).
    """
    resolved: dict[str, str] = {}
    unresolved: list[Pin] = []
    for pin in pins:
        version = canonical_tag(pin.module, pin.tag)
        ref = reference.get(pin.module, "")
        if version is None and pseudo_revision(ref) == pin.revision[:12]:
            version = ref
        if version is None:
            unresolved.append(pin)
        else:
            resolved[pin.module] = version
    return resolved, unresolved


def render_wrapper_go_mod(main_module: str, main_version: str,
                          pins: Mapping[str, str], floors: Mapping[str, str]) -> str:
    """go.mod of the throwaway module that builds `main_module`.

    `pins` are required *and* replaced, so no other requirement in the graph
    can move them; `floors` (modules not in Gopkg.lock) are only required, so
    `go mod tidy` does not pick today's latest release for them.
    """
    require = [f"{main_module} {main_version}"]
    require += [f"{m} {v}" for m, v in sorted({**floors, **pins}.items())]
    replace = [f"{m} => {m} {v}" for m, v in sorted(pins.items())]
    lines = ["module bigchaindb-resonate/build", "", "go 1.21", "", "require ("]
    lines += [f"\t{r}" for r in require] + [")", "", "replace ("]
    lines += [f"\t{r}" for r in replace] + [")", ""]
    return "\n".join(lines)


def _tools_go(package: str) -> str:
    # Keeps the command's imports in the module graph for `go mod tidy`.
    return f'//go:build tools\n\npackage tools\n\nimport _ "{package}"\n'


def _build_tendermint(go: str, work: Path, progress: Progress) -> Path:
    tag = "v" + TENDERMINT_VERSION
    source = _download(go, TENDERMINT_MODULE, tag, work)
    lock = Path(source["Dir"], "Gopkg.lock")
    if not lock.is_file():
        raise BuildError(f"{TENDERMINT_MODULE}@{tag} has no Gopkg.lock at {lock}.")
    pins = parse_gopkg_lock(lock.read_text())

    ref_info = _download(go, TENDERMINT_MODULE, TENDERMINT_REFERENCE, work)
    reference = parse_go_mod_requires(Path(ref_info["GoMod"]).read_text())

    resolved, unresolved = resolve_pins(pins, reference)
    exact = len(resolved)
    for pin in unresolved:
        # A real proxy turns a commit into its pseudo-version; some mirrors
        # only serve versions they already know, hence the fallbacks.
        try:
            resolved[pin.module] = _download(go, pin.module, pin.revision, work)["Version"]
            exact += 1
            continue
        except BuildError:
            pass
        short = f"{pin.module}@{pin.revision[:12]}"
        if pin.module in reference:
            resolved[pin.module] = reference[pin.module]
            progress(f"  note: {short} is not on the proxy; using "
                     f"{reference[pin.module]} (Tendermint {TENDERMINT_REFERENCE}'s pin)")
        else:
            progress(f"  note: {short} is not on the proxy; letting Go pick "
                     "the version the other pins require")
    progress(f"  pinned {exact} of {len(pins)} Gopkg.lock dependencies to their exact commit")

    floors = {m: v for m, v in reference.items()
              if m not in resolved and m != TENDERMINT_MODULE}
    module_dir = work / "module"
    module_dir.mkdir()
    (module_dir / "go.mod").write_text(
        render_wrapper_go_mod(TENDERMINT_MODULE, tag, resolved, floors))
    command = f"{TENDERMINT_MODULE}/cmd/tendermint"
    (module_dir / "tools.go").write_text(_tools_go(command))
    _run_go(go, ["mod", "tidy"], module_dir, "resolving Tendermint's dependencies")
    out = work / "out" / "tendermint"
    _run_go(go, ["build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w",
                 "-o", str(out), command], module_dir, "compiling tendermint")
    return out


# --------------------------------------------------------------------------
# FerretDB


def _make_writable(tree: Path) -> None:
    # The module cache is read-only; the copy must accept version.txt and rmtree.
    for root, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | 0o200)
    os.chmod(tree, os.stat(tree).st_mode | 0o200)


def ferretdb_source(go: str, work: Path) -> Path:
    """A writable copy of FerretDB's module source under `work`, as released."""
    tag = "v" + FERRETDB_VERSION
    source = _download(go, FERRETDB_MODULE, tag, work)
    src = work / "src"
    shutil.copytree(source["Dir"], src)
    _make_writable(src)
    return src


def apply_patches(src: Path, patches: Iterable[Path]) -> None:
    """`git apply` each patch to the source tree `src`, all of a patch or nothing."""
    git = shutil.which("git")
    if git is None:
        raise BuildError("`git` was not found on PATH; it applies the FerretDB patches. "
                         "Install git (apt-get install git) and re-run scripts/build-binaries.")
    # Inside another repository git apply would resolve paths from that repository's
    # root and silently skip the files outside `src`: keep it from looking above `src`.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(src.parent)}
    for patch in patches:
        result = subprocess.run([git, "apply", "--verbose", str(patch)], cwd=src, env=env,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise BuildError(f"{patch.name} does not apply to {src.name}:\n"
                             f"{_tail(result.stderr)}\nThe patch no longer matches this "
                             "FerretDB version: update it (see its header) and rebuild.")


def _build_ferretdb(go: str, work: Path, progress: Progress, patches: list[Path]) -> Path:
    # Not `go install ...@v1.24.2`: that binary panics at startup because the
    # module zip lacks the generated build/version/version.txt (and go install
    # also wants the module's full version list, which some mirrors refuse).
    # So build from a copy of the module source with that file written.
    src = ferretdb_source(go, work)
    apply_patches(src, patches)
    if patches:
        progress(f"  applied {', '.join(patch.name for patch in patches)}")
    (src / "build" / "version" / "version.txt").write_text(f"v{FERRETDB_VERSION}\n")
    out = work / "out" / "ferretdb"
    _run_go(go, ["build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w",
                 "-o", str(out), "./cmd/ferretdb"], src, "compiling ferretdb")
    return out


# --------------------------------------------------------------------------
# Public entry points


def _ensure(name: str, version: str, build: Callable[[str, Path, Progress], Path],
            duration: str, progress: Progress, patches_digest: str = "") -> Path:
    target = binary_path(name, version, patches_digest)
    if is_cached(name, version, patches_digest):
        return target
    go = find_go()
    what = f"{name} {version}" + (f" (patches {patches_digest})" if patches_digest else "")
    progress(f"building {what} from the Go module proxy ({duration})…")
    started = time.monotonic()
    # Build next to the cache so the final move is an atomic rename on one
    # filesystem: an interrupted build never leaves a half-written binary.
    scratch = CACHE_ROOT / "build"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{name}-{version}-", dir=scratch) as tmp:
        built = build(go, Path(tmp), progress)
        got = reported_version(built)
        if got != version:
            raise BuildError(f"the freshly built {name} reports version {got!r}, "
                             f"expected {version!r}; please report this.")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, target)
    progress(f"built {what} in {time.monotonic() - started:.0f}s: {target}")
    return target


def ensure_tendermint(progress: Progress = print) -> Path:
    return _ensure("tendermint", TENDERMINT_VERSION, _build_tendermint,
                   "about a minute", progress)


def ensure_ferretdb(progress: Progress = print, patched: bool = True) -> Path:
    """The FerretDB the node runs: with patches/ferretdb/ applied. `patched=False` gives
    the release as it is, for comparisons (benchmarks/store_scaling.py, the patch's tests)."""
    patches = ferretdb_patches() if patched else []
    return _ensure("ferretdb", FERRETDB_VERSION,
                   lambda go, work, progress: _build_ferretdb(go, work, progress, patches),
                   "about a minute", progress, digest_of(patches) if patches else "")


ENSURE = {"tendermint": ensure_tendermint, "ferretdb": ensure_ferretdb}


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    if any(n not in ENSURE for n in names):
        print(f"usage: build-binaries [{'] ['.join(ENSURE)}]\n"
              f"Builds into {CACHE_ROOT / 'bin'} (set RESONATE_CACHE to move it).",
              file=sys.stderr)
        return 0 if names and set(names) <= {"-h", "--help"} else 2
    try:
        for name in names or ENSURE:
            print(f"{name}: {ENSURE[name]()}")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
