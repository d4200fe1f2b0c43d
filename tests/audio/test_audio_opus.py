"""The libopus binding: loading, settings, bounds, errors, PLC and FEC decoding."""

from __future__ import annotations

import math
import struct

import pytest

from lowband.audio import opus
from lowband.audio.opus import Bandwidth, Decoder, Encoder, OpusError


def tone(samples: int, freq: float = 440.0, start: int = 0) -> bytes:
    values = (
        int(8000 * math.sin(2 * math.pi * freq * (start + i) / 48_000)) for i in range(samples)
    )
    return struct.pack(f"<{samples}h", *values)


def test_loads_the_copy_bundled_with_pyav() -> None:
    assert opus.version().startswith("libopus 1.")
    assert any("av.libs" in path or ".dylibs" in path for path in opus._candidates())


def test_encoder_settings_and_lookahead() -> None:
    encoder = Encoder()
    encoder.configure(bitrate=16_000, bandwidth=Bandwidth.WIDE, complexity=5, dtx=True)
    assert encoder.lookahead == 312
    packet = encoder.encode(tone(2880))
    assert 2 < len(packet) <= opus.MAX_PACKET_BYTES


def test_round_trip_keeps_frame_length() -> None:
    encoder, decoder = Encoder(), Decoder()
    encoder.configure(bitrate=28_000, bandwidth=Bandwidth.FULL)
    for i in range(5):
        pcm = decoder.decode(encoder.encode(tone(960, start=960 * i)))
        assert len(pcm) == 960 * 2


def test_conceal_and_fec_return_one_frame() -> None:
    encoder, decoder = Encoder(), Decoder()
    encoder.configure(bitrate=16_000, bandwidth=Bandwidth.WIDE, fec=True, loss_percent=20)
    packets = [encoder.encode(tone(960, start=960 * i)) for i in range(6)]
    decoder.decode(packets[0])
    assert len(decoder.conceal(960)) == 960 * 2
    assert len(decoder.decode_fec(packets[3], 960)) == 960 * 2
    assert len(decoder.decode(packets[3])) == 960 * 2


@pytest.mark.parametrize("bad", [b"", bytes(1276)])
def test_decoder_bounds_packet_size(bad: bytes) -> None:
    with pytest.raises(OpusError, match="1 to 1275 bytes"):
        Decoder().decode(bad)


def test_libopus_errors_become_opus_error() -> None:
    with pytest.raises(OpusError, match="libopus decode failed"):
        Decoder().decode(b"\xff\xff\xff")  # code 3 packet with an impossible frame count


@pytest.mark.parametrize("samples", [0, 100, 5760, 3000])
def test_frame_sizes_are_checked(samples: int) -> None:
    with pytest.raises(OpusError, match="not an Opus frame size"):
        Encoder().encode(bytes(samples * 2))
    with pytest.raises(OpusError, match="not an Opus frame size"):
        Decoder().conceal(samples)


def test_configure_rejects_out_of_range() -> None:
    with pytest.raises(OpusError):
        Encoder().configure(bitrate=100, bandwidth=Bandwidth.NARROW)
    with pytest.raises(OpusError):
        Encoder().configure(bitrate=6000, bandwidth=Bandwidth.NARROW, complexity=11)
