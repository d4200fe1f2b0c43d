"""Boundaries that must hold mechanically: imports, help, and the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lowband.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "lowband.protocol.receiver",
        "lowband.protocol.serve",
        "lowband.protocol.submissions",
        "lowband.protocol.checkpoints",
    ],
)
def test_sync_core_is_sans_io(module: str) -> None:
    loaded = imported_by(module)
    for io in ("asyncio", "httpx", "sqlite3", "starlette", "textual", "av"):
        assert io not in loaded, f"{module} imports {io}"


def test_relay_needs_neither_textual_nor_pyav() -> None:
    loaded = imported_by("lowband.relay.app")
    assert "textual" not in loaded and "av" not in loaded


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[union-attr]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in commands():
        out = subprocess.run(
            [sys.executable, "-m", "lowband", name, "--help"], capture_output=True, text=True
        )
        assert out.returncode == 0 and "usage:" in out.stdout
        assert re.search(rf"lowband( --home \S+)? {name}\b", readme), f"{name} missing from README"
