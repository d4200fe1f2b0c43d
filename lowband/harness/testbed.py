"""Real lowband processes on loopback: what the demo, the benchmarks and the
end-to-end tests start. Only 127.0.0.1 is ever used.

Owns starting, stopping and killing relay and follower processes and the small
polling helpers around them; what the processes do lives in the library.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lowband.linkem import LinkEmulatorThread
from lowband.storage.store import Store


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


def end(proc: subprocess.Popen[Any], sig: int) -> None:
    """Signal a process that still runs, wait 10 s for it to stop, then kill it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Relay:
    """A `lowband relay` process; `url` is known once it listens.

    With `log`, its stderr is appended to that file instead of a pipe nobody reads, so a
    long run that logs a lot cannot fill the pipe and stall the relay.
    """

    def __init__(
        self, home: Path, *role: str, name: str, port: int = 0, log: Path | None = None
    ) -> None:
        self.home, self.role, self.name = home, role, name
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self._log_file: IO[str] | None = None
        self.start()

    def start(self) -> None:
        if self.proc is not None:
            raise RuntimeError(f"relay {self.name} is running; stop it first")
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log, "a", encoding="utf-8")
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
            stderr=self._log_file or subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            errors = self._errors()
            self.stop()
            raise AssertionError(f"relay {self.name} did not start: {line}{errors}")
        self.url = line.split("listening on ")[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            end(self.proc, sig)
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def _errors(self) -> str:
        if self.proc is not None and self.proc.stderr is not None:
            return self.proc.stderr.read()
        return self.log.read_text(encoding="utf-8")[-2000:] if self.log else ""


class Follower:
    """A delegate's long-running `lowband follow --plain` (or `lowband sync`) process.

    Its output is appended to `log`. `stop()` interrupts it as Ctrl-C would; `kill()` is
    SIGKILL, the crash a client restart must survive.
    """

    def __init__(self, home: Path, meeting: str, lang: str = "en", command: str = "follow") -> None:
        if command not in ("follow", "sync"):
            raise ValueError("A follower runs `follow` or `sync`.")
        self.home, self.meeting, self.lang, self.command = home, meeting, lang, command
        self.log = home / f"{command}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        if self.running:
            return
        args = ["--meeting", self.meeting]
        if self.command == "follow":
            args += ["--lang", self.lang, "--plain"]  # `sync` follows English only
        self._log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lowband", "--home", str(self.home), self.command, *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc is not None:
            end(self.proc, sig)
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

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


@contextmanager
def delegate_behind_link(
    tmp: Path, meeting: str
) -> Iterator[tuple[Relay, Relay, LinkEmulatorThread, Path]]:
    """An origin with a hybrid meeting, a relay mirroring it, an unshaped link emulator in
    front of the relay, and a delegate's home joined through it; all stopped afterwards."""
    origin = Relay(tmp / "origin", "--origin", name="origin")
    relays = [origin]
    link: LinkEmulatorThread | None = None
    try:
        cli(
            tmp / "origin", "meeting", "create", "--id", meeting, "--title", "Council 2026",
            "--kind", "hybrid", "--remote-rights", "speak", "--start", "2026-12-01T09:00:00Z",
            "--end", "2026-12-01T12:00:00Z", "--languages", "en",
        )  # fmt: skip
        relay = Relay(tmp / "relay", "--parent", origin.url, name="nairobi")
        relays.append(relay)
        link = LinkEmulatorThread("127.0.0.1", 0, "127.0.0.1", relay.port)
        link.start()
        delegate = tmp / "delegate"
        cli(delegate, "id", "init")
        wait_for(lambda: stream_state(tmp / "relay", meeting, "roster")[0] >= 1, what="mirror")
        cli(delegate, "join", f"http://127.0.0.1:{link.port}", "--meeting", meeting)
        yield origin, relay, link, delegate
    finally:
        if link is not None:
            link.stop()
        for r in reversed(relays):
            r.stop()
