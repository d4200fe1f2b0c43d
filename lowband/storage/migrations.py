"""The store's schema, as the numbered steps that build it: `m001` first, one step a change.

Owns every `CREATE` and `ALTER`. A store records how many steps it has taken (its
`user_version`, see `storage/store.py`); opening it takes the rest in order, and a store that
took more steps than this list has (written by a newer lowband) is refused, not damaged.
Never edit a step that has shipped: add one.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def m001(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE meetings (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, origin_key BLOB NOT NULL,
            epoch_ms INTEGER NOT NULL, parent TEXT);
        CREATE TABLE streams (
            meeting TEXT NOT NULL, no INTEGER NOT NULL, name TEXT NOT NULL,
            head INTEGER NOT NULL DEFAULT 0, head_hash BLOB NOT NULL,
            verified INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (meeting, no), UNIQUE (meeting, name)) WITHOUT ROWID;
        CREATE TABLE events (
            meeting TEXT NOT NULL, no INTEGER NOT NULL, seq INTEGER NOT NULL,
            ts INTEGER NOT NULL, kind INTEGER NOT NULL, data BLOB NOT NULL,
            hash BLOB NOT NULL, codec INTEGER, packed BLOB, received_ms INTEGER,
            PRIMARY KEY (meeting, no, seq)) WITHOUT ROWID;
        CREATE TABLE checkpoints (
            meeting TEXT NOT NULL, no INTEGER NOT NULL, seq INTEGER NOT NULL,
            ts_ms INTEGER NOT NULL, sig BLOB NOT NULL,
            PRIMARY KEY (meeting, no)) WITHOUT ROWID;
        CREATE TABLE roster (
            meeting TEXT NOT NULL, key BLOB NOT NULL, name TEXT NOT NULL,
            member_state TEXT NOT NULL, rights TEXT NOT NULL,
            PRIMARY KEY (meeting, key)) WITHOUT ROWID;
        CREATE TABLE outbox (
            sub_id BLOB PRIMARY KEY, meeting TEXT NOT NULL, kind TEXT NOT NULL,
            data BLOB NOT NULL, state TEXT NOT NULL, node TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL);
        CREATE TABLE custody (
            sub_id BLOB PRIMARY KEY, meeting TEXT NOT NULL, data BLOB NOT NULL,
            from_node TEXT NOT NULL, received_ms INTEGER NOT NULL,
            state TEXT NOT NULL, upstream TEXT NOT NULL DEFAULT '');
        CREATE TABLE applied (
            sub_id BLOB PRIMARY KEY, meeting TEXT NOT NULL, outcome TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '', applied_ms INTEGER NOT NULL);
        """
    )


def m002(db: sqlite_utils.Database) -> None:
    """Document blobs (files under blobs/, see storage/blobs.py) and their cached encoded forms."""
    db.executescript(
        """
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,
            stored_ms INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE blob_forms (
            target TEXT NOT NULL, base TEXT NOT NULL, etag TEXT NOT NULL,
            size INTEGER NOT NULL, method TEXT NOT NULL,
            PRIMARY KEY (target, base)) WITHOUT ROWID;
        CREATE TABLE blob_choices (
            target TEXT NOT NULL, bases TEXT NOT NULL, base TEXT NOT NULL,
            PRIMARY KEY (target, bases)) WITHOUT ROWID;
        """
    )


def m003(db: sqlite_utils.Database) -> None:
    """Audio retention (relay/retention.py), mode time reported by clients, and the last use
    of each cached blob form (so the cache can drop the least recently used)."""
    db.executescript(
        """
        CREATE TABLE anchors (
            meeting TEXT NOT NULL, no INTEGER NOT NULL, seq INTEGER NOT NULL,
            hash BLOB NOT NULL, ts INTEGER NOT NULL, cp_ts_ms INTEGER NOT NULL,
            sig BLOB NOT NULL, PRIMARY KEY (meeting, no)) WITHOUT ROWID;
        CREATE TABLE anchor_candidates (
            meeting TEXT NOT NULL, no INTEGER NOT NULL, seq INTEGER NOT NULL,
            hash BLOB NOT NULL, ts INTEGER NOT NULL, cp_ts_ms INTEGER NOT NULL,
            sig BLOB NOT NULL, PRIMARY KEY (meeting, no, seq)) WITHOUT ROWID;
        CREATE TABLE follower_cursors (
            meeting TEXT NOT NULL, stream TEXT NOT NULL, follower TEXT NOT NULL,
            cursor INTEGER NOT NULL, seen_ms INTEGER NOT NULL,
            PRIMARY KEY (meeting, stream, follower)) WITHOUT ROWID;
        CREATE TABLE mode_time (
            meeting TEXT NOT NULL, member TEXT NOT NULL, day TEXT NOT NULL,
            mode TEXT NOT NULL, seconds INTEGER NOT NULL,
            PRIMARY KEY (meeting, member, day, mode)) WITHOUT ROWID;
        ALTER TABLE blob_forms ADD COLUMN used_ms INTEGER NOT NULL DEFAULT 0;
        """
    )


def m004(db: sqlite_utils.Database) -> None:
    """Cached forms are dropped (they are encoded again on demand): forms got a shorter base
    id, Office files a new normal form, and ETags became 16 characters (blobs.form_tag)."""
    db.executescript("DELETE FROM blob_forms; DELETE FROM blob_choices;")


def m005(db: sqlite_utils.Database) -> None:
    """Forget events packed with the retired codec 1; they are packed again when next served."""
    db.execute("UPDATE events SET codec=NULL, packed=NULL WHERE codec=1")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [m001, m002, m003, m004, m005]
