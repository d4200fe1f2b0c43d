"""Pilot tests of every screen and action, offline: the app paints from the store alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Input

from lowband.client import make_app
from lowband.client.screens.chair import ChairScreen
from lowband.client.screens.meetings import MeetingsScreen
from lowband.client.screens.room import RoomScreen
from lowband.client.widgets.transcript import TranscriptView
from lowband.protocol.model import Rights
from lowband.protocol.submissions import State
from lowband.storage import submissions as queues
from lowband.storage.store import Store

from .conftest import NOW
from .room_scene import ARABIC, MEETING, fill
from .screen_text import screen_text

SIZE = (120, 36)


def app_for(home: Path, meeting: str | None = MEETING, **kw: object):  # type: ignore[no-untyped-def]
    return make_app(home, meeting, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


async def until(pilot, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `cond()` holds; bounded by count, not by the clock."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never reached the expected state")


async def type_in(pilot, key: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Press `key` (which focuses an input), put `text` in it, and press Enter."""
    await pilot.press(key)
    focused = pilot.app.focused
    assert isinstance(focused, Input), focused
    focused.value = text
    await pilot.press("enter")


async def test_meetings_screen_shows_the_notice_in_plain_words(home: Path) -> None:
    app = app_for(home, meeting=None, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MeetingsScreen)
        text = screen_text(app)
        assert "[HYBRID · in the room and remote]" in text
        assert "Remote participants may speak; they may not take part in decisions." in text
        assert "You may speak; you may not take part in decisions." in text
        assert "11:00–14:00 EAT (your time)" in text  # Nairobi
        assert "08:00–11:00 UTC" in text and "09:00–12:00 CET at the" in text  # Zurich
        assert "Languages: en, zh, ar" in text and "2. Resolution 167" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RoomScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MeetingsScreen))


async def test_room_paints_the_newest_lines_and_marks_unverified_ones(home: Path) -> None:
    app = app_for(home, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Line 39: remote participation" in text
        assert "~ " in text and "1 not yet verified (~)" in text
        assert "following" in text
        assert "You are number 2 of 2 in the queue." in text
        assert (
            "Paulo (Brazil, in the room)" in text and "Amina Odhiambo (Kenya, remote) ← you" in text
        )
        assert "Brazil supports" in text
        assert "OFFLINE" in text and "checkpoint 2 min old" in text


async def test_corrections_replace_the_line_they_name(home: Path) -> None:
    app = app_for(home, sync=False)
    async with app.run_test(size=SIZE):
        view = app.screen.query_one(TranscriptView)
        line = view.line(3)
        assert line is not None and line.text == "Line 2 as corrected." and line.corrected


async def test_follow_pauses_on_scroll_back_and_resumes_at_the_end(home: Path) -> None:
    app = app_for(home, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(TranscriptView)
        assert view.following
        await pilot.press("pageup")
        await until(pilot, lambda: not view.following)
        assert "paused: End or f to follow" in screen_text(app)
        await pilot.press("end")
        await until(pilot, lambda: view.following)


async def test_scrollback_loads_lazily_and_search_reaches_old_lines(tmp_path: Path) -> None:
    home = tmp_path / "big"
    fill(home, lines=1500)
    app = app_for(home, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(TranscriptView)
        assert len(view.lines) <= 200 and view.has_older
        await pilot.press("home")
        await until(pilot, lambda: len(view.lines) > 200)
        await type_in(pilot, "slash", "Line 7:")
        await until(pilot, lambda: view.match_seq == 8)
        assert not view.following
        assert "Line 7: remote" in screen_text(app)
        await pilot.press("n")  # the next match back in time: none older, so it wraps round
        await until(pilot, lambda: view.match_seq == 8)


async def test_chinese_and_arabic_lines_fit_the_layout(home: Path) -> None:
    app = app_for(home, sync=False)
    async with app.run_test(size=(90, 30)) as pilot:
        view = app.screen.query_one(TranscriptView)
        await pilot.press("l")  # en -> zh
        await until(pilot, lambda: bool(view.lines) and view.lines[0].speaker in ("主席", "肯尼亚"))
        text = screen_text(app)
        assert view.lines[-1].text[:5] in text
        for row in text.splitlines():
            assert cell_len(row) <= 90
        await pilot.press("l")  # zh -> ar
        await until(pilot, lambda: bool(view.lines) and view.lines[0].text == ARABIC)
        for row in screen_text(app).splitlines():
            assert cell_len(row) <= 90
        assert "Transcript [ar]" in screen_text(app)


async def test_compose_and_floor_keys_queue_offline_with_their_state(home: Path) -> None:
    app = app_for(home)  # syncs, but this meeting has no relay: everything stays queued
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "a")  # agenda item 2
        await type_in(pilot, "i", "Kenya supports the draft.")
        await type_in(pilot, "c", "#drafting Meet at the break?")
        await pilot.press("w", "p")
        await pilot.press("4")
        await until(pilot, lambda: "withdrawal" in screen_text(app))
        text = screen_text(app)
        assert "intervention #2: Kenya supports the draft." in text
        assert "chat #drafting: Meet at the break?" in text
        assert "point of order" in text and "queued here" in text
        assert "This meeting has no relay" in text
    with Store(home / "store.sqlite") as store:
        states = [i.state for i in queues.outbox(store, MEETING)]
    assert states == [State.QUEUED] * 4


async def test_help_contrast_and_no_color(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(home, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color
        assert "~ " in screen_text(app)  # unverified lines show without colour
        await pilot.press("f1")
        await until(pilot, lambda: bool(app.screen.query("HelpPanel")))
        await pilot.press("f2")
        assert app.theme == "lowband-high-contrast"
        await pilot.press("f2")
        assert app.theme == "textual-dark"


async def test_chair_console_shows_waits_and_fairness(tmp_path: Path) -> None:
    home = tmp_path / "chair"
    fill(home, rights=Rights.CHAIR)
    app = app_for(home, chair=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChairScreen)
        text = screen_text(app)
        assert "Paulo" in text and "in the room" in text and "remote" in text
        assert "List of speakers: open" in text
        assert "Remote: 1 request(s)" in text and "In the room: 1 request(s)" in text
        await pilot.press("n", "c")
        await type_in(pilot, "o", "Jean Dupont, France")
        await until(pilot, lambda: len(app.screen.reader.mine()) == 3)
    with Store(home / "store.sqlite") as store:
        kinds = [i.kind for i in queues.outbox(store, MEETING)]
    assert kinds == ["chair"] * 3
