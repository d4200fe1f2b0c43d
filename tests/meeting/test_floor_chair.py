"""The speaking queue with the chair's actions: folded state, origin rules, plain words."""

from __future__ import annotations

import os
import time

from conftest import MEETING, World
from nacl.signing import SigningKey

from lowband.meeting.floor import FloorState, fairness, in_room_key
from lowband.meeting.render import line
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import (
    ChairAction,
    ChairVerb,
    FloorAction,
    FloorChange,
    Kind,
    Rights,
    SubKind,
    Submission,
)
from lowband.protocol.wire import encode_body


def sub(key: SigningKey, kind: SubKind, body: bytes = b"") -> Submission:
    unsigned = Submission(
        os.urandom(16), MEETING, bytes(32), kind, body, int(time.time() * 1000), bytes(64)
    )
    return sign_submission(key, unsigned)


def chair(key: SigningKey, verb: ChairVerb, **kw: object) -> Submission:
    return sub(key, SubKind.CHAIR, encode_body(ChairAction(verb, **kw)))  # type: ignore[arg-type]


def outcome(world: World, s: Submission) -> tuple[str, str] | None:
    world.origin.accept(s, int(time.time() * 1000))
    row = world.origin_store.one("SELECT outcome, reason FROM applied WHERE sub_id=?", (s.sub_id,))
    return (row[0], row[1]) if row else None


def test_fold_grant_release_close_and_fairness() -> None:
    s = FloorState()
    a = FloorChange(FloorAction.REQUEST, b"a" * 16, b"A" * 32, "Amina", "Kenya", True)
    p = FloorChange(
        FloorAction.REQUEST, b"p" * 16, in_room_key("Paulo", "Brazil"), "Paulo", "Brazil", False
    )
    s.apply(a, 1_000)
    s.apply(p, 2_000)
    s.apply(
        FloorChange(FloorAction.GRANT, b"g" * 16, a.key, a.name, a.member_state, True, a.sub_id),
        31_000,
    )
    assert (
        s.speaker is not None
        and s.speaker.name == "Amina"
        and [r.name for r in s.queue] == ["Paulo"]
    )
    s.apply(FloorChange(FloorAction.CLOSE, b"c" * 16, b"C" * 32, "Chair", "ITU", False), 32_000)
    s.apply(FloorChange(FloorAction.RELEASE, b"r" * 16, b"C" * 32, "Chair", "ITU", False), 33_000)
    assert s.closed and s.speaker is None
    f = fairness(s, now_ts=62_000)
    assert (f["remote"].count, f["remote"].longest_s) == (1, 30.0)
    assert (f["in the room"].count, f["in the room"].mean_s) == (1, 60.0)


def test_chair_actions_need_chair_rights_and_follow_the_rules(world: World) -> None:
    chair_key = SigningKey.generate()
    world.add_delegate(chair_key, Rights.CHAIR, name="Chair")
    delegate = world.delegate_key
    assert outcome(world, chair(delegate, ChairVerb.NEXT)) == (
        "rejected",
        "Your rights in this meeting (speak) do not allow chair.",
    )
    assert outcome(world, chair(chair_key, ChairVerb.NEXT))[1] == "The speaking queue is empty."  # type: ignore[index]
    assert outcome(world, sub(delegate, SubKind.FLOOR_REQUEST)) == ("accepted", "")
    assert (
        outcome(
            world,
            chair(
                chair_key,
                ChairVerb.IN_ROOM,
                name="Paulo",
                member_state="Brazil",
                point_of_order=True,
            ),
        )[0]
        == "accepted"
    )  # type: ignore[index]
    assert outcome(world, chair(chair_key, ChairVerb.CLOSE)) == ("accepted", "")
    assert outcome(world, chair(chair_key, ChairVerb.IN_ROOM, name="Jean", member_state="France"))[
        1
    ].startswith("The list of speakers is closed")  # type: ignore[index]
    assert outcome(world, chair(chair_key, ChairVerb.NEXT)) == (
        "accepted",
        "",
    )  # point of order first
    state = world.origin.floors.state(world.origin_store, MEETING)
    assert state.speaker is not None and state.speaker.name == "Paulo" and not state.speaker.remote
    assert outcome(world, chair(chair_key, ChairVerb.GRANT, ref=state.queue[0].sub_id)) == (
        "accepted",
        "",
    )
    state = world.origin.floors.state(world.origin_store, MEETING)
    assert state.speaker is not None and state.speaker.name == "Amina" and state.queue == []
    no = world.origin_store.stream_no(MEETING, "floor")
    assert no is not None
    ev = world.origin_store.events(MEETING, no, 0, 100)[-1]
    from lowband.protocol.wire import decode_canonical

    text = line("floor", ev[0], Kind(ev[2]), decode_canonical(ev[3])[2], "09:00:00")
    assert text == "09:00:00 FLOOR: Amina (Kenya, remote) has the floor."
