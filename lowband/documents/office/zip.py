"""The zip layout of a published Office file: lowband's own plain zip writer and its reader.

Owns: writing normal-form entries (office_form.py) as a zip whose bytes depend only on them
(members in the order given, fixed timestamps and attributes, no zip64, no data descriptors,
no comment), with each big member's piece table in its central directory entry as an extra
field (PIECE_FIELD: the normal form version, then per piece its size, deflated size and
CRC-32; zip readers skip fields they do not know); and reading such a zip back into entries
without inflating anything, strictly, within bounds. Must not: do I/O, or accept a layout its
writer would not produce (the reader is also the receiver's view of a held revision).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from lowband.documents.office.form import NORMAL_FORM, TRAILER, Entry, OfficeError, Piece, is_stored

DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01; the DOS time is 00:00:00
FILE_ATTR = 0o100644 << 16
DIR_ATTR = (0o40755 << 16) | 0x10
PIECE_FIELD = 0x4C42  # "BL": lowband's piece table
LOCAL = struct.Struct("<4sHHHHHIIIHH")
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
END = struct.Struct("<4sHHHHIIH")
PIECE = struct.Struct("<III")


def piece_field(pieces: Sequence[Piece]) -> bytes:
    if not pieces:
        return b""
    table = bytes([NORMAL_FORM]) + b"".join(PIECE.pack(p.size, len(p.data), p.crc) for p in pieces)
    return struct.pack("<HH", PIECE_FIELD, len(table)) + table


def pack_entries(entries: Sequence[Entry]) -> bytes:
    """The zip of these entries, in this order."""
    body, central = bytearray(), bytearray()
    for e in entries:
        raw_name = e.name.encode()
        flags = 0 if raw_name.isascii() else 0x800
        method = 0 if e.stored else 8
        extra = piece_field(e.pieces)
        if len(extra) > 0xFFFF:
            raise OfficeError("A member has too many pieces for a zip extra field.")
        common = (20, flags, method, 0, DOS_DATE, e.crc, len(e.data), e.size, len(raw_name))
        attr = DIR_ATTR if e.name.endswith("/") else FILE_ATTR
        central += CENTRAL.pack(b"PK\x01\x02", 0x314, *common, len(extra), 0, 0, 0, attr, len(body))
        central += raw_name + extra
        body += LOCAL.pack(b"PK\x03\x04", *common, 0) + raw_name + e.data
    if len(body) + len(central) >= 1 << 32 or len(entries) >= 0xFFFF:
        raise OfficeError("The document is too large for a plain zip.")
    n = len(entries)
    return bytes(body + central + END.pack(b"PK\x05\x06", 0, 0, n, n, len(central), len(body), 0))


def _pieces(extra: bytes, data: bytes, size: int) -> tuple[Piece, ...]:
    if not extra:
        return ()
    field_id, n = struct.unpack_from("<HH", extra)
    if field_id != PIECE_FIELD or n + 4 != len(extra) or (n - 1) % PIECE.size or n < 1:
        raise OfficeError("A member's extra field is not a lowband piece table.")
    if extra[4] != NORMAL_FORM:
        raise OfficeError(f"A member's piece table is of normal form {extra[4]}, not ours.")
    pieces, pos = [], 0
    for raw, comp, crc in PIECE.iter_unpack(extra[5:]):
        pieces.append(Piece(raw, crc, data[pos : pos + comp]))
        pos += comp
    if pos + len(TRAILER) != len(data) or data[pos:] != TRAILER:
        raise OfficeError("A member's pieces do not add up to its deflated data.")
    if sum(p.size for p in pieces) != size:
        raise OfficeError("A member's pieces do not add up to its size.")
    return tuple(pieces)


def read_entries(data: bytes, *, max_total: int, max_members: int) -> list[Entry]:
    """The entries of a zip written by pack_entries (of either normal form), nothing inflated;
    raises OfficeError for any other layout or past the bounds."""
    try:
        sig, _, _, n, n2, cd_size, cd_start, comment = END.unpack_from(data, len(data) - END.size)
        if sig != b"PK\x05\x06" or n != n2 or comment or cd_start + cd_size + END.size != len(data):
            raise OfficeError("The file is not a zip in lowband's normal form.")
        if n > max_members:
            raise OfficeError(f"The zip has {n} members; at most {max_members} are allowed.")
        entries, pos, total = [], cd_start, 0
        for _ in range(n):
            f = CENTRAL.unpack_from(data, pos)
            name_len, extra_len, comment_len, offset = f[10], f[11], f[12], f[16]
            if f[0] != b"PK\x01\x02" or comment_len or f[3] & 0x1 or f[4] not in (0, 8):
                raise OfficeError("A zip member is not in lowband's normal form.")
            raw_name = data[pos + CENTRAL.size : pos + CENTRAL.size + name_len]
            extra = data[pos + CENTRAL.size + name_len : pos + CENTRAL.size + name_len + extra_len]
            pos += CENTRAL.size + name_len + extra_len
            name = raw_name.decode()
            local = LOCAL.unpack_from(data, offset)
            start = offset + LOCAL.size + local[9] + local[10]
            crc, comp, size = f[7], f[8], f[9]
            if local[0] != b"PK\x03\x04" or data[offset + LOCAL.size : start] != raw_name:
                raise OfficeError("A zip member's local header does not match its entry.")
            if (f[4] == 0) != is_stored(name) or start + comp > cd_start:
                raise OfficeError("A zip member is not in lowband's normal form.")
            total += size
            if total > max_total:
                raise OfficeError(f"The zip would expand past {max_total} bytes; it is refused.")
            body = data[start : start + comp]
            if f[4] == 0 and (comp != size or extra):
                raise OfficeError("A stored zip member is not the size its entry says.")
            entries.append(Entry(name, size, crc, body, _pieces(extra, body, size)))
        if pos != cd_start + cd_size or len({e.name for e in entries}) != n:
            raise OfficeError("The zip's central directory is malformed.")
        return entries
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise OfficeError(f"The zip cannot be read: {exc}.") from None
