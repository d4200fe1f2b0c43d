"""The jitter buffer on a fake clock: concealment, layer switches, stalls, pause and catch-up."""

from __future__ import annotations

import random
import wave
from collections.abc import Callable
from functools import cache

import pytest
from audio_support import SPEECH
from hypothesis import given, settings
from hypothesis import strategies as st

from lowband.audio.bundle import Bundle
from lowband.audio.encode import encode_raw
from lowband.audio.jitter import BUNDLE_S, JitterBuffer, Played, Source, State
from lowband.audio.layers import BUNDLE_SAMPLES, LAYERS, LayerId
from lowband.audio.playout_delay import DelayEstimator

STEP = 0.02  # the driver pulls every 20 ms


@cache
def speech(repeats: int = 1) -> dict[LayerId, list[Bundle]]:
    """The fixture through every layer; repeated, only through nb6 (to keep the tests quick)."""
    with wave.open(str(SPEECH)) as w:
        pcm = w.readframes(w.getnframes())
    layers = LAYERS.values() if repeats == 1 else [LAYERS[LayerId.NB6]]
    return encode_raw(pcm * repeats, 16_000, layers=layers)


def live(
    bundles: list[Bundle], transit: Callable[[int], float] = lambda i: 0.1
) -> list[tuple[float, Bundle]]:
    """Each bundle arrives when its last frame has been spoken, plus a transit delay."""
    return [(0.0 + (i + 1) * BUNDLE_S + transit(i), b) for i, b in enumerate(bundles)]


def drive(
    jb: JitterBuffer,
    arrivals: list[tuple[float, Bundle]],
    until: float,
    actions: dict[float, str] | None = None,
) -> list[tuple[float, Played]]:
    arrivals = sorted(arrivals, key=lambda a: a[0])
    actions = dict(actions or {})
    out: list[tuple[float, Played]] = []
    for tick in range(int(until / STEP) + 1):
        now = round(tick * STEP, 6)
        while arrivals and arrivals[0][0] <= now:
            jb.push(arrivals.pop(0)[1], now)
        if now in actions:
            getattr(jb, actions[now])(now)
        out += [(now, p) for p in jb.pull(now)]
    return out


def assert_contiguous(played: list[Played]) -> None:
    """Every media sample is accounted for exactly once: no gap, no overlap."""
    for a, b in zip(played, played[1:], strict=False):
        assert b.media_start == a.media_start + a.media_samples


def test_clean_playout_decodes_everything_in_real_time() -> None:
    bundles = speech()[LayerId.WB16]
    jb = JitterBuffer()
    out = drive(jb, live(bundles), until=12.0)
    played = [p for _, p in out]
    assert_contiguous(played)
    total = sum(b.duration_samples for b in bundles)
    assert sum(p.media_samples for p in played) == total + 2 * 2880  # two frames of PLC bridge
    assert jb.stats.decoded == sum(1 for b in bundles for p in b.packets if p)
    assert jb.stats.stalls == 1 and jb.state is State.BUFFERING  # the stream ended
    first, produced = out[0][0], 0
    for now, p in out:  # once started, output keeps pace with the clock, never runs ahead
        produced += len(p.pcm) // 2
        assert now - first - 0.06 - STEP <= produced / 48_000 <= now - first + 0.06 + STEP


