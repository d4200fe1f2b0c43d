"""The bundle framing: golden bytes, round trips, and one clear BundleError for bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowband.audio.bundle import (
    MAX_BUNDLE_BYTES,
    MAX_FIRST_FRAME,
    MAX_PACKET_BYTES,
    MAX_PACKETS,
    Bundle,
    BundleError,
    decode_bundle,
    encode_bundle,
)
from lowband.audio.layers import LayerId

GOLDEN = [
    (
        Bundle(LayerId.NB6, 2880, 16, (b"\x01\x02\x03", b"", b"\xaa")),
        "10 18 10 03 03 00 01 010203 aa",
    ),
    (Bundle(LayerId.FB28, 960, 300, (b"",)), "12 08 ac02 01 00"),
    (Bundle(LayerId.WB16, 120, 0, (b"\x00" * 200,)), "11 01 00 01 c801" + " 00" * 200),
]


@pytest.mark.parametrize(("bundle", "hex_bytes"), GOLDEN)
def test_golden_bytes(bundle: Bundle, hex_bytes: str) -> None:
    data = bytes.fromhex(hex_bytes)
    assert encode_bundle(bundle) == data
    assert decode_bundle(data) == bundle


bundles = st.builds(
    Bundle,
    st.sampled_from(LayerId),
    st.sampled_from([120, 240, 480, 960, 1920, 2880]),
    st.integers(0, MAX_FIRST_FRAME),
    st.lists(st.binary(max_size=MAX_PACKET_BYTES), min_size=1, max_size=40).map(tuple),
)


@given(bundles)
def test_round_trip(bundle: Bundle) -> None:
    assert decode_bundle(encode_bundle(bundle)) == bundle


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_bundle_error(data: bytes) -> None:
    try:
        bundle = decode_bundle(data)
    except BundleError as error:
        assert str(error).endswith(".")
    else:
        assert encode_bundle(bundle) == data  # strict decoding accepts only canonical bytes


def test_overhead_is_a_byte_a_packet() -> None:
    packets = tuple(bytes(45) for _ in range(16))  # one second of nb6 at 60 ms
    data = encode_bundle(Bundle(LayerId.NB6, 2880, 123_456, packets))
    assert len(data) - 16 * 45 == 16 + 6


BAD = [
    ("", "shorter than its smallest header"),
    ("20 18 00 01 00", "version 2 is not supported"),
    ("1f 18 00 01 00", "Layer id 15 is not a known"),
    ("10 03 00 01 00", "Frame duration code 3"),
    ("10 18 00 00", "holds no packets"),
    ("10 18 00 01 05 0102", "add up to 5 bytes but 2 follow"),
    ("10 18 00 01 01 0102", "add up to 1 bytes but 2 follow"),
    ("10 18 8000 01 00", "not in its shortest varint form"),
    ("10 18 00 9103 00", "packet count is 401"),
    ("10 18 00 01 8c0a", "packet length is 1292"),
    ("10 18 ffffffffffffff", "too long"),
    ("10 18 00 02 00", "ends inside the packet length"),
]


@pytest.mark.parametrize(("hex_bytes", "message"), BAD)
def test_malformed_input_raises_one_plain_error(hex_bytes: str, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        decode_bundle(bytes.fromhex(hex_bytes))


def test_decode_limits_total_size() -> None:
    with pytest.raises(BundleError, match="more than 65536"):
        decode_bundle(bytes(MAX_BUNDLE_BYTES + 1))


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        (Bundle(LayerId.NB6, 1000, 0, (b"",)), "not 2.5 to 60 ms"),
        (Bundle(LayerId.NB6, 5760, 0, (b"",)), "not 2.5 to 60 ms"),
        (Bundle(LayerId.NB6, 2880, 0, ()), "1 to 400 packets"),
        (Bundle(LayerId.NB6, 2880, 0, (b"",) * (MAX_PACKETS + 1)), "1 to 400 packets"),
        (Bundle(LayerId.NB6, 2880, -1, (b"",)), "out of range"),
        (Bundle(LayerId.NB6, 2880, 0, (bytes(1276),)), "longer than 1275"),
        (Bundle(LayerId.NB6, 120, 0, (bytes(1275),) * 60), "more than 65536"),
    ],
)
def test_encode_refuses_what_decode_would_refuse(bundle: Bundle, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        encode_bundle(bundle)


@given(bundles, st.data())
def test_truncated_or_extended_bundles_are_refused(bundle: Bundle, data: st.DataObject) -> None:
    encoded = encode_bundle(bundle)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(BundleError):
        decode_bundle(encoded[:cut])
    with pytest.raises(BundleError):
        decode_bundle(encoded + data.draw(st.binary(min_size=1, max_size=8)))
