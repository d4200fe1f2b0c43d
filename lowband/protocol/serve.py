"""The serving side of one exchange, sans-IO: what to send a follower next.

Owns one follower's cursors and the rules of what goes on its wire: streams in
the follower's priority order; catch-up as batches, the live edge as the
shared pre-encoded frame of each event; the newest checkpoint of a stream only
when it covers events the follower has not had verified, and no more often
than the follower asked (`checkpoint_every`), because on a 9.6 kbit/s link a
64-byte signature every two seconds costs more than the captions; one
heartbeat checkpoint when none went out for a while; a keep-alive when the
line has been silent; the byte budget; and, for a follower that asks for them
(`inline_limit`), document revisions small enough to ride inside the exchange: each new
revision the docs stream carries, after everything of higher priority in the same pull,
once per exchange, only when the source has its form at hand (it computes forms elsewhere,
once for every follower, and never inside a pull).

The relay passes a `Source` over its store and the clock; nothing here waits,
reads a socket or touches SQLite.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

from lowband.protocol.model import Checkpoint
from lowband.protocol.wire import (
    BLOCK_EVENTS,
    End,
    HistoryRef,
    KeepAlive,
    StreamRef,
    SyncRequest,
    encode_frame,
)

DOCS = "docs"
KEEPALIVE_S = 20.0
MIN_HEARTBEAT_S = 60.0
CHUNK_BYTES = 4096  # yield often, so higher priorities can jump the queue


class Inline(enum.Enum):
    """Why a source has no inline form for a follower now."""

    LATER = "being prepared"  # ask again on a later pull (the source wakes the follower)
    NEVER = "not inline"  # too large, or not available: the follower fetches it by HTTP


class Source(Protocol):
    def streams(self) -> Sequence[tuple[int, str]]:
        """(no, name) of every stream of the meeting; the same object while it is unchanged."""
        ...

    def head(self, no: int) -> int: ...

    def frames_after(self, no: int, cursor: int, room: int) -> tuple[list[bytes], int]:
        """Encoded frames carrying events after `cursor` (at least one if any exist), up to
        about `room` bytes and never past a block boundary, and the cursor they reach."""
        ...

    def checkpoint(self, no: int) -> Checkpoint | None: ...

    def anchor(self, no: int) -> int:
        """The seq an audio stream starts at when older events were pruned (0: none were)."""
        ...

    def anchor_frame(self, no: int) -> bytes:
        """The encoded anchor of a stream whose `anchor` is not 0."""
        ...

    def checkpoint_frame(self, no: int) -> bytes | None:
        """The encoded frame of the stream's newest checkpoint."""
        ...

    def doc_targets(self, no: int, after: int, upto: int) -> Sequence[str]:
        """SHA-256 (hex) of the revisions announced by docs events `after+1 .. upto` of stream
        `no` that are still the newest of their document."""
        ...

    def inline_form(self, target: str, held: frozenset[bytes], limit: int) -> bytes | Inline:
        """The encoded DocForm frame of `target` for a follower holding `held` (8-byte ids),
        if its form is at most `limit` bytes; never computes anything itself."""
        ...


