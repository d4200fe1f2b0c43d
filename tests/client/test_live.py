"""The client against real relays on loopback: written offline, accepted when the relay is back;
the chair grants the floor and the delegate sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lowband.client import make_app
from lowband.client.widgets.floor_panel import FloorPanel
from lowband.harness.testbed import Relay

from .live_net import M, until
from .screen_text import screen_text

pytestmark = pytest.mark.e2e


def test_offline_intervention_is_accepted_when_the_relay_returns_and_chair_grants(
    net: tuple[Relay, Relay, Path, Path],
) -> None:
    asyncio.run(_scenario(*net))


async def _scenario(origin: Relay, relay: Relay, delegate: Path, chair: Path) -> None:
    relay.stop()
    app = make_app(delegate, M)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "OFFLINE" in screen_text(app))
        await pilot.press("r", "i")
        app.focused.value = "Kenya supports the draft."  # type: ignore[union-attr]
        await pilot.press("enter", "4")
        await until(pilot, lambda: screen_text(app).count("queued here") == 2)
        relay.start()  # same port and store: the link comes back
        await until(pilot, lambda: screen_text(app).count("→ accepted") == 2)
        assert "You are number 1 of 1 in the queue." in screen_text(app)
    app = make_app(chair, M, chair=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "Amina" in screen_text(app) and "ONLINE" in screen_text(app))
        await pilot.press("n")  # next speaker: Amina
        await until(pilot, lambda: "Floor: Amina (Kenya)" in screen_text(app))
    app = make_app(delegate, M)
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.screen.query_one(FloorPanel)
        await until(pilot, lambda: app.screen.reader.floor.speaker is not None)
        assert "Floor: Amina (Kenya) (you)" in screen_text(app), panel
