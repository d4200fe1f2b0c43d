"""Real lowband processes on loopback: what the demo, the benchmarks and the
end-to-end tests start. Only 127.0.0.1 is ever used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .store import Store


def cli(
    home: Path, *args: str, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "lowband", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"lowband {' '.join(args)} failed: {proc.stdout}{proc.stderr}")
    return proc


class Relay:
    """A `lowband relay` process; `url` is known once it listens."""

    def __init__(self, home: Path, *role: str, name: str, port: int = 0) -> None:
        self.home, self.role, self.name = home, role, name
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lowband",
                "--home",
                str(self.home),
                "relay",
                "--listen",
                f"127.0.0.1:{self.port}",
                *self.role,
                "--name",
                self.name,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise AssertionError(
                f"relay did not start: {line}{self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.url = line.split("listening on ")[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def wait_for(
    predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll until `predicate()` is true; correctness, not speed, is asserted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stream_state(home: Path, meeting: str, name: str) -> tuple[int, int]:
    """(head, verified) of a stream in a node's store, read directly."""
    with Store(home / "store.sqlite") as store:
        for _, n, head, verified in store.streams(meeting):
            if n == name:
                return head, verified
    return 0, 0
