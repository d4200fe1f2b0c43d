"""Retry pacing as a pure function: when to try the parent again after a failure."""

from __future__ import annotations

import random

BASE_S = 0.5
CAP_S = 30.0


def next_delay(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(CAP_S, BASE_S * (2 ** min(attempt, 16)))
    return rng.uniform(0.25 * ceiling, ceiling)


def after_failure(attempt: int, was_online: bool) -> int:
    """The attempt number for the next try. A link that carried data before it broke starts
    over, so a new outage is retried within half a second instead of inheriting the long
    delays of an old one."""
    return 0 if was_online else attempt + 1
