"""Encode audio once into every simulcast layer, cut into bundles on the shared 960 ms grid.

Owns: reading a source (a file PyAV opens, or raw s16le PCM), one resample to 48 kHz mono,
one Opus encoder per layer fed from that same PCM, and cutting packets into ``Bundle``s.
Must not: publish, sign or send anything; the caller turns bundles into events.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from lowband.audio import avio
from lowband.audio.bundle import Bundle
from lowband.audio.layers import BUNDLE_SAMPLES, LAYERS, Layer, LayerId
from lowband.audio.opus import Encoder

DTX_MAX_BYTES = 2  # libopus marks a DTX frame with a 1 to 2 byte packet that need not be sent


class LayeredEncoder:
    """Feed 48 kHz mono s16le PCM in any chunk sizes; get one bundle per layer per 960 ms."""

    def __init__(self, layers: Iterable[Layer] = LAYERS.values(), start_window: int = 0) -> None:
        self.layers = tuple(layers)
        if not self.layers:
            raise ValueError("encode at least one layer")
        self._encoders: dict[LayerId, Encoder] = {}
        for layer in self.layers:
            encoder = Encoder()
            encoder.configure(
                bitrate=layer.bitrate,
                bandwidth=layer.bandwidth,
                complexity=layer.complexity,
                dtx=layer.dtx,
                fec=layer.fec,
            )
            self._encoders[layer.id] = encoder
        self._pending = bytearray()
        self._window = start_window
        self._finished = False

    @property
    def lookahead(self) -> int:
        """Samples by which decoded audio lags the input (the same for every layer)."""
        return max(encoder.lookahead for encoder in self._encoders.values())

    def _encode_window(self, pcm: bytes) -> list[Bundle]:
        bundles = []
        for layer in self.layers:
            step = layer.frame_samples * 2
            padded = pcm + bytes(-len(pcm) % step)
            packets = []
            for at in range(0, len(padded), step):
                packet = self._encoders[layer.id].encode(padded[at : at + step])
                packets.append(packet if len(packet) > DTX_MAX_BYTES else b"")
            first = self._window * layer.frames_per_bundle
            bundles.append(Bundle(layer.id, layer.frame_samples, first, tuple(packets)))
        self._window += 1
        return bundles

    def push(self, pcm: bytes) -> list[Bundle]:
        """Bundles completed by this PCM, in time order, one per layer per window."""
        if self._finished:
            raise ValueError("the encoder has finished")
        if len(pcm) % 2:
            raise ValueError("PCM must be whole 16-bit samples")
        self._pending += pcm
        bundles: list[Bundle] = []
        window_bytes = BUNDLE_SAMPLES * 2
        while len(self._pending) >= window_bytes:
            bundles += self._encode_window(bytes(self._pending[:window_bytes]))
            del self._pending[:window_bytes]
        return bundles

    def finish(self) -> list[Bundle]:
        """Flush the last partial window, padded with silence to whole frames."""
        self._finished = True
        if not self._pending:
            return []
        bundles = self._encode_window(bytes(self._pending))
        self._pending.clear()
        return bundles


def _by_layer(bundles: Iterable[Bundle], layers: tuple[Layer, ...]) -> dict[LayerId, list[Bundle]]:
    out: dict[LayerId, list[Bundle]] = {layer.id: [] for layer in layers}
    for bundle in bundles:
        out[bundle.layer].append(bundle)
    return out


def encode_chunks(
    chunks: Iterable[bytes], layers: Iterable[Layer] = LAYERS.values()
) -> Iterator[Bundle]:
    """Stream 48 kHz mono s16le chunks through every layer, yielding bundles as they complete."""
    encoder = LayeredEncoder(layers)
    for chunk in chunks:
        yield from encoder.push(chunk)
    yield from encoder.finish()


def encode_pcm48(
    pcm: bytes, layers: Iterable[Layer] = LAYERS.values()
) -> dict[LayerId, list[Bundle]]:
    chosen = tuple(layers)
    return _by_layer(encode_chunks([pcm], chosen), chosen)


def encode_raw(
    data: bytes, rate: int, channels: int = 1, layers: Iterable[Layer] = LAYERS.values()
) -> dict[LayerId, list[Bundle]]:
    """Raw interleaved s16le PCM (as from stdin) at any rate, mono or stereo."""
    return encode_pcm48(avio.raw_to_pcm48(data, rate, channels), layers)


def encode_file(
    source: str | os.PathLike[str] | BinaryIO, layers: Iterable[Layer] = LAYERS.values()
) -> dict[LayerId, list[Bundle]]:
    """Any file PyAV opens (WAV, Ogg, MP3, ...), encoded once into each layer's bundles."""
    chosen = tuple(layers)
    return _by_layer(encode_chunks(avio.iter_pcm48(source), chosen), chosen)
