"""The origin role: the only node that assigns sequence numbers and signs.

Owns appending events (seq, chain hash, packed form), creating meetings and
roster entries, deciding every submission (accepted into its stream, or
rejected with a reason in `receipts`, each naming its sub_id, never applied
twice), and signing checkpoints on the schedule of `protocol/checkpoints.py`.
Every decision and its events are one transaction; the acknowledgement is
built only after it commits.
"""

from __future__ import annotations

import re

from nacl.signing import SigningKey

from lowband.meeting.floor import FloorState, in_room_key
from lowband.protocol.checkpoints import StreamHead, due
from lowband.protocol.compress import pack_body
from lowband.protocol.crypto import chain_next, sign_checkpoint, verify_submission
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
    MeetingInfo,
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
from lowband.protocol.wire import (
    Ack,
    AckState,
    ProtocolError,
    decode_body,
    decode_canonical,
    encode_body,
    encode_canonical,
)
from lowband.storage import submissions as queues
from lowband.storage.store import Store

TOPIC = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
STREAM_KINDS = {"notice": Kind.NOTICE, "roster": Kind.ROSTER, "docs": Kind.DOC}
PREFIX_KINDS = {"transcript/": Kind.CAPTION, "audio/": Kind.AUDIO}


def append(
    store: Store, info: MeetingInfo, stream: str, kind: Kind, body: bytes, now_ms: int
) -> int:
    """Append one event at the origin; call inside `store.tx()`. Returns its seq."""
    no = store.ensure_stream(info.id, stream)
    head, head_hash = store.head(info.id, no)
    seq = head + 1
    ts = max(store.ts_of(info.id, no, head), now_ms - info.epoch_ms)  # never runs backwards
    canonical = encode_canonical(ts, kind, body)
    packed = pack_body(body, store.history(info.id, no, seq), kind is not Kind.AUDIO)
    hash_ = chain_next(head_hash, seq, canonical)
    store.insert_event(info.id, no, seq, ts, kind, canonical, hash_, now_ms, packed)
    if kind is Kind.ROSTER:
        store.apply_roster(info.id, decode_body(body, RosterEntry))
    return seq


def create_meeting(
    store: Store, key: SigningKey, meeting_id: str, notice: Notice, now_ms: int
) -> MeetingInfo:
    info = MeetingInfo(meeting_id, notice.title, bytes(key.verify_key), now_ms)
    with store.tx():
        if store.meeting(meeting_id) is not None:
            raise ValueError(f"Meeting {meeting_id} already exists here.")
        store.add_meeting(info, parent=None)
        append(store, info, "notice", Kind.NOTICE, encode_body(notice), now_ms)
        me = RosterEntry(bytes(key.verify_key), "Secretariat", "ITU", Rights.SECRETARIAT)
        append(store, info, "roster", Kind.ROSTER, encode_body(me), now_ms)
    return info


def latest_notice(store: Store, meeting: str) -> Notice | None:
    no = store.stream_no(meeting, "notice")
    if no is None:
        return None
    head, _ = store.head(meeting, no)
    rows = store.events(meeting, no, head - 1, 1)
    return decode_body(decode_canonical(rows[0][3])[2], Notice) if rows else None


def floor_state(store: Store, meeting: str) -> FloorState:
    state = FloorState()
    no = store.stream_no(meeting, "floor")
    if no is not None:
        for _, ts, _, data in store.events(meeting, no, 0, 1_000_000):
            state.apply(decode_body(decode_canonical(data)[2], FloorChange), ts)
    return state


class Rejected(Exception):
    """A submission the origin decided against; the message is the reason."""


