"""Event compression against the stream's own history: exact, bounded, and worth it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowband.compress import History, pack_batch, pack_event, unpack_batch, unpack_event
from lowband.wire import MAX_EVENT, Codec, ProtocolError

LINES = [
    "CHAIR: Good morning, distinguished delegates, we resume our work on agenda item three.",
    "KENYA: Thank you, Chair. Kenya supports the proposal on remote participation.",
    "CHAIR: Thank you, Kenya. I give the floor to the distinguished delegate of Brazil.",
    "BRAZIL: Thank you, Chair. Brazil supports the proposal on remote participation too.",
]


def test_history_makes_small_lines_smaller() -> None:
    history = History()
    alone = with_history = 0
    for line in LINES * 3:
        raw = line.encode()
        alone += len(pack_event(raw, b"")[1])
        codec, data = pack_event(raw, history.bytes())
        assert unpack_event(codec, data, history.bytes()) == raw
        with_history += len(data)
        history.extend(raw)
    assert with_history < 0.6 * alone


def test_wrong_history_is_detected_or_differs() -> None:
    history = b"".join(x.encode() for x in LINES)
    codec, data = pack_event(LINES[1].encode(), history)
    assert codec == Codec.ZSTD_HISTORY
    try:
        assert unpack_event(codec, data, b"other history" * 10) != LINES[1].encode()
    except ProtocolError:
        pass


def test_expansion_is_bounded() -> None:
    codec, data = pack_batch([b"\x00" * (MAX_EVENT - 8)] * 30, b"")
    with pytest.raises(ProtocolError):
        unpack_event(codec, data, b"")


@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=20), st.binary(max_size=5000))
def test_batch_round_trip(events: list[bytes], history: bytes) -> None:
    codec, data = pack_batch(events, history)
    assert unpack_batch(codec, data, history, len(events)) == events


@given(st.binary(max_size=200))
def test_junk_payloads_raise_only_protocol_error(data: bytes) -> None:
    for codec in (Codec.RAW, Codec.ZSTD_HISTORY, 7):
        try:
            unpack_batch(codec, data, b"history", 3)
        except ProtocolError:
            pass
