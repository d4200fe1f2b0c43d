"""Link profiles: the named bad links of DESIGN section 10, as frozen data.

Owns the `LinkProfile` record, its validation and the `PROFILES` table.
Must not shape, schedule, sleep or touch sockets: `shaping` turns a profile
into arithmetic and `proxy` turns it into behaviour.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

UNLIMITED = math.inf
"""A rate that is never the bottleneck (the loopback profile)."""


class OutageSchedule(StrEnum):
    """When outages start."""

    PERIODIC = "periodic"  # one every `outage_every_s`, first at `outage_every_s`
    POISSON = "poisson"  # random starts, `outage_every_s` apart on average


class OutageKind(StrEnum):
    """What an outage does to connections."""

    SILENT = "silent"  # nothing forwarded either way, nothing closed
    HARD = "hard"  # open connections reset, new ones accepted and reset
    MIXED = "mixed"  # silent or hard, drawn per outage


class UnknownProfileError(ValueError):
    """A profile name that is not in `PROFILES`."""


@dataclasses.dataclass(frozen=True, slots=True)
class LinkProfile:
    """One link: rates, delay and faults. Construct it valid or not at all."""

    down_kbps: float = UNLIMITED  # target -> client
    up_kbps: float = UNLIMITED  # client -> target
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0  # each one-way delay is off by up to this much, either way
    reset_rate: float = 0.0  # share of connections reset during their life
    reset_horizon_s: float = 30.0  # resets fall uniformly in (0.1 s, this) of a connection's life
    outage_every_s: float | None = None
    outage_for_s: tuple[float, float] = (0.0, 0.0)  # (min, max) duration, drawn uniformly
    outage_schedule: OutageSchedule | None = None
    outage_kind: OutageKind = OutageKind.SILENT
    queue_bytes: int | None = None  # bottleneck queue; None: max(4096, one second of the rate)
    name: str = "custom"

    def __post_init__(self) -> None:
        # Accept plain strings from the CLI and from callers, store the enums.
        if self.outage_schedule is not None:
            object.__setattr__(self, "outage_schedule", OutageSchedule(self.outage_schedule))
        object.__setattr__(self, "outage_kind", OutageKind(self.outage_kind))
        lo, hi = self.outage_for_s
        object.__setattr__(self, "outage_for_s", (float(lo), float(hi)))
        problem = self._problem()
        if problem:
            raise ValueError(problem)

    def _problem(self) -> str | None:
        lo, hi = self.outage_for_s
        if not (self.down_kbps > 0 and self.up_kbps > 0):
            return "Link rates must be positive numbers of kbit/s."
        if not (math.isfinite(self.rtt_ms) and math.isfinite(self.jitter_ms)):
            return "RTT and jitter must be finite numbers of milliseconds."
        if self.rtt_ms < 0 or self.jitter_ms < 0:
            return "RTT and jitter cannot be negative."
        if not 0.0 <= self.reset_rate <= 1.0:
            return "The reset rate must be between 0 and 1."
        if self.reset_rate > 0 and not self.reset_horizon_s > 0.1:
            return "The reset horizon must be longer than 0.1 s."
        if not 0.0 <= lo <= hi < math.inf:
            return "Outage durations must be a range MIN-MAX with 0 <= MIN <= MAX."
        if self.queue_bytes is not None and self.queue_bytes < 1:
            return "The queue size must be at least one byte."
        if self.outage_schedule is None:
            return None
        every = self.outage_every_s
        if every is None or not 0 < every < math.inf or hi <= 0:
            return "Outages need a positive period and a positive duration."
        if self.outage_schedule is OutageSchedule.PERIODIC and hi >= every:
            return "Periodic outages must be shorter than their period."
        if self.outage_schedule is OutageSchedule.POISSON and (lo + hi) / 2 >= every:
            return "Random outages must last less, on average, than their mean period."
        return None

    @property
    def has_outages(self) -> bool:
        return self.outage_schedule is not None

    def with_overrides(self, **changes: Any) -> LinkProfile:
        """A copy with some fields replaced, validated like any profile."""
        return dataclasses.replace(self, **changes)


PROFILES: Mapping[str, LinkProfile] = MappingProxyType(
    {
        "hf": LinkProfile(
            down_kbps=9.6,
            up_kbps=9.6,
            rtt_ms=800,
            jitter_ms=50,
            outage_every_s=180,
            outage_for_s=(20, 20),
            outage_schedule=OutageSchedule.PERIODIC,
            outage_kind=OutageKind.SILENT,
            name="hf",
        ),
        "edge": LinkProfile(
            down_kbps=40, up_kbps=20, rtt_ms=500, jitter_ms=50, reset_rate=0.02, name="edge"
        ),
        "vsat": LinkProfile(down_kbps=256, up_kbps=64, rtt_ms=650, jitter_ms=20, name="vsat"),
        "flaky3g": LinkProfile(
            down_kbps=384,
            up_kbps=128,
            rtt_ms=200,
            jitter_ms=40,
            outage_every_s=90,
            outage_for_s=(5, 60),
            outage_schedule=OutageSchedule.POISSON,
            outage_kind=OutageKind.MIXED,
            name="flaky3g",
        ),
        "loopback": LinkProfile(name="loopback"),
    }
)


def get_profile(name: str) -> LinkProfile:
    """The named profile, or `UnknownProfileError` with a sentence naming the choices."""
    try:
        return PROFILES[name]
    except KeyError:
        choices = ", ".join(sorted(PROFILES))
        raise UnknownProfileError(
            f"Unknown link profile {name!r}; choose one of: {choices}."
        ) from None