def test_lost_packets_and_a_lost_bundle_are_concealed_without_a_gap() -> None:
    deep = DelayEstimator(initial=1.5, low=1.5)  # deep enough that bundle 4 comes before 3 is due
    bundles = list(speech()[LayerId.WB16])
    packets = list(bundles[1].packets)
    packets[3] = packets[4] = b""
    bundles[1] = Bundle(
        bundles[1].layer, bundles[1].frame_samples, bundles[1].first_frame, tuple(packets)
    )
    arrivals = [a for i, a in enumerate(live(bundles)) if i != 3]  # bundle 3 never comes
    clean = [p for _, p in drive(JitterBuffer(), live(speech()[LayerId.WB16]), until=12.0)]
    lossy_jb = JitterBuffer(delay=deep)
    lossy = [p for _, p in drive(lossy_jb, arrivals, until=12.0)]
    assert_contiguous(lossy)
    assert sum(len(p.pcm) for p in lossy) == sum(len(p.pcm) for p in clean)
    assert lossy_jb.stats.stalls == 1  # only the end of the stream
    concealed = {p.media_start for p in lossy if p.source is Source.CONCEALED}
    assert {BUNDLE_SAMPLES + 3 * 2880, BUNDLE_SAMPLES + 4 * 2880} <= concealed
    assert set(range(3 * BUNDLE_SAMPLES, 4 * BUNDLE_SAMPLES, 2880)) <= concealed


def test_layer_switch_at_bundle_boundaries_is_continuous() -> None:
    layers = speech()
    order = [
        LayerId.NB6,
        LayerId.NB6,
        LayerId.FB28,
        LayerId.FB28,
        LayerId.WB16,
        LayerId.NB6,
        LayerId.FB28,
    ]
    switched = [layers[layer][i] for i, layer in enumerate(order)]
    jb = JitterBuffer()
    out = drive(jb, live(switched), until=12.0)
    played = [p for _, p in out]
    assert_contiguous(played)
    sizes = {
        p.media_start // BUNDLE_SAMPLES: p.media_samples
        for p in played
        if p.source is Source.DECODED
    }
    assert [sizes[w] for w in range(7)] == [2880, 2880, 960, 960, 2880, 2880, 960]
    assert jb.stats.stalls == 1 and jb.stats.corrupt_packets == 0
    assert all(len(p.pcm) == 2 * p.media_samples for p in played)


def test_higher_layer_wins_a_window_not_yet_started() -> None:
    layers = speech()
    jb = JitterBuffer()
    assert jb.push(layers[LayerId.NB6][0], 1.0)
    assert jb.push(layers[LayerId.NB6][1], 1.0)
    assert jb.push(layers[LayerId.FB28][1], 1.1)  # window 1 has not started: fb28 replaces nb6
    played = []
    for tick in range(100):
        played += jb.pull(1.0 + tick * STEP)
    assert not jb.push(layers[LayerId.WB16][1], 3.0)  # window 1 is playing: too late
    assert {p.media_samples for p in played if p.media_start >= BUNDLE_SAMPLES} == {960}


def test_bundles_off_the_grid_or_too_old_are_refused() -> None:
    jb = JitterBuffer()
    good = speech()[LayerId.NB6][2]
    assert not jb.push(Bundle(LayerId.NB6, 2880, 1, good.packets), 0.0)  # not on the 960 ms grid
    assert jb.push(good, 0.0)
    assert not jb.push(speech()[LayerId.NB6][1], 0.0)  # before where playout starts
    assert (jb.stats.rejected_bundles, jb.stats.late_bundles) == (1, 1)


def test_target_delay_follows_the_measured_arrival_jitter() -> None:
    steady, jittery = DelayEstimator(), DelayEstimator()
    rng = random.Random(7)
    for _ in range(16):
        steady.add(0.3)
        jittery.add(0.3 + rng.uniform(0, 0.8))
    assert steady.target == pytest.approx(0.06)
    assert 0.35 < jittery.target < 0.86
    outage = DelayEstimator()
    for i in range(16):
        outage.add(0.3 if i < 8 else 0.3 + max(0.0, 10.0 - (i - 8) * 0.96))
    assert outage.target == pytest.approx(0.06)  # a 10 s outage and its backlog are not jitter
    shifted = DelayEstimator()
    for i in range(32):
        shifted.add(0.3 if i < 8 else 2.5 + 0.1 * (i % 3))
    assert shifted.target == pytest.approx(0.26)  # a lasting shift of the base delay rolls in


