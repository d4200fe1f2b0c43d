"""A meeting as the serving plan sees it: the `Source` of `protocol/serve.py` over a store.

Owns the per-generation snapshot of a meeting's streams, heads and newest
checkpoints (one snapshot shared by every follower until the store moves) and
the cache of encoded frames, so each event is compressed and framed once and
the same bytes go to every follower (DESIGN section 4). An audio stream whose older events
were pruned starts at its anchor (relay/retention.py); audio batches are raw, so their bytes
never depend on what was pruned. Inline document forms come from the node's `InlineForms`
(relay/inline.py), which prepares them off the fan-out's pass.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lowband.protocol.compress import pack_batch, pack_body
from lowband.protocol.model import Checkpoint, Kind
from lowband.protocol.serve import Inline
from lowband.protocol.wire import (
    BLOCK_EVENTS,
    AnchorFrame,
    Batch,
    CheckpointFrame,
    EventFrame,
    decode_canonical,
    encode_frame,
)
from lowband.storage.store import AUDIO_PREFIX, Store

if TYPE_CHECKING:
    from lowband.relay.inline import InlineForms

BATCH_RAW_BYTES = 16 * 1024  # catch-up batches stay small, so priorities still interleave
BATCH_MAX_EVENTS = 256
BLOCK_BATCH_RAW_BYTES = 256 * 1024  # a history block is fetched whole: bigger batches pay


class FrameCache:
    """Encoded frames by key, least recently used dropped first."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        frame = self._items.get(key)
        if frame is not None:
            self._items.move_to_end(key)
        return frame

    def put(self, key: tuple[object, ...], frame: bytes) -> None:
        self._items[key] = frame
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)


