"""The mode ladder on a fake clock: down fast, up slow, pins, the budget forecast, properties."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowband.modes.ladder import RULES, UP_HOLD_S, Ladder, Mode, Transition, Trigger
from lowband.modes.link_estimate import LinkEstimator

TICK = 0.1


@dataclass(frozen=True)
class Segment:
    seconds: float
    kbps: float  # goodput delivered during the segment
    stalled: bool = False


def run(ladder: Ladder, segments: list[Segment], start: float = 0.0) -> float:
    """Feed bytes every 100 ms; the driver reports a stall when a segment starts stalled."""
    now = start
    for seg in segments:
        if seg.stalled:
            ladder.on_stall(now)
        for _ in range(round(seg.seconds / TICK)):
            now = round(now + TICK, 6)
            if seg.stalled:
                ladder.tick(now)
            else:
                ladder.on_bytes(int(seg.kbps * 1000 / 8 * TICK), now)
    return now


def moves(ladder: Ladder) -> list[tuple[Mode, Mode, Trigger]]:
    return [(t.before, t.after, t.trigger) for t in ladder.transitions]


def at(ladder: Ladder, before: Mode, after: Mode) -> float:
    return next(t.at for t in ladder.transitions if (t.before, t.after) == (before, after))


CASES = [
    # name, start mode, segments, expected (before, after, trigger) in order
    (
        "steady 40k climbs to voice+ one step at a time",
        Mode.TEXT,
        [Segment(60, 40)],
        [
            (Mode.TEXT, Mode.VOICE, Trigger.HEADROOM),
            (Mode.VOICE, Mode.VOICE_PLUS, Trigger.HEADROOM),
        ],
    ),
    (
        "20k is not 1.3x what voice+ needs",
        Mode.TEXT,
        [Segment(90, 20)],
        [(Mode.TEXT, Mode.VOICE, Trigger.HEADROOM)],
    ),
    (
        "a stall drops to text, a long one to offline, bytes bring text back",
        Mode.VOICE_PLUS,
        [Segment(10, 40), Segment(12, 0, stalled=True), Segment(5, 40)],
        [
            (Mode.VOICE_PLUS, Mode.TEXT, Trigger.STALL),
            (Mode.TEXT, Mode.OFFLINE, Trigger.LONG_STALL),
            (Mode.OFFLINE, Mode.TEXT, Trigger.LINK_BACK),
        ],
    ),
    (
        "goodput falls to 15k: voice+ steps down to voice",
        Mode.VOICE_PLUS,
        [Segment(10, 40), Segment(10, 15)],
        [(Mode.VOICE_PLUS, Mode.VOICE, Trigger.SHORT_GOODPUT)],
    ),
    (
        "goodput falls to 5k: full steps down to text at once",
        Mode.FULL,
        [Segment(10, 100), Segment(10, 5)],
        [(Mode.FULL, Mode.TEXT, Trigger.SHORT_GOODPUT)],
    ),
    (
        "a 1.5 s stall is ridden out",
        Mode.VOICE,
        [Segment(5, 20), Segment(1.5, 0, True), Segment(5, 20)],
        [],
    ),
]


@pytest.mark.parametrize(
    ("name", "start", "segments", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_ladder_table(name: str, start: Mode, segments: list[Segment], expected: list) -> None:
    ladder = Ladder(start)
    run(ladder, segments)
    assert moves(ladder) == expected


def test_steps_down_within_two_seconds_of_a_stall_or_a_goodput_drop() -> None:
    ladder = Ladder(Mode.VOICE_PLUS)
    now = run(ladder, [Segment(10, 40)])
    run(ladder, [Segment(3, 0, stalled=True)], start=now)
    assert at(ladder, Mode.VOICE_PLUS, Mode.TEXT) - now == pytest.approx(2.0, abs=TICK)
    ladder = Ladder(Mode.VOICE_PLUS)
    now = run(ladder, [Segment(10, 40)])
    run(ladder, [Segment(5, 5)], start=now)
    assert at(ladder, Mode.VOICE_PLUS, Mode.TEXT) - now <= 2.2


def test_steps_up_only_after_sustained_headroom() -> None:
    ladder = Ladder(Mode.TEXT)
    run(ladder, [Segment(60, 40)])
    first, second = (t.at for t in ladder.transitions)
    assert first >= UP_HOLD_S and second - first >= UP_HOLD_S
    ladder = Ladder(Mode.TEXT)  # a dip below 1.3x the need restarts the clock
    run(ladder, [Segment(20, 40), Segment(2, 11), Segment(30, 40)])
    assert at(ladder, Mode.TEXT, Mode.VOICE) >= 22 + UP_HOLD_S


def test_pin_holds_the_users_mode_and_unpinning_resumes_the_ladder() -> None:
    ladder = Ladder(Mode.TEXT)
    ladder.pin(Mode.VOICE, 0.0)
    now = run(ladder, [Segment(80, 200)])
    assert ladder.mode is Mode.VOICE
    assert ladder.auto_mode is Mode.FULL
    assert ladder.pin(None, now) is Mode.FULL
    ladder.pin(Mode.FULL, now)
    run(ladder, [Segment(30, 0, stalled=True)], start=now)
    assert ladder.mode is Mode.FULL and ladder.auto_mode is Mode.OFFLINE


def test_budget_forecast_caps_the_mode_and_a_spent_budget_goes_offline() -> None:
    ladder = Ladder(Mode.TEXT)
    ladder.set_budget(10_000_000, until=3600.0, now=0.0)  # an hour of voice+ is 8.6 MB, full 14.4
    now = run(ladder, [Segment(120, 100)])  # the link could carry full
    assert ladder.mode is Mode.VOICE_PLUS and ladder.budget_left() == 10_000_000 - 1_500_000
    ladder.set_budget(600_000, until=now + 3600, now=now)  # less than an hour of text: still text
    assert ladder.mode is Mode.TEXT and moves(ladder)[-1][2] is Trigger.OVER_BUDGET
    ladder.set_budget(100_000, until=now + 3600, now=now)
    now = run(ladder, [Segment(10, 200)], start=now)  # 250 kB arrive: the budget is spent
    assert ladder.mode is Mode.OFFLINE and moves(ladder)[-1][2] is Trigger.BUDGET_SPENT
    assert ladder.pin(Mode.FULL, now) is Mode.OFFLINE  # a pin cannot overspend the budget
    ladder.set_budget(None, until=0.0, now=now)
    assert ladder.mode is Mode.FULL


def test_rtt_and_goodput_estimates() -> None:
    link = LinkEstimator()
    for ms in [600, 800, 700, 650]:
        link.on_rtt(ms, 0.0)
    assert 600 < (link.srtt_ms or 0) < 700 and link.rttvar_ms > 0
    for i in range(100):
        link.on_bytes(500, i * 0.1)  # 40 kbit/s
    assert link.goodput_bps == pytest.approx(40_000, rel=0.02)
    for i in range(100, 200):
        link.on_bytes(50, i * 0.1, app_limited=True)  # a quiet live stream proves nothing
    assert link.goodput_bps == pytest.approx(40_000, rel=0.02)


def test_every_trigger_has_a_rule() -> None:
    assert {r.trigger for r in RULES} == set(Trigger)


segments = st.lists(
    st.builds(
        Segment,
        st.floats(0.5, 40).map(lambda s: round(s, 1)),
        st.sampled_from([0, 5, 12, 20, 35, 90]),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


def stalled_at(segs: list[Segment], t: float) -> bool:
    """Whether the ladder sees a stall at its evaluation at time t: reported and not yet
    ended by bytes (a 0 kbit/s segment delivers no bytes, so it does not end one)."""
    now, stalled = 0.0, False
    for seg in segs:
        if now >= t - 1e-9:
            break
        if seg.stalled:
            stalled = True
        elif seg.kbps > 0:
            stalled = False  # bytes arrive at now + TICK, before the evaluation there
        now += round(seg.seconds / TICK) * TICK
    return stalled


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(Mode)), segments)
def test_never_steps_up_while_stalled_and_never_flaps(start: Mode, segs: list[Segment]) -> None:
    ladder = Ladder(start)
    run(ladder, segs)
    ups = [t for t in ladder.transitions if t.after > t.before]
    for up in ups:
        assert not stalled_at(segs, up.at)
    last_change = -1e9
    for t in ladder.transitions:
        if t.after > t.before and t.before is not Mode.OFFLINE:
            assert t.at - last_change >= UP_HOLD_S  # hysteresis: no step up soon after any change
            assert t.after == t.before + 1
        last_change = t.at
    assert all(isinstance(t, Transition) for t in ladder.transitions)


def test_ladder_imports_no_io_library() -> None:
    code = (
        "import sys, lowband.modes.ladder\n"
        "bad = {'asyncio', 'httpx', 'av', 'sqlite3', 'sqlite_utils', 'textual', 'starlette'}\n"
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
