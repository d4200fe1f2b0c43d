"""A relay pulls from its parent only the audio layers its children follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lowband.delegate import join, submit, sync_once
from lowband.home import Home
from lowband.model import Kind, Publish, SubKind
from lowband.node import Node, Role
from lowband.store import Store
from lowband.sync.session import Uplink, make_client
from lowband.testbed import Relay, cli, stream_state, wait_for
from lowband.wire import encode_body

pytestmark = pytest.mark.e2e
M = "pp26"


def publish_audio(home: Path, origin_url: str, layer: str, n: int) -> None:
    key = Home(home).key()
    with Store(home / "pub.sqlite") as store:
        if store.meeting(M) is None:
            asyncio.run(join(store, origin_url, M))
        for i in range(n):
            pub = Publish(f"audio/floor/{layer}", Kind.AUDIO, bytes([i]) * 40)
            submit(store, key, M, SubKind.PUBLISH, encode_body(pub))
        asyncio.run(sync_once(store, M, "publisher", with_events=False, url=origin_url))


def test_relay_mirrors_only_followed_layers(tmp_path: Path) -> None:
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relay = None
    try:
        cli(
            tmp_path / "origin",
            "meeting",
            "create",
            "--id",
            M,
            "--title",
            "T",
            "--kind",
            "virtual",
            "--remote-rights",
            "speak",
            "--start",
            "2026-12-01T09:00:00Z",
            "--end",
            "2026-12-01T10:00:00Z",
            "--languages",
            "en",
        )
        relay = Relay(tmp_path / "relay", "--parent", origin.url, name="nairobi")
        publish_audio(tmp_path / "origin", origin.url, "nb6", 3)
        publish_audio(tmp_path / "origin", origin.url, "fb28", 3)
        wait_for(lambda: stream_state(tmp_path / "relay", M, "notice")[0] == 1, what="mirror")

        async def listen() -> None:
            with Store(tmp_path / "listener.sqlite") as store:
                await join(store, relay.url, M)
                node = Node(store, M, Role.CLIENT, "listener", audio={"audio/floor/nb6"})
                async with make_client() as client:
                    task = asyncio.create_task(Uplink(node, relay.url, client).run())
                    for _ in range(200):
                        await asyncio.sleep(0.1)
                        if stream_state(tmp_path / "relay", M, "audio/floor/nb6")[0] == 3:
                            break
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

        asyncio.run(listen())
        assert stream_state(tmp_path / "relay", M, "audio/floor/nb6")[0] == 3
        assert stream_state(tmp_path / "relay", M, "audio/floor/fb28")[0] == 0
        assert stream_state(tmp_path / "origin", M, "audio/floor/fb28")[0] == 3
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()
