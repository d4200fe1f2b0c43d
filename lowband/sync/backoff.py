"""Retry pacing as a pure function: when to try the parent again after a failure."""

from __future__ import annotations

import random

BASE_S = 0.5
CAP_S = 30.0


def next_delay(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(CAP_S, BASE_S * (2 ** min(attempt, 16)))
    return rng.uniform(0.25 * ceiling, ceiling)
