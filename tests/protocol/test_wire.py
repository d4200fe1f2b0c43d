"""The wire codec: round trips, golden bytes, bounds, and only ProtocolError on junk."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowband.protocol.model import Kind
from lowband.protocol.wire import (
    MAX_FRAME,
    MAX_INLINE,
    Ack,
    AckState,
    DocForm,
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


def test_doc_form_golden_bytes_and_round_trip() -> None:
    # 25 bytes around the form: the length, tag, the 8-byte target and base ids, headers.
    frame = DocForm(bytes(range(8)), bytes(range(8, 16)), b"form")
    data = encode_frame(frame)
    assert data == (
        b"\x1c\x94\x0b\xc4\x08\x00\x01\x02\x03\x04\x05\x06\x07"
        b"\xc4\x08\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xc4\x04form"
    )
    assert list(FrameReader().feed(data)) == [frame]
    whole = DocForm(bytes(8), b"", b"")
    assert list(FrameReader().feed(encode_frame(whole))) == [whole]


@pytest.mark.parametrize(
    "fields",
    [
        [11, b"short", b"", b"x"],  # a target of 5 bytes
        [11, bytes(8), bytes(9), b"x"],  # a base of 9 bytes
        [11, bytes(8), b"", b"x" * (MAX_INLINE + 1)],
        [11, bytes(8), b""],
    ],
)
def test_malformed_doc_forms_are_protocol_errors(fields: list[object]) -> None:
    payload = msgspec.msgpack.encode(fields)
    with pytest.raises(ProtocolError, match="malformed"):
        list(FrameReader().feed(varint(len(payload)) + payload))


def test_held_documents_and_inline_limit_round_trip_and_old_requests_still_decode() -> None:
    req = SyncRequest("pp26", "d1", [], live=True, docs_held=[bytes(8)], inline_limit=4096)
    assert decode_request(encode_request(req)) == req
    old = msgspec.msgpack.encode(["pp26", "d1", [], [], 0, [], [], True, 0, 30, False, None, []])
    assert decode_request(b"\x01" + old) == SyncRequest("pp26", "d1", [], live=True)
    plain = encode_request(SyncRequest("pp26", "d1", []))
    assert len(encode_request(req)) - len(plain) == 12  # 10 a held revision, 2 the limit
    for bad in (
        SyncRequest("pp26", "d1", [], docs_held=[bytes(7)]),
        SyncRequest("pp26", "d1", [], inline_limit=MAX_INLINE + 1),
        SyncRequest("pp26", "d1", [], docs_held=[bytes(8)] * 257),
    ):
        with pytest.raises(ProtocolError, match="malformed"):
            decode_request(encode_request(bad))


def test_frames_split_anywhere_reassemble() -> None:
    frames = [
        Hello(1, "nairobi", 5),
        Ack(b"s" * 16, AckState.CUSTODY, "nairobi"),
        KeepAlive(),
        DocForm(b"t" * 8, b"", b"form"),
    ]
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
