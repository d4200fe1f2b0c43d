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
from lowband.protocol.model import FloorChange, Notice, SubKind, Submission
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


class FloorFold:
    """The speaking queue kept up to date: each call folds only the floor events appended since
    the last, so a floor request does not replay the meeting's whole floor stream."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[int, FloorState]] = {}

    def state(self, store: Store, meeting: str) -> FloorState:
        seq, state = self._held.get(meeting, (0, FloorState()))
        no = store.stream_no(meeting, "floor")
        if no is not None:
            for at, ts, _, data in store.events(meeting, no, seq, 1_000_000):
                state.apply(decode_body(decode_canonical(data)[2], FloorChange), ts)
                seq = at
        self._held[meeting] = (seq, state)
        return state


def chat_topics(store: Store, meeting: str) -> frozenset[str]:
    return frozenset(
        name.removeprefix("chat/")
        for _, name, _, _ in store.streams(meeting)
        if name.startswith("chat/")
    )


class Origin:
    def __init__(self, store: Store, key: SigningKey, node: str) -> None:
        self.store = store
        self.key = key
        self.node = node
        self.floors = FloorFold()

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
                    floor = (
                        self.floors.state(self.store, info.id) if needs_floor(sub.kind) else None
                    )
                    topics = chat_topics(self.store, info.id) if sub.kind is SubKind.CHAT else None
                    outcome = decide(sub, entry, notice, floor, topics or frozenset())
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
