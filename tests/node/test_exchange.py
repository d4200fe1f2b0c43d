"""Serving plan and receiver joined by an in-process link that breaks, splits and repeats.

No sockets: the origin's store is served through `protocol/serve.py` and
`relay/source.py`; the client's store takes the bytes through the receiver
and `Node`, exactly as the HTTP session does.
"""

from __future__ import annotations

import random

import msgspec
from conftest import MEETING, World, now_ms
from exchange_support import publish_captions, receive, serve

from lowband.delegate.outbox import submit
from lowband.node.node import Node, Role
from lowband.protocol.compress import pack_body
from lowband.protocol.model import SubKind, SubmissionText
from lowband.protocol.submissions import State
from lowband.protocol.wire import (
    AckState,
    decode_canonical,
    encode_body,
)
from lowband.relay.source import Views
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def heads(store: Store) -> dict[str, tuple[int, int]]:
    return {name: (head, verified) for _, name, head, verified in store.streams(MEETING)}


def test_broken_exchanges_resume_to_the_same_verified_state(
    world: World, client_store: Store
) -> None:
    rng = random.Random(7)
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    publish_captions(world, 40)
    world.origin.sign_due(now_ms())
    for _ in range(6):  # each response is cut short at a random byte
        data = serve(world, node)
        receive(node, data[: rng.randint(0, len(data))], rng)
    receive(node, serve(world, node), rng)
    origin = heads(world.origin_store)
    client = heads(client_store)
    for name in ("notice", "roster", "transcript/en"):
        assert client[name] == (origin[name][0], origin[name][0])
    assert client_store.event_hash(MEETING, 3, 40) == world.origin_store.event_hash(MEETING, 3, 40)


def test_catch_up_after_many_events_is_one_compressed_stream(
    world: World, client_store: Store
) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    receive(node, serve(world, node), random.Random(1))
    publish_captions(world, 200)
    world.origin.sign_due(now_ms())
    data = serve(world, node)
    text = sum(len(d) for *_, d in world.origin_store.events(MEETING, 3, 0, 1000))
    assert len(data) < 0.35 * text  # batches compress against each other and the history
    receive(node, data, random.Random(2))
    assert heads(client_store)["transcript/en"] == (200, 200)


def test_altered_event_is_refused_at_the_checkpoint(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    publish_captions(world, 3)
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(3))
    publish_captions(world, 1, start=3)
    world.origin.sign_due(now_ms() + 2000)
    # A malicious relay rewrites event 4's payload before serving it.
    no = world.origin_store.stream_no(MEETING, "transcript/en")
    assert no is not None
    ts, kind, body = decode_canonical(world.origin_store.events(MEETING, no, 3, 1)[0][3])
    forged = body.replace(b"Kenya", b"Kenia")
    world.origin_store.set_packed(
        MEETING, no, 4, pack_body(forged, world.origin_store.history(MEETING, no, 4))
    )
    receive(node, serve(world, node), random.Random(4))
    assert node.refused and "do not match the origin's signature" in node.refused[0]
    assert heads(client_store)["transcript/en"] == (3, 3)  # the forged line is gone


def test_submission_custody_to_acceptance_exactly_once(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    receive(node, serve(world, node), random.Random(5))
    sub = submit(
        client_store,
        world.delegate_key,
        MEETING,
        SubKind.INTERVENTION,
        encode_body(SubmissionText("We support the draft.", "3")),
    )
    ack = world.origin.accept(sub, now_ms())
    assert ack.state == AckState.RECEIVED
    world.origin.sign_due(now_ms())  # the outcome acts once a checkpoint covers it
    # The ack was lost on the way: the client sends it again, twice.
    for _ in range(2):
        receive(node, serve(world, node), random.Random(6))
    item = queues.outbox_get(client_store, sub.sub_id)
    assert item is not None and item.state is State.ACCEPTED
    no = world.origin_store.stream_no(MEETING, "interventions")
    assert no is not None and world.origin_store.head(MEETING, no)[0] == 1


def test_origin_refuses_strangers_and_rejects_what_rights_forbid(
    world: World, client_store: Store
) -> None:
    from nacl.signing import SigningKey

    from lowband.protocol.model import Rights

    stranger = SigningKey.generate()
    sub = submit(client_store, stranger, MEETING, SubKind.FLOOR_REQUEST, b"")
    ack = world.origin.accept(sub, now_ms())
    assert ack.state == AckState.REFUSED and "not on the roster" in ack.reason

    observer = SigningKey.generate()
    world.add_delegate(observer, Rights.OBSERVE, "Observer")
    sub = submit(client_store, observer, MEETING, SubKind.FLOOR_REQUEST, b"")
    assert world.origin.accept(sub, now_ms()).state == AckState.RECEIVED
    withdraw = submit(client_store, world.delegate_key, MEETING, SubKind.FLOOR_WITHDRAW, b"")
    world.origin.accept(withdraw, now_ms())
    world.origin.sign_due(now_ms())
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    receive(node, serve(world, node), random.Random(8))
    assert queues.outbox_get(client_store, sub.sub_id).state is State.REJECTED  # type: ignore[union-attr]
    assert "observe" in queues.outbox_get(client_store, sub.sub_id).reason  # type: ignore[union-attr]
    w = queues.outbox_get(client_store, withdraw.sub_id)
    assert w is not None and w.state is State.REJECTED and "not in the speaking queue" in w.reason


def test_tampered_submission_is_refused(world: World, client_store: Store) -> None:
    sub = submit(
        client_store,
        world.delegate_key,
        MEETING,
        SubKind.CHAT,
        encode_body(SubmissionText("hello", "general")),
    )
    tampered = msgspec.structs.replace(sub, body=encode_body(SubmissionText("HELLO", "general")))
    ack = world.origin.accept(tampered, now_ms())
    assert ack.state == AckState.REFUSED and "signature" in ack.reason


def test_closed_history_comes_as_cacheable_blocks(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    publish_captions(world, 600)
    world.origin.sign_due(now_ms())
    data = serve(world, node)
    # Blocks 0 and 1 (events 1..512) are referenced, not inlined; 513..600 come in the response.
    assert len(data) < 4000
    receive(node, data, random.Random(9), origin=world.origin_store)
    assert heads(client_store)["transcript/en"] == (600, 600)
    view = Views(world.origin_store).get(MEETING, 0)
    no = world.origin_store.stream_no(MEETING, "transcript/en")
    assert no is not None
    assert view.block(no, 1) == Views(world.origin_store).get(MEETING, 0).block(no, 1)  # stable
    assert view.block(no, 2) is None  # 513..768 is still open
