"""Events as plain lines of text: what `follow --plain` prints and a screen reader reads.

Owns the wording of every event a delegate sees. One event, one line; no
colour, no cursor movement.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lowband.protocol.model import (
    CaptionLine,
    ChatMessage,
    DocRevision,
    FloorAction,
    FloorChange,
    Intervention,
    Kind,
    Notice,
    Receipt,
    RosterEntry,
)
from lowband.protocol.wire import ProtocolError, decode_body

_FLOOR_WORDS = {
    FloorAction.REQUEST: "asks for the floor",
    FloorAction.WITHDRAW: "withdraws the request for the floor",
    FloorAction.POINT_OF_ORDER: "raises a point of order",
    FloorAction.GRANT: "has the floor",
    FloorAction.RELEASE: "closes the turn; nobody has the floor",
    FloorAction.CLOSE: "closes the list of speakers",
    FloorAction.OPEN: "reopens the list of speakers",
}
_CHAIR_ACTIONS = {FloorAction.RELEASE, FloorAction.CLOSE, FloorAction.OPEN}


def clock(epoch_ms: int, ts: int) -> str:
    """The event's time of day in the reader's own time zone."""
    return datetime.fromtimestamp((epoch_ms + ts) / 1000, UTC).astimezone().strftime("%H:%M:%S")


def line(stream: str, seq: int, kind: Kind, body: bytes, when: str) -> str | None:
    """The plain line for one event, or None for events delegates do not read (audio)."""
    try:
        return _line(stream, seq, kind, body, when)
    except ProtocolError:
        return f"{when} {stream} #{seq}: (an event this version cannot show)"


def _line(stream: str, seq: int, kind: Kind, body: bytes, when: str) -> str | None:
    match kind:
        case Kind.CAPTION:
            c = decode_body(body, CaptionLine)
            lang = stream.removeprefix("transcript/")
            fix = f" (correcting line {c.replaces})" if c.replaces else ""
            draft = "" if c.final else " (draft)"
            return f"{when} [{lang}] {c.speaker}{fix}{draft}: {c.text}"
        case Kind.FLOOR:
            f = decode_body(body, FloorChange)
            if f.action in _CHAIR_ACTIONS:
                return f"{when} FLOOR: the chair ({f.name}) {_FLOOR_WORDS[f.action]}."
            where = "remote" if f.remote else "in the room"
            return f"{when} FLOOR: {f.name} ({f.member_state}, {where}) {_FLOOR_WORDS[f.action]}."
        case Kind.INTERVENTION:
            i = decode_body(body, Intervention)
            item = f" on item {i.agenda_item}" if i.agenda_item else ""
            return f"{when} INTERVENTION by {i.name} ({i.member_state}){item}: {i.text}"
        case Kind.CHAT:
            m = decode_body(body, ChatMessage)
            return f"{when} CHAT {stream.removeprefix('chat/')}: {m.name}: {m.text}"
        case Kind.RECEIPT:
            r = decode_body(body, Receipt)
            return f"{when} REJECTED submission {r.sub_id.hex()[:12]}: {r.reason}"
        case Kind.NOTICE:
            n = decode_body(body, Notice)
            return f"{when} NOTICE: {n.title}, a {n.kind} meeting; remote participants may {n.remote_rights}."
        case Kind.ROSTER:
            e = decode_body(body, RosterEntry)
            verb = "leaves" if e.removed else "is on"
            return f"{when} ROSTER: {e.name} ({e.member_state}) {verb} the roster with rights {e.rights}."
        case Kind.DOC:
            d = decode_body(body, DocRevision)
            return (
                f"{when} DOCUMENT {d.doc_id} revision {d.rev}: {d.title} ({d.lang}, {d.size} bytes)"
            )
    return None
