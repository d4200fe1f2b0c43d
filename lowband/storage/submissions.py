"""The store's three submission queues: the client's outbox, the relay's custody
queue, and the origin's record of applied submissions.

Owns their SQL; the states and their rules live in `protocol/submissions.py`.
Callers wrap writes in `Store.tx()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lowband.protocol.model import Submission
from lowband.protocol.submissions import Custody, State
from lowband.protocol.wire import decode_body
from lowband.storage.store import Store


@dataclass(frozen=True)
class OutboxItem:
    sub_id: bytes
    meeting: str
    kind: str
    data: bytes
    state: State
    node: str
    reason: str
    created_ms: int
    updated_ms: int


_OUTBOX_COLS = "sub_id, meeting, kind, data, state, node, reason, created_ms, updated_ms"


def _item(row: tuple[Any, ...]) -> OutboxItem:
    sub_id, meeting, kind, data, state, node, reason, created, updated = row
    return OutboxItem(
        bytes(sub_id),
        str(meeting),
        str(kind),
        bytes(data),
        State(state),
        str(node),
        str(reason),
        int(created),
        int(updated),
    )


def outbox_add(store: Store, sub: Submission, data: bytes, now_ms: int) -> None:
    store.db.execute(
        f"INSERT INTO outbox ({_OUTBOX_COLS}) VALUES (?, ?, ?, ?, ?, '', '', ?, ?)",
        (sub.sub_id, sub.meeting, str(sub.kind), data, str(State.QUEUED), now_ms, now_ms),
    )


def outbox(store: Store, meeting: str | None = None) -> list[OutboxItem]:
    where, params = ("WHERE meeting=?", (meeting,)) if meeting else ("", ())
    rows = store.q(f"SELECT {_OUTBOX_COLS} FROM outbox {where} ORDER BY created_ms", params)
    return [_item(r) for r in rows]


def outbox_get(store: Store, sub_id: bytes) -> OutboxItem | None:
    row = store.one(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE sub_id=?", (sub_id,))
    return _item(row) if row else None


def outbox_set(
    store: Store, sub_id: bytes, state: State, node: str, reason: str, now_ms: int
) -> None:
    store.db.execute(
        "UPDATE outbox SET state=?, node=CASE WHEN ?='' THEN node ELSE ? END,"
        " reason=?, updated_ms=? WHERE sub_id=?",
        (str(state), node, node, reason, now_ms, sub_id),
    )


def outbox_touch(store: Store, sub_id: bytes, now_ms: int) -> None:
    store.db.execute("UPDATE outbox SET updated_ms=? WHERE sub_id=?", (now_ms, sub_id))


# --- relay custody ----------------------------------------------------------


def custody_get(store: Store, sub_id: bytes) -> tuple[Custody, str] | None:
    """(state, upstream note) of a submission this node holds."""
    row = store.one("SELECT state, upstream FROM custody WHERE sub_id=?", (sub_id,))
    return (Custody(str(row[0])), str(row[1])) if row else None


def custody_add(store: Store, sub: Submission, data: bytes, from_node: str, now_ms: int) -> None:
    store.db.execute(
        "INSERT OR IGNORE INTO custody VALUES (?, ?, ?, ?, ?, ?, '')",
        (sub.sub_id, sub.meeting, data, from_node, now_ms, str(Custody.HELD)),
    )


def custody_held(store: Store, meeting: str, limit: int) -> list[bytes]:
    rows = store.q(
        "SELECT data FROM custody WHERE meeting=? AND state=? ORDER BY received_ms LIMIT ?",
        (meeting, str(Custody.HELD), limit),
    )
    return [bytes(r[0]) for r in rows]


def custody_held_by(store: Store, meeting: str, author: bytes) -> int:
    """How many submissions by `author` this relay holds and has not yet forwarded."""
    rows = store.q(
        "SELECT data FROM custody WHERE meeting=? AND state=?", (meeting, str(Custody.HELD))
    )
    return sum(1 for (data,) in rows if decode_body(bytes(data), Submission).author == author)


def custody_set(store: Store, sub_id: bytes, state: Custody, upstream: str) -> None:
    store.db.execute(
        "UPDATE custody SET state=?, upstream=? WHERE sub_id=?", (str(state), upstream, sub_id)
    )


# --- origin ------------------------------------------------------------------


def applied_get(store: Store, sub_id: bytes) -> tuple[str, str] | None:
    row = store.one("SELECT outcome, reason FROM applied WHERE sub_id=?", (sub_id,))
    return (str(row[0]), str(row[1])) if row else None


def applied_add(
    store: Store, sub_id: bytes, meeting: str, outcome: str, reason: str, now_ms: int
) -> None:
    store.db.execute(
        "INSERT INTO applied VALUES (?, ?, ?, ?, ?)", (sub_id, meeting, outcome, reason, now_ms)
    )
