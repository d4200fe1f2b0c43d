"""A delegate's home filled without a network: a meeting, captions, floor, chat, documents.

The store is written the way the origin writes (so every event is real and chained), at fixed
times, so screens and snapshots come out the same on every run.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nacl.signing import SigningKey

from lowband.node.home import load_or_create_key
from lowband.origin.append import create_meeting
from lowband.protocol.crypto import chain_next
from lowband.protocol.model import (
    AgendaItem,
    CaptionLine,
    ChatMessage,
    Checkpoint,
    DocRevision,
    FloorAction,
    FloorChange,
    Intervention,
    Kind,
    MeetingInfo,
    MeetingKind,
    Notice,
    Rights,
    RosterEntry,
    Session,
)
from lowband.protocol.wire import decode_body, encode_body, encode_canonical
from lowband.storage.store import Store

MEETING = "pp26"
T0 = 1_796_112_000_000  # 2026-12-01T08:00:00Z
ARABIC = "الاتحاد الدولي للاتصالات يدعم المشاركة عن بعد في الاجتماعات بلغات عديدة"


def notice() -> Notice:
    return Notice(
        "Council 2026: Resolution 167",
        MeetingKind.HYBRID,
        Rights.SPEAK,
        [Session("2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z", "Morning")],
        ["en", "zh", "ar"],
        "Europe/Zurich",
        [AgendaItem("1", "Opening"), AgendaItem("2", "Resolution 167")],
    )


def chinese() -> list[str]:
    text = resources.files("lowband.data").joinpath("res167_zh.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def append(
    store: Store, info: MeetingInfo, stream: str, kind: Kind, body: bytes, now_ms: int
) -> int:
    """Append as the origin does (same chain), minus the packed form a client never serves."""
    no = store.ensure_stream(info.id, stream)
    head, head_hash = store.head(info.id, no)
    ts = now_ms - info.epoch_ms
    canonical = encode_canonical(ts, kind, body)
    store.insert_event(
        info.id,
        no,
        head + 1,
        ts,
        kind,
        canonical,
        chain_next(head_hash, head + 1, canonical),
        now_ms,
    )
    if kind is Kind.ROSTER:
        store.apply_roster(info.id, decode_body(body, RosterEntry))
    return head + 1


def fill(
    home: Path, lines: int = 40, rights: Rights = Rights.SPEAK
) -> tuple[SigningKey, MeetingInfo]:
    """The delegate's home; the store holds the meeting as if synced (all but 2 lines verified)."""
    me = load_or_create_key(home / "key")
    origin = SigningKey(bytes(range(32)))
    with Store(home / "store.sqlite") as store:
        info = create_meeting(store, origin, MEETING, notice(), T0)
        t = T0
        with store.tx():
            add = lambda stream, kind, body: append(store, info, stream, kind, encode_body(body), t)  # noqa: E731
            add(
                "roster",
                Kind.ROSTER,
                RosterEntry(bytes(me.verify_key), "Amina Odhiambo", "Kenya", rights),
            )
            speakers = ["CHAIR", "KENYA", "BRAZIL", "INTERPRETER"]
            for i in range(lines):
                t += 4_000
                text = f"Line {i}: remote participation must be fair for every member state."
                add("transcript/en", Kind.CAPTION, CaptionLine(speakers[i % 4], text))
            add(
                "transcript/en",
                Kind.CAPTION,
                CaptionLine("BRAZIL", "Line 2 as corrected.", True, 3),
            )
            for i, zh in enumerate(chinese()[:12]):
                t += 1_000
                add("transcript/zh", Kind.CAPTION, CaptionLine("主席" if i % 2 else "肯尼亚", zh))
            add("transcript/ar", Kind.CAPTION, CaptionLine("الرئيس", ARABIC))
            sid = bytes(16)
            add(
                "floor",
                Kind.FLOOR,
                FloorChange(FloorAction.REQUEST, sid, bytes(32), "Paulo", "Brazil", False),
            )
            add(
                "floor",
                Kind.FLOOR,
                FloorChange(
                    FloorAction.REQUEST,
                    b"\1" * 16,
                    bytes(me.verify_key),
                    "Amina Odhiambo",
                    "Kenya",
                    True,
                ),
            )
            add(
                "interventions",
                Kind.INTERVENTION,
                Intervention(
                    b"\2" * 16, bytes(32), "Paulo", "Brazil", "Brazil supports the draft.", "2"
                ),
            )
            add(
                "chat/general",
                Kind.CHAT,
                ChatMessage(b"\3" * 16, bytes(32), "Paulo", "Shall we meet at the break?"),
            )
            add(
                "docs",
                Kind.DOC,
                DocRevision(
                    "C26/42",
                    2,
                    "Draft resolution 167",
                    "en",
                    "2",
                    "application/pdf",
                    182_000,
                    bytes(32),
                ),
            )
            for no, name, head, _ in store.streams(MEETING):
                store.set_verified(MEETING, no, head - 2 if name == "transcript/en" else head)
                store.put_checkpoint(MEETING, no, Checkpoint(name, head, t, bytes(64)))
    return me, info
