"""What a listener played, and the figures drawn from it: gaps, layer shares, latency, PCM runs.

Owns: the record of every item the jitter buffer played (when, which media samples, which
layer, whether its window's bundle had come), stalls as intervals, the layer choices over time,
and the summaries that ``lowband listen``, the tests and ``scripts/bench_audio.py`` report.
Must not: play, decode or read a clock; the listener passes every time in.

A gap is time in which the listener had nothing to play: a stall (the jitter buffer stopped
and rebuffered), or a run of concealment over a window whose bundle had not arrived. DTX
silence (an empty packet inside a bundle that came) is not a gap.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from lowband.audio.jitter import Played, Source
from lowband.audio.layers import BUNDLE_MS, BUNDLE_SAMPLES, LayerId
from lowband.audio.opus import SAMPLE_RATE

_NORMAL = (Source.DECODED, Source.CONCEALED)


@dataclass(frozen=True, slots=True)
class Entry:
    at: float  # monotonic seconds when it went to the sink
    wall: float  # the wall clock then, seconds
    media_start: int
    media_samples: int
    out_samples: int
    source: Source
    layer: LayerId | None
    missing: bool


@dataclass(frozen=True, slots=True)
class Run:
    """Contiguous normal-speed audio of one layer: what PESQ can score against the source."""

    layer: LayerId | None
    media_start: int
    pcm: bytes


@dataclass
class PlayLog:
    keep_pcm: bool = False
    entries: list[Entry] = field(default_factory=list)
    stalls: list[tuple[float, float | None]] = field(default_factory=list)
    choices: list[tuple[float, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    notes: list[tuple[float, str]] = field(default_factory=list)
    _pcm: list[bytes] = field(default_factory=list)

    def played(
        self, at: float, wall: float, item: Played, layer: LayerId | None, missing: bool
    ) -> None:
        out = len(item.pcm) // 2
        self.entries.append(
            Entry(at, wall, item.media_start, item.media_samples, out, item.source, layer, missing)
        )
        if self.keep_pcm:
            self._pcm.append(item.pcm)

    def stall(self, at: float) -> None:
        self.stalls.append((at, None))

    def resumed(self, at: float) -> None:
        if self.stalls and self.stalls[-1][1] is None:
            self.stalls[-1] = (self.stalls[-1][0], at)

    def choice(self, at: float, mode: str, play: tuple[str, ...], follow: tuple[str, ...]) -> None:
        self.choices.append((at, mode, play, follow))

    # --- figures -------------------------------------------------------------------------

    def gaps(
        self, after: float = float("-inf"), until: float | None = None, end: float | None = None
    ) -> tuple[int, float]:
        """(count, seconds) of gaps that began in [after, until). A stall still open counts
        until ``end`` if given (the audio went on), else not at all (it is the end of the
        stream as far as the listener knows). Concealment that turned into a stall is one."""
        limit = float("inf") if until is None else until
        count, seconds = 0, 0.0
        for start, stop in self.stalls:
            stop = end if stop is None else stop
            if stop is not None and after <= start < limit:
                count += 1
                seconds += stop - start
        run: list[Entry] = []
        for e in self.entries:
            if e.missing:
                run.append(e)
                continue
            if run and after <= run[0].at < limit:
                stalled = any(run[-1].at <= a < e.at for a, _ in self.stalls)
                count += not stalled
                seconds += sum(x.out_samples for x in run) / SAMPLE_RATE
            run = []
        return count, seconds

    def layer_seconds(self) -> dict[LayerId, float]:
        """Media seconds played from each layer (catch-up included, concealed gaps not)."""
        out: dict[LayerId, float] = {}
        for e in self.entries:
            if e.layer is not None and not e.missing:
                out[e.layer] = out.get(e.layer, 0.0) + e.media_samples / SAMPLE_RATE
        return out

    def contiguous(self) -> bool:
        """Every media sample from the first played on was played once: nothing skipped ahead."""
        return all(
            b.media_start == a.media_start + a.media_samples
            for a, b in zip(self.entries, self.entries[1:], strict=False)
        )

    def latencies(self, epoch_ms: int) -> list[float]:
        """Origin to ear: when each window's first sample played, minus when it was spoken
        (the publisher numbers windows on the meeting's clock and paces them at real time)."""
        out = []
        for e in self.entries:
            if e.media_start % BUNDLE_SAMPLES == 0 and e.out_samples:
                spoken = epoch_ms / 1000 + e.media_start // BUNDLE_SAMPLES * BUNDLE_MS / 1000
                out.append(e.wall - spoken)
        return out

    def runs(self, min_seconds: float = 0.0) -> list[Run]:
        """Normal-speed stretches of one layer, each contiguous in media time."""
        if not self.keep_pcm:
            raise ValueError("the play log kept no PCM")
        runs: list[Run] = []
        parts: list[bytes] = []
        layer, start, expect = None, 0, -1
        for e, pcm in zip(self.entries, self._pcm, strict=True):
            normal = e.source in _NORMAL
            if not (parts and normal and e.media_start == expect and e.layer == layer):
                if parts:
                    runs.append(Run(layer, start, b"".join(parts)))
                layer, start, parts = e.layer, e.media_start, []
            if normal:
                parts.append(pcm)
            expect = e.media_start + e.media_samples
        if parts:
            runs.append(Run(layer, start, b"".join(parts)))
        return [r for r in runs if len(r.pcm) / 2 / SAMPLE_RATE >= min_seconds]

    def summary(self, epoch_ms: int, after: float = float("-inf")) -> str:
        played = sum(e.out_samples for e in self.entries) / SAMPLE_RATE
        shares = self.layer_seconds()
        total = sum(shares.values()) or 1.0
        share = ", ".join(f"{k.name.lower()} {v / total:.0%}" for k, v in sorted(shares.items()))
        count, seconds = self.gaps(after)
        lat = self.latencies(epoch_ms)
        median = f"{statistics.median(lat):.1f} s" if lat else "n/a"
        return (
            f"played {played:.1f} s ({share or 'nothing'}); gaps: {count} ({seconds * 1000:.0f} ms);"
            f" origin to ear: median {median}"
        )
