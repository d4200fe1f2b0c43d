"""One node's store: a single SQLite file (WAL) through sqlite-utils.

Owns every query of the node's tables and opening the file (the schema's steps are
`storage/migrations.py`). The same store serves the
client, the relay and the origin: meetings, streams and their chain heads,
events (canonical bytes, chain hash, the packed form sent to followers), the
newest checkpoint per stream, the roster, the client's outbox, the relay's
custody queue and the origin's record of applied submissions.

Each write that must be atomic runs inside `tx()` (BEGIN IMMEDIATE), so a
killed process leaves either all of it or none. Errors from SQLite surface as
`StoreError` with one plain sentence.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from lowband.protocol.compress import HISTORY_BYTES
from lowband.protocol.crypto import chain_genesis
from lowband.protocol.model import Anchor, Checkpoint, MeetingInfo, Rights, RosterEntry
from lowband.protocol.wire import decode_canonical
from lowband.storage.migrations import MIGRATIONS

AUDIO_PREFIX = "audio/"  # the only streams whose old events may be pruned (retention)
ANCHOR_EVERY_MS = 5 * 60 * 1000  # one audio checkpoint kept as a possible anchor this often


class StoreError(Exception):
    """The store cannot be used; the message is one plain sentence."""


class Store:
    """A node's SQLite store. Open one per thread; close it when done."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Custody, the outbox and the roster are nobody else's: the file is the owner's
            # alone, and SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(str(self.path), timeout=15, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._durable = True
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a lowband store ({exc}).") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer lowband.")
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.tx():
                step(self.db)
                self.db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def tx(self, durable: bool = True) -> Iterator[None]:
        """One atomic write: BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

        `durable=False` skips the fsync at commit (WAL, synchronous=NORMAL): still atomic and
        safe against a killed process, but the last commits may be lost with power. Use it only
        for what can be fetched again (events mirrored from a parent), never for custody or
        for events the origin creates."""
        if durable != self._durable:
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._durable = durable
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"The store {self.path} is busy or unwritable ({exc}).") from None
        try:
            yield
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise StoreError(
                f"Could not write to {self.path} ({exc}); nothing was changed."
            ) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk): undo only what is open.
        if self.db.conn.in_transaction:
            self.db.execute("ROLLBACK")

    def q(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, params).fetchone()
        return row

    def data_version(self) -> int:
        """Changes when another connection commits; cheap to poll."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # --- meta -----------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- meetings and streams ------------------------------------------------

    def add_meeting(self, info: MeetingInfo, parent: str | None) -> None:
        self.db.execute(
            "INSERT INTO meetings VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
            " SET title=excluded.title, parent=COALESCE(excluded.parent, parent)",
            (info.id, info.title, info.origin_key, info.epoch_ms, parent),
        )

    def meeting(self, meeting_id: str) -> MeetingInfo | None:
        row = self.one(
            "SELECT id, title, origin_key, epoch_ms FROM meetings WHERE id=?", (meeting_id,)
        )
        return MeetingInfo(*row) if row else None

    def meetings(self) -> list[MeetingInfo]:
        return [
            MeetingInfo(*r)
            for r in self.q("SELECT id, title, origin_key, epoch_ms FROM meetings ORDER BY id")
        ]

    def parent(self, meeting_id: str) -> str | None:
        row = self.one("SELECT parent FROM meetings WHERE id=?", (meeting_id,))
        return row[0] if row else None

    def streams(self, meeting: str) -> list[tuple[int, str, int, int]]:
        """(no, name, head, verified) for every stream of a meeting."""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.q(
                "SELECT no, name, head, verified FROM streams WHERE meeting=? ORDER BY no",
                (meeting,),
            )
        ]

    def stream_state(self, meeting: str, no: int) -> tuple[str, int] | None:
        """(name, verified) of one stream."""
        row = self.one("SELECT name, verified FROM streams WHERE meeting=? AND no=?", (meeting, no))
        return (str(row[0]), int(row[1])) if row else None

    def stream_no(self, meeting: str, name: str) -> int | None:
        row = self.one("SELECT no FROM streams WHERE meeting=? AND name=?", (meeting, name))
        return int(row[0]) if row else None

    def ensure_stream(self, meeting: str, name: str, no: int | None = None) -> int:
        """The stream's number, creating it (with `no`, or the next free number) if new."""
        existing = self.stream_no(meeting, name)
        if existing is not None:
            return existing
        if no is None:
            row = self.one(
                "SELECT COALESCE(MAX(no), 0) + 1 FROM streams WHERE meeting=?", (meeting,)
            )
            no = int(row[0]) if row else 1
        self.db.execute(
            "INSERT INTO streams (meeting, no, name, head_hash) VALUES (?, ?, ?, ?)",
            (meeting, no, name, chain_genesis(meeting, name)),
        )
        return no

    def head(self, meeting: str, no: int) -> tuple[int, bytes]:
        row = self.one(
            "SELECT head, head_hash FROM streams WHERE meeting=? AND no=?", (meeting, no)
        )
        if row is None:
            raise StoreError(f"Stream {no} of meeting {meeting} is not in the store.")
        return int(row[0]), bytes(row[1])

    # --- events --------------------------------------------------------------

    def history(self, meeting: str, no: int, before: int) -> bytes:
        """The bodies of the events before `before`, concatenated, last HISTORY_BYTES of them."""
        parts: list[bytes] = []
        size = 0
        for (data,) in self.db.execute(
            "SELECT data FROM events WHERE meeting=? AND no=? AND seq<? ORDER BY seq DESC",
            (meeting, no, before),
        ):
            body = decode_canonical(data)[2]
            parts.append(body)
            size += len(body)
            if size >= HISTORY_BYTES:
                break
        return b"".join(reversed(parts))[-HISTORY_BYTES:]

    def ts_of(self, meeting: str, no: int, seq: int) -> int:
        """The timestamp of event `seq` (0 for seq 0; the anchor's for a pruned stream's start)."""
        row = self.one(
            "SELECT ts FROM events WHERE meeting=? AND no=? AND seq=?", (meeting, no, seq)
        ) or self.one(
            "SELECT ts FROM anchors WHERE meeting=? AND no=? AND seq=?", (meeting, no, seq)
        )
        return int(row[0]) if row else 0

    def insert_event(
        self,
        meeting: str,
        no: int,
        seq: int,
        ts: int,
        kind: int,
        data: bytes,
        hash_: bytes,
        now_ms: int,
        packed: tuple[int, bytes] | None = None,
    ) -> None:
        """Append the next event of a stream and move its head; call inside tx()."""
        codec, blob = packed if packed else (None, None)
        self.db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (meeting, no, seq, ts, kind, data, hash_, codec, blob, now_ms),
        )
        moved = self.db.execute(
            "UPDATE streams SET head=?, head_hash=? WHERE meeting=? AND no=? AND head=?",
            (seq, hash_, meeting, no, seq - 1),
        )
        if moved.rowcount != 1:
            raise StoreError(f"Event {seq} of stream {no} does not follow the stored head.")

    def events(
        self, meeting: str, no: int, after: int, limit: int
    ) -> list[tuple[int, int, int, bytes]]:
        """(seq, ts, kind, canonical) of events after `after`, in order."""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.q(
                "SELECT seq, ts, kind, data FROM events WHERE meeting=? AND no=? AND seq>?"
                " ORDER BY seq LIMIT ?",
                (meeting, no, after, limit),
            )
        ]

    def packed(self, meeting: str, no: int, seq: int) -> tuple[int, bytes] | None:
        row = self.one(
            "SELECT codec, packed FROM events WHERE meeting=? AND no=? AND seq=?",
            (meeting, no, seq),
        )
        if row is None or row[0] is None:
            return None
        return int(row[0]), bytes(row[1])

    def set_packed(self, meeting: str, no: int, seq: int, packed: tuple[int, bytes]) -> None:
        self.db.execute(
            "UPDATE events SET codec=?, packed=? WHERE meeting=? AND no=? AND seq=?",
            (packed[0], packed[1], meeting, no, seq),
        )

    def event_hash(self, meeting: str, no: int, seq: int) -> bytes | None:
        if seq == 0:
            name = self.one("SELECT name FROM streams WHERE meeting=? AND no=?", (meeting, no))
            return chain_genesis(meeting, name[0]) if name else None
        row = self.one(
            "SELECT hash FROM events WHERE meeting=? AND no=? AND seq=?", (meeting, no, seq)
        ) or self.one(
            "SELECT hash FROM anchors WHERE meeting=? AND no=? AND seq=?", (meeting, no, seq)
        )
        return bytes(row[0]) if row else None

    def hashes_after(self, meeting: str, no: int, seq: int) -> dict[int, bytes]:
        rows = self.q(
            "SELECT seq, hash FROM events WHERE meeting=? AND no=? AND seq>?", (meeting, no, seq)
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    def truncate_after(self, meeting: str, no: int, seq: int) -> None:
        """Drop events after `seq` (refused as unverifiable) and move the head back."""
        self.db.execute("DELETE FROM events WHERE meeting=? AND no=? AND seq>?", (meeting, no, seq))
        head_hash = self.event_hash(meeting, no, seq)
        self.db.execute(
            "UPDATE streams SET head=?, head_hash=?, verified=MIN(verified, ?) WHERE meeting=? AND no=?",
            (seq, head_hash, seq, meeting, no),
        )

    # --- checkpoints ---------------------------------------------------------

    def put_checkpoint(self, meeting: str, no: int, cp: Checkpoint) -> None:
        """Keep `cp` if it is newer than the stored one (a newer one supersedes)."""
        self.db.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?) ON CONFLICT(meeting, no) DO UPDATE"
            " SET seq=excluded.seq, ts_ms=excluded.ts_ms, sig=excluded.sig"
            " WHERE excluded.ts_ms > checkpoints.ts_ms",
            (meeting, no, cp.seq, cp.ts_ms, cp.sig),
        )
        if cp.stream.startswith(AUDIO_PREFIX):
            self._keep_anchor_candidate(meeting, no, cp)

    def _keep_anchor_candidate(self, meeting: str, no: int, cp: Checkpoint) -> None:
        """Keep an audio checkpoint every ANCHOR_EVERY_MS: retention can prune up to one."""
        last = self.one(
            "SELECT MAX(cp_ts_ms) FROM anchor_candidates WHERE meeting=? AND no=?", (meeting, no)
        )
        if last and last[0] is not None and cp.ts_ms - last[0] < ANCHOR_EVERY_MS:
            return
        row = self.one(
            "SELECT hash, ts FROM events WHERE meeting=? AND no=? AND seq=?", (meeting, no, cp.seq)
        )
        if row is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO anchor_candidates VALUES (?, ?, ?, ?, ?, ?, ?)",
                (meeting, no, cp.seq, row[0], row[1], cp.ts_ms, cp.sig),
            )

    def anchors(self, meeting: str) -> dict[int, Anchor]:
        """The anchor of each stream of a meeting whose older events were pruned here."""
        names = {no: name for no, name, _, _ in self.streams(meeting)}
        return {
            r[0]: Anchor(
                r[1], bytes(r[2]), r[3], Checkpoint(names.get(r[0], ""), r[1], r[4], bytes(r[5]))
            )
            for r in self.q(
                "SELECT no, seq, hash, ts, cp_ts_ms, sig FROM anchors WHERE meeting=?", (meeting,)
            )
        }

    def set_anchor(self, meeting: str, no: int, anchor: Anchor) -> None:
        """Drop the stream's events up to the anchor and start it there; call inside tx()."""
        cp = anchor.checkpoint
        self.db.execute(
            "DELETE FROM events WHERE meeting=? AND no=? AND seq<=?", (meeting, no, anchor.seq)
        )
        self.db.execute(
            "DELETE FROM anchor_candidates WHERE meeting=? AND no=? AND seq<=?",
            (meeting, no, anchor.seq),
        )
        self.db.execute(
            "INSERT OR REPLACE INTO anchors VALUES (?, ?, ?, ?, ?, ?, ?)",
            (meeting, no, anchor.seq, anchor.hash, anchor.ts, cp.ts_ms, cp.sig),
        )
        self.db.execute(
            "UPDATE streams SET head=?, head_hash=?, verified=? WHERE meeting=? AND no=? AND head<?",
            (anchor.seq, anchor.hash, anchor.seq, meeting, no, anchor.seq),
        )

    def checkpoint(self, meeting: str, no: int, name: str) -> Checkpoint | None:
        row = self.one(
            "SELECT seq, ts_ms, sig FROM checkpoints WHERE meeting=? AND no=?", (meeting, no)
        )
        return Checkpoint(stream=name, seq=row[0], ts_ms=row[1], sig=bytes(row[2])) if row else None

    def set_verified(self, meeting: str, no: int, seq: int) -> None:
        self.db.execute(
            "UPDATE streams SET verified=MAX(verified, ?) WHERE meeting=? AND no=?",
            (seq, meeting, no),
        )

    # --- roster --------------------------------------------------------------

    def apply_roster(self, meeting: str, entry: RosterEntry) -> None:
        if entry.removed:
            self.db.execute("DELETE FROM roster WHERE meeting=? AND key=?", (meeting, entry.key))
            return
        self.db.execute(
            "INSERT OR REPLACE INTO roster VALUES (?, ?, ?, ?, ?)",
            (meeting, entry.key, entry.name, entry.member_state, str(entry.rights)),
        )

    def roster_entry(self, meeting: str, key: bytes) -> RosterEntry | None:
        row = self.one(
            "SELECT key, name, member_state, rights FROM roster WHERE meeting=? AND key=?",
            (meeting, key),
        )
        return RosterEntry(bytes(row[0]), row[1], row[2], Rights(row[3])) if row else None

    def roster(self, meeting: str) -> list[RosterEntry]:
        rows = self.q(
            "SELECT key, name, member_state, rights FROM roster WHERE meeting=? ORDER BY name",
            (meeting,),
        )
        return [RosterEntry(bytes(r[0]), r[1], r[2], Rights(r[3])) for r in rows]
