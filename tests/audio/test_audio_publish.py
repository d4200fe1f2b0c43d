"""The publisher against an in-process origin: every layer, in order, on the meeting's clock."""

from __future__ import annotations

import wave

import httpx
import pytest
from audio_support import SPEECH
from conftest import MEETING, World

from lowband.audio import avio
from lowband.audio.bundle import decode_bundle
from lowband.audio.layers import BUNDLE_SAMPLES, LAYERS, LayerId, stream_name
from lowband.audio.publish import Publisher, PublishError
from lowband.protocol.wire import decode_canonical
from lowband.relay.app import Settings, create_app


def chunks() -> list[bytes]:
    with wave.open(str(SPEECH)) as w:
        pcm48 = avio.raw_to_pcm48(w.readframes(w.getnframes()), 16_000)
    step = 48_000 // 4 * 2  # a quarter of a second
    return [pcm48[i : i + step] for i in range(0, len(pcm48), step)] * 4  # 23.8 s


async def test_every_layer_reaches_the_origin_in_order_on_the_meeting_clock(world: World) -> None:
    app = create_app(world.origin_store, Settings("origin", origin_key=world.origin_key))
    publisher = Publisher(
        world.origin_store,
        world.origin_key,
        MEETING,
        "http://origin",
        "fr",
        transport=httpx.ASGITransport(app=app),
    )
    first = publisher.window_now()
    stats = await publisher.run(chunks())
    windows = stats.bundles // 3
    assert windows == 25 and stats.sent == stats.bundles and not publisher.queue
    assert stats.exchanges >= stats.bundles / 64 and stats.first_window in (first, first + 1)
    store = world.origin_store
    for layer in LayerId:
        no = store.stream_no(MEETING, stream_name("fr", layer))
        assert no is not None
        rows = store.events(MEETING, no, 0, 1000)
        bundles = [decode_bundle(decode_canonical(r[3])[2]) for r in rows]
        starts = [b.start_sample // BUNDLE_SAMPLES for b in bundles]
        assert starts == list(range(stats.first_window, stats.first_window + windows))
        assert {b.layer for b in bundles} == {layer}
        assert {b.frame_samples for b in bundles} == {LAYERS[layer].frame_samples}
        payload = sum(b.payload_bytes for b in bundles)
        assert payload == stats.payload[stream_name("fr", layer)]
        assert payload * 8 / (windows * 0.96) < LAYERS[layer].bitrate * 1.1


async def test_a_key_without_secretariat_rights_may_not_publish(world: World) -> None:
    publisher = Publisher(world.origin_store, world.delegate_key, MEETING, "http://origin", "floor")
    with pytest.raises(PublishError, match="secretariat"):
        await publisher.run(chunks())


def test_a_channel_is_one_path_segment(world: World) -> None:
    with pytest.raises(PublishError):
        Publisher(world.origin_store, world.origin_key, MEETING, "http://origin", "en/x")
