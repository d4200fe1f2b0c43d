"""Office documents (.docx, .xlsx, .pptx, .odt, ...) as normalised zip files.

Owns: reading an Office zip into its decompressed members with hard bounds (member count, total
uncompressed size, no encryption, no duplicate names), and writing members back as the one
normalised zip that lowband publishes: members in a fixed order (`mimetype` first and stored,
as ODF requires, then `[Content_Types].xml`, then by name), fixed timestamps and attributes,
and every other member raw-deflated: below BIG bytes at zlib level 6 (what Python's zipfile
writes); from BIG on at level 1 in PIECE-sized pieces, each primed with the 32 KiB before it
and ended by a sync flush (as pigz does), so the pieces deflate in parallel threads (zlib
releases the GIL) into one ordinary deflate stream. A receiver rebuilds a revision at several
times the speed a single level-6 stream allows; only the members it changed are deflated.
The normalised file is therefore a pure function of its members, so a receiver that holds the
members rebuilds it byte for byte (given the same zlib, which the SHA-256 check confirms).
Must not: do network, database or UI work, or hold more than its bounds in memory.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

MAX_MEMBERS = 5_000
MAX_TOTAL = 256 * 1024 * 1024  # uncompressed bytes of all members together
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01; the DOS time is 00:00:00
DEFLATE_LEVEL = 6
BIG = 1 << 20  # members from this size on are deflated fast, in parallel pieces
BIG_LEVEL = 1
PIECE = 1 << 20
PRIMER = 32 * 1024  # the deflate window: what each piece may refer back to
WORKERS = max(1, min(4, os.cpu_count() or 1))
FILE_ATTR = 0o100644 << 16
DIR_ATTR = (0o40755 << 16) | 0x10
OFFICE_EXTENSIONS = (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".docm", ".xlsm")

Member = tuple[str, bytes]


class OfficeError(ValueError):
    """A file that is not an Office zip lowband accepts (malformed, encrypted or too large)."""


def looks_like_office(name: str, data: bytes) -> bool:
    """True for a zip file with an Office extension (the caller still handles OfficeError)."""
    return name.lower().endswith(OFFICE_EXTENSIONS) and data[:4] == b"PK\x03\x04"


def read_members(
    data: bytes, *, max_total: int = MAX_TOTAL, max_members: int = MAX_MEMBERS
) -> list[tuple[zipfile.ZipInfo, bytes]]:
    """Each member's zip entry and content; refuses zip bombs before inflating anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise OfficeError(
                    f"The zip has {len(infos)} members; at most {max_members} are allowed."
                )
            if sum(info.file_size for info in infos) > max_total:
                raise OfficeError(
                    f"The zip would expand past {max_total} bytes; it is refused as a zip bomb."
                )
            if len({info.filename for info in infos}) != len(infos):
                raise OfficeError("The zip holds two members with the same name.")
            if any(info.flag_bits & 0x1 for info in infos):
                raise OfficeError("The zip has encrypted members, which cannot be normalised.")
            members = []
            for info in infos:
                content = _inflate(data, info) if info.compress_type in FAST_TYPES else None
                if content is None:
                    with zf.open(info) as f:
                        content = f.read(info.file_size + 1)
                if len(content) != info.file_size:
                    raise OfficeError("A zip member is not the size its header says.")
                members.append((info, content))
            return members
    except OfficeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise OfficeError(f"The file is not a readable zip: {exc}.") from exc
    except (OSError, ValueError, RuntimeError, zlib.error, struct.error) as exc:
        raise OfficeError(f"The zip cannot be read: {exc}.") from exc


