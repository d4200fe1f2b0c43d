"""The rate and time left beside a document's progress bar: a window, fed pinned times."""

from __future__ import annotations

from lowband.documents.rate import RateMeter


def test_rate_and_time_left_follow_the_last_seconds() -> None:
    meter = RateMeter(window_s=5.0)
    assert meter.rate(0.0) == 0.0 and meter.seconds_left(0.0, 100) is None
    for t in range(11):
        meter.add(float(t), t * 1_000)  # 1 kB/s for ten seconds
    assert meter.rate(10.0) == 1_000.0
    assert meter.seconds_left(10.0, 40_000) == 30.0
    meter.add(20.0, 10_000)  # a stall of ten seconds: no bytes since t=10
    assert meter.rate(20.0) == 0.0 and meter.seconds_left(20.0, 40_000) is None  # "stalled"


def test_a_transfer_that_starts_over_starts_a_new_window() -> None:
    meter = RateMeter()
    meter.add(0.0, 0)
    meter.add(1.0, 50_000)
    meter.add(2.0, 0)  # the relay's form changed: the download restarted from byte 0
    assert meter.rate(2.0) == 0.0
    meter.add(3.0, 2_000)
    assert meter.rate(3.0) == 2_000.0
