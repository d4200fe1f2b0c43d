"""Event payload compression: encode once against the stream's own history.

Owns how an event (or a catch-up batch of events) is turned into the bytes of
an `EventFrame` or `Batch` and back. Every follower at the same cursor gets the
same bytes, so a relay compresses each event once, not once per connection
(a per-connection zstd context costs megabytes; DESIGN section 4).

Small frames compress well only against context, so the dictionary for event
`n` is the tail of the stream itself: the last `HISTORY_BYTES` of the
concatenated canonical encodings of events `1 .. n-1`, which the receiver holds
because its cursor is `n-1`. Frames are zstd's magicless format with no
content size, checksum or dictionary id: the chain hash already guards content.
Audio is already compressed and travels raw.
"""

from __future__ import annotations

import zstandard as zstd

from .wire import MAX_BATCH_EVENTS, MAX_BATCH_RAW, MAX_EVENT, Codec, ProtocolError, varint

HISTORY_BYTES = 16 * 1024
EVENT_LEVEL = 19  # events are small and encoded once, so the best level is affordable
BATCH_LEVEL = 9
_FORMAT = zstd.FORMAT_ZSTD1_MAGICLESS
_UNKNOWN_SIZE = 2**64 - 1


def _params(level: int) -> zstd.ZstdCompressionParameters:
    return zstd.ZstdCompressionParameters.from_level(
        level, format=_FORMAT, write_content_size=0, write_checksum=0, write_dict_id=0
    )


def _dict(history: bytes) -> zstd.ZstdCompressionDict | None:
    if not history:
        return None
    return zstd.ZstdCompressionDict(history[-HISTORY_BYTES:], dict_type=zstd.DICT_TYPE_RAWCONTENT)


def _compress(raw: bytes, history: bytes, level: int) -> tuple[int, bytes]:
    c = zstd.ZstdCompressor(dict_data=_dict(history), compression_params=_params(level))
    packed = c.compress(raw)
    if len(packed) >= len(raw):
        return Codec.RAW, raw
    return Codec.ZSTD_HISTORY, packed


def _decompress(codec: int, data: bytes, history: bytes, limit: int) -> bytes:
    if codec == Codec.RAW:
        if len(data) > limit:
            raise ProtocolError(f"A payload of {len(data)} bytes exceeds the limit of {limit}.")
        return data
    if codec != Codec.ZSTD_HISTORY:
        raise ProtocolError(f"Payload codec {codec} is unknown.")
    d = zstd.ZstdDecompressor(dict_data=_dict(history), format=_FORMAT)
    try:
        # lowband never writes a content size; a frame that declares one could make zstd
        # allocate it up front. Without one, zstd stops at max_output_size: no bombs.
        if zstd.get_frame_parameters(data, format=_FORMAT).content_size != _UNKNOWN_SIZE:
            raise ProtocolError("A compressed payload declares its size, which lowband never does.")
        return d.decompress(data, max_output_size=limit)
    except zstd.ZstdError:
        raise ProtocolError(
            f"A compressed payload is corrupt, larger than {limit} bytes once expanded, "
            "or does not match the stream's history."
        ) from None


def pack_event(canonical: bytes, history: bytes, compressible: bool = True) -> tuple[int, bytes]:
    """(codec, data) for one event; `history` ends with the event before it."""
    if not compressible:
        return Codec.RAW, canonical
    return _compress(canonical, history, EVENT_LEVEL)


def unpack_event(codec: int, data: bytes, history: bytes) -> bytes:
    return _decompress(codec, data, history, MAX_EVENT)


def pack_batch(canonicals: list[bytes], history: bytes) -> tuple[int, bytes]:
    raw = b"".join(varint(len(c)) + c for c in canonicals)
    return _compress(raw, history, BATCH_LEVEL)


def unpack_batch(codec: int, data: bytes, history: bytes, count: int) -> list[bytes]:
    if count > MAX_BATCH_EVENTS:
        raise ProtocolError(f"A batch of {count} events exceeds the limit of {MAX_BATCH_EVENTS}.")
    raw = _decompress(codec, data, history, MAX_BATCH_RAW)
    out: list[bytes] = []
    pos = 0
    while pos < len(raw):
        length, shift = 0, 0
        while True:
            if pos >= len(raw) or shift > 21:
                raise ProtocolError("A batch has a malformed event length.")
            byte = raw[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if length > MAX_EVENT or pos + length > len(raw):
            raise ProtocolError("A batch has an event that overruns it.")
        out.append(raw[pos : pos + length])
        pos += length
    if len(out) != count:
        raise ProtocolError(f"A batch announces {count} events but holds {len(out)}.")
    return out


class History:
    """The rolling tail of one stream's canonical bytes: the next event's dictionary."""

    __slots__ = ("_tail",)

    def __init__(self, tail: bytes = b"") -> None:
        self._tail = bytes(tail[-HISTORY_BYTES:])

    def extend(self, canonical: bytes) -> None:
        self._tail = (self._tail + canonical)[-HISTORY_BYTES:]

    def bytes(self) -> bytes:
        return self._tail
