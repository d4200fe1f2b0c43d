#!/usr/bin/env python3
"""Local codec benchmark: per layer, payload bit rate, bundle overhead, PESQ and decode speed.

Usage: scripts/bench_audio_codec.py [FILE]   (default: the speech fixture; needs `pesq`,
falls back to the correlation of aligned signals without it). No network rows: those come
with the link benchmark. Timings use the wall clock and are only printed, never asserted.
"""

from __future__ import annotations

import argparse
import array
import math
import time
from pathlib import Path

from lowband.audio import avio
from lowband.audio.bundle import encode_bundle
from lowband.audio.encode import LayeredEncoder, encode_chunks
from lowband.audio.layers import LAYERS
from lowband.audio.opus import Decoder, version

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "speech_16k.wav"


def correlation(a: array.array, b: array.array) -> float:
    n = min(len(a), len(b))
    ma, mb = sum(a[:n]) / n, sum(b[:n]) / n
    num = sum((a[i] - ma) * (b[i] - mb) for i in range(n))
    den = math.sqrt(
        sum((a[i] - ma) ** 2 for i in range(n)) * sum((b[i] - mb) ** 2 for i in range(n))
    )
    return num / den if den else 0.0


def quality(reference16: bytes, decoded48: bytes) -> tuple[str, float]:
    degraded = avio.resample_mono(decoded48, 48_000, 16_000)
    try:
        import numpy as np
        from pesq import pesq
    except ImportError:
        ref, deg = array.array("h", reference16), array.array("h", degraded)
        return "corr", correlation(ref, deg)
    ref_np = np.frombuffer(reference16, np.int16)
    deg_np = np.frombuffer(degraded, np.int16)[: len(ref_np)]
    deg_np = np.pad(deg_np, (0, len(ref_np) - len(deg_np)))
    return "PESQ-WB", float(pesq(16_000, ref_np, deg_np, "wb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(FIXTURE))
    args = parser.parse_args()
    pcm48 = b"".join(avio.iter_pcm48(args.file))
    reference16 = avio.resample_mono(pcm48, 48_000, 16_000)
    seconds = len(pcm48) / 96_000
    lookahead = LayeredEncoder().lookahead
    started = time.perf_counter()
    bundles = list(encode_chunks([pcm48]))
    encode_s = time.perf_counter() - started
    print(
        f"{version()}; {Path(args.file).name}: {seconds:.2f} s; all layers encoded at "
        f"{seconds / encode_s:.0f}x real time"
    )
    print(
        f"{'layer':6} {'frame':>6} {'target':>8} {'payload':>9} {'wire':>9} {'wire/pay':>8} "
        f"{'DTX':>5} {'score':>13} {'decode':>9}"
    )
    for layer in LAYERS.values():
        mine = [b for b in bundles if b.layer == layer.id]
        payload = sum(b.payload_bytes for b in mine)
        wire = sum(len(encode_bundle(b)) for b in mine)
        packets = [p for b in mine for p in b.packets]
        decoder = Decoder()
        started = time.perf_counter()
        out = b"".join(
            decoder.decode(p) if p else decoder.conceal(layer.frame_samples) for p in packets
        )
        decode_s = time.perf_counter() - started
        name, value = quality(reference16, out[lookahead * 2 :])
        print(
            f"{layer.name:6} {layer.frame_ms:>4}ms {layer.bitrate / 1000:>6.1f}k "
            f"{payload * 8 / seconds / 1000:>8.2f}k {wire * 8 / seconds / 1000:>8.2f}k "
            f"{wire / payload:>8.3f} {packets.count(b'') / len(packets):>5.0%} "
            f"{name:>7} {value:>5.2f} {seconds / decode_s:>8.0f}x"
        )


if __name__ == "__main__":
    main()
