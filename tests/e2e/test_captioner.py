"""The captioner is a node like any other: it signs its requests for an origin that requires
tokens, and keeps its queue across the origin's restart instead of exiting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from procs import Relay, cli, stream_state, wait_for
from test_security import create

from lowband.protocol.submissions import State
from lowband.storage import submissions as queues
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"


def queued(home: Path) -> int:
    with Store(home / "store.sqlite") as store:
        return sum(1 for i in queues.outbox(store, M) if i.state is State.QUEUED)


def test_captions_queued_while_the_origin_restarts_all_arrive(tmp_path: Path) -> None:
    origin_home, captioner = tmp_path / "origin", tmp_path / "captioner"
    origin = Relay(origin_home, "--origin", "--require-auth", name="origin")
    proc = None
    try:
        create(origin_home)
        key = cli(captioner, "id", "init").stdout.split()[-1]
        cli(origin_home, "roster", "add", "--meeting", M, "--key", key, "--name", "Captioner",
            "--member-state", "ITU", "--rights", "secretariat")  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "lowband", "--home", str(captioner), "publish", "caption",
             "--origin", origin.url, "--meeting", M],
            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write("CHAIR: The meeting is open.\n")
        proc.stdin.flush()
        wait_for(lambda: stream_state(origin_home, M, "transcript/en")[0] == 1, what="line 1")

        origin.stop()
        proc.stdin.write("KENYA: Kenya supports the draft.\nCHAIR: Thank you, Kenya.\n")
        proc.stdin.flush()
        wait_for(lambda: queued(captioner) == 2, what="two lines queued while the origin is away")
        assert proc.poll() is None  # still running, not exited on the first refused connection

        origin = Relay(origin_home, "--origin", "--require-auth", name="origin", port=origin.port)
        proc.stdin.close()
        assert proc.wait(120) == 0
        assert stream_state(origin_home, M, "transcript/en")[0] == 3 and queued(captioner) == 0
        assert proc.stderr is not None and "Captions stay queued" in proc.stderr.read()
    finally:
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stderr):
                if pipe is not None and not pipe.closed:
                    pipe.close()
        origin.stop()
