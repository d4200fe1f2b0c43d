"""The link benchmark's figures, as pure functions of what a run recorded.

Owns the arithmetic behind each column of `scripts/bench_links.py`: caption latency (origin
append to delegate store, one clock), wire bytes a minute in steady state against two zstd
baselines of the caption text, the share of lines verified within 60 s, and for every outage
the time and bytes to catch up against the compressed missed text and the goal. Takes samples
and arrival times as arguments; reads no clock, store or socket.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import zstandard as zstd

from lowband.harness.linkprobe import Line, Sample
from lowband.linkem import LinkProfile

ZSTD_LEVEL = 19
VERIFY_WITHIN_S = 60.0
WIRE_GOAL = 1.5  # wire bytes at most this times the compressed caption text
CATCHUP_GOAL = 1.1  # catch-up bytes at most this times the compressed missed text
LATENCY_SLACK_MS = 500.0
Span = tuple[float, float]


def zsize(text: str) -> int:
    """Bytes of `text` compressed alone by zstd at level 19 (one frame, as `zstd -19`)."""
    raw = text.encode()
    return len(zstd.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)) if raw else 0


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class OutageFigures:
    kind: str
    start: float
    duration_s: float
    missed_lines: int
    missed_zstd: int  # the missed lines' text compressed alone
    catchup_s: float | None  # outage end until the delegate holds the origin's head of then
    catchup_bytes: int | None  # both directions, meanwhile
    retry_s: float | None  # outage end until the first byte up (a new request after a reset)
    goal_s: float
    goal_bytes: float


@dataclass(frozen=True)
class Figures:
    lines: int
    arrived: int
    latency_ms: tuple[float, float, float]  # p50, p95, max over every line
    steady_p95_ms: float  # over lines away from outages, catch-ups and submissions
    latency_goal_ms: float
    steady_s: float  # the steady seconds (of the text's first pass) the wire is counted over
    wire_per_min: float  # bytes, both directions, steady state
    coded_per_min: float  # of which the caption payloads as coded (frames, HTTP, checkpoints not)
    up_per_min: float
    zstd_minute_per_min: float  # (a) each minute's text compressed alone
    zstd_run_per_min: float  # (b) the whole run's text compressed at once
    verified_share: float  # of judged lines, verified within 60 s of their origin time
    judged: int
    steady_verified_share: float  # the same, of lines whose next 60 s saw no outage
    outages: tuple[OutageFigures, ...]


class Timeline:
    """Byte counters and outage edges as functions of time, from the probe's samples."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples
        self.times = [s.t for s in samples]
        self.verified = [s.verified for s in samples]

    def bytes_at(self, t: float) -> float:
        """Bytes both ways delivered by time `t`, interpolated between samples."""
        i = bisect.bisect_right(self.times, t)
        if i == 0:
            return 0.0
        a = self.samples[i - 1]
        if i == len(self.samples):
            return float(a.down + a.up)
        b = self.samples[i]
        f = (t - a.t) / (b.t - a.t) if b.t > a.t else 0.0
        return a.down + a.up + f * (b.down + b.up - a.down - a.up)

    def first_up_after(self, t: float, until: float) -> float | None:
        i = bisect.bisect_right(self.times, t)
        base = self.samples[i - 1].up if i else 0
        for s in self.samples[i:]:
            if s.t > until:
                return None
            if s.up > base:
                return s.t - t
        return None

    def outages(self) -> list[tuple[str, float, float]]:
        """(kind, start, end) of each outage seen; an outage still on ends at the last sample."""
        out: list[tuple[str, float, float]] = []
        on: tuple[str, float] | None = None
        for s in self.samples:
            if s.outage is not None and on is None:
                on = (s.outage, s.t)
            elif s.outage is None and on is not None:
                out.append((on[0], on[1], s.t))
                on = None
        if on is not None and self.samples:
            out.append((on[0], on[1], self.samples[-1].t))
        return out

    def verified_at(self, seq: int) -> float | None:
        """When the delegate first held `seq` verified (to a few ticks; fine against 60 s).

        `verified` only moves back when a relay is caught forging, which a benchmark never
        does, so it is searched as a sorted list."""
        i = bisect.bisect_left(self.verified, seq)
        return self.samples[i].t if i < len(self.samples) else None


def steady_spans(window: Span, disturbed: Sequence[Span]) -> list[Span]:
    """`window` minus the union of `disturbed`."""
    out: list[Span] = []
    t = window[0]
    for a, b in sorted(disturbed):
        if b <= t:
            continue
        if a > t:
            out.append((t, min(a, window[1])))
        t = max(t, b)
        if t >= window[1]:
            break
    if t < window[1]:
        out.append((t, window[1]))
    return [(a, b) for a, b in out if b > a]


def outage_figures(
    tl: Timeline,
    lines: Sequence[Line],
    arrived: dict[int, int],
    profile: LinkProfile,
    kind: str,
    start: float,
    end: float,
) -> OutageFigures:
    """What catching up after the outage `start..end` cost, and what the goal allows."""
    origin_head = max((ln.seq for ln in lines if ln.origin_ms <= end * 1000), default=0)
    held = max((seq for seq, ms in arrived.items() if ms <= end * 1000), default=0)
    missed = [ln for ln in lines if held < ln.seq <= origin_head]
    missed_z = zsize("".join(ln.text + "\n" for ln in missed))
    rate = profile.down_kbps * 125.0
    goal_bytes = CATCHUP_GOAL * missed_z
    goal_s = (goal_bytes / rate if math.isfinite(rate) else 0.0) + 2 * profile.rtt_ms / 1000
    done_ms = arrived.get(origin_head) if missed else end * 1000
    if done_ms is None:
        return OutageFigures(
            kind, start, end - start, len(missed), missed_z, None, None, None, goal_s, goal_bytes
        )
    done = max(end, done_ms / 1000)
    return OutageFigures(
        kind,
        start,
        end - start,
        len(missed),
        missed_z,
        done - end,
        round(tl.bytes_at(done) - tl.bytes_at(end)),
        tl.first_up_after(end, done + 5),
        goal_s,
        goal_bytes,
    )


