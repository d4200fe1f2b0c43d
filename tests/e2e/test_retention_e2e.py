"""Audio retention in a running relay: its prune loop drops old audio up to a signed anchor, and
a delegate who joins afterwards starts there and verifies the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_relay_layers import M, publish_audio

from lowband.delegate.join import join
from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.http import make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
NB6 = "audio/floor/nb6"
CONFIG = """
parent = "{parent}"
name = "nairobi"

[retention]
audio_hours = 0.0005   # 1.8 s
child_hours = 0.0005
prune_every_s = 1
"""


def oldest(home: Path, name: str) -> int:
    """The first seq of a stream still stored (0 when none is)."""
    with Store(home / "store.sqlite") as store:
        no = store.stream_no(M, name)
        row = store.db.execute(
            "SELECT min(seq) FROM events WHERE meeting=? AND no=?", (M, no)
        ).fetchone()
    return row[0] or 0


async def follow_nb6(home: Path, url: str, until_head: int) -> None:
    """A delegate's node following nb6 until it holds `until_head` events, verified."""
    with Store(home / "store.sqlite") as store:
        if store.meeting(M) is None:
            await join(store, url, M)
        node = Node(store, M, Role.CLIENT, home.name, audio={NB6})
        async with make_client() as client:
            task = asyncio.create_task(Uplink(node, url, client).run())
            for _ in range(300):
                await asyncio.sleep(0.1)
                if stream_state(home, M, NB6) == (until_head, until_head):
                    break
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def test_a_relay_prunes_old_audio_and_a_late_delegate_starts_at_the_anchor(tmp_path: Path) -> None:
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relay = None
    try:
        cli(
            tmp_path / "origin",
            *("meeting", "create", "--id", M, "--title", "T", "--kind", "virtual"),
            *("--remote-rights", "speak", "--start", "2026-12-01T09:00:00Z"),
            *("--end", "2026-12-01T10:00:00Z", "--languages", "en"),
        )
        config = tmp_path / "relay.toml"
        config.write_text(CONFIG.format(parent=origin.url))
        relay = Relay(tmp_path / "relay", "--config", str(config), name="nairobi")
        publish_audio(tmp_path / "origin", origin.url, "nb6", 6)
        # An early listener makes the relay pull nb6 (it pulls only what children follow).
        asyncio.run(follow_nb6(tmp_path / "early", relay.url, 6))
        assert oldest(tmp_path / "relay", NB6) == 1
        # 1.8 s later the early listener's cursor no longer holds pruning back: the relay drops
        # nb6 up to its anchor (the first checkpoint it kept, which covers all six).
        wait_for(lambda: oldest(tmp_path / "relay", NB6) != 1, what="a prune", timeout=30)
        assert stream_state(tmp_path / "relay", M, NB6)[0] == 6  # the head stays
        assert oldest(tmp_path / "origin", NB6) == 1  # the origin keeps everything
        publish_audio(tmp_path / "origin", origin.url, "nb6", 4)
        asyncio.run(follow_nb6(tmp_path / "late", relay.url, 10))
        assert stream_state(tmp_path / "late", M, NB6) == (10, 10)  # verified from the anchor
        assert oldest(tmp_path / "late", NB6) == 7  # it never saw the pruned six
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()
