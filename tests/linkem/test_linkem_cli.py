"""`python -m lowband.linkem`: bad input exits 2 with one sentence; Ctrl-C exits 0."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lowband.linkem.cli import add_arguments, build_profile
from lowband.linkem.profiles import OutageKind, OutageSchedule

TIMEOUT_S = 30


def linkem(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lowband.linkem", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)


def assert_one_sentence(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("."), stderr
    assert "Traceback" not in stderr


def test_unknown_profile_exits_2_with_one_sentence() -> None:
    done = linkem("--listen", "127.0.0.1:0", "--target", "127.0.0.1:9", "--profile", "nosuch")
    assert done.returncode == 2
    assert_one_sentence(done.stderr)
    assert "nosuch" in done.stderr and "flaky3g" in done.stderr


@pytest.mark.parametrize(
    "extra",
    [
        ["--listen", "localhost", "--target", "127.0.0.1:9"],
        ["--listen", "127.0.0.1:0", "--target", "127.0.0.1:99999"],
        ["--listen", "127.0.0.1:0", "--target", "127.0.0.1:9", "--outage-for", "a-b"],
        ["--listen", "127.0.0.1:0", "--target", "127.0.0.1:9", "--reset-rate", "2"],
    ],
)
def test_bad_input_exits_2_with_one_sentence(extra: list[str]) -> None:
    done = linkem("--profile", "edge", *extra)
    assert done.returncode == 2
    assert_one_sentence(done.stderr)


def test_port_in_use_exits_2_with_one_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = linkem("--listen", f"127.0.0.1:{port}", "--target", "127.0.0.1:9", "--profile", "hf")
    assert done.returncode == 2
    assert_one_sentence(done.stderr)
    assert "in use" in done.stderr


def parsed(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--listen", "127.0.0.1:0", "--target", "127.0.0.1:9", *args])


def test_overrides_apply_to_the_named_profile() -> None:
    hf = build_profile(parsed("--profile", "hf", "--down-kbps", "4.8", "--outage-kind", "hard"))
    assert (hf.down_kbps, hf.up_kbps, hf.outage_kind) == (4.8, 9.6, OutageKind.HARD)
    assert not build_profile(parsed("--profile", "hf", "--outage-every", "0")).has_outages
    vsat = build_profile(
        parsed("--profile", "vsat", "--outage-every", "60", "--outage-for", "5-10")
    )
    assert vsat.outage_schedule is OutageSchedule.PERIODIC
    assert (vsat.outage_every_s, vsat.outage_for_s) == (60, (5, 10))
    g3 = build_profile(parsed("--profile", "flaky3g", "--outage-for", "3", "--reset-rate", "0.5"))
    assert (g3.outage_schedule, g3.outage_for_s, g3.reset_rate) == ("poisson", (3, 3), 0.5)


def test_help_works() -> None:
    done = linkem("--help")
    assert done.returncode == 0 and "--outage-kind" in done.stdout


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()
        thread.join()


def test_forwards_reports_and_exits_0_on_ctrl_c(echo_port: int, tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    command = [sys.executable, "-m", "lowband.linkem", "--listen", "127.0.0.1:0"]
    command += ["--target", f"127.0.0.1:{echo_port}", "--profile", "loopback"]
    command += ["--rtt-ms", "10", "--stats-every", "0.1", "--stats-file", str(stats_file)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        port = int(banner.split("listening on 127.0.0.1:")[1].split(",")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.sendall(b"x" * 5000)
            sock.shutdown(socket.SHUT_WR)
            assert b"".join(iter(lambda: sock.recv(65536), b"")) == b"x" * 5000
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, err
    assert err == ""
    assert out.strip().splitlines()[-1].startswith("linkem: down 5000 B, up 5000 B")
    stats = json.loads(stats_file.read_text())
    assert (stats["bytes_up"], stats["bytes_down"], stats["connections"]) == (5000, 5000, 1)
