"""Shared helpers for the audio tests: the speech fixture, decoding bundles, scoring output."""

from __future__ import annotations

import wave
from functools import cache
from pathlib import Path

import numpy as np
from pesq import pesq  # type: ignore[import-untyped]

from lowband.audio.avio import resample_mono
from lowband.audio.bundle import Bundle
from lowband.audio.opus import Decoder

SPEECH = Path(__file__).parent / "fixtures" / "speech_16k.wav"
LOOKAHEAD = 312  # libopus VOIP encoder delay at 48 kHz (asserted in test_audio_opus)


@cache
def source16() -> np.ndarray:
    with wave.open(str(SPEECH)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16)


def decode_all(bundles: list[Bundle]) -> bytes:
    """Straight decode of every packet, concealing empty ones: 48 kHz mono s16le."""
    decoder = Decoder()
    out = []
    for bundle in bundles:
        for packet in bundle.packets:
            out.append(decoder.decode(packet) if packet else decoder.conceal(bundle.frame_samples))
    return b"".join(out)


def score(pcm48: bytes, lookahead: int = LOOKAHEAD) -> float:
    """PESQ-WB of decoded 48 kHz output against the 16 kHz source, delay removed."""
    ref = source16()
    degraded = np.frombuffer(resample_mono(pcm48[lookahead * 2 :], 48_000, 16_000), np.int16)
    degraded = degraded[: len(ref)]
    if len(degraded) < len(ref):
        degraded = np.concatenate([degraded, np.zeros(len(ref) - len(degraded), np.int16)])
    return float(pesq(16_000, ref, degraded, "wb"))


def write_speech(path: Path, repeats: int) -> None:
    """The speech fixture `repeats` times over, as a 16 kHz mono WAV a publisher reads."""
    with wave.open(str(SPEECH)) as w:
        pcm = w.readframes(w.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(pcm * repeats)


def aligned_pesq(heard48: bytes, seconds: float) -> float:
    """PESQ-WB of `seconds` of what a listener wrote, aligned by correlation to the looping
    source (a recording does not say which window it starts at)."""
    period = len(source16())
    ref = np.tile(source16(), 3)
    deg = np.frombuffer(resample_mono(heard48, 48_000, 16_000), np.int16)
    deg = deg[8_000:]  # the first half second may be the encoder's start-up
    probe = deg[: 2 * 16_000].astype(np.float64)
    scores = np.correlate(ref[: period + len(probe)].astype(np.float64), probe, "valid")
    offset = int(np.argmax(scores))
    n = min(int(seconds * 16_000), len(deg))
    return float(pesq(16_000, ref[offset : offset + n], deg[:n], "wb"))