class MeetingView:
    """A snapshot of one meeting at one store generation."""

    def __init__(
        self,
        store: Store,
        meeting: str,
        cache: FrameCache,
        before: MeetingView | None = None,
        forms: InlineForms | None = None,
    ) -> None:
        self.store = store
        self.meeting = meeting
        self.cache = cache
        self.forms = forms
        self._targets: dict[tuple[int, int], list[str]] = {}
        rows = store.streams(meeting)
        info = store.meeting(meeting)
        self.epoch_ms = info.epoch_ms if info else 0
        self._refs = [(no, name) for no, name, _, _ in rows]
        if before is not None and before._refs == self._refs:
            self._refs = before._refs  # the same object: followers keep their stream order
        self._heads = {no: head for no, _, head, _ in rows}
        self._cps = {no: store.checkpoint(meeting, no, name) for no, name, _, _ in rows}
        self._audio = {no for no, name, _, _ in rows if name.startswith(AUDIO_PREFIX)}
        self._anchors = store.anchors(meeting)

    def streams(self) -> Sequence[tuple[int, str]]:
        return self._refs

    def head(self, no: int) -> int:
        return self._heads.get(no, 0)

    def checkpoint(self, no: int) -> Checkpoint | None:
        return self._cps.get(no)

    def anchor(self, no: int) -> int:
        anchor = self._anchors.get(no)
        return anchor.seq if anchor else 0

    def anchor_frame(self, no: int) -> bytes:
        a = self._anchors[no]
        cp_ts = a.checkpoint.ts_ms - self.epoch_ms
        return encode_frame(AnchorFrame(no, a.seq, a.ts, a.hash, cp_ts, a.checkpoint.sig))

    def frames_after(self, no: int, cursor: int, room: int) -> tuple[list[bytes], int]:
        head = self.head(no)
        if head == cursor + 1:
            frame = self._event_frame(no, head)
            return ([frame], head) if frame else ([], cursor)
        to_boundary = BLOCK_EVENTS - cursor % BLOCK_EVENTS
        events = self.store.events(self.meeting, no, cursor, min(BATCH_MAX_EVENTS, to_boundary))
        if not events or events[0][0] != cursor + 1:
            return [], cursor  # pruned since this snapshot: the next one carries the anchor
        size, take = 0, 0
        for _, _, _, data in events:
            if take and size + len(data) > max(BATCH_RAW_BYTES, room):
                break
            size += len(data)
            take += 1
        return [self._batch(no, cursor, events[:take])], cursor + take

    def _batch(self, no: int, cursor: int, events: list[tuple[int, int, int, bytes]]) -> bytes:
        key = ("batch", self.meeting, no, cursor, cursor + len(events))
        frame = self.cache.get(key)
        if frame is None:
            history = self.store.history(self.meeting, no, cursor + 1)
            prev = self.store.ts_of(self.meeting, no, cursor)
            items = []
            for _, ts, kind, data in events:
                items.append((ts - prev, kind, decode_canonical(data)[2]))
                prev = ts
            codec, payload = pack_batch(items, history, no not in self._audio)
            frame = encode_frame(Batch(no, cursor + 1, len(events), codec, payload))
            self.cache.put(key, frame)
        return frame

    def block(self, no: int, block: int) -> bytes | None:
        """The frames of a closed block (None while it is open): immutable, cacheable bytes."""
        first = block * BLOCK_EVENTS
        if block < 0 or first + BLOCK_EVENTS > self.head(no) or first < self.anchor(no):
            return None
        frames, cursor = [], first
        while cursor < first + BLOCK_EVENTS:
            events = self.store.events(self.meeting, no, cursor, first + BLOCK_EVENTS - cursor)
            size, take = 0, 0
            for _, _, _, data in events:
                if take and size + len(data) > BLOCK_BATCH_RAW_BYTES:
                    break
                size += len(data)
                take += 1
            frames.append(self._batch(no, cursor, events[:take]))
            cursor += take
        return b"".join(frames)

    def _event_frame(self, no: int, seq: int) -> bytes | None:
        """The frame of event `seq`; None if it was pruned since this snapshot."""
        key = ("event", self.meeting, no, seq)
        frame = self.cache.get(key)
        if frame is None:
            rows = self.store.events(self.meeting, no, seq - 1, 1)
            if not rows or rows[0][0] != seq:
                return None
            ((_, ts, kind, data),) = rows
            packed = self.store.packed(self.meeting, no, seq)
            if packed is None:
                history = self.store.history(self.meeting, no, seq)
                packed = pack_body(decode_canonical(data)[2], history, kind != Kind.AUDIO)
                self.store.set_packed(self.meeting, no, seq, packed)
            dt = ts - self.store.ts_of(self.meeting, no, seq - 1)
            frame = encode_frame(EventFrame(no, dt, Kind(kind), packed[0], packed[1]))
            self.cache.put(key, frame)
        return frame

    def checkpoint_frame(self, no: int) -> bytes | None:
        cp = self._cps.get(no)
        if cp is None:
            return None
        return encode_frame(CheckpointFrame(no, cp.seq, cp.ts_ms - self.epoch_ms, cp.sig))

    def doc_targets(self, no: int, after: int, upto: int) -> Sequence[str]:
        if self.forms is None:
            return []
        got = self._targets.get((after, upto))
        if got is None:  # once per snapshot for every follower that read the same events
            got = self._targets[(after, upto)] = self.forms.targets(self.meeting, after, upto)
        return got

    def inline_form(self, target: str, held: frozenset[bytes], limit: int) -> bytes | Inline:
        if self.forms is None:
            return Inline.NEVER
        return self.forms.frame(target, held, limit)


class Views:
    """The current snapshot of each meeting, rebuilt when its generation moves."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache = FrameCache()
        self.forms: InlineForms | None = None  # set by the blob endpoint (relay/blobs.py)
        self._views: dict[str, tuple[int, MeetingView]] = {}

    def get(self, meeting: str, generation: int) -> MeetingView:
        held = self._views.get(meeting)
        if held is None or held[0] != generation:
            before = held[1] if held else None
            view = MeetingView(self.store, meeting, self.cache, before, self.forms)
            held = (generation, view)
            self._views[meeting] = held
        return held[1]
