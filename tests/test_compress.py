"""Event compression against the stream's own history: exact, bounded, and worth it."""

from __future__ import annotations

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from lowband.compress import History, pack_batch, pack_body, unpack_batch, unpack_body
from lowband.demo import chinese_lines, text_lines
from lowband.wire import MAX_EVENT, Codec, ProtocolError, varint


def per_line(lines: list[bytes]) -> int:
    history = History()
    total = 0
    for raw in lines:
        codec, data = pack_body(raw, history.bytes())
        assert unpack_body(codec, data, history.bytes()) == raw
        total += len(data)
        history.extend(raw)
    return total


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lines_cost_little_more_than_the_whole_text_compressed_at_once(lang: str) -> None:
    if lang == "en":
        lines = [ln.split(": ", 1)[1].encode() for ln in text_lines("res167_en.txt")]
    else:
        lines = [ln.encode() for ln in chinese_lines()]
    whole = len(zstandard.ZstdCompressor(level=19).compress(b"".join(lines)))
    alone = sum(len(zstandard.ZstdCompressor(level=19).compress(x)) for x in lines)
    sent = per_line(lines)
    # Coded one line at a time, as they are spoken; each line also carries a 4-byte check
    # (compress._tag), which is most of the gap on the short Chinese lines.
    assert sent < 1.2 * whole + 4 * len(lines)
    assert sent < 0.6 * alone


def test_wrong_history_never_yields_the_line() -> None:
    # A receiver with another history gets an error or other bytes, which the chain then refuses.
    line = b"The distinguished delegate of Brazil has the floor."
    history = b"The distinguished delegate of Kenya has the floor. " * 20
    codec, data = pack_body(line, history)
    assert codec == Codec.PPMD_HISTORY and len(data) < len(line) // 2
    try:
        assert unpack_body(codec, data, b"Another conversation, about documents." * 20) != line
    except ProtocolError:
        pass


def test_declared_size_is_bounded_before_decoding() -> None:
    with pytest.raises(ProtocolError, match="limit"):
        unpack_body(Codec.PPMD_HISTORY, varint(MAX_EVENT + 1) + b"\x00" * 8, b"")


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(1, 9), st.binary(max_size=500)),
        min_size=1,
        max_size=12,
    ),
    st.binary(max_size=3000),
)
def test_batch_round_trip(items: list[tuple[int, int, bytes]], history: bytes) -> None:
    codec, data = pack_batch(items, history)
    assert unpack_batch(codec, data, history, len(items)) == items


@given(st.binary(max_size=200))
def test_junk_payloads_raise_only_protocol_error(data: bytes) -> None:
    for codec in (Codec.RAW, Codec.PPMD_HISTORY, 7):
        try:
            unpack_batch(codec, data, b"history", 3)
        except ProtocolError:
            pass
