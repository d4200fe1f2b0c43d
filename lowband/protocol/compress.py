"""Event payload compression: encode once, against the stream's own history.

Owns how an event body (or a catch-up batch of events) becomes the bytes of an
`EventFrame` or `Batch` and back. Every follower at the same cursor gets the
same bytes, so a node compresses each event once, never per connection (a
per-connection compression context costs megabytes; DESIGN section 4).

A caption line alone barely compresses: zstd with the stream's previous
16 KB as a raw dictionary still spends about 0.62 of the text on English
lines and 0.72 on Chinese, because a 70-byte frame cannot amortise entropy
tables. So the codec is PPMd (order 6, through pyppmd, the library py7zr
uses): both ends run the model over the stream's history (the last
`HISTORY_BYTES` of earlier bodies, which the receiver holds because its
cursor is the previous event) and only the range coder's output for the new
body travels. Bytes a range coder has emitted are final, so the bytes emitted
while priming on the history are a prefix both ends compute alone. On the
Resolution 167 captions this is 0.43 of the English text and 0.47 of the
Chinese, 1.06 and 1.19 times zstd -19 over the whole text at once
(scripts/bench_captions.py). Audio is already compressed and travels raw.

Payload layout: `varint(len(raw)) || suffix`, so decoding is bounded before it
starts.

The suffix is untrusted: a relay may craft it, and the origin's checkpoints
cover only the decoded bodies. pyppmd decodes on a worker thread that blocks
for more input when a stream runs out; freeing the decoder then wakes it, and
it reads past the input and writes into the output buffer already returned
(lib/buffer/ThreadDecoder.c in pyppmd 1.3.1), which corrupted the heap. The
encoder's own output never runs out, so a decoder that returns fewer bytes
than asked for (or fails) was fed something else, and may be waiting: it is
never freed (`_Quarantine`), and after `QUARANTINE_MAX` of them this process
decodes no more PPMd payloads at all (each held decoder keeps its 1 MiB
model). Padding the input instead, so that it never waits, costs pyppmd a
leak of the unread padding on every decode (it never frees its input copy).
What a decoder returns is then coded again, and a suffix other than the
encoder's own output for those bytes is refused: damage is caught that way,
without the 4-byte check that codec 1 carried (16 % more bytes on the
Chinese captions).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import pyppmd

from lowband.protocol.wire import (
    MAX_BATCH_EVENTS,
    MAX_BATCH_RAW,
    MAX_EVENT,
    Codec,
    ProtocolError,
    varint,
)

HISTORY_BYTES = 16 * 1024
_ORDER = 6
_MEMORY = 1 << 20  # the model needs about 12x its input; 16 KB of history fits with room
QUARANTINE_MAX = 16  # decoders fed crafted input, held for good; then PPMd is refused


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ProtocolError("A payload has a malformed length.")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _prime(history: bytes) -> tuple[pyppmd.Ppmd7Encoder, bytes]:
    enc = pyppmd.Ppmd7Encoder(_ORDER, _MEMORY)
    return enc, enc.encode(history) if history else b""


def _suffix(history: bytes) -> tuple[bytes, Callable[[bytes], bytes]]:
    """(prefix, code): the bytes emitted while priming on `history`, and a one-shot coder of the
    suffix for the body that follows it."""
    enc, prefix = _prime(history)
    return prefix, lambda raw: enc.encode(raw) + enc.flush(endmark=False)


class _Quarantine:
    """Decoders that may be waiting for input: never freed, since freeing one lets its thread
    write into freed memory. A reference taken through the C API outlives the interpreter's
    own clean-up at exit, which a list alone would not."""

    def __init__(self) -> None:
        self.held = 0

    def hold(self, decoder: pyppmd.Ppmd7Decoder) -> None:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(decoder))
        self.held += 1

    @property
    def full(self) -> bool:
        return self.held >= QUARANTINE_MAX


_quarantine = _Quarantine()


DEGRADED = (
    "Coded payloads crafted to crash this program kept arriving; it decodes no more of them "
    "until restarted: use another relay."
)


def degraded() -> str:
    """'' while this process decodes coded payloads, else why it no longer does (a node says so
    on /v1/health, so that whoever watches it restarts it)."""
    return DEGRADED if _quarantine.full else ""


def _decode(stream: bytes, symbols: int) -> bytes:
    """`symbols` bytes decoded from `stream`; an empty result when it does not hold them."""
    if _quarantine.full:
        raise ProtocolError(DEGRADED)
    decoder = pyppmd.Ppmd7Decoder(_ORDER, _MEMORY)
    try:
        out = decoder.decode(stream, symbols)
    except ValueError:  # pyppmd's "Corrupted input data"
        out = b""
    if len(out) != symbols:
        _quarantine.hold(decoder)
        return b""
    return bytes(out)


def _pack(raw: bytes, history: bytes) -> tuple[int, bytes]:
    suffix = _suffix(history[-HISTORY_BYTES:])[1](raw)
    packed = varint(len(raw)) + suffix
    if len(packed) >= len(raw):
        return Codec.RAW, raw
    return Codec.PPMD_HISTORY, packed


def _unpack(codec: int, data: bytes, history: bytes, limit: int) -> bytes:
    if codec == Codec.RAW:
        if len(data) > limit:
            raise ProtocolError(f"A payload of {len(data)} bytes exceeds the limit of {limit}.")
        return data
    if codec != Codec.PPMD_HISTORY:
        raise ProtocolError(f"Payload codec {codec} is unknown.")
    size, pos = _read_varint(data, 0)
    if size > limit:
        raise ProtocolError(f"A payload announces {size} bytes; the limit is {limit}.")
    history = history[-HISTORY_BYTES:]
    prefix, code = _suffix(history)
    symbols = len(history) + size
    stream = prefix + data[pos:]
    # A range coder's stream starts with a zero byte; pyppmd refuses any other start by returning
    # an error without an exception (SystemError), leaking the input, so it is refused here.
    if not stream or stream[0] != 0 or stream[1:5] == b"\xff" * 4:
        raise ProtocolError("A compressed payload is corrupt (it does not start a PPMd stream).")
    out = _decode(stream, symbols)
    if len(out) != symbols or out[: len(history)] != history:
        raise ProtocolError(
            "A compressed payload is corrupt or does not match the stream's history."
        )
    raw = bytes(out[len(history) :])
    # Only the encoder's own output for `raw` is accepted, so a crafted suffix that decodes to
    # something is refused here, not later by the checkpoints.
    if code(raw) != data[pos:]:
        raise ProtocolError("A compressed payload is corrupt (it is not what its bytes encode to).")
    return raw


def pack_body(body: bytes, history: bytes, compressible: bool = True) -> tuple[int, bytes]:
    """(codec, data) for one event body; `history` ends with the body before it."""
    if not compressible:
        return Codec.RAW, body
    return _pack(body, history)


def unpack_body(codec: int, data: bytes, history: bytes) -> bytes:
    return _unpack(codec, data, history, MAX_EVENT)


BatchItem = tuple[int, int, bytes]  # (ts step from the event before, kind, body)


def pack_batch(
    items: list[BatchItem], history: bytes, compressible: bool = True
) -> tuple[int, bytes]:
    """(codec, data) for a batch; audio is not compressible, and a raw batch does not depend on
    the events before it, so pruning those (relay/retention.py) never changes its bytes."""
    raw = b"".join(varint(dt) + varint(kind) + varint(len(body)) + body for dt, kind, body in items)
    return _pack(raw, history) if compressible else (Codec.RAW, raw)


def unpack_batch(codec: int, data: bytes, history: bytes, count: int) -> list[BatchItem]:
    if count > MAX_BATCH_EVENTS:
        raise ProtocolError(f"A batch of {count} events exceeds the limit of {MAX_BATCH_EVENTS}.")
    raw = _unpack(codec, data, history, MAX_BATCH_RAW)
    out: list[BatchItem] = []
    pos = 0
    while pos < len(raw):
        dt, pos = _read_varint(raw, pos)
        kind, pos = _read_varint(raw, pos)
        size, pos = _read_varint(raw, pos)
        if size > MAX_EVENT or pos + size > len(raw):
            raise ProtocolError("A batch holds an event that is too large or cut short.")
        out.append((dt, kind, raw[pos : pos + size]))
        pos += size
    if len(out) != count:
        raise ProtocolError(f"A batch announces {count} events but holds {len(out)}.")
    return out


class History:
    """The rolling tail of one stream's bodies: what the next event is coded against."""

    __slots__ = ("_tail",)

    def __init__(self, tail: bytes = b"") -> None:
        self._tail = bytes(tail[-HISTORY_BYTES:])

    def extend(self, body: bytes) -> None:
        self._tail = (self._tail + body)[-HISTORY_BYTES:]

    def bytes(self) -> bytes:
        return self._tail
