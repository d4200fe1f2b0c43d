"""Copy/insert deltas: finding long matches of a new revision in a base, and the op stream.

Owns: the greedy anchor matcher (`find_ops`), the op-stream byte format and its strict parser
and applier. The format, before delta.py compresses it with zstd:

    varint n, then n ops of (varint insert_len, varint copy_len, zigzag varint copy_skip),
    then every op's inserted bytes concatenated.

An op inserts `insert_len` literal bytes, then copies `copy_len` bytes of the base starting
`copy_skip` bytes after the end of the previous copy (so the usual "same place" costs one
byte). Must not: do any I/O or compression, or trust a length it has not checked.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

TO_NEWLINE = bytes.maketrans(b">", b"\n")  # anchors follow a newline or a tag: stable in text, XML
KEY = 32  # bytes compared at an anchor to look up candidate positions in the base
MIN_COPY = 24  # a copy shorter than this costs about as much as inserting the bytes

Op = tuple[int, int, int]  # (insert_len, copy_from, copy_len), copy_from absolute in the base


class OpStreamError(ValueError):
    """The op stream is malformed or asks for bytes outside its bounds."""


def anchors(data: bytes) -> list[int]:
    """0 and every position just after a newline or a '>' (found by C-speed split, not regex)."""
    pieces = data.translate(TO_NEWLINE).split(b"\n")[:-1]
    return [0, *accumulate(map((1).__add__, map(len, pieces)))]


def common_prefix(a: bytes, i: int, b: bytes, j: int, limit: int) -> int:
    """Length of the common run of a[i:] and b[j:], at most limit, by galloping slices."""
    n, step = 0, 64
    while n < limit:
        s = min(step, limit - n)
        if a[i + n : i + n + s] == b[j + n : j + n + s]:
            n, step = n + s, step * 2
        elif s <= 16:
            while a[i + n] == b[j + n]:
                n += 1
            return n
        else:
            step = s // 2
    return n


def common_suffix(a: bytes, i: int, b: bytes, j: int, limit: int) -> int:
    """Length of the common run ending just before a[i] and b[j], at most limit."""
    n, step = 0, 64
    while n < limit:
        s = min(step, limit - n)
        if a[i - n - s : i - n] == b[j - n - s : j - n]:
            n, step = n + s, step * 2
        elif s <= 16:
            while a[i - n - 1] == b[j - n - 1]:
                n += 1
            return n
        else:
            step = s // 2
    return n


def find_ops(new: bytes, base: bytes, new_anchors: list[int] | None = None) -> list[Op]:
    """Greedy copy/insert ops that rebuild new from base; the last op may copy nothing.

    At each anchor of new outside the copies found so far, it tries the current diagonal (the
    base continuing where the last copy left off) and the first base anchor with the same
    KEY bytes, extends the longer match both ways, and copies it if it is long enough. Pass
    new_anchors (anchors(new)) when matching one revision against several bases."""
    index = {base[a : a + KEY]: a for a in reversed(anchors(base))}
    starts = anchors(new) if new_anchors is None else new_anchors
    ops: list[Op] = []
    lit = 0  # start of the pending literal run in new
    shift = 0  # base position minus new position of the last copy (the current diagonal)
    i = 0
    while i < len(starts) and (p := starts[i]) + KEY <= len(new):
        i += 1
        best_len = best_from = best_back = 0
        hit = index.get(new[p : p + KEY], -1)
        for c in (p + shift, hit) if hit >= 0 and hit != p + shift else (p + shift,):
            if not 0 <= c <= len(base) - KEY:
                continue
            fwd = common_prefix(new, p, base, c, min(len(new) - p, len(base) - c))
            back = common_suffix(new, p, base, c, min(p - lit, c)) if fwd else 0
            if fwd + back > best_len:
                best_len, best_from, best_back = fwd + back, c - back, back
        if best_len >= MIN_COPY:
            start = p - best_back
            ops.append((start - lit, best_from, best_len))
            lit = start + best_len
            shift = best_from - start
            i = bisect_left(starts, lit, i)
    if lit < len(new) or not ops:
        ops.append((len(new) - lit, 0, 0))
    return ops


def literal_bytes(ops: list[Op]) -> int:
    return sum(op[0] for op in ops)


def write_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise OpStreamError("a length in the op stream is cut short or too large")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def pack_ops(new: bytes, ops: list[Op]) -> bytes:
    out, literals, pos, base_end = bytearray(), bytearray(), 0, 0
    write_varint(out, len(ops))
    for insert_len, copy_from, copy_len in ops:
        skip = copy_from - base_end if copy_len else 0
        write_varint(out, insert_len)
        write_varint(out, copy_len)
        write_varint(out, skip * 2 if skip >= 0 else -skip * 2 - 1)
        literals += new[pos : pos + insert_len]
        pos += insert_len + copy_len
        base_end = copy_from + copy_len if copy_len else base_end
    return bytes(out + literals)


def parse_ops(stream: bytes, base_len: int, max_size: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (literal, copy_from, copy_len) after checking every bound against the base."""
    count, pos = read_varint(stream, 0)
    if count > len(stream):
        raise OpStreamError("the op stream claims more ops than it has bytes")
    ops: list[Op] = []
    total = base_end = 0
    for _ in range(count):
        insert_len, pos = read_varint(stream, pos)
        copy_len, pos = read_varint(stream, pos)
        zig, pos = read_varint(stream, pos)
        copy_from = base_end + (zig >> 1 if zig % 2 == 0 else -(zig >> 1) - 1)
        if copy_len and not 0 <= copy_from <= base_len - copy_len:
            raise OpStreamError("the op stream copies bytes outside the base")
        total += insert_len + copy_len
        if total > max_size:
            raise OpStreamError("the op stream builds more bytes than allowed")
        ops.append((insert_len, copy_from, copy_len))
        base_end = copy_from + copy_len if copy_len else base_end
    if len(stream) - pos != sum(op[0] for op in ops):
        raise OpStreamError("the op stream's literal bytes do not match its ops")
    for insert_len, copy_from, copy_len in ops:
        yield stream[pos : pos + insert_len], copy_from, copy_len
        pos += insert_len


def apply_ops(stream: bytes, base: bytes, max_size: int) -> bytes:
    parts: list[bytes] = []
    for literal, copy_from, copy_len in parse_ops(stream, len(base), max_size):
        parts.append(literal)
        parts.append(base[copy_from : copy_from + copy_len])
    return b"".join(parts)
