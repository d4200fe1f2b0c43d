"""The origin's decision as a pure function: no store, no clock, one outcome event each."""

from __future__ import annotations

from lowband.meeting.floor import FloorState
from lowband.origin.decide import decide, needs_floor
from lowband.protocol.model import (
    ChairAction,
    ChairVerb,
    FloorAction,
    FloorChange,
    Intervention,
    Kind,
    MeetingKind,
    Notice,
    Publish,
    Receipt,
    Rights,
    RosterEntry,
    SubKind,
    Submission,
    SubmissionText,
)
from lowband.protocol.wire import decode_body, encode_body

KENYA = RosterEntry(bytes(range(32)), "Amina", "Kenya", Rights.SPEAK)
CHAIR = RosterEntry(bytes(32), "Chair", "Switzerland", Rights.CHAIR)
NOTICE = Notice("Council", MeetingKind.HYBRID, Rights.SPEAK, [], ["en"])


def sub(kind: SubKind, body: bytes, author: RosterEntry = KENYA, n: int = 1) -> Submission:
    return Submission(bytes([n]) * 16, "pp26", author.key, kind, body, 0, bytes(64))


def text(words: str, topic: str = "") -> bytes:
    return encode_body(SubmissionText(words, topic))


def test_an_intervention_becomes_its_event_with_the_authors_name() -> None:
    out = decide(sub(SubKind.INTERVENTION, text("Kenya supports it.")), KENYA, NOTICE, None)
    assert out.accepted and (out.stream, out.kind) == ("interventions", Kind.INTERVENTION)
    said = decode_body(out.body, Intervention)
    assert (said.name, said.member_state, said.text) == ("Amina", "Kenya", "Kenya supports it.")


def test_a_rejection_is_a_receipt_naming_the_submission_and_the_reason() -> None:
    observer = RosterEntry(KENYA.key, "Amina", "Kenya", Rights.OBSERVE)
    out = decide(sub(SubKind.INTERVENTION, text("Hello")), observer, NOTICE, None)
    assert not out.accepted and (out.stream, out.kind) == ("receipts", Kind.RECEIPT)
    receipt = decode_body(out.body, Receipt)
    assert receipt.sub_id == bytes([1]) * 16 and receipt.reason == out.reason
    assert "do not allow" in out.reason


def test_the_notices_remote_rights_cap_a_delegate_but_not_the_chair() -> None:
    observe_only = Notice("Council", MeetingKind.HYBRID, Rights.OBSERVE, [], ["en"])
    assert not decide(sub(SubKind.INTERVENTION, text("x")), KENYA, observe_only, None).accepted
    assert decide(sub(SubKind.INTERVENTION, text("x")), CHAIR, observe_only, None).accepted


def test_floor_rules_read_only_the_state_they_are_given() -> None:
    assert needs_floor(SubKind.FLOOR_REQUEST) and not needs_floor(SubKind.CHAT)
    state = FloorState()
    first = decide(sub(SubKind.FLOOR_REQUEST, b""), KENYA, NOTICE, state)
    assert first.accepted and decode_body(first.body, FloorChange).action is FloorAction.REQUEST
    state.apply(decode_body(first.body, FloorChange), 0)
    again = decide(sub(SubKind.FLOOR_REQUEST, b"", n=2), KENYA, NOTICE, state)
    assert again.reason == "You are already in the speaking queue."
    nobody = decode_body(
        decide(sub(SubKind.CHAIR, encode_body(ChairAction(ChairVerb.RELEASE)), CHAIR), CHAIR,
               NOTICE, state).body,
        Receipt,
    )  # fmt: skip
    assert nobody.reason == "Nobody has the floor."


def test_published_events_go_only_to_streams_that_take_their_kind() -> None:
    secretariat = RosterEntry(bytes(32), "Secretariat", "ITU", Rights.SECRETARIAT)
    wrong = encode_body(Publish("transcript/en", Kind.DOC, b""))
    assert (
        "does not take doc events"
        in decide(sub(SubKind.PUBLISH, wrong, secretariat), secretariat, NOTICE, None).reason
    )
    junk = encode_body(Publish("transcript/en", Kind.CAPTION, b"\xc1"))
    assert not decide(sub(SubKind.PUBLISH, junk, secretariat), secretariat, NOTICE, None).accepted


def test_chat_topics_are_checked() -> None:
    out = decide(sub(SubKind.CHAT, text("hi", "Not A Topic")), KENYA, NOTICE, None)
    assert "is not a chat topic" in out.reason
    assert decide(sub(SubKind.CHAT, text("hi")), KENYA, NOTICE, None).stream == "chat/general"
