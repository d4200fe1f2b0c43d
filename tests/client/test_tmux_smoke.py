"""The demo in a real terminal (tmux): the room paints, captions arrive, v plays the floor's
audio, q ends it cleanly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_demo_paints_the_room_in_a_real_terminal(tmp_path: Path) -> None:
    shot = tmp_path / "screen.txt"
    proc = subprocess.run(
        [str(ROOT / "scripts" / "tui_smoke.sh"), str(shot)],
        capture_output=True,
        text=True,
        timeout=210,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "PYTHON": sys.executable,
            "HOME": str(tmp_path),
        },
    )
    screen = shot.read_text(encoding="utf-8") if shot.exists() else ""
    assert proc.returncode == 0, f"{proc.stderr}\n{screen}"
    assert "Speaking queue" in screen and ("ONLINE" in screen or "OFFLINE" in screen)
    assert "ITU Council working group" in screen and "audio floor: playing" in screen
