"""Appending events at the origin: the only place a sequence number and a chain hash are made.

Owns `append` (the next seq of a stream, a timestamp that never runs backwards, the canonical
encoding, the packed form against the stream's history, the chain hash) and creating a meeting
with its notice and the secretariat's roster entry. Callers hold `Store.tx()`.
"""

from __future__ import annotations

from nacl.signing import SigningKey

from lowband.protocol.compress import pack_body
from lowband.protocol.crypto import chain_next
from lowband.protocol.model import Kind, MeetingInfo, Notice, Rights, RosterEntry
from lowband.protocol.wire import decode_body, encode_body, encode_canonical
from lowband.storage.store import Store


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
