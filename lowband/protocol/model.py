"""The shared data model: typed msgspec Structs for what lowband stores and sends.

Owns the shapes and their validation only. Byte encoding, framing and size
limits live in `protocol/wire.py`; signing in `protocol/crypto.py`; storage in `storage/store.py`.
Structs are frozen and array-like, so MessagePack carries no field names.

An event's body is MessagePack bytes whose shape depends on its `Kind`
(`BODY_TYPES`); relays never need to decode bodies to carry them.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

SUB_ID_BYTES = 16
KEY_BYTES = 32
SIG_BYTES = 64
HASH_BYTES = 32

MAX_NAME = 200  # names, member states, speaker labels, stream names
MAX_TEXT = 16_000  # a caption line, an intervention, a chat message
MAX_BODY = 64 * 1024  # any event body or submission body

Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Blob = Annotated[bytes, msgspec.Meta(max_length=MAX_BODY)]
Key = Annotated[bytes, msgspec.Meta(min_length=KEY_BYTES, max_length=KEY_BYTES)]
Sig = Annotated[bytes, msgspec.Meta(min_length=SIG_BYTES, max_length=SIG_BYTES)]
SubId = Annotated[bytes, msgspec.Meta(min_length=SUB_ID_BYTES, max_length=SUB_ID_BYTES)]
Seq = Annotated[int, msgspec.Meta(ge=0, lt=2**53)]


class Kind(enum.IntEnum):
    """What an event's body holds."""

    NOTICE = 1
    ROSTER = 2
    CAPTION = 3
    FLOOR = 4
    INTERVENTION = 5
    CHAT = 6
    RECEIPT = 7
    DOC = 8
    AUDIO = 9


class Rights(enum.StrEnum):
    """What a roster key may do; each right includes the ones before it."""

    OBSERVE = "observe"
    SPEAK = "speak"
    DECIDE = "decide"
    CHAIR = "chair"
    SECRETARIAT = "secretariat"


RIGHTS_ORDER = list(Rights)


def has_right(held: Rights, needed: Rights) -> bool:
    """True when `held` includes `needed` (rights are ordered)."""
    return RIGHTS_ORDER.index(held) >= RIGHTS_ORDER.index(needed)


class MeetingKind(enum.StrEnum):
    PHYSICAL = "physical"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


class SubKind(enum.StrEnum):
    """What a submission asks the origin to do."""

    FLOOR_REQUEST = "floor_request"
    FLOOR_WITHDRAW = "floor_withdraw"
    POINT_OF_ORDER = "point_of_order"
    INTERVENTION = "intervention"
    CHAT = "chat"
    PUBLISH = "publish"
    CHAIR = "chair"  # body: ChairAction


# The right each submission kind needs at the origin.
SUB_RIGHTS: dict[SubKind, Rights] = {
    SubKind.FLOOR_REQUEST: Rights.SPEAK,
    SubKind.FLOOR_WITHDRAW: Rights.SPEAK,
    SubKind.POINT_OF_ORDER: Rights.SPEAK,
    SubKind.INTERVENTION: Rights.SPEAK,
    SubKind.CHAT: Rights.OBSERVE,
    SubKind.PUBLISH: Rights.SECRETARIAT,
    SubKind.CHAIR: Rights.CHAIR,
}


