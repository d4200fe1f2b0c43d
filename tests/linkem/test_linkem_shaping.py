"""The link emulator's arithmetic, on a fake clock: rates, delays, outages, resets."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowband.linkem.profiles import PROFILES, UNLIMITED, LinkProfile, OutageKind, OutageSchedule
from lowband.linkem.shaping import (
    MTU,
    DelayLine,
    Pacer,
    bytes_per_second,
    iter_outages,
    queue_limit,
    reset_after,
    split_mtu,
)


def test_profiles_match_design_section_10() -> None:
    assert set(PROFILES) == {"hf", "edge", "vsat", "flaky3g", "loopback"}
    hf, edge, vsat, g3 = (PROFILES[n] for n in ("hf", "edge", "vsat", "flaky3g"))
    assert (hf.down_kbps, hf.up_kbps, hf.rtt_ms) == (9.6, 9.6, 800)
    assert (hf.outage_schedule, hf.outage_every_s, hf.outage_for_s) == ("periodic", 180, (20, 20))
    assert (edge.down_kbps, edge.up_kbps, edge.rtt_ms, edge.reset_rate) == (40, 20, 500, 0.02)
    assert (vsat.down_kbps, vsat.up_kbps, vsat.rtt_ms) == (256, 64, 650)
    assert not vsat.has_outages and vsat.reset_rate == 0
    assert (g3.down_kbps, g3.up_kbps, g3.rtt_ms) == (384, 128, 200)
    assert (g3.outage_schedule, g3.outage_every_s, g3.outage_for_s) == ("poisson", 90, (5, 60))


def test_with_overrides_validates_and_coerces() -> None:
    changed = PROFILES["vsat"].with_overrides(down_kbps=9.6, outage_kind="hard")
    assert changed.down_kbps == 9.6 and changed.outage_kind is OutageKind.HARD
    assert PROFILES["vsat"].down_kbps == 256
    with pytest.raises(ValueError, match="rates must be positive"):
        PROFILES["vsat"].with_overrides(up_kbps=0)
    with pytest.raises(ValueError, match="shorter than their period"):
        PROFILES["hf"].with_overrides(outage_for_s=(200, 200))


def test_hf_carries_exactly_1200_bytes_a_second() -> None:
    assert bytes_per_second(9.6) == 1200
    pacer = Pacer(9.6)
    finishes = [pacer.reserve(len(p), now=0.0) for p in split_mtu(bytes(12_000))]
    assert finishes[-1] == pytest.approx(10.0)
    assert len(finishes) == 9 and finishes[0] == pytest.approx(MTU / 1200)


def test_pacer_idles_between_bursts_and_changes_rate_at_once() -> None:
    pacer = Pacer(8)  # 1,000 B/s
    assert pacer.reserve(500, now=10.0) == pytest.approx(10.5)
    assert pacer.reserve(500, now=10.1) == pytest.approx(11.0)  # queued behind the first
    assert pacer.reserve(1000, now=20.0) == pytest.approx(21.0)  # idle link starts at once
    pacer.set_rate(80, now=21.0)
    assert pacer.reserve(1000, now=21.0) == pytest.approx(21.1)


def test_rate_change_applies_to_the_unsent_backlog() -> None:
    pacer = Pacer(8)  # 1,000 B/s
    first = pacer.reserve(1000, now=0.0)
    second, generation = pacer.reserve(1000, now=0.0), pacer.generation
    assert first == pytest.approx(1.0) and second == pytest.approx(2.0)
    pacer.set_rate(80, now=0.5)  # 500 + 1000 bytes left, now at 10,000 B/s
    assert pacer.remap(first, generation) == pytest.approx(0.55)
    assert pacer.remap(second, generation) == pytest.approx(0.65)
    assert pacer.busy_until == pytest.approx(0.65)
    pacer.set_rate(UNLIMITED, now=0.6)
    assert pacer.remap(second, generation) == pytest.approx(0.6)
    assert pacer.reserve(10**6, now=0.7) == pytest.approx(0.7)
    pacer.set_rate(8, now=1.0)
    assert pacer.reserve(1000, now=1.0) == pytest.approx(2.0)


@given(
    rates=st.lists(st.floats(1, 1000), min_size=2, max_size=10),
    nbytes=st.integers(1, 100_000),
)
def test_rate_changes_carry_every_byte_at_the_rate_in_force(
    rates: list[float], nbytes: int
) -> None:
    pacer = Pacer(rates[0])
    finish, generation = pacer.reserve(nbytes, now=0.0), pacer.generation
    sent, now = 0.0, 0.0
    for kbps in rates[1:]:
        step = min(1.0, pacer.remap(finish, generation) - now)
        if step <= 0:
            break
        sent += step * bytes_per_second(pacer.kbps)
        now += step
        pacer.set_rate(kbps, now)
    finish = pacer.remap(finish, generation)
    sent += max(0.0, finish - now) * bytes_per_second(pacer.kbps)
    assert sent == pytest.approx(nbytes, rel=1e-6)


@given(
    kbps=st.floats(1, 10_000),
    sizes=st.lists(st.integers(1, 64_000), min_size=1, max_size=30),
    gaps=st.lists(st.floats(0, 5), min_size=30, max_size=30),
)
def test_pacer_never_beats_the_rate(kbps: float, sizes: list[int], gaps: list[float]) -> None:
    pacer, now, first, total = Pacer(kbps), 0.0, None, 0
    previous = -1.0
    for size, gap in zip(sizes, gaps, strict=False):
        now += gap
        pieces = split_mtu(bytes(size))
        assert b"".join(pieces) == bytes(size) and max(map(len, pieces)) <= MTU
        for piece in pieces:
            first = now if first is None else first
            finish = pacer.reserve(len(piece), now)
            assert finish >= now + len(piece) / bytes_per_second(kbps) - 1e-9
            assert finish >= previous
            previous, total = finish, total + len(piece)
    assert first is not None
    assert total / (previous - first) <= bytes_per_second(kbps) * (1 + 1e-9)


def test_delay_is_half_the_rtt_without_jitter() -> None:
    line = DelayLine(random.Random(1))
    assert line.arrival(2.0, rtt_ms=800, jitter_ms=0) == pytest.approx(2.4)
    assert line.arrival(2.1, rtt_ms=800, jitter_ms=0) == pytest.approx(2.5)


@given(
    seed=st.integers(0, 2**32),
    rtt=st.floats(0, 2000),
    jitter=st.floats(0, 1000),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=200),
)
def test_jitter_never_reorders(seed: int, rtt: float, jitter: float, gaps: list[float]) -> None:
    line, departure, last = DelayLine(random.Random(seed)), 0.0, -1.0
    for gap in gaps:
        departure += gap
        arrival = line.arrival(departure, rtt_ms=rtt, jitter_ms=jitter)
        assert arrival >= last
        assert arrival >= departure + max(0.0, rtt / 2 - jitter) / 1000 - 1e-9
        last = arrival


def test_jitter_varies_the_delay_around_half_the_rtt() -> None:
    line = DelayLine(random.Random(7))
    delays = [line.arrival(t * 10.0, rtt_ms=500, jitter_ms=100) - t * 10.0 for t in range(2000)]
    assert min(delays) >= 0.15 and max(delays) <= 0.35
    assert statistics.mean(delays) == pytest.approx(0.25, abs=0.01)
    assert len({round(d, 6) for d in delays}) > 1000


def test_queue_limit_is_one_second_of_the_rate_but_at_least_4096() -> None:
    assert queue_limit(9.6) == 4096
    assert queue_limit(384) == 48_000
    assert queue_limit(384, override=1000) == 1000


def test_hf_outages_are_periodic() -> None:
    outages = list(itertools.islice(iter_outages(PROFILES["hf"], seed=3), 10))
    assert [o.start for o in outages] == [180.0 * k for k in range(1, 11)]
    assert all(o.end - o.start == pytest.approx(20) for o in outages)
    assert {o.kind for o in outages} == {OutageKind.SILENT}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flaky3g_outages_average_one_every_90_s(seed: int) -> None:
    outages = list(itertools.islice(iter_outages(PROFILES["flaky3g"], seed), 5000))
    starts = [o.start for o in outages]
    assert statistics.mean(b - a for a, b in itertools.pairwise(starts)) == pytest.approx(90, 0.05)
    assert all(5 <= o.end - o.start <= 60 for o in outages)
    kinds = [o.kind for o in outages]
    assert 0.4 < kinds.count(OutageKind.HARD) / len(kinds) < 0.6  # mixed: both kinds


@given(seed=st.integers(0, 2**32), every=st.floats(10, 1000), kind=st.sampled_from(OutageKind))
def test_outage_schedules_are_seeded_and_never_overlap(
    seed: int, every: float, kind: OutageKind
) -> None:
    profile = LinkProfile(
        outage_every_s=every,
        outage_for_s=(1, every / 2),
        outage_schedule=OutageSchedule.POISSON,
        outage_kind=kind,
    )
    first = list(itertools.islice(iter_outages(profile, seed), 50))
    assert first == list(itertools.islice(iter_outages(profile, seed), 50))
    assert first != list(itertools.islice(iter_outages(profile, seed + 1), 50))
    for a, b in itertools.pairwise(first):
        assert a.start < a.end <= b.start
    assert all(o.kind in (OutageKind.SILENT, OutageKind.HARD) for o in first)
    if kind is not OutageKind.MIXED:
        assert {o.kind for o in first} == {kind}


def test_no_schedule_no_outages() -> None:
    assert list(iter_outages(PROFILES["vsat"], seed=0)) == []


@given(seed=st.integers(0, 2**32), index=st.integers(0, 10**6), horizon=st.floats(0.2, 600))
def test_reset_decisions_are_deterministic(seed: int, index: int, horizon: float) -> None:
    always = LinkProfile(reset_rate=1.0, reset_horizon_s=horizon)
    at = reset_after(always, seed, index)
    assert at is not None and 0.1 <= at <= horizon
    assert reset_after(always, seed, index) == at
    assert reset_after(LinkProfile(reset_rate=0.0), seed, index) is None


def test_edge_resets_about_two_percent_of_connections() -> None:
    doomed = [reset_after(PROFILES["edge"], seed=5, index=i) for i in range(20_000)]
    share = sum(at is not None for at in doomed) / len(doomed)
    assert share == pytest.approx(0.02, abs=0.004)