def figures(
    samples: Sequence[Sample],
    lines: Sequence[Line],
    arrived: dict[int, int],
    profile: LinkProfile,
    window: Span,
    submissions: Sequence[Span],
    coded: dict[int, int],
    warmup_s: float = 10.0,
    fresh_until: float = math.inf,
) -> Figures:
    """Every figure of one run; `window` is when captions flowed, `submissions` when each
    submission was queued and settled, `coded` the payload bytes of each line's frame. Wire
    bytes are set against the text only until `fresh_until`, when the text began to repeat
    (repeated text would flatter the codec, which remembers the last 16 KB)."""
    tl = Timeline(samples)
    lines = [ln for ln in lines if window[0] <= ln.origin_ms / 1000 <= window[1]]
    outs = [
        outage_figures(tl, lines, arrived, profile, *o)
        for o in tl.outages()
        if o[1] < window[1]  # outages once the captions stopped miss nothing
    ]
    cut = []  # outages and their catch-ups
    for o in outs:
        done = o.start + o.duration_s + (o.catchup_s if o.catchup_s is not None else 1e9)
        cut.append((o.start - 1.0, done + 3.0))
    subs = [(a - 1.0, b + 3.0) for a, b in submissions]
    disturbed = [(window[0], window[0] + warmup_s), *cut, *subs]
    steady = steady_spans(window, disturbed)
    fresh = steady_spans((window[0], min(window[1], fresh_until)), disturbed)
    linked = steady_spans((window[0], math.inf), cut)  # the link up and caught up
    fresh_s = sum(b - a for a, b in fresh)

    def within(t: float, spans: list[Span]) -> bool:
        return any(a <= t < b for a, b in spans)

    got = [ln for ln in lines if ln.seq in arrived]
    origin_s = {ln.seq: ln.origin_ms / 1000 for ln in got}
    lat = [arrived[ln.seq] - ln.origin_ms for ln in got]
    steady_lat = [arrived[ln.seq] - ln.origin_ms for ln in got if within(origin_s[ln.seq], steady)]
    wire = sum(tl.bytes_at(b) - tl.bytes_at(a) for a, b in fresh)
    up = sum(_up_at(tl, b) - _up_at(tl, a) for a, b in fresh)
    first_pass = [ln for ln in got if origin_s[ln.seq] < fresh_until]
    minute_ratio = _minute_ratios(first_pass, arrived, window[0])
    run_text = "".join(ln.text + "\n" for ln in first_pass)
    run_ratio = zsize(run_text) / max(1, len(run_text.encode()))
    text_a = text_b = payload = 0.0
    for ln in first_pass:
        t = arrived[ln.seq] / 1000
        if within(t, fresh):
            size = len(ln.text.encode()) + 1
            text_a += size * minute_ratio[int((t - window[0]) // 60)]
            text_b += size * run_ratio
            payload += coded.get(ln.seq, 0)
    last = samples[-1].t if samples else window[1]
    verdicts = {}
    for ln in got:
        v = tl.verified_at(ln.seq)
        if v is None and last - ln.origin_ms / 1000 < VERIFY_WITHIN_S:
            continue  # too recent to judge
        verdicts[ln.seq] = v is not None and v - ln.origin_ms / 1000 <= VERIFY_WITHIN_S
    # A line is judged in steady state when the link stayed up for the 60 s it may take.
    steady_verdicts = [
        ok
        for seq, ok in verdicts.items()
        if any(a <= origin_s[seq] and origin_s[seq] + VERIFY_WITHIN_S <= b for a, b in linked)
    ]
    per_min = 60.0 / fresh_s if fresh_s else math.nan
    return Figures(
        lines=len(lines),
        arrived=len(got),
        latency_ms=(percentile(lat, 50), percentile(lat, 95), max(lat, default=math.nan)),
        steady_p95_ms=percentile(steady_lat, 95),
        latency_goal_ms=profile.rtt_ms / 2 + LATENCY_SLACK_MS,
        steady_s=fresh_s,
        wire_per_min=wire * per_min,
        coded_per_min=payload * per_min,
        up_per_min=up * per_min,
        zstd_minute_per_min=text_a * per_min,
        zstd_run_per_min=text_b * per_min,
        verified_share=_share(list(verdicts.values())),
        judged=len(verdicts),
        steady_verified_share=_share(steady_verdicts),
        outages=tuple(outs),
    )


def _share(verdicts: list[bool]) -> float:
    return sum(verdicts) / len(verdicts) if verdicts else math.nan


def _up_at(tl: Timeline, t: float) -> float:
    i = bisect.bisect_right(tl.times, t)
    return float(tl.samples[i - 1].up) if i else 0.0


def _minute_ratios(got: Sequence[Line], arrived: dict[int, int], t0: float) -> dict[int, float]:
    """(a): per minute of the run, the compressed size of that minute's text over its size."""
    texts: dict[int, str] = {}
    for ln in got:
        k = int((arrived[ln.seq] / 1000 - t0) // 60)
        texts[k] = texts.get(k, "") + ln.text + "\n"
    return {k: zsize(text) / len(text.encode()) for k, text in texts.items()}
