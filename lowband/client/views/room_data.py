"""What the room and chair screens read from the store, incrementally.

Owns turning stored events into what the screens show: transcript lines
(the last screenful first, older ones on demand, corrections applied in
place), the folded speaking queue, interventions, side discussions per
topic, the documents list, the delegate's own submissions with their
states, and the age of the newest checkpoint. Each call reads only what
is new since the last one. Reads only, on the thread that owns the store;
never writes and never touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lowband.client.widgets.transcript import Line
from lowband.meeting.floor import FloorState
from lowband.meeting.render import clock
from lowband.protocol.model import (
    CaptionLine,
    ChairAction,
    ChatMessage,
    DocRevision,
    FloorChange,
    Intervention,
    Notice,
    RosterEntry,
    SubKind,
    Submission,
    SubmissionText,
)
from lowband.protocol.submissions import FINAL, describe
from lowband.protocol.wire import ProtocolError, decode_body, decode_canonical
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.store import Store

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHUNK = 500


def clean(text: str) -> str:
    """Text safe for one terminal row: control characters become spaces."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class Shown:
    """One item of a list panel: when, who, what, and (for my own) its state."""

    clock: str
    who: str
    text: str
    mine: bool = False


@dataclass(frozen=True)
class MyItem:
    sub_id: bytes
    kind: str
    text: str
    state: str
    final: bool


@dataclass
class _Tail:
    after: int = 0


@dataclass
class Transcript:
    """Lines of one language as decoded; `corrections` waits for lines not loaded yet."""

    lines: list[Line]
    corrections: dict[int, CaptionLine] = field(default_factory=dict)


