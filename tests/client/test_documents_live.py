"""The documents screen against real processes: an origin and a relay on loopback, the link
emulator between the delegate and its relay, documents published with the real CLI, and the
real app (syncing, fetching) driven by Pilot over a real store."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import ProgressBar

from lowband.client import make_app
from lowband.client.screens.doc_diff import DocDiffScreen
from lowband.client.screens.doc_view import DocViewScreen
from lowband.client.screens.documents import DocumentsScreen
from lowband.client.views.doc_rows import DocState
from lowband.harness.testbed import Relay, cli, delegate_behind_link, stream_state, wait_for
from lowband.linkem import LinkEmulatorThread, LinkProfile, OutageKind
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

from .screen_text import screen_text

pytestmark = pytest.mark.e2e
M = "pp26"
SIZE = (120, 36)


@dataclass
class Net:
    tmp: Path
    origin: Relay
    relay: Relay
    link: LinkEmulatorThread
    delegate: Path

    def publish(self, path: Path, *args: str) -> None:
        cli(
            self.tmp / "origin", "publish", "doc", "--origin", self.origin.url, "--meeting", M,
            str(path), *args,
        )  # fmt: skip
        n = stream_state(self.tmp / "origin", M, "docs")[0]
        wait_for(lambda: stream_state(self.tmp / "relay", M, "docs")[0] == n, what="relay docs")

    def document(self, name: str) -> Path:
        return self.delegate / "documents" / M / name


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with delegate_behind_link(tmp_path, M) as (origin, relay, link, delegate):
        yield Net(tmp_path, origin, relay, link, delegate)


async def until(pilot, cond, tries: int = 600) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `cond()` holds; bounded by count, not by the clock."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never reached; the screen shows:\n{screen_text(pilot.app)}")


def state(app, doc_id: str) -> DocState | None:  # type: ignore[no-untyped-def]
    return next((r.state for r in app.screen.rows if r.doc_id == doc_id), None)


async def select(pilot, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(len(pilot.app.screen.rows)):
        if pilot.app.screen.selected().doc_id == doc_id:
            return
        await pilot.press("down")
    raise AssertionError(f"{doc_id} is not in the list")


def test_fetch_read_and_compare_through_a_real_relay(net: Net) -> None:
    draft = net.tmp / "draft.txt"
    rng = random.Random(5)  # tokens that keep r1's encoded form over the 4 KiB sent inline
    lines = [
        f"Paragraph {i} of the draft resolution on remote participation. {rng.randbytes(16).hex()}"
        for i in range(300)
    ]
    draft.write_text("\n".join(lines) + "\n")
    net.publish(draft, "--agenda-item", "2")
    asyncio.run(_fetch_read_compare(net, draft, lines))


async def _fetch_read_compare(net: Net, draft: Path, lines: list[str]) -> None:
    app = make_app(net.delegate, M)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, DocumentsScreen)
        await until(pilot, lambda: re.search(r"\*\s+draft\s+r1 .* not fetched", screen_text(app)))
        assert state(app, "draft") is DocState.NOT_FETCHED  # covered by a checkpoint, not held
        await pilot.press("g")
        await until(pilot, lambda: "verified: r1" in screen_text(app))
        assert state(app, "draft") is DocState.VERIFIED
        assert net.document("draft-r1.txt").read_bytes() == draft.read_bytes()

        await pilot.press("v")
        await until(pilot, lambda: "Paragraph 0 of the draft" in screen_text(app))
        assert isinstance(app.screen, DocViewScreen)
        await pilot.press("escape")

        lines[150] = "Paragraph 150, as Kenya amended it, on remote participation."
        draft.write_text("\n".join(lines) + "\n")
        await asyncio.to_thread(net.publish, draft)
        # The new revision shows at once, but is fetched only once the origin's signature
        # covers it: the relay sends this client a checkpoint at most every 45 s. It does not
        # come inline: the live exchange opened before r1 was held, so the relay encodes it
        # against nothing, and the whole file is over 4 KiB.
        await until(pilot, lambda: "awaiting signature (r1 held)" in screen_text(app))
        assert "r2 is not yet covered by the origin's signature" in screen_text(app)
        await until(pilot, lambda: "not fetched (r1 held)" in screen_text(app))
        await pilot.press("g")
        await until(pilot, lambda: "verified: r1, r2" in screen_text(app))

        await pilot.press("d")
        await until(pilot, lambda: "+Paragraph 150, as Kenya amended it" in screen_text(app))
        assert isinstance(app.screen, DocDiffScreen)
        text = screen_text(app)
        assert "from r1 to r2" in text
        assert "-Paragraph 150 of the draft resolution on remote participation." in text


def test_a_transfer_broken_midway_shows_it_and_completes_without_a_half_written_file(
    net: Net,
) -> None:
    annex = net.tmp / "annex.bin"
    annex.write_bytes(os.urandom(300_000))  # incompressible: sent stored, one byte more
    net.publish(annex)
    net.link.set_profile(LinkProfile(down_kbps=400, up_kbps=400, name="slow"))
    asyncio.run(_break_and_resume(net, annex))


async def _break_and_resume(net: Net, annex: Path) -> None:
    app = make_app(net.delegate, M)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: state(app, "annex") is DocState.NOT_FETCHED)
        await select(pilot, "annex")
        await pilot.press("g")
        bar = app.screen.query_one(ProgressBar)
        await until(pilot, lambda: (bar.percentage or 0) > 0.1 and "kB/s" in screen_text(app))
        text = screen_text(app)
        assert "fetching" in text and "of 300.0 kB" in text and "left" in text
        assert bar.percentage is not None and bar.percentage < 0.9

        # The relay dies mid-transfer, and its link with it: the emulator would otherwise go on
        # delivering what it had taken in before the relay died.
        net.link.begin_outage(OutageKind.HARD)
        await asyncio.to_thread(net.relay.kill)
        await until(pilot, lambda: "The link broke at byte" in screen_text(app))
        assert "resuming" in screen_text(app) and state(app, "annex") is DocState.FETCHING
        assert not net.document("annex-r1.bin").exists()
        assert any((net.delegate / "blobs" / "partial").iterdir())

        await asyncio.to_thread(net.relay.start)  # same port, same store
        net.link.end_outage()
        await until(pilot, lambda: "verified: r1" in screen_text(app))
        assert state(app, "annex") is DocState.VERIFIED
    assert net.document("annex-r1.bin").read_bytes() == annex.read_bytes()
    assert not any((net.delegate / "blobs" / "partial").iterdir())
    with Store(net.delegate / "store.sqlite") as store:
        sha = hashlib.sha256(annex.read_bytes()).hexdigest()
        assert BlobStore(store).read(sha) == annex.read_bytes()
