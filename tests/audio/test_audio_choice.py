"""The listener's layer choice on a fake clock: probes, steps down and up, the base layer first."""

from __future__ import annotations

import subprocess
import sys

from lowband.audio.layer_choice import (
    BACKOFF_S,
    BASE_FIRST_S,
    PROBE_FIRST_S,
    Choice,
    LayerChoice,
    Outcome,
)
from lowband.audio.layers import LayerId, layer_for
from lowband.audio.live_edge import SIZE_SAMPLES, LiveEdge
from lowband.modes.ladder import UP_HOLD_S, Mode

NB6, WB16, FB28 = LayerId.NB6, LayerId.WB16, LayerId.FB28
TICK = 0.04
BUNDLE = 0.96
FIRST_PROBE = max(PROBE_FIRST_S, (SIZE_SAMPLES // 3 + 1) * BUNDLE)  # a rate hint needs bundles


class Feed:
    """Drives a LayerChoice: bundles of the followed layers arrive every 0.96 s with a given
    transit, carrying bytes at a given rate; a probed layer's backlog drains at the link rate."""

    def __init__(self, choice: LayerChoice, link_kbps: float = 40) -> None:
        self.choice = choice
        self.link_kbps = link_kbps  # what the link serialises: big bundles arrive later
        self.now = 0.0
        self.last: Choice = choice.observe(0.0, 0, 0.0)
        self.next_bundle = 0.0

    def run(
        self, seconds: float, kbps: float, transit: dict[LayerId, float] | None = None
    ) -> Choice:
        """Live bundles for `seconds`; `transit` per layer (grows each bundle when callable)."""
        end = self.now + seconds
        while self.now < end:
            self.now = round(self.now + TICK, 6)
            if self.now >= self.next_bundle:
                self.next_bundle += BUNDLE
                speech = 30 if round(self.next_bundle / BUNDLE) % 4 == 0 else 740
                for layer in self.last.follow:
                    t = (transit or {}).get(layer, 0.3) + speech / (self.link_kbps * 125)
                    self.choice.edge.arrived(layer, t, self.now, speech)
            received = int(kbps * 1000 / 8 * TICK)  # the bytes trickle in between bundles
            self.last = self.choice.observe(self.now, received, 0.0)
        return self.last

    def drain(self, layer: LayerId, seconds: float, kbps: float) -> Choice:
        """A backlog of `layer` arrives at `kbps`, bundles ever fresher, until `seconds` pass."""
        end, age = self.now + seconds, 5.0
        while self.now < end:
            self.now = round(self.now + TICK, 6)
            if round(self.now / TICK) % 10 == 0:
                age = max(0.3, age - 0.5)
                self.choice.edge.arrived(layer, age, self.now)
            self.last = self.choice.observe(self.now, int(kbps * 1000 / 8 * TICK), 0.0)
        return self.last


def test_a_fixed_layer_is_all_that_is_followed_and_played() -> None:
    feed = Feed(LayerChoice(fixed=WB16))
    choice = feed.run(40, 100)
    assert choice.follow == (WB16,) and choice.play == {WB16}
    assert feed.choice.outcomes == []


def test_auto_starts_on_the_base_layer_and_probes_the_next_when_quiet() -> None:
    feed = Feed(LayerChoice())
    assert feed.last.follow == (NB6,) and feed.last.play == {NB6}
    assert feed.last.mode is Mode.VOICE
    choice = feed.run(FIRST_PROBE + 0.5, 8)
    assert choice.follow == (NB6, WB16) and choice.play == {NB6}  # probing, not playing yet
    assert [o for _, o, _ in feed.choice.outcomes] == [Outcome.START]


def test_a_probe_that_shows_too_little_ends_and_the_next_waits_twice_as_long() -> None:
    feed = Feed(LayerChoice())
    feed.run(FIRST_PROBE + 0.1, 8)
    choice = feed.drain(WB16, 6, kbps=12)
    assert choice.follow == (NB6,) and feed.choice.outcomes[-1][1] is Outcome.SHORT
    failed_at = feed.choice.outcomes[-1][0]
    feed.run(BACKOFF_S + 1, 8)
    starts = [t for t, o, _ in feed.choice.outcomes if o is Outcome.START]
    assert starts[-1] - failed_at >= BACKOFF_S
    feed.drain(WB16, 6, kbps=12)
    feed.run(3 * BACKOFF_S, 8)
    starts = [t for t, o, _ in feed.choice.outcomes if o is Outcome.START]
    fails = [t for t, o, _ in feed.choice.outcomes if o is Outcome.SHORT]
    assert len(starts) == 3 and starts[2] - fails[1] >= 2 * BACKOFF_S


def test_a_probe_the_link_carries_climbs_after_the_ladder_hold() -> None:
    feed = Feed(LayerChoice())
    feed.run(FIRST_PROBE + 0.1, 8)
    feed.drain(WB16, 3, kbps=64)
    choice = feed.run(UP_HOLD_S - 2, 22)
    assert choice.mode is Mode.VOICE and choice.play == {NB6}  # the ladder holds 25 s
    choice = feed.run(6, 22)
    assert choice.mode is Mode.VOICE_PLUS and choice.play == {NB6, WB16}
    assert Outcome.CLIMBED in [o for _, o, _ in feed.choice.outcomes]


def test_a_listener_in_text_mode_climbs_out_by_probing() -> None:
    """Text plays nb6 but its bundles are app-limited and show nothing: only a probe of wb16
    gives the ladder a measurement, and it then climbs one mode per hold, to voice+."""
    feed = Feed(LayerChoice(start=Mode.TEXT), link_kbps=64)
    choice = feed.run(FIRST_PROBE + 0.1, 8)
    assert choice.mode is Mode.TEXT and choice.follow == (NB6, WB16)
    feed.drain(WB16, 3, kbps=64)
    choice = feed.run(2 * UP_HOLD_S + 6, 22)
    assert choice.mode is Mode.VOICE_PLUS and choice.play == {NB6, WB16}
    assert [t.after for t in feed.choice.ladder.transitions] == [Mode.VOICE, Mode.VOICE_PLUS]


def test_a_layer_falling_behind_steps_down_within_seconds() -> None:
    """Two bundles show it (late, each later than the last), two bins measure the link, and
    the ladder holds 1.5 s: about five bundles after the link fell short."""
    feed = Feed(LayerChoice(start=Mode.VOICE_PLUS))
    feed.run(3, 22)
    assert feed.last.play == {NB6, WB16}
    lag = iter(0.3 + 0.5 * i for i in range(100))
    bundles = 0
    while feed.last.mode is Mode.VOICE_PLUS and bundles < 10:
        feed.run(BUNDLE, 12, {WB16: next(lag)})
        bundles += 1
    assert feed.last.mode is Mode.VOICE and feed.last.follow == (NB6,)
    assert bundles <= 6


def test_when_the_base_layer_is_late_nothing_else_shares_the_link() -> None:
    feed = Feed(LayerChoice(start=Mode.VOICE_PLUS))
    feed.run(2, 40)
    assert feed.last.follow == (NB6, WB16)
    choice = feed.run(2, 40, {NB6: 2.0})
    assert choice.follow == (NB6,) and choice.play == {NB6}
    assert choice.mode is Mode.VOICE_PLUS  # a reflex; the ladder decides with measurements
    assert Outcome.BASE_FIRST in [o for _, o, _ in feed.choice.outcomes]
    choice = feed.run(BASE_FIRST_S + 1.5, 40)  # from the last late bundle
    assert choice.follow == (NB6, WB16) and choice.play == {NB6, WB16}


def test_a_layer_whose_backlog_is_long_is_not_taken_up() -> None:
    choice = LayerChoice()
    for i in range(400):
        last = choice.observe(i * TICK, 0, 0.0, backlog_s={WB16: 600.0, FB28: 600.0})
    assert last.follow == (NB6,)
    assert not choice.reachable(WB16) and choice.reachable(NB6)


def test_silence_while_audio_flowed_is_a_stall_and_the_base_layer_still_plays() -> None:
    choice = LayerChoice(start=Mode.VOICE_PLUS)
    last = choice.observe(0.0, 0, 0.0)
    for i in range(1, 100):
        last = choice.observe(i * TICK, 0, silent_s=i * TICK)
    assert last.mode is Mode.TEXT and last.play == {NB6} and last.follow == (NB6,)


def test_live_edge_tells_falling_from_draining_from_late() -> None:
    edge = LiveEdge()
    for i in range(5):
        edge.arrived(NB6, 0.3, i)
    edge.arrived(WB16, 0.4, 5)
    assert not (edge.late or edge.falling or edge.draining)
    edge.arrived(WB16, 1.4, 6)  # later than the one before, and well behind the freshest
    assert edge.behind(WB16) and edge.falling and not edge.draining
    edge.arrived(WB16, 1.45, 7)  # late by a steady amount: someone else's queue
    assert edge.behind(WB16) and not edge.falling
    edge.arrived(WB16, 0.9, 8)  # catching up
    assert edge.draining and edge.drains(WB16)
    edge.arrived(WB16, 0.35, 9)
    assert not (edge.late or edge.falling or edge.draining)


def test_the_layer_choice_is_sans_io() -> None:
    code = "import sys, lowband.audio.layer_choice; print(' '.join(sorted(sys.modules)))"
    code = code.replace("layer_choice", "layer_choice, lowband.audio.live_edge")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    for io in ("asyncio", "httpx", "sqlite3", "av", "starlette"):
        assert io not in loaded


def test_big_and_small_bundles_tell_the_links_rate_without_a_probe() -> None:
    for rate, probes in ((1200.0, False), (32_000.0, True)):  # hf's 9.6 and VSAT's 256 kbit/s
        choice = LayerChoice()
        for i in range(200):
            now = i * TICK
            if i % 24 == 0:
                size = 740 if (i // 24) % 3 else 30  # speech, and now and then DTX silence
                jitter = 0.03 * ((i // 24) % 4)
                choice.edge.arrived(NB6, 0.4 + size / rate + jitter, now, size)
            last = choice.observe(now, 0, 0.0)
        hint = choice.edge.rate_hint(NB6)
        assert hint is not None and 0.8 * rate < hint < 1.5 * rate
        assert (WB16 in last.follow) is probes


def test_each_mode_asks_for_its_layer_and_offline_and_text_for_none() -> None:
    assert [layer_for(m) for m in Mode] == [None, None, LayerId.NB6, LayerId.WB16, LayerId.FB28]
