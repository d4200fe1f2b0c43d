"""The origin's decision on one submission, as a pure function.

Owns every rule that says whether a submission is accepted and what event it becomes: the
author's rights and the notice's remote rights, the speaking queue's rules (already queued,
the list closed, nobody has the floor), the chair's verbs, chat topics, and which streams
take which kinds of published events. `decide` takes the submission, its author's roster
entry, the notice and the floor state, and returns the one event to append: the accepted
event, or the receipt that rejects it with a reason. Must not: read the store, append, sign
or read a clock; `origin/origin.py` loads what it needs and records the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lowband.meeting.floor import FloorState, in_room_key
from lowband.protocol.model import (
    BODY_TYPES,
    SUB_RIGHTS,
    ChairAction,
    ChairVerb,
    ChatMessage,
    FloorAction,
    FloorChange,
    Intervention,
    Kind,
    Notice,
    Publish,
    Receipt,
    Rights,
    RosterEntry,
    SubKind,
    Submission,
    SubmissionText,
    has_right,
)
from lowband.protocol.wire import ProtocolError, decode_body, encode_body

TOPIC = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TOPICS = 64  # side discussions a meeting may have; each is a stream every relay carries
STREAM_KINDS = {"notice": Kind.NOTICE, "roster": Kind.ROSTER, "docs": Kind.DOC}
PREFIX_KINDS = {"transcript/": Kind.CAPTION, "audio/": Kind.AUDIO}
FLOOR_KINDS = frozenset(
    {SubKind.FLOOR_REQUEST, SubKind.FLOOR_WITHDRAW, SubKind.POINT_OF_ORDER, SubKind.CHAIR}
)
_FLOOR_ACTIONS = {
    SubKind.FLOOR_REQUEST: FloorAction.REQUEST,
    SubKind.FLOOR_WITHDRAW: FloorAction.WITHDRAW,
    SubKind.POINT_OF_ORDER: FloorAction.POINT_OF_ORDER,
}


@dataclass(frozen=True)
class Outcome:
    """The one event a decision appends; `reason` is '' when the submission was accepted,
    else why not (and the event is its receipt on `receipts`)."""

    stream: str
    kind: Kind
    body: bytes
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return not self.reason


class Rejected(Exception):
    """A rule decided against the submission; the message is the reason."""


def needs_floor(kind: SubKind) -> bool:
    """Whether deciding a submission of this kind reads the floor state."""
    return kind in FLOOR_KINDS


def decide(
    sub: Submission,
    entry: RosterEntry,
    notice: Notice | None,
    floor: FloorState | None,
    topics: frozenset[str] = frozenset(),
) -> Outcome:
    """The outcome of `sub` by `entry`'s author. `floor` is needed when `needs_floor`;
    `topics` are the meeting's chat topics so far (for a chat message)."""
    try:
        return _accepted(sub, entry, notice, floor, topics)
    except (Rejected, ProtocolError) as exc:
        receipt = encode_body(Receipt(sub.sub_id, str(exc)))
        return Outcome("receipts", Kind.RECEIPT, receipt, str(exc))


def _accepted(
    sub: Submission,
    entry: RosterEntry,
    notice: Notice | None,
    floor: FloorState | None,
    topics: frozenset[str],
) -> Outcome:
    needed = SUB_RIGHTS[sub.kind]
    if not has_right(entry.rights, needed):
        raise Rejected(f"Your rights in this meeting ({entry.rights}) do not allow {sub.kind}.")
    if (
        notice
        and not has_right(entry.rights, Rights.CHAIR)
        and not has_right(notice.remote_rights, needed)
    ):
        raise Rejected(f"Remote participants in this meeting may only {notice.remote_rights}.")
    if sub.kind is SubKind.PUBLISH:
        return _publish(decode_body(sub.body, Publish))
    if sub.kind in FLOOR_KINDS:
        assert floor is not None, "the origin loads the floor state for floor submissions"
        if sub.kind is SubKind.CHAIR:
            change = _chair(sub, entry, decode_body(sub.body, ChairAction), floor)
        else:
            change = _floor(sub, entry, floor)
        return Outcome("floor", Kind.FLOOR, encode_body(change))
    text = decode_body(sub.body, SubmissionText)
    if sub.kind is SubKind.INTERVENTION:
        said = Intervention(
            sub.sub_id, entry.key, entry.name, entry.member_state, text.text, text.topic
        )
        return Outcome("interventions", Kind.INTERVENTION, encode_body(said))
    topic = text.topic or "general"
    if not TOPIC.match(topic):
        raise Rejected(f"{topic!r} is not a chat topic (lowercase letters, digits, - and _).")
    if topic not in topics and len(topics) >= MAX_TOPICS:
        raise Rejected(f"This meeting has {MAX_TOPICS} chat topics already; write in one of them.")
    message = ChatMessage(sub.sub_id, entry.key, entry.name, text.text)
    return Outcome(f"chat/{topic}", Kind.CHAT, encode_body(message))