class Origin:
    def __init__(self, store: Store, key: SigningKey, node: str) -> None:
        self.store = store
        self.key = key
        self.node = node

    def accept(self, sub: Submission, now_ms: int) -> Ack:
        """Decide a submission exactly once; RECEIVED means its outcome event exists."""
        refused = self._refusal(sub)
        if refused:
            return Ack(sub.sub_id, AckState.REFUSED, self.node, refused)
        if queues.applied_get(self.store, sub.sub_id) is None:
            info = self.store.meeting(sub.meeting)
            assert info is not None
            with self.store.tx():
                if queues.applied_get(self.store, sub.sub_id) is None:
                    try:
                        self._apply(info, sub, now_ms)
                        outcome, reason = "accepted", ""
                    except (Rejected, ProtocolError) as exc:
                        outcome, reason = "rejected", str(exc)
                        receipt = encode_body(Receipt(sub.sub_id, reason))
                        append(self.store, info, "receipts", Kind.RECEIPT, receipt, now_ms)
                    queues.applied_add(self.store, sub.sub_id, sub.meeting, outcome, reason, now_ms)
        return Ack(sub.sub_id, AckState.RECEIVED, self.node)

    def _refusal(self, sub: Submission) -> str:
        if not verify_submission(sub):
            return "The submission's signature does not verify."
        if self.store.meeting(sub.meeting) is None:
            return f"Meeting {sub.meeting} is not known here."
        if self.store.roster_entry(sub.meeting, sub.author) is None:
            return f"Your key is not on the roster of meeting {sub.meeting}."
        return ""

    def _apply(self, info: MeetingInfo, sub: Submission, now_ms: int) -> None:
        entry = self.store.roster_entry(info.id, sub.author)
        assert entry is not None
        needed = SUB_RIGHTS[sub.kind]
        if not has_right(entry.rights, needed):
            raise Rejected(f"Your rights in this meeting ({entry.rights}) do not allow {sub.kind}.")
        notice = latest_notice(self.store, info.id)
        if (
            notice
            and not has_right(entry.rights, Rights.CHAIR)
            and not has_right(notice.remote_rights, needed)
        ):
            raise Rejected(f"Remote participants in this meeting may only {notice.remote_rights}.")
        if sub.kind is SubKind.PUBLISH:
            self._publish(info, decode_body(sub.body, Publish), now_ms)
        elif sub.kind in (SubKind.FLOOR_REQUEST, SubKind.FLOOR_WITHDRAW, SubKind.POINT_OF_ORDER):
            self._floor(info, sub, entry, now_ms)
        elif sub.kind is SubKind.CHAIR:
            self._chair(info, sub, decode_body(sub.body, ChairAction), now_ms)
        else:
            text = decode_body(sub.body, SubmissionText)
            if sub.kind is SubKind.INTERVENTION:
                body = encode_body(
                    Intervention(
                        sub.sub_id, entry.key, entry.name, entry.member_state, text.text, text.topic
                    )
                )
                append(self.store, info, "interventions", Kind.INTERVENTION, body, now_ms)
            else:
                topic = text.topic or "general"
                if not TOPIC.match(topic):
                    raise Rejected(
                        f"{topic!r} is not a chat topic (lowercase letters, digits, - and _)."
                    )
                body = encode_body(ChatMessage(sub.sub_id, entry.key, entry.name, text.text))
                append(self.store, info, f"chat/{topic}", Kind.CHAT, body, now_ms)

    def _floor(self, info: MeetingInfo, sub: Submission, entry: RosterEntry, now_ms: int) -> None:
        state = floor_state(self.store, info.id)
        action = {
            SubKind.FLOOR_REQUEST: FloorAction.REQUEST,
            SubKind.FLOOR_WITHDRAW: FloorAction.WITHDRAW,
            SubKind.POINT_OF_ORDER: FloorAction.POINT_OF_ORDER,
        }[sub.kind]
        if action is FloorAction.REQUEST and state.waiting(entry.key):
            raise Rejected("You are already in the speaking queue.")
        if action is FloorAction.REQUEST and state.closed:
            raise Rejected("The list of speakers is closed; a point of order is still possible.")
        if action is FloorAction.WITHDRAW and not state.waiting(entry.key):
            raise Rejected("You are not in the speaking queue.")
        change = FloorChange(action, sub.sub_id, entry.key, entry.name, entry.member_state, True)
        append(self.store, info, "floor", Kind.FLOOR, encode_body(change), now_ms)

    def _chair(self, info: MeetingInfo, sub: Submission, act: ChairAction, now_ms: int) -> None:
        """A chair's action on the queue becomes one floor event every delegate sees."""
        state = floor_state(self.store, info.id)
        entry = self.store.roster_entry(info.id, sub.author)
        assert entry is not None
        me = FloorChange(
            FloorAction.RELEASE, sub.sub_id, entry.key, entry.name, entry.member_state, False
        )
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
                change = FloorChange(
                    action, sub.sub_id, req.key, req.name, req.member_state, req.remote, req.sub_id
                )
            case ChairVerb.RELEASE:
                if state.speaker is None:
                    raise Rejected("Nobody has the floor.")
                change = me
            case ChairVerb.CLOSE | ChairVerb.OPEN:
                closing = act.verb is ChairVerb.CLOSE
                if state.closed == closing:
                    raise Rejected(
                        f"The list of speakers is already {'closed' if closing else 'open'}."
                    )
                action = FloorAction.CLOSE if closing else FloorAction.OPEN
                change = FloorChange(
                    action, sub.sub_id, entry.key, entry.name, entry.member_state, False
                )
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
                change = FloorChange(action, sub.sub_id, key, act.name, act.member_state, False)
        append(self.store, info, "floor", Kind.FLOOR, encode_body(change), now_ms)

    def _publish(self, info: MeetingInfo, pub: Publish, now_ms: int) -> None:
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
        append(self.store, info, pub.stream, pub.kind, pub.body, now_ms)

    def sign_due(self, now_ms: int) -> int:
        """Sign the checkpoints that are due; returns how many were signed."""
        signed = 0
        with self.store.tx():
            for info in self.store.meetings():
                heads = []
                for no, name, head, _ in self.store.streams(info.id):
                    cp = self.store.checkpoint(info.id, no, name)
                    heads.append(StreamHead(no, head, cp.seq if cp else -1, cp.ts_ms if cp else 0))
                names = {no: name for no, name, _, _ in self.store.streams(info.id)}
                for no in due(heads, now_ms):
                    head, head_hash = self.store.head(info.id, no)
                    cp = sign_checkpoint(self.key, info.id, names[no], head, head_hash, now_ms)
                    self.store.put_checkpoint(info.id, no, cp)
                    signed += 1
        return signed
