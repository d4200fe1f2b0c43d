"""A relay pulls from its parent only the audio layers its children follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lowband.delegate.join import join
from lowband.delegate.outbox import submit, sync_once
from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.http import make_client
from lowband.node.home import Home
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.model import CaptionLine, Kind, Publish, SubKind
from lowband.protocol.wire import encode_body
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"


def publish(home: Path, origin_url: str, stream: str, kind: Kind, bodies: list[bytes]) -> None:
    key = Home(home).key()
    with Store(home / "pub.sqlite") as store:
        if store.meeting(M) is None:
            asyncio.run(join(store, origin_url, M))
        for body in bodies:
            submit(store, key, M, SubKind.PUBLISH, encode_body(Publish(stream, kind, body)))
        asyncio.run(sync_once(store, M, "publisher", with_events=False, url=origin_url))


def publish_audio(home: Path, origin_url: str, layer: str, n: int) -> None:
    publish(
        home, origin_url, f"audio/floor/{layer}", Kind.AUDIO, [bytes([i]) * 40 for i in range(n)]
    )


def caption(home: Path, origin_url: str, text: str) -> None:
    line = encode_body(CaptionLine("CHAIR", text))
    publish(home, origin_url, "transcript/en", Kind.CAPTION, [line])


def test_relay_mirrors_only_followed_layers(tmp_path: Path) -> None:
    """The relay first mirrors the captions, numbered after the layers it skipped; a listener
    then takes up nb6, and the relay fetches it (announced though numbered below a stream it
    held) and goes on mirroring the captions."""
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
        caption(tmp_path / "origin", origin.url, "We resume.")
        wait_for(
            lambda: stream_state(tmp_path / "relay", M, "transcript/en")[0] == 1, what="mirror"
        )

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
        caption(tmp_path / "origin", origin.url, "The floor is open.")
        wait_for(lambda: stream_state(tmp_path / "relay", M, "transcript/en")[0] == 2, what="more")
        assert stream_state(tmp_path / "relay", M, "audio/floor/fb28")[0] == 0
        assert stream_state(tmp_path / "origin", M, "audio/floor/fb28")[0] == 3
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()
