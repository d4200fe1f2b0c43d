"""A submission's life, as tables: the client's outbox, a relay's custody, and admission.

Owns (STYLE rule 5) every transition of a submission in the delegate's outbox: it moves only
forward, queued locally, in custody at a named relay, received by the origin, then accepted
or rejected (with a reason), on acknowledgements from the parent and outcome events from the
origin; the states a relay's custody queue holds; and the one admission rule that a relay
(before it takes custody) and the origin (before it decides) share. Pure: the store keeps the
states (`storage/submissions.py`), this module decides them.
"""

from __future__ import annotations

import enum

import msgspec

from lowband.protocol.crypto import verify_submission
from lowband.protocol.model import (
    MAX_BODY,
    MAX_TEXT,
    Rights,
    RosterEntry,
    SubKind,
    Submission,
    SubmissionText,
    has_right,
)
from lowband.protocol.wire import DECODE_ERRORS, ProtocolError, decode_body, encode_body


class State(enum.StrEnum):
    QUEUED = "queued"
    CUSTODY = "custody"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Input(enum.StrEnum):
    ACK_CUSTODY = "ack_custody"
    ACK_RECEIVED = "ack_received"
    ACK_REFUSED = "ack_refused"
    ACK_DEFERRED = "ack_deferred"  # the relay will take it later: it stays queued
    UNSENDABLE = "unsendable"  # stored here but over a limit no node would accept
    ACCEPTED = "accepted"
    REJECTED = "rejected"


_S, _I = State, Input

# Rule: everything that changes an outbox state is in this table. Missing pairs keep the state.
TRANSITIONS: dict[tuple[State, Input], State] = {
    (_S.QUEUED, _I.ACK_CUSTODY): _S.CUSTODY,
    (_S.QUEUED, _I.ACK_RECEIVED): _S.RECEIVED,
    (_S.QUEUED, _I.ACK_REFUSED): _S.REJECTED,
    (_S.QUEUED, _I.UNSENDABLE): _S.REJECTED,
    (_S.CUSTODY, _I.ACK_CUSTODY): _S.CUSTODY,
    (_S.CUSTODY, _I.ACK_RECEIVED): _S.RECEIVED,
    (_S.CUSTODY, _I.ACK_REFUSED): _S.REJECTED,
    **{(s, _I.ACCEPTED): _S.ACCEPTED for s in (_S.QUEUED, _S.CUSTODY, _S.RECEIVED)},
    **{(s, _I.REJECTED): _S.REJECTED for s in (_S.QUEUED, _S.CUSTODY, _S.RECEIVED)},
}

FINAL = frozenset({State.ACCEPTED, State.REJECTED})


def advance(state: State, event: Input) -> State:
    """The state after `event`; unknown pairs (late or repeated inputs) change nothing."""
    return TRANSITIONS.get((state, event), state)


def needs_sending(state: State) -> bool:
    """Only queued submissions travel; once a node holds one, it is that node's duty."""
    return state is State.QUEUED


RESEND_AFTER_MS = 5 * 60 * 1000


def needs_resending(state: State, updated_ms: int, now_ms: int) -> bool:
    """A relay said it holds a submission (or that the origin has it), yet no verified outcome
    came for RESEND_AFTER_MS: the relay may have dropped it, so send it again. The origin
    decides each sub_id once, so a copy that was not lost changes nothing."""
    return state in (State.CUSTODY, State.RECEIVED) and now_ms - updated_ms >= RESEND_AFTER_MS


def needs_asking(state: State) -> bool:
    """Submissions a relay holds, whose fate the client may ask about."""
    return state is State.CUSTODY


def describe(state: State, node: str, reason: str) -> str:
    """The state in the words the client shows."""
    match state:
        case State.QUEUED:
            if reason:
                return f"queued here; the relay asked to wait ({reason})"
            return "queued here; sent when the link allows"
        case State.CUSTODY:
            return f"in custody at {node}" if node else "in custody at the relay"
        case State.RECEIVED:
            return "received by the origin"
        case State.ACCEPTED:
            return "accepted"
        case State.REJECTED:
            return f"rejected: {reason}" if reason else "rejected"


_TEXT_KINDS: dict[str, str] = {
    SubKind.INTERVENTION: "An intervention",
    SubKind.CHAT: "A chat message",
}


def unsendable(sub: Submission) -> str:
    """'' when `sub` is within every limit a relay and the origin check, else the sentence that
    names the limit it breaks. Checked before a submission enters the outbox, and again for one
    already stored (by an older version), which is then rejected here instead of being sent."""
    what = _TEXT_KINDS.get(sub.kind, "A submission")
    if len(sub.body) > MAX_BODY:
        return _too_big(what, len(sub.body))
    try:
        decode_body(encode_body(sub), Submission)
        if sub.kind in _TEXT_KINDS:
            decode_body(sub.body, SubmissionText)
    except ProtocolError as exc:
        if sub.kind in _TEXT_KINDS and "length" in str(exc):
            return f"{what} may be at most {MAX_TEXT:,} characters."
        return f"{what} cannot be sent: {exc}"
    return ""


def stored(data: bytes) -> tuple[Submission | None, str]:
    """A submission as the outbox stored it, and '' or why it can never be sent (for one that
    does not even decode within the limits, the limit it breaks, as `unsendable` says it)."""
    try:
        sub = decode_body(data, Submission)
    except ProtocolError as exc:
        try:  # an older version wrote it within its own bounds: read the fields unchecked
            fields = msgspec.msgpack.decode(data)
        except DECODE_ERRORS:
            fields = None  # damaged bytes
        if (
            isinstance(fields, list)
            and len(fields) == 7
            and isinstance(fields[3], str)
            and isinstance(fields[4], bytes)
            and len(fields[4]) > MAX_BODY
        ):
            return None, _too_big(_TEXT_KINDS.get(fields[3], "A submission"), len(fields[4]))
        return None, f"It cannot be sent: {exc}"
    return sub, unsendable(sub)


def _too_big(what: str, size: int) -> str:
    return f"{what} may be at most {MAX_BODY // 1024} KiB once encoded; this one is {size / 1024:.0f} KiB."


class Custody(enum.StrEnum):
    """Where a submission a relay took stands; the relay answers questions from this."""

    HELD = "held"  # stored here, to be forwarded
    FORWARDED = "forwarded"  # the parent took custody
    RECEIVED = "received"  # the origin has it
    REFUSED = "refused"  # the parent or origin refused it


def admission(
    sub: Submission, meeting_known: bool, author: RosterEntry | None, *, publisher: bool = False
) -> str:
    """'' when a node may take `sub`, else the sentence refusing it: the signature verifies,
    the meeting is known here, and its author is on the roster (strangers cannot fill a
    relay's disk), with the secretariat's rights when it uploads a document (`publisher`).
    `author` is the roster entry of `sub.author`, or None."""
    if not verify_submission(sub):
        return "The submission's signature does not verify."
    if not meeting_known:
        return f"Meeting {sub.meeting} is not known here."
    if publisher and (author is None or not has_right(author.rights, Rights.SECRETARIAT)):
        return f"Only the secretariat of meeting {sub.meeting} may publish documents."
    if author is None:
        return f"Your key is not on the roster of meeting {sub.meeting}."
    return ""
