"""The in-process exchange of tests that join a serving plan and a receiver without sockets:
publish captions at the origin, serve one whole response, feed it to a node in random pieces."""

from __future__ import annotations

import random

from conftest import MEETING, World, now_ms

from lowband.node.node import Node
from lowband.origin.append import append
from lowband.protocol.model import CaptionLine, Kind
from lowband.protocol.receiver import FetchHistory
from lowband.protocol.serve import Follower
from lowband.protocol.wire import FrameReader, Hello, encode_body, encode_frame
from lowband.relay.source import Views
from lowband.storage.store import Store


def publish_captions(world: World, n: int, start: int = 0) -> None:
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    for i in range(start, start + n):
        body = encode_body(CaptionLine("CHAIR", f"Line {i}: the distinguished delegate of Kenya."))
        with world.origin_store.tx():
            append(world.origin_store, info, "transcript/en", Kind.CAPTION, body, now_ms())


def serve(world: World, node: Node, now: float = 0.0) -> bytes:
    """One whole (non-live) response from the origin for the node's current request."""
    req = node.request(live=False)
    acks = [world.origin.accept(s, now_ms()) for s in req.subs]
    out = [encode_frame(Hello(1, "origin", now_ms())), *map(encode_frame, acks)]
    follower = Follower(req, now)
    views = Views(world.origin_store)
    while True:
        view = views.get(MEETING, 0)
        frames = follower.pull(view, now)
        if not frames:
            break
        out += frames
        views = Views(world.origin_store)
    return b"".join(out)


def receive(node: Node, data: bytes, rng: random.Random, origin: Store | None = None) -> None:
    """Feed a response in random pieces; fetch history blocks from `origin` when told to."""
    reader = FrameReader()
    receiver = node.receiver()
    pos = 0
    while pos < len(data):
        step = rng.randint(1, 40)
        effects = []
        for frame in reader.feed(data[pos : pos + step]):
            for effect in receiver.on_frame(frame):
                if isinstance(effect, FetchHistory):
                    assert origin is not None
                    node.apply(effects, now_ms())
                    effects = []
                    view = Views(origin).get(MEETING, 0)
                    for block in range(effect.first, effect.last + 1):
                        body = view.block(effect.no, block)
                        assert body is not None
                        fetched = [
                            e for f in FrameReader().feed(body) for e in receiver.on_frame(f)
                        ]
                        node.apply(fetched, now_ms())
                else:
                    effects.append(effect)
        node.apply(effects, now_ms())
        pos += step