class Follower:
    """One follower's state for the length of one exchange."""

    def __init__(self, req: SyncRequest, now: float) -> None:
        self.req = req
        self.cursors: dict[str, int] = {w.stream: w.cursor for w in req.wants}
        self.verified: dict[str, int] = {w.stream: w.verified for w in req.wants}
        self.cp_sent_at: dict[str, float] = {}
        self.last_cp_at = now
        self.last_send = now
        self.sent = 0
        self.sent_by: dict[str, int] = {}  # event bytes by stream name, for statistics
        self.announced = req.known_streams
        self.ended = False
        self.cp_due: float | None = None  # a checkpoint is held back by the cadence until then
        self._order_of: Sequence[tuple[int, str]] | None = None
        self._order_cache: list[tuple[int, str]] = []
        self.held = frozenset(req.docs_held)
        self.inline_due: list[str] = []  # revisions announced to this follower, not yet inline

    def _order(self, src: Source) -> list[tuple[int, str]]:
        """The follower's streams in priority order; recomputed only when the streams change."""
        streams = src.streams()
        if streams is not self._order_of:
            self._order_of, self._order_cache = streams, self._compute_order(src)
        return self._order_cache

    def _compute_order(self, src: Source) -> list[tuple[int, str]]:
        by_name = {name: no for no, name in src.streams()}
        wanted = [(by_name[w.stream], w.stream) for w in self.req.wants if w.stream in by_name]
        names = {n for _, n in wanted}
        extra = [
            (no, name)
            for no, name in sorted(src.streams())
            if name not in names and any(name.startswith(p) for p in self.req.prefixes)
        ]
        for _, name in extra:
            self.cursors.setdefault(name, 0)
            self.verified.setdefault(name, 0)
        return wanted + extra

    def pull(self, src: Source, now: float) -> list[bytes]:
        """The frames to write now (empty when there is nothing to say yet)."""
        if self.ended:
            return []
        order = self._order(src)
        out: list[bytes] = []
        size = 0
        for no, name in sorted(order):
            if no > self.announced:
                out.append(encode_frame(StreamRef(no, name)))
        self.announced = max([self.announced, *(no for no, _ in order)])
        for no, name in order:
            room = CHUNK_BYTES - size
            if room <= 0:
                break
            cursor, closed = self.cursors[name], src.head(no) // BLOCK_EVENTS
            if cursor < src.anchor(no):  # older audio was pruned: start the follower there
                out.append(src.anchor_frame(no))
                cursor = self.cursors[name] = src.anchor(no)
                self.verified[name] = max(self.verified[name], cursor)
            if self.req.history and cursor % BLOCK_EVENTS == 0 and cursor // BLOCK_EVENTS < closed:
                out.append(encode_frame(HistoryRef(no, cursor // BLOCK_EVENTS, closed - 1)))
                self.cursors[name] = closed * BLOCK_EVENTS
                continue
            if src.head(no) > cursor:
                frames, self.cursors[name] = src.frames_after(no, cursor, room)
                out += frames
                sent = sum(map(len, frames))
                size += sent
                self.sent_by[name] = self.sent_by.get(name, 0) + sent
            if name == DOCS and self.req.inline_limit and self.cursors[name] > cursor:
                self.inline_due += src.doc_targets(no, cursor, self.cursors[name])
        out += self._checkpoints(src, order, now)
        if self.inline_due and size < CHUNK_BYTES:
            out += self._inline(src)
        if not out and now - self.last_send >= KEEPALIVE_S:
            out.append(encode_frame(KeepAlive()))
        return self._account(out, now)

    def _inline(self, src: Source) -> list[bytes]:
        """Forms of announced revisions, as long as the chunk has room; each at most once."""
        out: list[bytes] = []
        size, waiting = 0, []
        for target in self.inline_due:
            short = bytes.fromhex(target[:16])
            if short in self.held or size >= CHUNK_BYTES:
                if short not in self.held:
                    waiting.append(target)
                continue
            frame = src.inline_form(target, self.held, self.req.inline_limit)
            if frame is Inline.LATER:
                waiting.append(target)
            elif isinstance(frame, bytes):
                out.append(frame)
                size += len(frame)
                self.held |= {short}
                self.sent_by[DOCS] = self.sent_by.get(DOCS, 0) + len(frame)
        self.inline_due = waiting
        return out

    def _checkpoints(self, src: Source, order: list[tuple[int, str]], now: float) -> list[bytes]:
        every = self.req.checkpoint_every
        out: list[bytes] = []
        freshest: tuple[int, int, str, Checkpoint] | None = None
        self.cp_due = None
        for no, name in order:
            cp = src.checkpoint(no)
            if cp is None or cp.seq > self.cursors[name]:
                continue
            if cp.seq > self.verified[name]:
                ready_at = self.cp_sent_at.get(name, -1e9) + every
                if now < ready_at:
                    self.cp_due = min(ready_at, self.cp_due or ready_at)
                    continue
                out.append(src.checkpoint_frame(no) or b"")
                self.verified[name] = cp.seq
                self.cp_sent_at[name] = now
            elif freshest is None or cp.ts_ms > freshest[1]:
                freshest = (no, cp.ts_ms, name, cp)
        if out:
            self.last_cp_at = now
        elif freshest and now - self.last_cp_at >= max(MIN_HEARTBEAT_S, 2 * every):
            out.append(src.checkpoint_frame(freshest[0]) or b"")
            self.last_cp_at = now
        return out

    def _account(self, out: list[bytes], now: float) -> list[bytes]:
        if out:
            self.last_send = now
            self.sent += sum(map(len, out))
        if self.req.budget and self.sent >= self.req.budget:
            self.ended = True
            out.append(encode_frame(End("The byte budget for this exchange is spent.")))
        return out

    def caught_up(self, src: Source) -> bool:
        if self.inline_due:
            return False  # a form being prepared still goes out before a one-off exchange ends
        return all(src.head(no) <= self.cursors[name] for no, name in self._order(src))

    def wake_in(self, now: float) -> float:
        """Seconds until this follower has something to send even if nothing new arrives."""
        heartbeat = self.last_cp_at + max(MIN_HEARTBEAT_S, 2 * self.req.checkpoint_every)
        due = [self.last_send + KEEPALIVE_S, heartbeat]
        if self.cp_due is not None:
            due.append(self.cp_due)
        return max(0.05, min(due) - now)
