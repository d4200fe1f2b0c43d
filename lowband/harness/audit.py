"""After a run: did everything arrive exactly once? Reads the stores of an origin and a delegate.

Owns the end-of-run checks the soak, the link benchmark and tests/e2e/test_links.py share:
the delegate's copy of a transcript stream against the origin's (same count, the same
canonical bytes at every seq, all of it verified), and the delegate's submissions against the
origin's record of decisions (the `applied` table, and the sub_ids that the events of the
floor, interventions, chat and receipts streams name). Reads only; never writes a store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lowband.protocol.model import ChatMessage, FloorChange, Intervention, Receipt
from lowband.protocol.submissions import FINAL
from lowband.protocol.wire import decode_body, decode_canonical
from lowband.storage import submissions as queues
from lowband.storage.store import Store

_OUTCOMES: dict[str, type[FloorChange | Intervention | ChatMessage | Receipt]] = {
    "floor": FloorChange,
    "interventions": Intervention,
    "receipts": Receipt,
    "chat/": ChatMessage,
}


@dataclass(frozen=True)
class CaptionAudit:
    stream: str
    origin_head: int
    head: int  # at the delegate
    verified: int  # at the delegate
    differing: tuple[int, ...]  # seqs whose canonical bytes differ from the origin's

    @property
    def ok(self) -> bool:
        return self.origin_head == self.head == self.verified and not self.differing

    def __str__(self) -> str:
        return (
            f"{self.stream}: origin {self.origin_head} lines, delegate {self.head} "
            f"({self.verified} verified), {len(self.differing)} differ"
        )


@dataclass(frozen=True)
class SubmissionAudit:
    queued: int  # in the delegate's outbox
    applied: int  # of those, decided at the origin (`applied` has one row per sub_id)
    accepted: int
    rejected: int
    duplicated: int  # sub_ids named by more than one event at the origin
    lost: int  # queued at the delegate, never decided at the origin (or decided without an event)
    unsettled: int  # not yet accepted or rejected in the delegate's outbox

    @property
    def ok(self) -> bool:
        return self.duplicated == 0 and self.lost == 0

    def __str__(self) -> str:
        return (
            f"submissions: {self.queued} queued, {self.applied} applied at the origin "
            f"({self.accepted} accepted, {self.rejected} rejected), {self.duplicated} duplicated, "
            f"{self.lost} lost, {self.unsettled} unsettled at the delegate"
        )


def _canonical(store: Store, meeting: str, stream: str) -> list[tuple[int, bytes]]:
    no = store.stream_no(meeting, stream)
    if no is None:
        return []
    return [(seq, data) for seq, _, _, data in store.events(meeting, no, 0, 1 << 40)]


def _head(store: Store, meeting: str, stream: str) -> tuple[int, int]:
    for _, name, head, verified in store.streams(meeting):
        if name == stream:
            return head, verified
    return 0, 0


def captions(origin_home: Path, delegate_home: Path, meeting: str, stream: str) -> CaptionAudit:
    """The delegate's copy of `stream` against the origin's, event by event."""
    with Store(origin_home / "store.sqlite") as origin:
        theirs = dict(_canonical(origin, meeting, stream))
        origin_head, _ = _head(origin, meeting, stream)
    with Store(delegate_home / "store.sqlite") as delegate:
        ours = _canonical(delegate, meeting, stream)
        head, verified = _head(delegate, meeting, stream)
    differing = [seq for seq, data in ours if theirs.get(seq) != data]
    seqs = [seq for seq, _ in ours]
    if seqs != list(range(1, len(seqs) + 1)):  # the store's keys forbid this; say so if not
        differing += [s for s in range(1, head + 1) if s not in set(seqs)]
    return CaptionAudit(stream, origin_head, head, verified, tuple(sorted(set(differing))))


def outcome_sub_ids(store: Store, meeting: str) -> Counter[bytes]:
    """How many events at this node name each sub_id (floor, interventions, chat, receipts)."""
    seen: Counter[bytes] = Counter()
    for _, name, _, _ in store.streams(meeting):
        shape = next(
            (
                t
                for p, t in _OUTCOMES.items()
                if name == p or (p.endswith("/") and name.startswith(p))
            ),
            None,
        )
        if shape is None:
            continue
        for _, data in _canonical(store, meeting, name):
            seen[decode_body(decode_canonical(data)[2], shape).sub_id] += 1
    return seen


def submissions(origin_home: Path, delegate_home: Path, meeting: str) -> SubmissionAudit:
    """The delegate's outbox against what the origin decided."""
    with Store(delegate_home / "store.sqlite") as delegate:
        items = queues.outbox(delegate, meeting)
    with Store(origin_home / "store.sqlite") as origin:
        decided = {sid: queues.applied_get(origin, sid) for sid in (i.sub_id for i in items)}
        named = outcome_sub_ids(origin, meeting)
    outcomes = [d[0] for d in decided.values() if d is not None]
    return SubmissionAudit(
        queued=len(items),
        applied=len(outcomes),
        accepted=outcomes.count("accepted"),
        rejected=outcomes.count("rejected"),
        duplicated=sum(1 for i in items if named[i.sub_id] > 1),
        lost=sum(1 for i in items if decided[i.sub_id] is None or named[i.sub_id] == 0),
        unsettled=sum(1 for i in items if i.state not in FINAL),
    )