class Struct(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Base for every lowband struct."""


# --- meetings -------------------------------------------------------------


class Session(Struct, frozen=True):
    start: Name  # ISO 8601 in UTC
    end: Name
    title: Name = ""


class AgendaItem(Struct, frozen=True):
    number: Name
    title: Text


class Notice(Struct, frozen=True):
    title: Text
    kind: MeetingKind
    remote_rights: Rights
    sessions: Annotated[list[Session], msgspec.Meta(max_length=100)]
    languages: Annotated[list[Name], msgspec.Meta(max_length=50)]
    venue_tz: Name = "UTC"
    agenda: Annotated[list[AgendaItem], msgspec.Meta(max_length=200)] = []


class RosterEntry(Struct, frozen=True):
    key: Key
    name: Name
    member_state: Name
    rights: Rights
    removed: bool = False


class MeetingInfo(Struct, frozen=True):
    """What a node needs to follow a meeting: who signs it and its time base."""

    id: Name
    title: Text
    origin_key: Key
    epoch_ms: Seq


# --- events ---------------------------------------------------------------


class Event(Struct, frozen=True):
    """One event of one stream. `ts` is milliseconds since the meeting's epoch."""

    stream: Name
    seq: Seq
    ts: Seq
    kind: Kind
    body: Blob


class Checkpoint(Struct, frozen=True):
    """The origin's signature over one stream's head (see crypto.checkpoint_message)."""

    stream: Name
    seq: Seq
    ts_ms: Seq  # Unix milliseconds when the origin signed
    sig: Sig


class Anchor(Struct, frozen=True):
    """Where an audio stream starts at a node that pruned the events before it: event `seq`
    had chain hash `hash` and timestamp `ts`, and `checkpoint` is the origin's signature over
    that hash, so a follower can verify onward from `seq` (relay/retention.py)."""

    seq: Seq
    hash: Annotated[bytes, msgspec.Meta(min_length=HASH_BYTES, max_length=HASH_BYTES)]
    ts: Seq
    checkpoint: Checkpoint


class CaptionLine(Struct, frozen=True):
    speaker: Name
    text: Text
    final: bool = True
    replaces: Seq | None = None  # seq of the line this one corrects


class FloorAction(enum.StrEnum):
    REQUEST = "request"
    WITHDRAW = "withdraw"
    POINT_OF_ORDER = "point_of_order"
    GRANT = "grant"  # the chair gives the floor to the request `ref` (key, name: the speaker)
    RELEASE = "release"  # the floor is free again
    CLOSE = "close"  # the list of speakers is closed: only points of order join it
    OPEN = "open"  # the list of speakers is open again


class FloorChange(Struct, frozen=True):
    """One change of the speaking queue; `sub_id` names the submission that caused it."""

    action: FloorAction
    sub_id: SubId
    key: Key
    name: Name
    member_state: Name
    remote: bool
    ref: Annotated[bytes, msgspec.Meta(max_length=SUB_ID_BYTES)] = b""  # the request acted on


class ChairVerb(enum.StrEnum):
    """What the chair asks of the speaking queue."""

    GRANT = "grant"  # give the floor to the request `ref`
    NEXT = "next"  # give the floor to the head of the queue (points of order first)
    RELEASE = "release"  # the speaker is done; nobody has the floor
    CLOSE = "close"  # close the list of speakers
    OPEN = "open"  # reopen it
    IN_ROOM = "in_room"  # add a request from someone in the room (`name`, `member_state`)
    REMOVE = "remove"  # take the request `ref` off the queue


class ChairAction(Struct, frozen=True):
    """Body of a CHAIR submission; accepted at the origin only from keys with chair rights."""

    verb: ChairVerb
    ref: Annotated[bytes, msgspec.Meta(max_length=SUB_ID_BYTES)] = b""
    name: Name = ""
    member_state: Name = ""
    point_of_order: bool = False


class Intervention(Struct, frozen=True):
    sub_id: SubId
    key: Key
    name: Name
    member_state: Name
    text: Text
    agenda_item: Name = ""


class ChatMessage(Struct, frozen=True):
    sub_id: SubId
    key: Key
    name: Name
    text: Text


class Receipt(Struct, frozen=True):
    """The origin's answer to a submission it did not accept."""

    sub_id: SubId
    reason: Text


class DocRevision(Struct, frozen=True):
    doc_id: Name
    rev: Seq
    title: Text
    lang: Name
    agenda_item: Name
    media_type: Name
    size: Seq
    sha256: Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


BODY_TYPES: dict[Kind, type[Struct]] = {
    Kind.NOTICE: Notice,
    Kind.ROSTER: RosterEntry,
    Kind.CAPTION: CaptionLine,
    Kind.FLOOR: FloorChange,
    Kind.INTERVENTION: Intervention,
    Kind.CHAT: ChatMessage,
    Kind.RECEIPT: Receipt,
    Kind.DOC: DocRevision,
}


# --- submissions ----------------------------------------------------------


class Publish(Struct, frozen=True):
    """Body of a PUBLISH submission: an event the secretariat wants appended."""

    stream: Name
    kind: Kind
    body: Blob


class SubmissionText(Struct, frozen=True):
    """Body of INTERVENTION and CHAT submissions."""

    text: Text
    topic: Name = ""  # chat topic, or the agenda item of an intervention


class Submission(Struct, frozen=True):
    """Something a delegate (or the secretariat) asks the origin to do, signed."""

    sub_id: SubId
    meeting: Name
    author: Key
    kind: SubKind
    body: Blob
    created_ms: Seq
    sig: Sig
