"""The normal form (version 2) in which lowband deflates the members of a published Office zip.

Owns: how one member becomes compressed bytes. `mimetype` and directories are stored; a member
below BIG bytes is one raw deflate stream at zlib level 6 (what Python's zipfile writes); from
BIG on a member is cut into pieces at content-defined points (`cut_points`: after a '>' whose
preceding run of bytes hashes low, so an edit moves no cut but its own neighbours), and every
piece is deflated on its own at level 1 with no dictionary and ended by a sync flush; the
stream ends with an empty final block (TRAILER). A piece's bytes therefore depend on its
content alone: a rebuild copies the compressed pieces an edit left alone and deflates only the
others, and the member's CRC-32 is combined from the pieces' CRCs (kept in the zip's central
directory, office_zip.py). Must not: do I/O, or inflate past the sizes it is given.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import accumulate

NORMAL_FORM = 2
DEFLATE_LEVEL = 6
BIG = 1 << 20  # members from this size on are deflated in pieces
PIECE_LEVEL = 1
MIN_PIECE = 1 << 18  # no cut closer than this to the previous one
MAX_PIECE = 1 << 21  # a forced cut when no content-defined one comes (not shift-proof)
GAP = 1 << 16  # mean bytes between eligible cut points
WINDOW = 256  # bytes hashed to decide whether a point is eligible
CUT_SCALE = (1 << 32) // GAP
TRAILER = b"\x03\x00"  # an empty final deflate block: ends a member deflated in pieces
WORKERS = max(1, min(4, os.cpu_count() or 1))


class OfficeError(ValueError):
    """A file that is not an Office zip lowband accepts (malformed, encrypted or too large)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One independently deflated piece of a big member: content size, CRC-32, deflated bytes."""

    size: int
    crc: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Entry:
    """A member as written in the zip. `pieces` is empty unless it is deflated in pieces."""

    name: str
    size: int
    crc: int
    data: bytes
    pieces: tuple[Piece, ...] = ()

    @property
    def stored(self) -> bool:
        return is_stored(self.name)


def is_stored(name: str) -> bool:
    return name == "mimetype" or name.endswith("/")


def cut_points(content: bytes) -> list[int]:
    """Where the pieces of a member of at least BIG bytes end (the last is len(content)).

    A position just after a '>' is eligible when the CRC-32 of the WINDOW bytes before it is
    below the distance from the previous '>' times CUT_SCALE (so eligible points come about
    every GAP bytes, whatever the density of tags; XML repeats its tags, so one tag alone would
    not do); a cut is the first eligible point at least MIN_PIECE past the previous cut."""
    runs = list(map((1).__add__, map(len, content.split(b">")[:-1])))
    crc = zlib.crc32
    eligible = [
        end
        for end, run in zip(accumulate(runs), runs, strict=True)
        if crc(content[max(0, end - WINDOW) : end]) < run * CUT_SCALE
    ]
    cuts, last, i = [], 0, 0
    while True:
        while i < len(eligible) and eligible[i] < last + MIN_PIECE:
            i += 1
        if i < len(eligible) and eligible[i] <= min(last + MAX_PIECE, len(content) - 1):
            last = eligible[i]
        elif len(content) - last > MAX_PIECE:
            last += MAX_PIECE
        else:
            break
        cuts.append(last)
    return [*cuts, len(content)]


def deflate_piece(content: bytes) -> Piece:
    co = zlib.compressobj(PIECE_LEVEL, zlib.DEFLATED, -15)
    return Piece(
        len(content), zlib.crc32(content), co.compress(content) + co.flush(zlib.Z_SYNC_FLUSH)
    )


def whole(name: str, content: bytes) -> Entry:
    """A stored member, or one below BIG deflated as a single stream."""
    if is_stored(name):
        return Entry(name, len(content), zlib.crc32(content), content)
    co = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return Entry(name, len(content), zlib.crc32(content), co.compress(content) + co.flush())


def from_pieces(name: str, pieces: Sequence[Piece]) -> Entry:
    crc, size = 0, 0
    for piece in pieces:
        crc, size = crc32_combine(crc, piece.crc, piece.size), size + piece.size
    data = b"".join([*(p.data for p in pieces), TRAILER])
    return Entry(name, size, crc, data, tuple(pieces))


def is_big(name: str, size: int) -> bool:
    return size >= BIG and not is_stored(name)


def pack_members(members: Sequence[tuple[str, bytes]]) -> list[Entry]:
    """Every member in the normal form, big members' pieces deflated over threads."""
    jobs: list[tuple[int, bytes]] = []
    for n, (name, content) in enumerate(members):
        if is_big(name, len(content)):
            cuts = cut_points(content)
            jobs += [(n, content[a:b]) for a, b in zip([0, *cuts], cuts, strict=False)]
    pieces = deflate_pieces([c for _, c in jobs])
    by_member: dict[int, list[Piece]] = {}
    for (n, _), piece in zip(jobs, pieces, strict=True):
        by_member.setdefault(n, []).append(piece)
    return [
        from_pieces(name, by_member[n]) if n in by_member else whole(name, content)
        for n, (name, content) in enumerate(members)
    ]


def deflate_pieces(contents: Sequence[bytes]) -> list[Piece]:
    if sum(map(len, contents)) < BIG:
        return [deflate_piece(c) for c in contents]
    with ThreadPoolExecutor(WORKERS) as pool:  # zlib releases the GIL
        return list(pool.map(deflate_piece, contents))


def inflate(data: bytes, size: int, *, final: bool) -> bytes:
    """The content of a deflated member (final) or piece (ended by a sync flush), which must be
    exactly `size` bytes; never inflates more than size + 1."""
    try:
        d = zlib.decompressobj(-15)
        out = d.decompress(data, size + 1)
    except zlib.error as exc:
        raise OfficeError(f"A member's deflated data is corrupt: {exc}.") from None
    if len(out) != size or d.unconsumed_tail or (final and not d.eof) or d.unused_data:
        raise OfficeError("A member's deflated data is not the size its entry says.")
    return out


def content_of(entry: Entry) -> bytes:
    if entry.stored:
        return entry.data
    if entry.pieces:
        return b"".join(inflate(p.data, p.size, final=False) for p in entry.pieces)
    return inflate(entry.data, entry.size, final=True)


# CRC-32 combination, as zlib's crc32_combine: multiplication modulo the CRC polynomial.
POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


X2N = _x2n_table()  # x^(2^k) modulo the polynomial


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc1 = CRC(A), crc2 = CRC(B) and len2 = len(B)."""
    p, k, n = 1 << 31, 3, len2  # x^0; a byte is x^8, so start at x^(2^3)
    while n:
        if n & 1:
            p = _multmodp(X2N[k & 31], p)
        n, k = n >> 1, k + 1
    return _multmodp(p, crc1) ^ crc2