FAST_TYPES = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _data_start(data: bytes, info: zipfile.ZipInfo) -> int:
    if data[info.header_offset : info.header_offset + 4] != b"PK\x03\x04":
        raise OfficeError("A zip member's local header is missing.")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A stored or deflated member's content, at most file_size + 1 bytes, straight from the
    archive (zipfile's reader also checks the CRC-32; the SHA-256 of every revision lowband
    publishes or rebuilds covers its content, and normalising rewrites the CRC)."""
    start = _data_start(data, info)
    raw = data[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return raw
    return zlib.decompressobj(-15).decompress(raw, info.file_size + 1)


def unpack(
    data: bytes, *, max_total: int = MAX_TOTAL, max_members: int = MAX_MEMBERS
) -> list[Member]:
    """The decompressed members (name, content) in archive order, within the bounds."""
    read = read_members(data, max_total=max_total, max_members=max_members)
    return [(info.filename, content) for info, content in read]


def order_key(name: str) -> tuple[int, str]:
    return (0 if name == "mimetype" else 1 if name == "[Content_Types].xml" else 2, name)


def normal_order(members: Iterable[Member]) -> list[Member]:
    return sorted(members, key=lambda m: order_key(m[0]))


def _deflate_piece(content: bytes, start: int, end: int) -> bytes:
    """Deflate content[start:end] as one piece of its member's stream (the whole member when
    it is below BIG)."""
    if len(content) < BIG:
        co = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
        return co.compress(content) + co.flush()
    primer = content[max(0, start - PRIMER) : start]
    co = zlib.compressobj(BIG_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, primer)
    flush = zlib.Z_FINISH if end == len(content) else zlib.Z_SYNC_FLUSH
    return co.compress(content[start:end]) + co.flush(flush)


def _pieces(content: bytes) -> list[tuple[int, int]]:
    if len(content) < BIG:
        return [(0, len(content))]
    return [(i, min(i + PIECE, len(content))) for i in range(0, len(content), PIECE)]


def deflate_all(contents: list[bytes]) -> list[bytes]:
    """Each content deflated as the normal form has it, the pieces spread over threads."""
    jobs = [(n, c, a, b) for n, c in enumerate(contents) for a, b in _pieces(c)]
    if sum(b - a for _, _, a, b in jobs) < BIG:
        done = [_deflate_piece(c, a, b) for _, c, a, b in jobs]
    else:
        with ThreadPoolExecutor(WORKERS) as pool:
            done = list(pool.map(lambda job: _deflate_piece(*job[1:]), jobs))
    out: list[list[bytes]] = [[] for _ in contents]
    for (n, *_), piece in zip(jobs, done, strict=True):
        out[n].append(piece)
    return [b"".join(parts) for parts in out]


Packed = tuple[bytes, int, bytes]  # (content, CRC-32, deflated bytes) of a member


def reusable(norm: bytes, read: list[tuple[zipfile.ZipInfo, bytes]]) -> dict[str, Packed]:
    """Name -> (content, CRC-32, compressed bytes) of the deflated members of a normalised zip
    (as read by read_members), so that rebuilding a revision neither deflates nor checksums the
    members it left unchanged: the same content deflates to the same bytes."""
    out: dict[str, Packed] = {}
    for info, content in read:
        if info.compress_type == zipfile.ZIP_DEFLATED:
            start = _data_start(norm, info)
            out[info.filename] = (content, info.CRC, norm[start : start + info.compress_size])
    return out


def repack(members: Iterable[Member], reuse: Mapping[str, Packed] | None = None) -> bytes:
    """The normalised zip of these members; repack(unpack(x)) == x for a normalised x.

    The writer is lowband's own (a plain zip: no zip64, no data descriptors, no extra fields)
    so that the bytes depend only on the members and zlib, never on the Python version."""
    ordered = normal_order(members)
    if len({name for name, _ in ordered}) != len(ordered):
        raise OfficeError("Two members have the same name.")
    packed: dict[str, tuple[int, bytes]] = {}
    todo: list[Member] = []
    for name, content in ordered:
        held = (reuse or {}).get(name)
        if name == "mimetype" or name.endswith("/"):
            packed[name] = (zlib.crc32(content), content)  # stored
        elif held is not None and held[0] == content:
            packed[name] = held[1:]
        else:
            todo.append((name, content))
    for (name, content), data in zip(todo, deflate_all([c for _, c in todo]), strict=True):
        packed[name] = (zlib.crc32(content), data)
    body, central = bytearray(), bytearray()
    for name, content in ordered:
        raw_name = name.encode()
        flags = 0 if raw_name.isascii() else 0x800
        stored = name == "mimetype" or name.endswith("/")
        crc, data = packed[name]
        fields = struct.pack(
            "<HHHHHIIIHH", 20, flags, 0 if stored else 8, 0, DOS_DATE,
            crc, len(data), len(content), len(raw_name), 0,
        )  # fmt: skip
        attr = DIR_ATTR if name.endswith("/") else FILE_ATTR
        central += b"PK\x01\x02" + struct.pack("<H", 0x314) + fields
        central += struct.pack("<HHHII", 0, 0, 0, attr, len(body)) + raw_name
        body += b"PK\x03\x04" + fields + raw_name + data
    if len(body) + len(central) >= 1 << 32 or len(ordered) >= 0xFFFF:
        raise OfficeError("The document is too large for a plain zip.")
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(ordered), len(ordered),
                      len(central), len(body), 0)  # fmt: skip
    return bytes(body + central + end)


def normalise(data: bytes, *, max_total: int = MAX_TOTAL, max_members: int = MAX_MEMBERS) -> bytes:
    """The published form of an Office file: same members, fixed order, timestamps, deflate."""
    return repack(unpack(data, max_total=max_total, max_members=max_members))