def test_a_late_bundle_at_the_live_edge_stalls_instead_of_losing_audio() -> None:
    arrivals = live(speech()[LayerId.WB16])
    arrivals[3] = (arrivals[3][0] + 1.0, arrivals[3][1])  # over TCP, loss is delay
    jb = JitterBuffer()
    played = [p for _, p in drive(jb, arrivals, until=14.0)]
    assert_contiguous(played)
    assert jb.stats.stalls == 2 and 0.3 < jb.stats.stall_seconds < 0.6
    assert jb.stats.concealed - jb.stats.corrupt_packets <= 2 + 2 + 20  # PLC bridges, DTX frames
    assert jb.stats.decoded == sum(1 for b in speech()[LayerId.WB16] for p in b.packets if p) - 2


def test_stall_conceals_briefly_then_rebuffers_and_measures_the_gap() -> None:
    bundles = speech(3)[LayerId.NB6]
    arrivals = live(bundles)
    late = [(max(t, 10.0) if t >= 6.0 else t, b) for t, b in arrivals]  # 4 s outage, then a burst
    jb = JitterBuffer()
    played = [p for _, p in drive(jb, late, until=40.0)]
    assert_contiguous(played)
    assert jb.stats.stalls == 2  # the outage and the end
    assert 2.5 < jb.stats.stall_seconds < 4.5
    assert jb.stats.catch_ups == 1  # the outage put playout behind the live edge


@pytest.mark.parametrize("speed", [1.25, 1.5])
def test_pause_then_catch_up_plays_the_missed_part_faster(speed: float) -> None:
    bundles = speech(8)[LayerId.NB6]  # about 48 s of speech
    jb = JitterBuffer(catch_up_speed=speed)
    out = drive(jb, live(bundles), until=60.0, actions={5.0: "pause", 15.0: "resume"})
    played = [p for _, p in out]
    assert_contiguous(played)  # nothing was skipped over: the missed part is played
    paused_at = max(p.media_start + p.media_samples for t, p in out if t <= 5.0)
    after = [(t, p) for t, p in out if t >= 15.0]
    assert after[0][1].media_start == paused_at
    fast = [(t, p) for t, p in after if p.source in (Source.STRETCHED, Source.SKIPPED)]
    assert fast and jb.stats.catch_ups == 1
    media = sum(p.media_samples for _, p in fast) / 48_000
    heard = sum(len(p.pcm) // 2 for _, p in fast) / 48_000
    assert heard < media / speed + 0.1  # faster than real time, in frame time
    stretched = [p for _, p in fast if p.source is Source.STRETCHED]
    ratio = sum(p.media_samples for p in stretched) / sum(len(p.pcm) // 2 for p in stretched)
    assert ratio == pytest.approx(speed, rel=0.02)
    done = max(t for t, _ in fast)
    assert done - 15.0 < media  # the catch-up took less time than the media it played
    assert done < len(bundles) * BUNDLE_S  # and ended while the meeting was still live
    edge = max(b.start_sample + b.duration_samples for t, b in live(bundles) if t <= done)
    position = max(p.media_start + p.media_samples for t, p in out if t <= done)
    assert (edge - position) / 48_000 <= 0.06 + 2 * BUNDLE_S  # back at the live edge


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.lists(st.binary(max_size=80), min_size=16, max_size=16),
        min_size=1,
        max_size=4,
    )
)
def test_garbage_packets_never_crash_playout(windows: list[list[bytes]]) -> None:
    bundles = [Bundle(LayerId.NB6, 2880, 16 * i, tuple(p)) for i, p in enumerate(windows)]
    jb = JitterBuffer()
    played = [p for _, p in drive(jb, live(bundles), until=1.6 + 0.96 * (len(bundles) + 1))]
    assert_contiguous(played)
    assert all(len(p.pcm) == 2 * p.media_samples for p in played)
    assert sum(p.media_samples for p in played) >= len(bundles) * BUNDLE_SAMPLES
