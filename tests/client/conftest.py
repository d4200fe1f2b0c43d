"""Fixtures for the client's tests: a fixed time zone and a delegate's filled home."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lowband.harness.testbed import Relay

from .live_net import relays
from .room_scene import T0, fill

NOW = T0 / 1000 + 300  # five minutes after the meeting's first event


@pytest.fixture(autouse=True)
def nairobi_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The delegate's clock runs on East Africa Time, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "Africa/Nairobi")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
    assert "TZ" not in os.environ or os.environ["TZ"] != "Africa/Nairobi"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    where = tmp_path / "delegate"
    fill(where)
    return where


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[Relay, Relay, Path, Path]]:
    """Real relay processes on loopback with the meeting, and the delegate's and chair's homes."""
    yield from relays(tmp_path)
