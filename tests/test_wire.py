"""The wire codec: round trips, golden bytes, bounds, and only ProtocolError on junk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    # An event frame costs 10 bytes of framing around its payload at seq 300.
    frame = encode_frame(EventFrame(3, 300, 1, b"payload"))
    assert frame == b"\x10\x95\x04\x03\xcd\x01\x2c\x01\xc4\x07payload"


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
