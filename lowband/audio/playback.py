"""Where played PCM goes: a sound device through miniaudio, or a WAV, Ogg Opus or raw PCM file.

Owns: the ``Sink`` interface (48 kHz mono s16le in, ``close()`` at the end) and choosing one
with ``open_sink``. Must not: decode, time or buffer playout (that is ``jitter.py``); a device
sink only smooths between the driver's pulls. miniaudio is imported only when a device is
asked for, so files, tests and relays never need it.
"""

from __future__ import annotations

import os
import sys
import threading
import wave
from collections.abc import Generator
from typing import BinaryIO, Protocol

RATE = 48_000
_NULL_DEVICE = "Discard all samples"  # ALSA's null PCM: a machine without sound hardware


class Sink(Protocol):
    def write(self, pcm: bytes) -> None: ...
    def close(self) -> None: ...


class NoDeviceError(RuntimeError):
    """No sound device: play to a file (--out FILE.wav, FILE.ogg, or - for raw PCM)."""


class WavSink:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._wav = wave.open(os.fspath(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)

    def close(self) -> None:
        self._wav.close()


class RawSink:
    """Raw s16le 48 kHz mono, for piping into ``aplay -f S16_LE -r 48000`` or ``ffplay``."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer

    def write(self, pcm: bytes) -> None:
        self._stream.write(pcm)

    def close(self) -> None:
        self._stream.flush()


class OggOpusSink:
    def __init__(self, path: str | os.PathLike[str], bitrate: int = 24_000) -> None:
        from lowband.audio.avio import OggOpusWriter

        self._writer = OggOpusWriter(path, bitrate)

    def write(self, pcm: bytes) -> None:
        self._writer.write(pcm)

    def close(self) -> None:
        self._writer.close()


class PcmQueue:
    """Thread-safe bytes FIFO that a device callback drains, padding an underrun with silence."""

    def __init__(self, max_bytes: int = RATE * 2 * 30) -> None:
        self._data = bytearray()
        self._lock = threading.Lock()
        self._max = max_bytes
        self.underrun_bytes = 0

    def put(self, pcm: bytes) -> None:
        with self._lock:
            self._data += pcm
            if len(self._data) > self._max:  # the device stopped draining: keep the newest
                del self._data[: len(self._data) - self._max]

    def take(self, n_bytes: int) -> bytes:
        with self._lock:
            chunk = bytes(self._data[:n_bytes])
            del self._data[:n_bytes]
        self.underrun_bytes += n_bytes - len(chunk)
        return chunk + bytes(n_bytes - len(chunk))

    def feed(self) -> Generator[bytes, int, None]:
        """miniaudio's callback generator: it sends a frame count, gets that many frames."""
        frames = yield b""
        while True:
            frames = yield self.take(frames * 2)


def has_playback_device() -> bool:
    try:
        import miniaudio
    except ImportError:
        return False
    try:
        playbacks = miniaudio.Devices().get_playbacks()
    except miniaudio.MiniaudioError:
        return False
    return any(not d["name"].startswith(_NULL_DEVICE) for d in playbacks)


class DeviceSink:
    def __init__(self, buffer_ms: int = 200) -> None:
        import miniaudio

        if not has_playback_device():
            raise NoDeviceError(NoDeviceError.__doc__)
        self.queue = PcmQueue()
        try:
            self._device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16,
                nchannels=1,
                sample_rate=RATE,
                buffersize_msec=buffer_ms,
            )
            feed = self.queue.feed()
            next(feed)
            self._device.start(feed)
        except miniaudio.MiniaudioError as exc:
            raise NoDeviceError(f"The sound device would not open ({exc}).") from None

    def write(self, pcm: bytes) -> None:
        self.queue.put(pcm)

    def close(self) -> None:
        self._device.close()


def open_sink(out: str | os.PathLike[str] | None) -> Sink:
    """None: the sound device; ``-``: raw PCM on stdout; ``*.wav``; ``*.ogg``/``*.opus``."""
    if out is None:
        return DeviceSink()
    name = os.fspath(out)
    if name == "-":
        return RawSink()
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".wav":
        return WavSink(name)
    if suffix in (".ogg", ".opus", ".oga"):
        return OggOpusSink(name)
    raise ValueError(f"cannot play to {name!r}: use a .wav, .ogg or .opus file, or - for raw PCM")