def _floor(sub: Submission, entry: RosterEntry, state: FloorState) -> FloorChange:
    action = _FLOOR_ACTIONS[sub.kind]
    if action is FloorAction.REQUEST and state.waiting(entry.key):
        raise Rejected("You are already in the speaking queue.")
    if action is FloorAction.REQUEST and state.closed:
        raise Rejected("The list of speakers is closed; a point of order is still possible.")
    if action is FloorAction.WITHDRAW and not state.waiting(entry.key):
        raise Rejected("You are not in the speaking queue.")
    return FloorChange(action, sub.sub_id, entry.key, entry.name, entry.member_state, True)


def _chair(sub: Submission, entry: RosterEntry, act: ChairAction, state: FloorState) -> FloorChange:
    """A chair's action on the queue becomes one floor event every delegate sees."""
    match act.verb:
        case ChairVerb.GRANT | ChairVerb.NEXT | ChairVerb.REMOVE:
            if act.verb is ChairVerb.NEXT:
                req = state.queue[0] if state.queue else None
                missing = "The speaking queue is empty."
            else:
                req = state.find(act.ref)
                missing = "That request is no longer in the speaking queue."
            if req is None:
                raise Rejected(missing)
            action = FloorAction.WITHDRAW if act.verb is ChairVerb.REMOVE else FloorAction.GRANT
            return FloorChange(
                action, sub.sub_id, req.key, req.name, req.member_state, req.remote, req.sub_id
            )
        case ChairVerb.RELEASE:
            if state.speaker is None:
                raise Rejected("Nobody has the floor.")
            return FloorChange(
                FloorAction.RELEASE, sub.sub_id, entry.key, entry.name, entry.member_state, False
            )
        case ChairVerb.CLOSE | ChairVerb.OPEN:
            closing = act.verb is ChairVerb.CLOSE
            if state.closed == closing:
                raise Rejected(
                    f"The list of speakers is already {'closed' if closing else 'open'}."
                )
            action = FloorAction.CLOSE if closing else FloorAction.OPEN
            return FloorChange(action, sub.sub_id, entry.key, entry.name, entry.member_state, False)
        case ChairVerb.IN_ROOM:
            if not act.name.strip():
                raise Rejected("Give the name of the delegate in the room.")
            key = in_room_key(act.name, act.member_state)
            if state.waiting(key):
                raise Rejected(f"{act.name} is already in the speaking queue.")
            if state.closed and not act.point_of_order:
                raise Rejected(
                    "The list of speakers is closed; a point of order is still possible."
                )
            action = FloorAction.POINT_OF_ORDER if act.point_of_order else FloorAction.REQUEST
            return FloorChange(action, sub.sub_id, key, act.name, act.member_state, False)
    raise Rejected(f"{act.verb} is not something the chair can do.")


def _publish(pub: Publish) -> Outcome:
    expected = STREAM_KINDS.get(pub.stream) or next(
        (
            k
            for p, k in PREFIX_KINDS.items()
            if pub.stream.startswith(p) and len(pub.stream) > len(p)
        ),
        None,
    )
    if expected is None or expected is not pub.kind:
        raise Rejected(f"Stream {pub.stream!r} does not take {pub.kind.name.lower()} events.")
    if pub.kind in BODY_TYPES:
        decode_body(pub.body, BODY_TYPES[pub.kind])
    return Outcome(pub.stream, pub.kind, pub.body)
