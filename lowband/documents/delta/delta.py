"""Document deltas: encode a new revision against the best base the receiver holds, and decode.

Owns: the delta byte format and the choice between its methods. A delta is a tiny header,

    byte 0: 0x10 | method        (high nibble: format version 1; low nibble: Method)
    for PATCH and COPY only: 1 byte n, then the base id: n < 0x80: n bytes of UTF-8;
        n >= 0x80: n - 0x80 bytes that are the id in binary (ids of lowercase hex digits)

then the payload: the raw bytes (STORED), a zstd frame (ZSTD), a zstd frame made with the base
as a raw-content dictionary (PATCH, zstd's patch-from), or a zstd frame of a copy/insert op
stream (COPY, see copyinsert.py). Frames are magicless, without checksum or dictionary id: the
header says what follows and the caller checks the SHA-256 of the result. Must not: do I/O
(no asyncio, httpx, sqlite, textual), or decode past the size bound it is given; every
malformed delta raises DeltaError and nothing else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import zstandard

from lowband.documents.delta.copyinsert import (
    Op,
    OpStreamError,
    anchors,
    apply_ops,
    find_ops,
    literal_bytes,
    pack_ops,
)
from lowband.documents.delta.resemblance import rank_bases

VERSION = 0x10
MAGICLESS = zstandard.FORMAT_ZSTD1_MAGICLESS
TRIAL_LEVEL = 3  # level of the quick whole-file encode that says whether level 19 may pay
MAX_TRIALS = 3  # candidate bases given a trial match, after ranking by resemblance
OP_COST = 4  # rough bytes of one copy/insert op, to weigh ops against literal bytes
# A patch-from frame costs at least about this many bytes per 128 KiB block of output, even
# when every block is one long match (measured: 27.9 KB for a 34 MB member view with a typo
# fixed); when copy/insert is already below that floor the slow level-19 patch is skipped.
BLOCK_FLOOR = 16
LDM_FROM = 1 << 20  # long-distance matching from this base+new size on
MAX_WINDOW_LOG = 31
BINARY_ID = 0x80  # flag on the base id's length byte: the id is hex, sent as binary
HEX_ID = re.compile(r"(?:[0-9a-f]{2}){1,127}")


class DeltaError(ValueError):
    """A delta that cannot be decoded: malformed, too large, or against a base not held."""


class Method(IntEnum):
    STORED = 0
    ZSTD = 1
    PATCH = 2
    COPY = 3


@dataclass(frozen=True, slots=True)
class Delta:
    """An encoded revision: `data` (header plus payload) is exactly what goes on the wire."""

    method: Method
    base_id: str | None
    data: bytes
    tried: tuple[tuple[str, int], ...] = ()  # (method, size) of every candidate, for reports


def write_id(base_id: str) -> bytes:
    """A base id as headers carry it: 1 byte n, then n bytes (binary for ids of hex digits)."""
    if HEX_ID.fullmatch(base_id):  # a short SHA-256 in binary: half the bytes
        raw = bytes.fromhex(base_id)
        return bytes([BINARY_ID | len(raw)]) + raw
    raw = base_id.encode()
    if len(raw) >= BINARY_ID:
        raise DeltaError("A base id must be at most 127 bytes of UTF-8.")
    return bytes([len(raw)]) + raw


def read_id(data: bytes, pos: int) -> tuple[str, int]:
    """The base id written by write_id at data[pos:], and the position after it."""
    n = data[pos] & ~BINARY_ID if len(data) > pos else 0
    if len(data) < pos + 1 + n:
        raise DeltaError("The delta's header is cut short.")
    raw = data[pos + 1 : pos + 1 + n]
    if data[pos] & BINARY_ID:
        return raw.hex(), pos + 1 + n
    try:
        return raw.decode(), pos + 1 + n
    except UnicodeDecodeError:
        raise DeltaError("The delta's base id is not valid UTF-8.") from None


def _header(method: Method, base_id: str | None) -> bytes:
    if base_id is None:
        return bytes([VERSION | method])
    return bytes([VERSION | method]) + write_id(base_id)


def read_header(data: bytes) -> tuple[Method, str | None, int]:
    """The method, base id (None for STORED and ZSTD) and payload offset of a delta."""
    if not data or data[0] & 0xF0 != VERSION or data[0] & 0x0F >= len(Method):
        raise DeltaError("The delta does not start with a known format and method.")
    method = Method(data[0] & 0x0F)
    if method in (Method.STORED, Method.ZSTD):
        return method, None, 1
    return (method, *read_id(data, 1))


def _zstd(data: bytes, level: int, base: bytes = b"") -> bytes:
    total = len(base) + len(data)
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        source_size=len(data),
        dict_size=len(base),
        window_log=min(MAX_WINDOW_LOG, max(10, (total - 1).bit_length())),
        enable_ldm=total >= LDM_FROM,
        format=MAGICLESS,
        write_checksum=0,
        write_dict_id=0,
        write_content_size=1,
    )
    rawdict = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(
        dict_data=rawdict if base else None, compression_params=params
    ).compress(data)


def _unzstd(payload: bytes, max_size: int, base: bytes = b"") -> bytes:
    try:
        size = zstandard.get_frame_parameters(payload, format=MAGICLESS).content_size
        if size != zstandard.CONTENTSIZE_UNKNOWN and size > max_size:
            raise DeltaError("The delta would decode to more bytes than allowed.")
        window_log = min(MAX_WINDOW_LOG, max(10, (len(base) + max_size).bit_length()))
        rawdict = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        out = zstandard.ZstdDecompressor(
            dict_data=rawdict if base else None, max_window_size=1 << window_log, format=MAGICLESS
        ).decompress(payload, max_output_size=max(1, max_size), allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise DeltaError("The delta's compressed data is corrupt or too large.") from exc
    if len(out) > max_size:
        raise DeltaError("The delta would decode to more bytes than allowed.")
    return out


def choose_base(new: bytes, bases: Mapping[str, bytes]) -> tuple[str, list[Op]]:
    """The base leaving the fewest bytes unmatched by copy/insert ops (and those ops), among the
    few that resemble new most; on a tie, the later one in the mapping (callers list older
    revisions first). The matcher is a fair and cheap trial at any size, where a fast zstd
    level would index only the tail of a large dictionary."""
    ids = list(bases) if len(bases) <= MAX_TRIALS else rank_bases(new, bases)[:MAX_TRIALS]
    starts = anchors(new)
    trials = {bid: find_ops(new, bases[bid], starts) for bid in ids}
    order = {bid: i for i, bid in enumerate(bases)}

    def cost(bid: str) -> tuple[int, int]:
        return literal_bytes(trials[bid]) + OP_COST * len(trials[bid]), -order[bid]

    best = min(ids, key=cost)
    return best, trials[best]


def encode_delta(new: bytes, bases: Mapping[str, bytes], level: int = 19) -> Delta:
    """The smallest encoding of new: stored, whole zstd, patch-from or copy/insert."""
    found = [Delta(Method.STORED, None, _header(Method.STORED, None) + new)]
    if bases:
        bid, ops = choose_base(new, bases)
        base = bases[bid]
        if literal_bytes(ops) <= max(4096, len(new) // 8):
            stream = _zstd(pack_ops(new, ops), level)
            found.append(Delta(Method.COPY, bid, _header(Method.COPY, bid) + stream))
        if len(found[-1].data) >= BLOCK_FLOOR * (len(new) >> 17):
            patch = _zstd(new, level, base)
            found.append(Delta(Method.PATCH, bid, _header(Method.PATCH, bid) + patch))
    best_so_far = min(len(d.data) for d in found)
    if not bases or best_so_far > len(_zstd(new, TRIAL_LEVEL)) // 2:
        found.append(Delta(Method.ZSTD, None, _header(Method.ZSTD, None) + _zstd(new, level)))
    best = min(found, key=lambda d: len(d.data))
    tried = tuple((d.method.name.lower(), len(d.data)) for d in found)
    return Delta(best.method, best.base_id, best.data, tried)


def decode_delta(
    data: bytes,
    bases: Mapping[str, bytes],
    *,
    max_size: int,
    expected_sha256: bytes | None = None,
) -> bytes:
    """Rebuild the revision; raises DeltaError unless it fits max_size and matches the hash."""
    method, bid, start = read_header(data)
    base = b""
    if bid is not None:
        if bid not in bases:
            raise DeltaError(f"The delta needs base {bid!r}, which is not held.")
        base = bases[bid]
    payload = data[start:]
    if method is Method.STORED:
        if len(payload) > max_size:
            raise DeltaError("The delta would decode to more bytes than allowed.")
        out = payload
    elif method is Method.COPY:
        stream = _unzstd(payload, 2 * max_size + 1024)
        try:
            out = apply_ops(stream, base, max_size)
        except OpStreamError as exc:
            raise DeltaError(f"The delta's copy/insert ops are invalid: {exc}.") from exc
    else:
        out = _unzstd(payload, max_size, base)
    if expected_sha256 is not None and hashlib.sha256(out).digest() != expected_sha256:
        raise DeltaError("The decoded revision does not match its SHA-256.")
    return out