class RoomReader:
    def __init__(self, store: Store, meeting: str, my_key: bytes) -> None:
        self.store, self.meeting, self.my_key = store, meeting, my_key
        info = store.meeting(meeting)
        self.epoch = info.epoch_ms if info else 0
        self.title = info.title if info else meeting
        self.floor = FloorState()
        self.interventions: list[Shown] = []
        self.chat: list[tuple[str, Shown]] = []
        self.docs: dict[str, DocRevision] = {}
        self._tails: dict[str, _Tail] = {}
        self._pending: dict[str, dict[int, CaptionLine]] = {}

    # --- streams ------------------------------------------------------------------

    def stream(self, name: str) -> tuple[int, int, int] | None:
        """(no, head, verified) of a stream, or None."""
        for no, n, head, verified in self.store.streams(self.meeting):
            if n == name:
                return no, head, verified
        return None

    def _new(self, name: str, limit: int = 10_000) -> list[tuple[int, int, bytes]]:
        """(seq, ts, body) of events of `name` not read yet."""
        found = self.stream(name)
        if found is None:
            return []
        tail = self._tails.setdefault(name, _Tail())
        rows = self.store.events(self.meeting, found[0], tail.after, limit)
        if rows:
            tail.after = rows[-1][0]
        return [(seq, ts, decode_canonical(data)[2]) for seq, ts, _, data in rows]

    def notice(self) -> Notice | None:
        found = self.stream("notice")
        if found is None or found[1] == 0:
            return None
        rows = self.store.events(self.meeting, found[0], found[1] - 1, 1)
        return decode_body(decode_canonical(rows[0][3])[2], Notice) if rows else None

    def me(self) -> RosterEntry | None:
        return self.store.roster_entry(self.meeting, self.my_key)

    def languages(self) -> list[str]:
        notice = self.notice()
        langs = list(notice.languages) if notice else []
        for _, name, _, _ in self.store.streams(self.meeting):
            lang = name.removeprefix("transcript/")
            if name.startswith("transcript/") and lang not in langs:
                langs.append(lang)
        return langs or ["en"]

    # --- transcript -----------------------------------------------------------------

    def _lines(self, lang: str, rows: list[tuple[int, int, int, bytes]]) -> Transcript:
        """Decode caption events; corrections apply to lines of this batch or wait in pending."""
        decoded: list[tuple[int, int, CaptionLine]] = []
        for seq, ts, _, data in rows:
            try:
                decoded.append((seq, ts, decode_body(decode_canonical(data)[2], CaptionLine)))
            except ProtocolError:
                continue
        fixes = {c.replaces: c for _, _, c in decoded if c.replaces}
        pending = self._pending.setdefault(lang, {})
        out = Transcript([])
        for seq, ts, c in decoded:
            if c.replaces:
                continue
            line = Line(seq, clock(self.epoch, ts), clean(c.speaker), clean(c.text), c.final)
            fix = pending.pop(seq, None) or fixes.pop(seq, None)
            if fix is not None:
                line.text, line.speaker, line.final = clean(fix.text), clean(fix.speaker), fix.final
                line.corrected = True
            out.lines.append(line)
        out.corrections = fixes
        return out

    def transcript_tail(self, lang: str, count: int) -> tuple[Transcript, int, bool]:
        """The newest `count` events: (lines, verified seq, whether older ones exist)."""
        name = f"transcript/{lang}"
        found = self.stream(name)
        if found is None:
            self._tails[name] = _Tail()
            return Transcript([]), 0, False
        no, head, verified = found
        after = max(0, head - count)
        rows = self.store.events(self.meeting, no, after, count)
        self._tails[name] = _Tail(rows[-1][0] if rows else after)
        got = self._lines(lang, rows)
        self._pending[lang].update(got.corrections)
        return got, verified, after > 0

    def transcript_before(
        self, lang: str, before: int, count: int = CHUNK
    ) -> tuple[list[Line], bool]:
        found = self.stream(f"transcript/{lang}")
        if found is None or before <= 1:
            return [], False
        after = max(0, before - 1 - count)
        rows = self.store.events(self.meeting, found[0], after, before - 1 - after)
        got = self._lines(lang, rows)
        for seq, fix in got.corrections.items():  # newer corrections, already pending, win
            self._pending[lang].setdefault(seq, fix)
        return got.lines, after > 0

    def transcript_new(self, lang: str) -> tuple[Transcript, int]:
        """Lines that arrived since the last read, and the verified seq."""
        name = f"transcript/{lang}"
        found = self.stream(name)
        if found is None:
            return Transcript([]), 0
        tail = self._tails.setdefault(name, _Tail())
        rows = self.store.events(self.meeting, found[0], tail.after, 2_000)
        if rows:
            tail.after = rows[-1][0]
        return self._lines(lang, rows), found[2]

    # --- floor, interventions, chat, documents ------------------------------------------

    def refresh(self) -> set[str]:
        """Read what is new in the non-transcript streams; the names of what changed."""
        changed: set[str] = set()
        for _, ts, body in self._new("floor"):
            self.floor.apply(decode_body(body, FloorChange), ts)
            changed.add("floor")
        for _, ts, body in self._new("interventions"):
            i = decode_body(body, Intervention)
            item = f"[{i.agenda_item}] " if i.agenda_item else ""
            who = f"{clean(i.name)} ({clean(i.member_state)})"
            self.interventions.append(
                Shown(clock(self.epoch, ts), who, item + clean(i.text), i.key == self.my_key)
            )
            changed.add("interventions")
        for _, name, _, _ in self.store.streams(self.meeting):
            if name.startswith("chat/"):
                for _, ts, body in self._new(name):
                    m = decode_body(body, ChatMessage)
                    shown = Shown(
                        clock(self.epoch, ts), clean(m.name), clean(m.text), m.key == self.my_key
                    )
                    self.chat.append((name.removeprefix("chat/"), shown))
                    changed.add("chat")
        for _, _, body in self._new("docs"):
            d = decode_body(body, DocRevision)
            self.docs[d.doc_id] = d
            changed.add("docs")
        return changed

    # --- my submissions and the link ----------------------------------------------------

    def mine(self) -> list[MyItem]:
        out = []
        for item in queues.outbox(self.store, self.meeting):
            out.append(
                MyItem(
                    item.sub_id,
                    item.kind,
                    _summary(item.kind, item.data),
                    describe(item.state, item.node, item.reason),
                    item.state in FINAL,
                )
            )
        return out

    def newest_checkpoint_ms(self) -> int | None:
        newest = None
        for no, name, _, _ in self.store.streams(self.meeting):
            cp = self.store.checkpoint(self.meeting, no, name)
            if cp is not None and (newest is None or cp.ts_ms > newest):
                newest = cp.ts_ms
        return newest

    def alert(self) -> str:
        return meta.alert(self.store, self.meeting)


_KIND_WORDS = {
    SubKind.FLOOR_REQUEST: "request for the floor",
    SubKind.FLOOR_WITHDRAW: "withdrawal from the queue",
    SubKind.POINT_OF_ORDER: "point of order",
    SubKind.INTERVENTION: "intervention",
    SubKind.CHAT: "chat",
    SubKind.PUBLISH: "publication",
    SubKind.CHAIR: "chair",
}


def _summary(kind: str, data: bytes) -> str:
    try:
        sub = decode_body(data, Submission)
        words = _KIND_WORDS.get(SubKind(kind), kind)
        if sub.kind in (SubKind.INTERVENTION, SubKind.CHAT):
            t = decode_body(sub.body, SubmissionText)
            topic = f" #{t.topic}" if t.topic else ""
            return f"{words}{topic}: {clean(t.text)}"
        if sub.kind is SubKind.CHAIR:
            a = decode_body(sub.body, ChairAction)
            return f"chair: {a.verb}{' ' + clean(a.name) if a.name else ''}"
        return words
    except (ProtocolError, ValueError):
        return kind
