"""Link shaping as pure arithmetic: pacing, delay, outage schedules, reset decisions.

Owns every number the link emulator computes: when a chunk finishes
serialising, when it arrives, when outages start and end, whether and when a
connection is reset. Must not import asyncio, sleep, read a clock or touch
sockets: time comes in as `now`/`departure` arguments and randomness from
seeded `random.Random` instances, so tests pin both.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from enum import StrEnum

from lowband.linkem.profiles import LinkProfile, OutageKind, OutageSchedule

MTU = 1400
"""Writes are cut into pieces of at most this many bytes, each paced on its own."""

MIN_QUEUE_BYTES = 4096
UNLIMITED_QUEUE_BYTES = 1 << 20
RESET_EARLIEST_S = 0.1


class Direction(StrEnum):
    DOWN = "down"  # target -> client
    UP = "up"  # client -> target


def bytes_per_second(kbps: float) -> float:
    """9.6 kbit/s carries 1,200 bytes a second."""
    return kbps * 1000.0 / 8.0


def serialisation_s(nbytes: int, kbps: float) -> float:
    """Seconds the link needs to put `nbytes` on the wire (0 on an unlimited link)."""
    return nbytes / bytes_per_second(kbps)


def split_mtu(data: bytes, mtu: int = MTU) -> list[bytes]:
    """`data` cut into pieces of at most `mtu` bytes, in order, none empty."""
    view = memoryview(data)
    return [bytes(view[i : i + mtu]) for i in range(0, len(data), mtu)]


def queue_limit(kbps: float, override: int | None = None) -> int:
    """Bytes allowed to wait for serialisation before the sender is paused."""
    if override is not None:
        return override
    if math.isinf(kbps):
        return UNLIMITED_QUEUE_BYTES
    return max(MIN_QUEUE_BYTES, int(bytes_per_second(kbps)))


def flight_limit(kbps: float, rtt_ms: float, jitter_ms: float, queue: int) -> int:
    """Bytes allowed between serialisation and delivery (one queue plus the pipe's contents)."""
    if math.isinf(kbps):
        return UNLIMITED_QUEUE_BYTES
    one_way_s = (rtt_ms / 2 + jitter_ms) / 1000.0
    return queue + MTU + int(bytes_per_second(kbps) * one_way_s)


class Pacer:
    """One direction's bottleneck: chunks serialise one after another at the current rate.

    A rate change applies at once, to the unsent part of chunks already reserved:
    holders of a finish time bring it up to date with `remap`.
    """

    def __init__(self, kbps: float) -> None:
        self.kbps = kbps
        self.busy_until = -math.inf
        self._changes: list[tuple[float, float]] = []  # (when, time stretch factor)

    @property
    def generation(self) -> int:
        """How many rate changes so far; pass it back to `remap`."""
        return len(self._changes)

    def set_rate(self, kbps: float, now: float) -> None:
        """From `now` on the link runs at `kbps`, including the backlog not yet sent."""
        factor = 1.0 if math.isinf(self.kbps) else self.kbps / kbps
        self._changes.append((now, factor))
        self.busy_until = self.remap(self.busy_until, len(self._changes) - 1)
        self.kbps = kbps

    def remap(self, finish: float, generation: int) -> float:
        """A finish time reserved at `generation`, moved by the rate changes since."""
        for at, factor in self._changes[generation:]:
            if finish > at:
                finish = at + (finish - at) * factor
        return finish

    def reserve(self, nbytes: int, now: float) -> float:
        """Queue `nbytes` behind whatever is serialising; return when its last bit is sent."""
        finish = max(now, self.busy_until) + serialisation_s(nbytes, self.kbps)
        self.busy_until = finish
        return finish


class DelayLine:
    """One-way propagation delay with jitter, in order: an arrival never precedes the last one."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.last_arrival = -math.inf

    def arrival(self, departure: float, *, rtt_ms: float, jitter_ms: float) -> float:
        """When a chunk that left at `departure` reaches the far end."""
        jitter = self._rng.uniform(-jitter_ms, jitter_ms) if jitter_ms > 0 else 0.0
        delay_s = max(0.0, rtt_ms / 2 + jitter) / 1000.0
        self.last_arrival = max(self.last_arrival, departure + delay_s)
        return self.last_arrival


@dataclasses.dataclass(frozen=True, slots=True)
class Outage:
    """One outage, in seconds from the start of the schedule; `kind` is silent or hard."""

    start: float
    end: float
    kind: OutageKind


def _draw_kind(kind: OutageKind, rng: random.Random) -> OutageKind:
    choice = rng.choice((OutageKind.SILENT, OutageKind.HARD))  # drawn always: stable sequences
    return choice if kind is OutageKind.MIXED else kind


def iter_outages(profile: LinkProfile, seed: int) -> Iterator[Outage]:
    """The profile's outages in time order, the same for the same seed; endless if any."""
    schedule, every = profile.outage_schedule, profile.outage_every_s
    if schedule is None or every is None:
        return
    rng = random.Random(f"lowband.linkem.outages:{seed}")
    lo, hi = profile.outage_for_s
    # Poisson: exponential idle gaps with mean `every - mean duration`, so that
    # starts are `every` apart on average and outages never overlap.
    gap_mean = every - (lo + hi) / 2
    t, k = 0.0, 0
    while True:
        k += 1
        if schedule is OutageSchedule.PERIODIC:
            start = k * every
        else:
            start = t + rng.expovariate(1.0 / gap_mean)
        duration = rng.uniform(lo, hi)
        kind = _draw_kind(profile.outage_kind, rng)
        t = start + duration
        yield Outage(start, t, kind)


def reset_after(profile: LinkProfile, seed: int, index: int) -> float | None:
    """Seconds into connection `index`'s life at which it is reset, or None to spare it."""
    rng = random.Random(f"lowband.linkem.reset:{seed}:{index}")
    doomed = rng.random() < profile.reset_rate
    at = rng.uniform(RESET_EARLIEST_S, profile.reset_horizon_s)
    return at if doomed else None


def jitter_rng(seed: int, index: int, direction: Direction) -> random.Random:
    """The jitter stream of one direction of connection `index`."""
    return random.Random(f"lowband.linkem.jitter:{seed}:{index}:{direction.value}")
