"""The origin holds a roster key that reaches it directly to a relay's limits, caps chat topics,
and folds the speaking queue incrementally instead of replaying the floor stream each time."""

from __future__ import annotations

import httpx
from conftest import MEETING, World, now_ms

from lowband.delegate.outbox import submit
from lowband.http import make_client
from lowband.meeting.floor import FloorState
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.origin.decide import MAX_TOPICS, decide
from lowband.protocol.model import Rights, RosterEntry, SubKind, SubmissionText
from lowband.protocol.submissions import State
from lowband.protocol.wire import encode_body
from lowband.relay.app import Settings, create_app
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def chat(text: str, topic: str = "general") -> bytes:
    return encode_body(SubmissionText(text, topic))


async def test_a_delegate_talking_to_the_origin_directly_is_rate_limited(
    world: World, client_store: Store
) -> None:
    subs = [
        submit(client_store, world.delegate_key, MEETING, SubKind.CHAT, chat(f"message {i}"))
        for i in range(20)
    ]
    app = create_app(world.origin_store, Settings(name="origin", origin_key=world.origin_key))
    node = Node(client_store, MEETING, Role.CLIENT, "d1", key=world.delegate_key)
    async with make_client(httpx.ASGITransport(app=app)) as client:
        await Uplink(node, "http://origin.test", client).exchange(live=False, with_events=False)
    states = [queues.outbox_get(client_store, s.sub_id).state for s in subs]  # type: ignore[union-attr]
    assert states.count(State.RECEIVED) == 10  # the burst a relay allows a key
    assert states.count(State.QUEUED) == 10  # deferred: still queued here, sent again later
    deferred = queues.outbox_get(client_store, subs[-1].sub_id)
    assert deferred is not None and "Too many submissions" in deferred.reason


def test_a_meeting_has_a_bounded_number_of_chat_topics(world: World, client_store: Store) -> None:
    entry = RosterEntry(bytes(world.delegate_key.verify_key), "Amina", "Kenya", Rights.SPEAK)
    topics = frozenset(f"topic-{i}" for i in range(MAX_TOPICS))
    new = submit(client_store, world.delegate_key, MEETING, SubKind.CHAT, chat("hi", "another"))
    old = submit(client_store, world.delegate_key, MEETING, SubKind.CHAT, chat("hi", "topic-3"))
    assert "chat topics already" in decide(new, entry, None, None, topics).reason
    assert decide(old, entry, None, None, topics).accepted


def test_a_floor_request_reads_only_the_floor_events_it_has_not_folded(
    world: World, client_store: Store
) -> None:
    for _ in range(150):
        for kind in (SubKind.FLOOR_REQUEST, SubKind.FLOOR_WITHDRAW):
            world.origin.accept(
                submit(client_store, world.delegate_key, MEETING, kind, b""), now_ms()
            )
    store = world.origin_store
    floor_no = store.stream_no(MEETING, "floor")
    read: list[int] = []
    events = store.events

    def counted(meeting: str, no: int, after: int, limit: int) -> list[tuple[int, int, int, bytes]]:
        rows = events(meeting, no, after, limit)
        if no == floor_no:
            read.append(len(rows))
        return rows

    store.events = counted  # type: ignore[method-assign]
    request = submit(client_store, world.delegate_key, MEETING, SubKind.FLOOR_REQUEST, b"")
    world.origin.accept(request, now_ms())
    assert sum(read) <= 1  # not the 300 events before it
    assert isinstance(world.origin.floors.state(store, MEETING), FloorState)
    assert world.origin.floors.state(store, MEETING).waiting(bytes(world.delegate_key.verify_key))
