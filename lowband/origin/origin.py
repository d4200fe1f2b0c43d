"""The origin role: the only node that assigns sequence numbers, decides and signs.

Owns taking a submission (admission by `protocol/submissions.py`'s rule, then, exactly once:
load what the decision needs, `origin/decide.py`'s pure decision, append its event and record
the outcome, all in one transaction; the acknowledgement is built only after it commits) and
signing checkpoints on the schedule of `protocol/checkpoints.py`.
"""

from __future__ import annotations

from nacl.signing import SigningKey

from lowband.meeting.floor import FloorState
from lowband.origin.append import append
from lowband.origin.decide import decide, needs_floor
from lowband.protocol import submissions
from lowband.protocol.checkpoints import StreamHead, due
from lowband.protocol.crypto import sign_checkpoint
from lowband.protocol.model import FloorChange, Notice, Submission
from lowband.protocol.wire import Ack, AckState, decode_body, decode_canonical
from lowband.storage import submissions as queues
from lowband.storage.store import Store


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


class Origin:
    def __init__(self, store: Store, key: SigningKey, node: str) -> None:
        self.store = store
        self.key = key
        self.node = node

    def accept(self, sub: Submission, now_ms: int) -> Ack:
        """Decide a submission exactly once; RECEIVED means its outcome event exists."""
        entry = self.store.roster_entry(sub.meeting, sub.author)
        refused = submissions.admission(sub, self.store.meeting(sub.meeting) is not None, entry)
        if refused:
            return Ack(sub.sub_id, AckState.REFUSED, self.node, refused)
        if queues.applied_get(self.store, sub.sub_id) is None:
            info = self.store.meeting(sub.meeting)
            assert info is not None and entry is not None
            with self.store.tx():
                if queues.applied_get(self.store, sub.sub_id) is None:
                    notice = latest_notice(self.store, info.id)
                    floor = floor_state(self.store, info.id) if needs_floor(sub.kind) else None
                    outcome = decide(sub, entry, notice, floor)
                    append(self.store, info, outcome.stream, outcome.kind, outcome.body, now_ms)
                    verdict = "accepted" if outcome.accepted else "rejected"
                    queues.applied_add(
                        self.store, sub.sub_id, sub.meeting, verdict, outcome.reason, now_ms
                    )
        return Ack(sub.sub_id, AckState.RECEIVED, self.node)

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
