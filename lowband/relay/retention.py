"""Audio retention at a relay: prune audio older than a set age, never what a child still needs.

Owns the pruning rule and the record of the audio cursors children report. The rule:

* Only streams named `audio/<channel>/<layer>` are pruned. Captions, floor, documents and
  every other stream are kept whole.
* A stream is pruned up to an anchor: one of the origin-signed audio checkpoints the store
  keeps (one every `ANCHOR_EVERY_MS`, see storage/store.py) whose event is older than `audio_hours`.
  The anchor replaces the events up to it; a follower whose cursor is behind it is sent the
  anchor (`AnchorFrame`) and verifies onward from there (protocol/receiver.py).
* A child still needs the events after the cursor it last reported (the `wants` of its sync
  request) if it reported within the last `child_hours`; the relay never prunes past the lowest
  such cursor. A cursor of 0 does not count: a child holding nothing starts at the anchor.
* Each stream is pruned in one transaction, so a process killed mid-prune leaves it whole.

Children are named by their request token's key (or, without one, by their node name). The
cursors are kept in memory and saved with each prune, and the first prune waits one interval
after start, so children re-report what a killed relay had not saved.
Must not: prune any stream but audio, or prune past an event no signed anchor covers.
"""

from __future__ import annotations

from dataclasses import dataclass

from lowband.protocol.model import Anchor, Checkpoint
from lowband.protocol.wire import SyncRequest
from lowband.storage.store import AUDIO_PREFIX, Store

HOUR_MS = 3600 * 1000
PRUNE_EVERY_S = 600.0


@dataclass(frozen=True)
class Retention:
    audio_hours: float = 0.0  # 0: keep all audio
    child_hours: float = 24.0  # how long a child's reported cursor holds pruning back
    every_s: float = PRUNE_EVERY_S  # how often the relay prunes


def follower_id(req: SyncRequest) -> str:
    return req.auth.key.hex() if req.auth is not None else f"node:{req.node}"


class Cursors:
    """The audio cursors children reported, held in memory and saved with each prune."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._unsaved: dict[tuple[str, str, str], tuple[int, int]] = {}

    def seen(self, req: SyncRequest, now_ms: int) -> None:
        who = follower_id(req)
        for w in req.wants:
            if w.stream.startswith(AUDIO_PREFIX) and w.cursor > 0:
                self._unsaved[(req.meeting, w.stream, who)] = (w.cursor, now_ms)

    def save(self) -> None:
        if not self._unsaved:
            return
        rows = [(*key, cursor, seen) for key, (cursor, seen) in self._unsaved.items()]
        with self.store.tx(durable=False):
            self.store.db.conn.executemany(
                "INSERT OR REPLACE INTO follower_cursors VALUES (?, ?, ?, ?, ?)", rows
            )
        self._unsaved.clear()

    def floor(self, meeting: str, stream: str, since_ms: int) -> int | None:
        """The lowest cursor a child reported for the stream since `since_ms` (saved ones)."""
        row = self.store.one(
            "SELECT MIN(cursor) FROM follower_cursors WHERE meeting=? AND stream=? AND seen_ms>=?",
            (meeting, stream, since_ms),
        )
        return None if row is None or row[0] is None else int(row[0])


def plan(
    store: Store, meeting: str, retention: Retention, cursors: Cursors, now_ms: int
) -> list[tuple[int, Anchor]]:
    """(stream number, new anchor) for each audio stream of the meeting that may be pruned."""
    info = store.meeting(meeting)
    if info is None or retention.audio_hours <= 0:
        return []
    old_ts = now_ms - int(retention.audio_hours * HOUR_MS) - info.epoch_ms
    since = now_ms - int(retention.child_hours * HOUR_MS)
    current = store.anchors(meeting)
    out = []
    for no, name, head, _ in store.streams(meeting):
        if not name.startswith(AUDIO_PREFIX):
            continue
        floor = cursors.floor(meeting, name, since)
        limit = head if floor is None else min(head, floor)
        row = store.one(
            "SELECT seq, hash, ts, cp_ts_ms, sig FROM anchor_candidates"
            " WHERE meeting=? AND no=? AND seq<=? AND ts<? ORDER BY seq DESC LIMIT 1",
            (meeting, no, limit, old_ts),
        )
        start = current[no].seq if no in current else 0
        if row is not None and row[0] > start:
            cp = Checkpoint(name, row[0], row[3], bytes(row[4]))
            out.append((no, Anchor(row[0], bytes(row[1]), row[2], cp)))
    return out


def prune(store: Store, meeting: str, retention: Retention, cursors: Cursors, now_ms: int) -> int:
    """Prune the meeting's old audio, one transaction a stream; returns the streams pruned."""
    cursors.save()
    pruned = plan(store, meeting, retention, cursors, now_ms)
    for no, anchor in pruned:
        with store.tx():
            store.set_anchor(meeting, no, anchor)
    since = now_ms - int(retention.child_hours * HOUR_MS)
    with store.tx(durable=False):
        store.db.execute(
            "DELETE FROM follower_cursors WHERE meeting=? AND seen_ms<?", (meeting, since)
        )
    return len(pruned)
