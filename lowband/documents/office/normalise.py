"""Office documents (.docx, .xlsx, .pptx, .odt, ...) as normalised zip files.

Owns: reading an Office zip into its decompressed members with hard bounds (member count, total
uncompressed size, no encryption, no duplicate names), and writing members back as the one
normalised zip that lowband publishes: members in a fixed order (`mimetype` first and stored,
as ODF requires, then `[Content_Types].xml`, then by name), each deflated as the normal form
says (office_form.py) and laid out by lowband's own zip writer (office_zip.py). The normalised
file is therefore a pure function of its members, so a receiver that holds the members
rebuilds it byte for byte (given the same zlib, which the SHA-256 check confirms).
Must not: do network, database or UI work, or hold more than its bounds in memory.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable

from lowband.documents.office.form import OfficeError, pack_members
from lowband.documents.office.zip import pack_entries

MAX_MEMBERS = 5_000
MAX_TOTAL = 256 * 1024 * 1024  # uncompressed bytes of all members together
OFFICE_EXTENSIONS = (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".docm", ".xlsm")

Member = tuple[str, bytes]


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
    return int(info.header_offset + 30 + name_len + extra_len)


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


def repack(members: Iterable[Member]) -> bytes:
    """The normalised zip of these members; repack(unpack(x)) == x for a normalised x."""
    ordered = normal_order(members)
    if len({name for name, _ in ordered}) != len(ordered):
        raise OfficeError("Two members have the same name.")
    return pack_entries(pack_members(ordered))


def normalise(data: bytes, *, max_total: int = MAX_TOTAL, max_members: int = MAX_MEMBERS) -> bytes:
    """The published form of an Office file: same members, fixed order, timestamps, deflate."""
    return repack(unpack(data, max_total=max_total, max_members=max_members))
