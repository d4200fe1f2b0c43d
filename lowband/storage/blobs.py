"""Document blobs on disk, addressed by their SHA-256, and the encoded forms cached for them.

Owns the files under `<home>/blobs/` and the tables of migration `m002` (storage/migrations.py):

    blobs/ab/abcdef…                    a verified blob, named by its SHA-256 in hex
    blobs/forms/<target>.<base>         the encoding of target against base ("0": none)
    blobs/partial/<target>.<etag>.<n>   a download of an n-byte encoding in progress
    blobs/tmp/                          files being written

A file becomes visible only by a rename after it was written, fsynced and verified, and its
row is committed after the rename, so a node killed at any instant holds whole verified blobs
or none (a file without its row is written again; a row without its file is forgotten).
Must not: do network I/O or encode anything (forms arrive as bytes from relay/blobs.py).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lowband.storage.store import Store

SHA_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_BLOB = 64 * 1024 * 1024  # bytes of one document revision
SHORT = 16  # hex digits of a blob's SHA-256 that name it in a fetch's URL, `have=` and a base id
# A form's strong ETag: the first 96 bits of its SHA-256 in base64url. It only has to tell a
# changed form from the one a partial download holds; the revision's own SHA-256 is checked too.
FORM_TAG = re.compile(r"^[A-Za-z0-9_-]{16}$")
STALE_TMP_S = 24 * 3600
TOUCH_EVERY_MS = 60_000  # how stale a cached form's last use may be noted


class BlobError(ValueError):
    """A blob that cannot be stored or read as asked; the message is one plain sentence."""


def short_id(sha_hex: str) -> str:
    return sha_hex[:SHORT]


def form_tag(form: bytes) -> str:
    """The strong ETag of an encoded form (16 characters, see FORM_TAG)."""
    return base64.urlsafe_b64encode(hashlib.sha256(form).digest()[:12]).decode()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` so that it appears whole or not at all (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


class BlobWriter:
    """A blob arriving in pieces (an upload): hashed as written, visible only after `commit`."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        blobs.tmp.mkdir(parents=True, exist_ok=True)
        self.path = blobs.tmp / f"{os.urandom(8).hex()}.blob"
        self.file: IO[bytes] = open(self.path, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def commit(self, sha_hex: str) -> None:
        """Make the blob visible if it hashes to `sha_hex`; BlobError (and nothing kept) if not."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            if self.hash.hexdigest() != sha_hex:
                raise BlobError("The blob does not match its SHA-256; nothing was stored.")
            self.blobs.adopt(self.path, sha_hex, self.size)
        finally:
            self.discard()

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Partial:
    """A download in progress: the encoded form with this ETag, `total` bytes long, arriving
    in `path` (named for all three, so a restart finds it)."""

    path: Path
    etag: str
    total: int

    @property
    def held(self) -> int:
        """Bytes on disk so far; 0 when the file went (the fetch finished or was dropped)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def complete(self) -> bool:
        return self.held == self.total


class BlobStore:
    """The blobs of one node's home (the directory of its store). A reader that must not write
    (the client's UI thread) passes `sweep=False`."""

    def __init__(self, store: Store, *, sweep: bool = True) -> None:
        self.store = store
        self.root = store.path.parent / "blobs"
        self.tmp = self.root / "tmp"
        self.forms = self.root / "forms"
        self.partials = self.root / "partial"
        if sweep:
            self._sweep()

    def _sweep(self) -> None:
        """Drop temp files a killed process left behind (old ones only: another process
        sharing this home may be writing one right now)."""
        if self.tmp.is_dir():
            cutoff = time.time() - STALE_TMP_S
            for p in self.tmp.iterdir():
                with contextlib.suppress(OSError):
                    if p.stat().st_mtime < cutoff:
                        p.unlink()

    # --- blobs ---------------------------------------------------------------

    def path(self, sha_hex: str) -> Path:
        if not SHA_HEX.match(sha_hex):
            raise BlobError(f"{sha_hex!r} is not a SHA-256 in 64 lowercase hex digits.")
        return self.root / sha_hex[:2] / sha_hex

    def has(self, sha_hex: str) -> bool:
        row = self.store.one("SELECT 1 FROM blobs WHERE sha256=?", (sha_hex,))
        return row is not None and self.path(sha_hex).is_file()

    def size(self, sha_hex: str) -> int | None:
        row = self.store.one("SELECT size FROM blobs WHERE sha256=?", (sha_hex,))
        return int(row[0]) if row else None

    def load(self, sha_hex: str) -> bytes | None:
        """The blob's bytes if its file is there and hashes to its name (no store access, so
        a worker thread may call it)."""
        try:
            data = self.path(sha_hex).read_bytes()
        except FileNotFoundError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha_hex else None

    def forget(self, sha_hex: str) -> None:
        with self.store.tx():
            self.store.db.execute("DELETE FROM blobs WHERE sha256=?", (sha_hex,))

    def read(self, sha_hex: str) -> bytes:
        """The blob's bytes, checked against its name; a damaged file is forgotten."""
        data = self.load(sha_hex)
        if data is None:
            self.forget(sha_hex)
            raise BlobError(f"The stored blob {short_id(sha_hex)} is missing or damaged.")
        return data

    def put(self, data: bytes, sha_hex: str) -> None:
        """Store verified bytes under their SHA-256 (BlobError if they do not match)."""
        if hashlib.sha256(data).hexdigest() != sha_hex:
            raise BlobError("The blob does not match its SHA-256; nothing was stored.")
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{os.urandom(8).hex()}.blob"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self.adopt(tmp, sha_hex, len(data))
        finally:
            tmp.unlink(missing_ok=True)

    def adopt(self, tmp: Path, sha_hex: str, size: int) -> None:
        """Rename a written, fsynced, verified temp file into place, then record it."""
        dest = self.path(sha_hex)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        with self.store.tx():
            self.store.db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)",
                (sha_hex, size, int(time.time() * 1000)),
            )

    def resolve(self, prefix: str) -> str | None:
        """The one held blob whose SHA-256 starts with `prefix` (16 to 64 hex digits)."""
        rows = self.store.q(
            "SELECT sha256 FROM blobs WHERE sha256 >= ? AND sha256 < ? LIMIT 2",
            (prefix, prefix + "g"),
        )
        return str(rows[0][0]) if len(rows) == 1 else None

    # --- encoded forms (a relay's cache) -------------------------------------

    def form_path(self, target: str, base: str) -> Path:
        return self.forms / f"{target}.{base or '0'}"

    def form(self, target: str, base: str) -> tuple[str, int] | None:
        """(etag, size) of the cached encoding of target against base ("" for none); marks it
        used (at most once a minute: the cache drops the least recently used first)."""
        row = self.store.one(
            "SELECT etag, size, used_ms FROM blob_forms WHERE target=? AND base=?", (target, base)
        )
        if row is None or not self.form_path(target, base).is_file():
            return None
        now = int(time.time() * 1000)
        if now - row[2] >= TOUCH_EVERY_MS:
            with self.store.tx(durable=False):
                self.store.db.execute(
                    "UPDATE blob_forms SET used_ms=? WHERE target=? AND base=?",
                    (now, target, base),
                )
        return str(row[0]), int(row[1])

    def write_form(self, target: str, base: str, data: bytes) -> str:
        """Write an encoded form's file (no store access: a worker thread may call it);
        returns its strong ETag (form_tag). `record_form` makes it usable."""
        write_atomic(self.form_path(target, base), data)
        return form_tag(data)

    def record_form(self, target: str, base: str, etag: str, size: int, method: str) -> None:
        with self.store.tx():
            self.store.db.execute(
                "INSERT OR REPLACE INTO blob_forms VALUES (?, ?, ?, ?, ?, ?)",
                (target, base, etag, size, method, int(time.time() * 1000)),
            )

    def evict_forms(self, cap: int, keep: tuple[str, str]) -> int:
        """Drop the least recently used forms until those cached take at most `cap` bytes,
        never `keep` (the one just asked for); returns how many were dropped. Each file goes
        before its row, so a killed process leaves at most a row whose file is gone, which
        `form` ignores and the next eviction drops."""
        row = self.store.one("SELECT COALESCE(SUM(size), 0) FROM blob_forms")
        total = int(row[0]) if row else 0
        dropped: list[tuple[str, str]] = []
        for target, base, size in self.store.q(
            "SELECT target, base, size FROM blob_forms ORDER BY used_ms, target, base"
        ):
            if total <= cap:
                break
            if (target, base) == keep:
                continue
            self.form_path(target, base).unlink(missing_ok=True)
            dropped.append((target, base))
            total -= int(size)
        if dropped:
            with self.store.tx():
                self.store.db.conn.executemany(
                    "DELETE FROM blob_forms WHERE target=? AND base=?", dropped
                )
        return len(dropped)

    def choice(self, target: str, bases: str) -> str | None:
        """The base chosen before for target when these bases were offered."""
        row = self.store.one(
            "SELECT base FROM blob_choices WHERE target=? AND bases=?", (target, bases)
        )
        return None if row is None else str(row[0])

    def set_choice(self, target: str, bases: str, base: str) -> None:
        with self.store.tx():
            self.store.db.execute(
                "INSERT OR REPLACE INTO blob_choices VALUES (?, ?, ?)", (target, bases, base)
            )

    # --- downloads in progress (a receiver's resume points) ------------------

    def partial(self, target: str) -> Partial | None:
        """The download of target in progress, if any."""
        for p in sorted(self.partials.glob(f"{target}.*.*")):
            _, etag, total = p.name.split(".")
            if FORM_TAG.match(etag) and total.isdigit():
                return Partial(p, etag, int(total))
        return None

    def start_partial(self, target: str, etag: str, total: int) -> Partial:
        self.drop_partial(target)
        self.partials.mkdir(parents=True, exist_ok=True)
        path = self.partials / f"{target}.{etag}.{total}"
        path.touch()
        return Partial(path, etag, total)

    def drop_partial(self, target: str) -> None:
        for p in self.partials.glob(f"{target}.*"):
            p.unlink(missing_ok=True)
