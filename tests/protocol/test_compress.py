"""Event compression against the stream's own history: exact, bounded, and worth it."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from ppmd_children import LINES, crafted, decode_in_children, junk

from lowband.harness.demo import chinese_lines, text_lines
from lowband.protocol.compress import History, pack_batch, pack_body, unpack_batch, unpack_body
from lowband.protocol.wire import MAX_EVENT, Codec, ProtocolError, varint
from lowband.storage.migrations import MIGRATIONS
from lowband.storage.store import Store


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
    assert sent < 1.2 * whole  # coded one line at a time, as they are spoken
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
    for codec in (Codec.RAW, 7):  # PPMd junk goes to child processes (ppmd_children)
        try:
            unpack_batch(codec, data, b"history", 3)
        except ProtocolError:
            pass


def test_ppmd_junk_is_refused_without_a_crash() -> None:
    rng = random.Random(5)
    counts = decode_in_children(
        [junk(rng) for _ in range(300)] + [crafted(rng) for _ in range(300)]
    )
    assert counts["done"] == 600 and counts["refused"] >= 590, counts


def test_a_process_fed_many_crafted_payloads_stops_decoding_them() -> None:
    """Each decoder left waiting is held (1 MiB each); past the limit even good ones are refused,
    in one sentence, and the process still exits cleanly."""
    history = b"".join(LINES[:3])
    _, good = pack_body(LINES[3], history)
    code = f"""
from lowband.protocol.compress import QUARANTINE_MAX, unpack_body
from lowband.protocol.wire import Codec, ProtocolError
for _ in range(QUARANTINE_MAX):
    try:
        unpack_body(Codec.PPMD_HISTORY, {good[:1] + good[1:-6]!r}, {history!r})
    except ProtocolError:
        pass
try:
    unpack_body(Codec.PPMD_HISTORY, {good!r}, {history!r})
except ProtocolError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-500:]
    assert "it decodes no more of them until restarted: use another relay." in out.stdout
    assert unpack_body(Codec.PPMD_HISTORY, good, history) == LINES[3]  # this process is fine


def test_a_store_forgets_payloads_packed_with_the_retired_codec(tmp_path: Path) -> None:
    # Codec 1 carried a 4-byte check that receivers now refuse as unknown; stored ones are dropped
    # on opening, and the relay packs those events again when it next serves them.
    with Store(tmp_path / "node.db") as store:
        for seq, codec in ((1, 1), (2, Codec.RAW)):
            store.db.execute(
                "INSERT INTO events VALUES ('m', 1, ?, 0, 1, x'00', x'00', ?, x'01', 0)",
                (seq, codec),
            )
        store.db.execute(f"PRAGMA user_version={len(MIGRATIONS) - 1}")  # before the last one
    with Store(tmp_path / "node.db") as store:
        assert store.packed("m", 1, 1) is None
        assert store.packed("m", 1, 2) == (Codec.RAW, b"\x01")
