"""Real relays for the client's end-to-end tests: an origin with the meeting, a relay that
mirrors it, and two joined homes (a delegate with speaking rights and a chair)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

from lowband.delegate.join import join
from lowband.harness.testbed import Relay, stream_state, wait_for
from lowband.node.home import load_or_create_key
from lowband.origin.append import append, create_meeting
from lowband.protocol.model import (
    AgendaItem,
    Kind,
    MeetingKind,
    Notice,
    Rights,
    RosterEntry,
    Session,
)
from lowband.protocol.wire import encode_body
from lowband.storage.store import Store

from .screen_text import screen_text

M = "pp26"


def setup(tmp: Path, origin: Relay) -> tuple[Path, Path]:
    """The meeting at the origin, a delegate (speak) and a chair (chair rights) on its roster."""
    okey = load_or_create_key(tmp / "origin" / "key")
    delegate, chair = tmp / "delegate", tmp / "chair"
    dkey, ckey = load_or_create_key(delegate / "key"), load_or_create_key(chair / "key")
    notice = Notice(
        "Council 2026",
        MeetingKind.HYBRID,
        Rights.SPEAK,
        [Session("2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z")],
        ["en"],
        "Europe/Zurich",
        [AgendaItem("1", "Opening")],
    )
    now = int(time.time() * 1000)
    with Store(tmp / "origin" / "store.sqlite") as store:
        info = create_meeting(store, okey, M, notice, now)
        with store.tx():
            for key, name, rights in [(dkey, "Amina", Rights.SPEAK), (ckey, "Chair", Rights.CHAIR)]:
                entry = RosterEntry(bytes(key.verify_key), name, "Kenya", rights)
                append(store, info, "roster", Kind.ROSTER, encode_body(entry), now)
    return delegate, chair


def relays(tmp_path: Path) -> Iterator[tuple[Relay, Relay, Path, Path]]:
    """The origin, the relay, the delegate's home and the chair's; both relays stop after."""
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relays = [origin]
    try:
        delegate, chair = setup(tmp_path, origin)
        relay = Relay(tmp_path / "relay", "--parent", origin.url, name="nairobi")
        relays.append(relay)
        wait_for(lambda: stream_state(tmp_path / "relay", M, "roster") == (3, 3), what="mirror")
        for home, url in [(delegate, relay.url), (chair, origin.url)]:
            with Store(home / "store.sqlite") as store:
                asyncio.run(join(store, url, M))
        yield origin, relay, delegate, chair
    finally:
        for r in reversed(relays):
            r.stop()


async def until(pilot, cond, tries: int = 300) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never reached; the screen shows:\n{screen_text(pilot.app)}")
