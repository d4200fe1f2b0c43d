"""Nothing unverified changes lasting state: roster changes and submission outcomes act only once
an origin-signed checkpoint covers them, so a relay that forges or alters them changes nothing."""

from __future__ import annotations

import random

from conftest import MEETING, World, now_ms
from exchange_support import receive, serve
from nacl.signing import SigningKey

from lowband.delegate.outbox import submit
from lowband.node.node import Node, Role
from lowband.protocol.compress import pack_body
from lowband.protocol.model import SubKind, SubmissionText
from lowband.protocol.submissions import State
from lowband.protocol.wire import AckState, decode_canonical, encode_body
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def test_a_roster_change_acts_only_once_a_checkpoint_covers_it(
    world: World, client_store: Store
) -> None:
    node = Node(client_store, MEETING, Role.RELAY, "child")  # a relay admits by its roster
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(1))
    newcomer = SigningKey.generate()
    world.add_delegate(newcomer, name="Newcomer")
    receive(node, serve(world, node), random.Random(2))  # the event, without its checkpoint
    assert client_store.roster_entry(MEETING, bytes(newcomer.verify_key)) is None
    world.origin.sign_due(now_ms() + 2000)
    receive(node, serve(world, node), random.Random(3))
    assert client_store.roster_entry(MEETING, bytes(newcomer.verify_key)) is not None


def test_an_altered_roster_event_never_takes_effect(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.RELAY, "child")
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(4))
    intruder = SigningKey.generate()
    world.add_delegate(SigningKey.generate(), name="Honest")
    world.origin.sign_due(now_ms() + 2000)
    # A malicious parent swaps the new roster entry's key for its own before serving it.
    no = world.origin_store.stream_no(MEETING, "roster")
    assert no is not None
    seq = world.origin_store.head(MEETING, no)[0]
    _, _, body = decode_canonical(world.origin_store.events(MEETING, no, seq - 1, 1)[0][3])
    honest_key = body[body.index(b"\xc4\x20") + 2 :][:32]  # msgpack bin8 of the 32-byte key
    forged = body.replace(honest_key, bytes(intruder.verify_key))
    world.origin_store.set_packed(
        MEETING, no, seq, pack_body(forged, world.origin_store.history(MEETING, no, seq))
    )
    receive(node, serve(world, node), random.Random(5))
    assert node.refused
    assert client_store.roster_entry(MEETING, bytes(intruder.verify_key)) is None


def test_an_outcome_acts_only_once_verified(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    sub = submit(
        client_store, world.delegate_key, MEETING, SubKind.INTERVENTION,
        encode_body(SubmissionText("Kenya supports the draft.")),
    )  # fmt: skip
    receive(node, serve(world, node), random.Random(6))  # accepted at the origin, not signed
    item = queues.outbox_get(client_store, sub.sub_id)
    assert item is not None and item.state is State.RECEIVED
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(7))
    item = queues.outbox_get(client_store, sub.sub_id)
    assert item is not None and item.state is State.ACCEPTED


def test_a_submission_with_no_verified_outcome_is_sent_again_after_a_while(
    world: World, client_store: Store
) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    sub = submit(client_store, world.delegate_key, MEETING, SubKind.FLOOR_REQUEST, b"")
    # A lying relay said the origin had it, and then dropped it.
    with client_store.tx():
        queues.outbox_set(client_store, sub.sub_id, State.RECEIVED, "liar", "", now_ms())
    assert node.request(live=False).subs == []  # trusted for a while
    long_ago = now_ms() - 6 * 60 * 1000
    with client_store.tx():
        queues.outbox_set(client_store, sub.sub_id, State.RECEIVED, "liar", "", long_ago)
    assert [s.sub_id for s in node.request(live=False).subs] == [sub.sub_id]
    assert node.request(live=False).subs == []  # once, not at every exchange
    with client_store.tx():
        queues.outbox_set(client_store, sub.sub_id, State.RECEIVED, "liar", "", long_ago)
    receive(node, serve(world, node), random.Random(8))  # an honest relay: the origin decides
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(9))
    item = queues.outbox_get(client_store, sub.sub_id)
    assert item is not None and item.state is State.ACCEPTED


def test_a_relay_defers_an_author_its_unverified_roster_may_name(
    world: World, client_store: Store
) -> None:
    """A delegate added a moment ago submits before the relay has verified the roster entry:
    deferred (sent again), not refused for good."""
    from lowband.relay import custody

    node = Node(client_store, MEETING, Role.RELAY, "child")
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(10))
    newcomer = SigningKey.generate()
    world.add_delegate(newcomer, name="Newcomer")
    receive(node, serve(world, node), random.Random(11))  # the entry, not yet verified
    sub = submit(client_store, newcomer, MEETING, SubKind.FLOOR_REQUEST, b"")
    ack = custody.take(client_store, sub, "child", "d9", now_ms())
    assert ack.state == AckState.DEFERRED and "not verified yet" in ack.reason
    world.origin.sign_due(now_ms() + 2000)
    receive(node, serve(world, node), random.Random(12))
    assert custody.take(client_store, sub, "child", "d9", now_ms()).state == AckState.CUSTODY
