"""The one seam to PyAV in lowband.audio: read and resample audio, write Ogg Opus, time-stretch.

Owns: opening any file PyAV can read (WAV included), turning raw s16le PCM or decoded frames
into 48 kHz mono s16le with ``AudioResampler``, the ``atempo`` filter used for catch-up, and
the Ogg Opus file writer. Must not: touch libopus directly (that is ``opus.py``), frame
bundles, or hold playout state. Other audio modules import PyAV only through this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import BinaryIO

import av
import av.error

RATE = 48_000
MAX_RAW_BYTES = 1 << 30  # 1 GiB of raw PCM in one call is a mistake, not a meeting
_LAYOUTS = {1: "mono", 2: "stereo"}


def _planes_s16(frame: av.AudioFrame) -> bytes:
    return bytes(frame.planes[0])[: frame.samples * 2]


def _frames_to_48k_mono(frames: Iterable[av.AudioFrame]) -> Iterator[bytes]:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    for frame in frames:
        frame.pts = None
        for out in resampler.resample(frame):
            yield _planes_s16(out)
    for out in resampler.resample(None):
        yield _planes_s16(out)


def iter_pcm48(source: str | os.PathLike[str] | BinaryIO) -> Iterator[bytes]:
    """Decode the first audio stream of a file to 48 kHz mono s16le chunks."""
    with av.open(source, mode="r") as container:
        if not container.streams.audio:
            raise ValueError("the file has no audio stream")
        stream = container.streams.audio[0]
        yield from _frames_to_48k_mono(container.decode(stream))


def raw_to_pcm48(data: bytes, rate: int, channels: int = 1) -> bytes:
    """Resample raw interleaved s16le PCM at ``rate`` Hz to 48 kHz mono s16le."""
    if channels not in _LAYOUTS or not 8_000 <= rate <= 192_000:
        raise ValueError("raw PCM must be mono or stereo at 8 to 192 kHz")
    if len(data) > MAX_RAW_BYTES or len(data) % (2 * channels):
        raise ValueError("raw PCM must be whole s16le frames, at most 1 GiB")
    if not data:
        return b""
    frame = av.AudioFrame(
        format="s16", layout=_LAYOUTS[channels], samples=len(data) // (2 * channels)
    )
    frame.planes[0].update(data)
    frame.sample_rate = rate
    return b"".join(_frames_to_48k_mono([frame]))


def resample_mono(pcm: bytes, rate: int, out_rate: int) -> bytes:
    """Resample mono s16le PCM between rates (for measuring against a 16 kHz source)."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm[: len(pcm) // 2 * 2])
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=out_rate)
    outs = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(_planes_s16(out) for out in outs)


class AtempoStretcher:
    """Plays 48 kHz mono s16le faster without changing pitch (FFmpeg's atempo, WSOLA)."""

    def __init__(self, speed: float) -> None:
        if not 1.0 <= speed <= 2.0:
            raise ValueError("catch-up speed must be between 1.0 and 2.0")
        tb = Fraction(1, RATE)
        self._graph = av.filter.Graph()
        src = self._graph.add_abuffer(format="s16", sample_rate=RATE, layout="mono", time_base=tb)
        tempo = self._graph.add("atempo", f"{speed:g}")
        sink = self._graph.add("abuffersink")
        src.link_to(tempo)
        tempo.link_to(sink)
        self._graph.configure()
        self._pts = 0

    def _drain(self) -> bytes:
        out: list[bytes] = []
        while True:
            try:
                frame = self._graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return b"".join(out)
            assert isinstance(frame, av.AudioFrame)
            out.append(_planes_s16(frame))

    def push(self, pcm: bytes) -> bytes:
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = RATE
        frame.time_base = Fraction(1, RATE)
        frame.pts = self._pts
        self._pts += frame.samples
        self._graph.push(frame)
        return self._drain()

    def flush(self) -> bytes:
        self._graph.push(None)
        return self._drain()


class OggOpusWriter:
    """Writes 48 kHz mono s16le PCM to an Ogg Opus file through PyAV's libopus encoder."""

    def __init__(self, path: str | os.PathLike[str], bitrate: int = 24_000) -> None:
        self._container = av.open(os.fspath(path), mode="w", format="ogg")
        self._stream = self._container.add_stream("libopus", rate=RATE, layout="mono")
        self._stream.bit_rate = bitrate
        self._pts = 0

    def write(self, pcm: bytes) -> None:
        if not pcm:
            return
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = RATE
        frame.pts = self._pts
        self._pts += frame.samples
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()
