"""The compact framing of one audio bundle: about a second of consecutive packets of one layer.

Owns: the byte layout below, its limits and its one error, ``BundleError``. Must not: know
about events, streams, signatures or the network; the core carries a bundle as an event body.

Layout (all integers are unsigned LEB128 varints, minimal length, except the first two bytes)::

    u8      version << 4 | layer id        version 1; layer 0 nb6, 1 wb16, 2 fb28
    u8      frame duration in 2.5 ms units  1, 2, 4, 8, 16 or 24 (2.5 to 60 ms)
    varint  index of the first frame, counted in frames of this duration from stream start
    varint  packet count n (1 .. MAX_PACKETS)
    n x varint  packet length (0 = no packet: DTX silence or nothing sent; PLC fills it)
    the n packets, concatenated

A 60 ms nb6 bundle of 16 packets costs 4 to 6 header bytes and one length byte a packet.
"""

from __future__ import annotations

from dataclasses import dataclass

from lowband.audio.layers import LayerId

VERSION = 1
MAX_PACKETS = 400
MAX_PACKET_BYTES = 1275
MAX_BUNDLE_BYTES = 65_536
MAX_FIRST_FRAME = 1 << 40
_UNIT_SAMPLES = 120  # 2.5 ms at 48 kHz
_FRAME_UNITS = frozenset({1, 2, 4, 8, 16, 24})


class BundleError(ValueError):
    """A bundle that breaks the framing or its limits."""


@dataclass(frozen=True, slots=True)
class Bundle:
    layer: LayerId
    frame_samples: int  # at 48 kHz
    first_frame: int
    packets: tuple[bytes, ...]

    @property
    def start_sample(self) -> int:
        return self.first_frame * self.frame_samples

    @property
    def duration_samples(self) -> int:
        return len(self.packets) * self.frame_samples

    @property
    def payload_bytes(self) -> int:
        return sum(len(p) for p in self.packets)


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _get_varint(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    value = shift = 0
    for i in range(pos, min(len(data), pos + 7)):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte == 0 and i > pos:
                raise BundleError(f"The {what} is not in its shortest varint form.")
            if value > limit:
                raise BundleError(f"The {what} is {value}, more than the limit of {limit}.")
            return value, i + 1
    raise BundleError(f"The bundle ends inside the {what}, or the {what} is too long.")


def encode_bundle(bundle: Bundle) -> bytes:
    """Frame a bundle; raises BundleError if it breaks a limit (checked as strictly as decode)."""
    units, rest = divmod(bundle.frame_samples, _UNIT_SAMPLES)
    if rest or units not in _FRAME_UNITS:
        raise BundleError(f"A frame of {bundle.frame_samples} samples is not 2.5 to 60 ms.")
    if not 1 <= len(bundle.packets) <= MAX_PACKETS:
        raise BundleError(f"A bundle holds 1 to {MAX_PACKETS} packets, not {len(bundle.packets)}.")
    if not 0 <= bundle.first_frame <= MAX_FIRST_FRAME:
        raise BundleError(f"The first frame index {bundle.first_frame} is out of range.")
    if any(len(p) > MAX_PACKET_BYTES for p in bundle.packets):
        raise BundleError(f"A packet is longer than {MAX_PACKET_BYTES} bytes.")
    out = bytearray((VERSION << 4 | LayerId(bundle.layer), units))
    _put_varint(out, bundle.first_frame)
    _put_varint(out, len(bundle.packets))
    for packet in bundle.packets:
        _put_varint(out, len(packet))
    for packet in bundle.packets:
        out += packet
    if len(out) > MAX_BUNDLE_BYTES:
        raise BundleError(f"The bundle would be {len(out)} bytes, more than {MAX_BUNDLE_BYTES}.")
    return bytes(out)


def decode_bundle(data: bytes) -> Bundle:
    """Parse one bundle; any malformed input raises BundleError with a plain sentence."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"The bundle is {len(data)} bytes, more than {MAX_BUNDLE_BYTES}.")
    if len(data) < 4:
        raise BundleError("The bundle is shorter than its smallest header.")
    version, layer = data[0] >> 4, data[0] & 0x0F
    if version != VERSION:
        raise BundleError(f"Bundle version {version} is not supported (this reads {VERSION}).")
    if layer not in LayerId._value2member_map_:
        raise BundleError(f"Layer id {layer} is not a known audio layer.")
    if data[1] not in _FRAME_UNITS:
        raise BundleError(f"Frame duration code {data[1]} is not 2.5 to 60 ms.")
    first, pos = _get_varint(data, 2, MAX_FIRST_FRAME, "first frame index")
    count, pos = _get_varint(data, pos, MAX_PACKETS, "packet count")
    if count == 0:
        raise BundleError("The bundle holds no packets.")
    lengths = []
    for _ in range(count):
        length, pos = _get_varint(data, pos, MAX_PACKET_BYTES, "packet length")
        lengths.append(length)
    if pos + sum(lengths) != len(data):
        raise BundleError(
            f"The packet lengths add up to {sum(lengths)} bytes but {len(data) - pos} follow."
        )
    packets = []
    for length in lengths:
        packets.append(bytes(data[pos : pos + length]))
        pos += length
    return Bundle(LayerId(layer), data[1] * _UNIT_SAMPLES, first, tuple(packets))
