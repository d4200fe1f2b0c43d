"""The outbox takes nothing it could never send, and one bad item never holds up the rest."""

from __future__ import annotations

import os
import random

import pytest
from conftest import MEETING, World, now_ms
from exchange_support import receive, serve

from lowband.delegate.outbox import submit
from lowband.node.node import Node, Role
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import SubKind, Submission, SubmissionText
from lowband.protocol.submissions import State
from lowband.protocol.wire import encode_body
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def text(words: str) -> bytes:
    return encode_body(SubmissionText(words))


def test_an_intervention_over_the_limit_is_refused_before_it_is_queued(
    world: World, client_store: Store
) -> None:
    with pytest.raises(ValueError, match="at most 64 KiB.*Nothing was queued"):
        submit(client_store, world.delegate_key, MEETING, SubKind.INTERVENTION, text("x" * 70_000))
    with pytest.raises(ValueError, match="at most 16,000 characters"):
        submit(client_store, world.delegate_key, MEETING, SubKind.INTERVENTION, text("y" * 20_000))
    assert queues.outbox(client_store, MEETING) == []


def test_a_stored_submission_that_can_never_be_sent_is_rejected_and_the_rest_go(
    world: World, client_store: Store
) -> None:
    # As an older lowband stored it: 70 KB of text, queued before anything checked its size.
    big = sign_submission(
        world.delegate_key,
        Submission(os.urandom(16), MEETING, bytes(32), SubKind.INTERVENTION, text("x" * 70_000),
                   now_ms(), bytes(64)),
    )  # fmt: skip
    with client_store.tx():
        queues.outbox_add(client_store, big, encode_body(big), now_ms())
    good = submit(client_store, world.delegate_key, MEETING, SubKind.FLOOR_REQUEST, b"")
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    assert [s.sub_id for s in node.request(live=False).subs] == [good.sub_id]
    stuck = queues.outbox_get(client_store, big.sub_id)
    assert stuck is not None and stuck.state is State.REJECTED and "64 KiB" in stuck.reason
    receive(node, serve(world, node), random.Random(1))  # the origin accepts it
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(2))  # and a checkpoint covers the outcome
    sent = queues.outbox_get(client_store, good.sub_id)
    assert sent is not None and sent.state is State.ACCEPTED


def test_damaged_bytes_in_the_outbox_are_rejected_and_hold_up_nothing(
    world: World, client_store: Store
) -> None:
    good = submit(client_store, world.delegate_key, MEETING, SubKind.FLOOR_REQUEST, b"")
    damaged = Submission(os.urandom(16), MEETING, bytes(32), SubKind.CHAT, b"", now_ms(), bytes(64))
    with client_store.tx():
        queues.outbox_add(client_store, damaged, b"\xc1 not msgpack", now_ms())
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    assert [s.sub_id for s in node.request(live=False).subs] == [good.sub_id]
    item = queues.outbox_get(client_store, damaged.sub_id)
    assert item is not None and item.state is State.REJECTED and "cannot be sent" in item.reason
