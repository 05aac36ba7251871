"""A receiver in its own process, as `resonate receiver serve` runs it: for the demo, the
tests and the benchmarks, which need a real one they can also kill."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

READY = re.compile(r"receiver listening on (http://\S+)")


class ReceiverProcess:
    def __init__(self, key_file, store, nodes, settle_every=30.0, settle_after=1000,
                 listen="127.0.0.1:0", cpu=None):
        """`cpu`: run it on this one CPU only (benchmarks)."""
        self.command = [str(Path(sys.executable).parent / "resonate"), "receiver", "serve",
                        "--key", str(key_file), "--store", str(store), "--listen", listen,
                        "--settle-every", str(settle_every), "--settle-after", str(settle_after)]
        for node in nodes:
            self.command += ["--node", node]
        self.log_path = Path(store).parent / f"{Path(store).name}.log"
        self.cpu = cpu
        self.process = None
        self.url = None

    def start(self, timeout=60):
        """Start it and wait until it answers; its URL. A restart keeps the first port."""
        if self.url is not None:
            self.command[self.command.index("--listen") + 1] = self.url.removeprefix("http://")
        Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=log, text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, {self.cpu})) if self.cpu is not None else None)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            found = READY.search(line or "")
            if found:
                self.url = found.group(1)
                return self.url
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the receiver did not start; see {self.log_path}")

    def kill(self):
        """kill -9: no chance to flush or say goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()

    @property
    def pid(self):
        return self.process.pid

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
