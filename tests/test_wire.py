"""The wire codec: round trips, golden bytes, bounds, and only ProtocolError on junk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowband.model import Kind
from lowband.wire import (
    MAX_FRAME,
    Ack,
    AckState,
    EventFrame,
    FrameReader,
    Hello,
    KeepAlive,
    ProtocolError,
    SyncRequest,
    Want,
    decode_request,
    encode_frame,
    encode_request,
    varint,
)


def test_event_frame_golden_bytes() -> None:
    # A caption four seconds after the previous one: 11 bytes of framing around its payload.
    frame = encode_frame(EventFrame(3, 4000, Kind.CAPTION, 1, b"payload"))
    assert frame == b"\x11\x96\x04\x03\xcd\x0f\xa0\x03\x01\xc4\x07payload"


def test_frames_split_anywhere_reassemble() -> None:
    frames = [Hello(1, "nairobi", 5), Ack(b"s" * 16, AckState.CUSTODY, "nairobi"), KeepAlive()]
    data = b"".join(map(encode_frame, frames))
    for cut in range(len(data) + 1):
        reader = FrameReader()
        got = list(reader.feed(data[:cut])) + list(reader.feed(data[cut:]))
        assert got == frames
        assert reader.pending == 0


def test_oversized_frame_is_refused_before_buffering() -> None:
    with pytest.raises(ProtocolError, match="limit"):
        list(FrameReader().feed(varint(MAX_FRAME + 1)))


def test_request_round_trip_and_version() -> None:
    req = SyncRequest("pp26", "d1", [Want("transcript/en", 4, 3)], live=True)
    assert decode_request(encode_request(req)) == req
    with pytest.raises(ProtocolError, match="version"):
        decode_request(b"\x02" + encode_request(req)[1:])


def test_request_bounds_counts() -> None:
    req = SyncRequest("pp26", "d1", [Want(f"s{i}", 0) for i in range(300)])
    with pytest.raises(ProtocolError, match="malformed"):
        decode_request(encode_request(req))


@given(st.binary(max_size=300))
def test_junk_frames_raise_only_protocol_error(data: bytes) -> None:
    try:
        list(FrameReader().feed(data))
    except ProtocolError:
        pass


@given(st.binary(max_size=300))
def test_junk_requests_raise_only_protocol_error(data: bytes) -> None:
    try:
        decode_request(b"\x01" + data)
    except ProtocolError:
        pass


@given(st.integers(min_value=0, max_value=2**28 - 1))
def test_varint_round_trip(n: int) -> None:
    reader = FrameReader()
    payload = encode_frame(KeepAlive())
    assert list(reader.feed(payload)) == [KeepAlive()]
    assert varint(n)[-1] < 0x80
