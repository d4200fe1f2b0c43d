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
