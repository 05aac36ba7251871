"""Appends one benchmark run to benchmarks/results/<name>.jsonl, stamped with when it ran,
the command that produced it and the commit it measured (`-dirty` when the tree had
uncommitted changes), so every recorded figure can be reproduced."""
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=RESULTS.parent, capture_output=True,
                              text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


# The code a run measures is the code it started with: a long run may end after the next commit.
MEASURED = commit()


def append(name, report, argv=None):
    stamped = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": " ".join([f"benchmarks/{name}.py", *(sys.argv[1:] if argv is None else argv)]),
               "commit": MEASURED, **report}
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a") as out:
        out.write(json.dumps(stamped) + "\n")
    return stamped


def median_ms(action, repeat):
    """The median of `repeat` timed calls of `action`, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)
