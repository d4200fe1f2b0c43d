"""Deltas of normalised Office documents, computed on their decompressed members.

Owns: the member view of a normalised zip and the office delta format. The view is

    4 bytes little-endian n, n bytes of MessagePack [[name, size], ...], then every member's
    content concatenated in the normalised order,

so unchanged members line up with the base's and cost a copy. An office delta is one tag byte
(0x21) followed by a lowband.sync.delta delta of the new view against the view of a held base
(or of nothing, for a first fetch: the view compresses better than the zip). The receiver
decodes the view, repacks it into the byte-identical normalised zip (reusing the base's
deflated bytes for unchanged members) and checks its SHA-256. Must not: do I/O, or accept a
file that is not normalised (the receiver could not rebuild it).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

import msgspec

from lowband.docs.office import (
    MAX_MEMBERS,
    MAX_TOTAL,
    Member,
    OfficeError,
    read_members,
    repack,
    reusable,
)
from lowband.sync.delta import Delta, DeltaError, decode_delta, encode_delta, read_header

TAG = 0x21
MAX_TABLE = 64 * MAX_MEMBERS  # bytes of the member table at most (names and sizes)


def view(members: list[Member]) -> bytes:
    table = msgspec.msgpack.encode([[name, len(content)] for name, content in members])
    if len(table) > MAX_TABLE:
        raise OfficeError("The document's member names are too long to send as a delta.")
    return b"".join([struct.pack("<I", len(table)), table, *(content for _, content in members)])


def parse_view(data: bytes) -> list[Member]:
    if len(data) < 4 or struct.unpack_from("<I", data)[0] > min(len(data) - 4, MAX_TABLE):
        raise DeltaError("The office delta's member table is cut short.")
    end = 4 + struct.unpack_from("<I", data)[0]
    try:
        table = msgspec.msgpack.decode(data[4:end], type=list[tuple[str, int]])
    except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
        raise DeltaError(f"The office delta's member table is malformed: {exc}.") from exc
    if len(table) > MAX_MEMBERS or any(size < 0 for _, size in table):
        raise DeltaError("The office delta's member table is out of bounds.")
    if sum(size for _, size in table) != len(data) - end:
        raise DeltaError("The office delta's members do not add up to its content.")
    members, pos = [], end
    for name, size in table:
        members.append((name, data[pos : pos + size]))
        pos += size
    return members


def office_delta(new_norm: bytes, bases: Mapping[str, bytes], level: int = 19) -> Delta:
    """Encode a normalised Office file against the held normalised revision that suits best.

    Held bases that are not zip files are skipped. Raises OfficeError if new_norm is not
    normalised, since the receiver would then rebuild different bytes."""
    read = {bid: read_members(data) for bid, data in bases.items() if data[:2] == b"PK"}
    new_members = [(info.filename, content) for info, content in read_members(new_norm)]
    views = {bid: view([(i.filename, c) for i, c in r]) for bid, r in read.items()}
    inner = encode_delta(view(new_members), views, level)
    reuse = reusable(bases[inner.base_id], read[inner.base_id]) if inner.base_id else None
    if repack(new_members, reuse) != new_norm:
        raise OfficeError("The file is not a normalised Office document; normalise it first.")
    return Delta(inner.method, inner.base_id, bytes([TAG]) + inner.data, inner.tried)


def apply_office_delta(
    data: bytes,
    bases: Mapping[str, bytes],
    *,
    max_size: int,
    expected_sha256: bytes | None = None,
    max_total: int = MAX_TOTAL,
) -> bytes:
    """Rebuild the normalised file; raises DeltaError for a bad delta, base or result."""
    if not data or data[0] != TAG:
        raise DeltaError("The data is not an office delta.")
    _, bid, _ = read_header(data[1:])
    base = bases.get(bid) if bid is not None else None
    base_views: dict[str, bytes] = {}
    try:
        read = read_members(base, max_total=max_total) if base is not None else []
        if bid is not None and base is not None:
            base_views[bid] = view([(i.filename, c) for i, c in read])
    except OfficeError as exc:
        raise DeltaError(f"The held base {bid!r} is not a usable Office file: {exc}") from exc
    new_view = decode_delta(data[1:], base_views, max_size=max_total + MAX_TABLE + 4)
    try:
        out = repack(parse_view(new_view), reusable(base, read) if base is not None else None)
    except OfficeError as exc:
        raise DeltaError(f"The office delta's members cannot be repacked: {exc}") from exc
    if len(out) > max_size:
        raise DeltaError("The rebuilt document is larger than allowed.")
    if expected_sha256 is not None and hashlib.sha256(out).digest() != expected_sha256:
        raise DeltaError("The rebuilt document does not match its SHA-256.")
    return out
