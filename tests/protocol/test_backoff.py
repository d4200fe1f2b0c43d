"""Retry pacing: exponential with jitter, and a fresh start after the link worked."""

from __future__ import annotations

import random

from lowband.protocol.backoff import CAP_S, after_failure, next_delay


def test_delays_grow_to_the_cap() -> None:
    rng = random.Random(1)
    assert next_delay(0, rng) <= 0.5
    assert all(next_delay(n, rng) <= CAP_S for n in range(40))
    assert next_delay(10, rng) >= CAP_S / 4


def test_a_link_that_worked_is_retried_at_once() -> None:
    attempt = 0
    for _ in range(6):  # a long outage: each try fails without data
        attempt = after_failure(attempt, was_online=False)
    assert attempt == 6
    assert after_failure(attempt, was_online=True) == 0  # online again, then a new break
