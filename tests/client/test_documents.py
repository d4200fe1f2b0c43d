"""The documents screen, viewer and diff view, offline: they show what the store holds.

Driven by Pilot against a real store and real blobs (doc_scene.py); the transfers themselves,
through a real relay, are in test_documents_live.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from textual.widgets import ProgressBar

from lowband.client import make_app
from lowband.client.screens.doc_diff import DocDiffScreen
from lowband.client.screens.doc_view import DocViewScreen
from lowband.client.screens.documents import DocumentsScreen
from lowband.client.widgets.doc_detail import DocDetail
from lowband.delegate.outbox import submit
from lowband.node.home import load_key
from lowband.protocol.model import SubKind
from lowband.storage.store import Store

from .conftest import NOW
from .doc_scene import add_documents
from .room_scene import MEETING
from .screen_text import screen_text

SIZE = (120, 36)


@pytest.fixture
def docs_home(home: Path) -> Path:
    add_documents(home)
    return home


def notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.message for n in app._notifications]


async def until(pilot, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never reached; the screen shows:\n{screen_text(pilot.app)}")


async def open_documents(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("d")
    await until(pilot, lambda: isinstance(pilot.app.screen, DocumentsScreen))


async def select(pilot, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    for _ in range(len(screen.rows)):
        if screen.selected().doc_id == doc_id:
            return
        await pilot.press("down")
    raise AssertionError(f"{doc_id} is not in the list")


async def test_the_list_shows_each_documents_state_current_item_first(docs_home: Path) -> None:
    app = make_app(docs_home, MEETING, sync=False, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(pilot)
        text = screen_text(app)
        assert "Current agenda item: 1" in text
        assert [r.doc_id for r in app.screen.rows] == ["annex", "C26/42", "draft"]
        rows = [line.split() for line in text.splitlines() if " r1 " in line or " r3 " in line]
        assert rows[0][:3] == ["*", "annex", "r1"] and rows[0][-2:] == ["not", "fetched"]
        assert rows[1][:2] == ["draft", "r3"] and rows[1][-4:] == ["verified:", "r1,", "r2,", "r3"]
        assert "Not fetched yet: g fetches it" in text
        await select(pilot, "draft")
        text = screen_text(app)
        assert "Verified against its SHA-256; held here: r1, r2, r3." in text


async def test_the_viewer_shows_the_text_of_each_held_revision(docs_home: Path) -> None:
    app = make_app(docs_home, MEETING, sync=False, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(pilot)
        await pilot.press("v")  # annex: nothing held
        assert "Nothing of this document is held yet: g fetches it." in notes(app)
        await select(pilot, "draft")
        await pilot.press("enter")
        await until(pilot, lambda: "Paragraph 1 of the draft" in screen_text(app))
        assert isinstance(app.screen, DocViewScreen)
        await pilot.press("end")
        await until(pilot, lambda: "Paragraph 41, added" in screen_text(app))
        assert "draft r3 of r1, r2, r3 · o: older revision" in screen_text(app)
        await pilot.press("o")
        await until(pilot, lambda: "draft r2 of r1, r2, r3" in screen_text(app))
        await until(pilot, lambda: "Paragraph 1 of the draft" in screen_text(app))
        await pilot.press("end")
        await until(pilot, lambda: "Paragraph 40 of the draft" in screen_text(app))
        assert "Paragraph 41" not in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)


async def test_the_diff_view_shows_changed_lines_and_lets_the_user_pick_revisions(
    docs_home: Path,
) -> None:
    app = make_app(docs_home, MEETING, sync=False, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(pilot)
        await pilot.press("d")  # annex: nothing held
        assert "Comparing needs two held revisions of this document." in notes(app)
        await select(pilot, "draft")
        await pilot.press("d")
        await until(pilot, lambda: "+Paragraph 41, added" in screen_text(app))
        assert isinstance(app.screen, DocDiffScreen)
        text = screen_text(app)
        assert "from r2 to r3" in text and "\n-" not in text  # the newest two: one line added
        await pilot.press("o")  # the older side back to r1
        await until(pilot, lambda: "+Paragraph 20, as Kenya amended it" in screen_text(app))
        text = screen_text(app)
        assert "from r1 to r3" in text and "-Paragraph 20 of the draft" in text
        await pilot.press("n")  # the newer side round to r2
        await until(pilot, lambda: "from r1 to r2" in screen_text(app))
        await until(pilot, lambda: "Paragraph 41" not in screen_text(app))


async def test_a_failed_fetch_says_why_in_a_sentence_and_a_partial_one_shows_its_bar(
    docs_home: Path,
) -> None:
    annex = hashlib.sha256(b"Annex: list of participants.\n" * 40).hexdigest()
    partial = docs_home / "blobs" / "partial"
    partial.mkdir(parents=True)
    (partial / f"{annex}.{'ab' * 8}.800").write_bytes(b"x" * 200)
    app = make_app(docs_home, MEETING, sync=False, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(pilot)
        text = screen_text(app)
        assert "partly fetched 25%" in text
        assert "Partly fetched (200 B of 800 B); g resumes from there." in text
        bar = app.screen.query_one(ProgressBar)
        assert bar.display and bar.percentage == 0.25
        await pilot.press("g")  # this meeting has no relay
        await until(pilot, lambda: "failed" in screen_text(app))
        text = screen_text(app)
        assert "Meeting pp26 has no relay to fetch documents from. g tries again." in text
        assert bar.display and bar.percentage == 0.25  # what the break left is kept
        await select(pilot, "draft")
        assert not app.screen.query_one(DocDetail).has_class("-bar")


async def test_keys_are_in_the_help_and_the_screen_works_in_high_contrast(
    docs_home: Path,
) -> None:
    app = make_app(docs_home, MEETING, sync=False, high_contrast=True, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        assert "d Documents" in screen_text(app)  # the room's footer
        await open_documents(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: bool(app.screen.query("HelpPanel")))
        text = screen_text(app)
        for words in ("Get", "Read", "Compare", "Back"):
            assert words in text
        assert app.theme == "lowband-high-contrast"


async def test_a_fetch_waits_while_submissions_are_queued(docs_home: Path) -> None:
    with Store(docs_home / "store.sqlite") as store:
        info = store.meeting(MEETING)
        assert info is not None
        store.add_meeting(info, "http://127.0.0.1:9")  # a relay, down; nothing is sent
        submit(store, load_key(docs_home / "key"), MEETING, SubKind.FLOOR_REQUEST, b"")
    app = make_app(docs_home, MEETING, sync=False, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(pilot)
        await pilot.press("g")  # annex, the current agenda item's
        await until(pilot, lambda: "waiting: submissions first" in screen_text(app))
        assert "Waiting: your queued submissions are sent first." in screen_text(app)
        assert "outbox 1" in screen_text(app)
