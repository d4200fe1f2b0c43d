"""Which audio layers a listener follows and plays: the mode ladder fed from the link, and probes.

Owns: what the listener tells the ladder (bytes a 0.5 s bin at a time, marked app-limited or
not from ``live_edge.LiveEdge``; silence as a stall; RTT), the probe state machine
(``PROBE_RULES``, first match wins), and the layers to follow and to play. Must not: do I/O,
read a clock or touch the store; ``now`` (monotonic seconds) is an argument, so tests pin it.

Decisions, and why:

* The base layer nb6 is followed in every mode and plays whenever nothing better came in
  time. The core serves a stream from the follower's cursor, never from its live edge, so a
  layer taken up again first brings its whole backlog since it was dropped: a step down onto
  a layer that is not already flowing could not be quick. nb6 flowing underneath costs
  6 kbit/s more in voice+ and full and makes every step down gapless.
* Text and offline still play nb6: the listener asked for audio, and the relay sends captions
  before audio. (The ladder puts hf's 9.6 kbit/s in text, since voice needs 10 kbit/s; nb6
  and captions need about 7.)
* Live audio is app-limited: a bundle a second shows nothing about the link, and the ladder
  lets such bins only raise its estimate. To step up, the listener probes: it follows the next
  layer up on its own connection (the base layer's exchange is never restarted); its backlog
  comes at the link's rate and shows what the link carries. If the ladder climbs within
  its holds (``_patience``) the probed layer is already live and plays from the next window; if the
  link shows too little, or the base layer falls behind, the probe ends and the next one
  waits twice as long (20 s, up to 320 s). A layer whose backlog would take more than
  ``MAX_FETCH_S`` to fetch is not taken up at all (a listener who joins late stays on nb6).
* A bin lowers the estimate only when a layer was falling behind through all of it, and not
  within ``SETTLE_S`` of dropping a layer (its bytes in flight still cross the link but are
  never counted); bins in which a backlog drained, or audio was live, may only raise it.
* When the base layer comes late, every other layer pauses at once for ``BASE_FIRST_S`` (twice
  as long each time it recurs within a minute) and only nb6 plays: on a link that just fell,
  their bytes would queue ahead of nb6's. The ladder, which needs seconds of measurement,
  decides afterwards whether the step down stays.
* Silence on every connection for ``STALL_AFTER_S`` while audio flowed is a stall (a bundle
  comes every 0.96 s); the ladder steps down after its own 2 s.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from lowband.audio.layers import LAYERS, MODE_LAYER, LayerId
from lowband.audio.live_edge import LiveEdge
from lowband.modes.ladder import HEADROOM, NEED_BPS, UP_HOLD_S, Ladder, Mode
from lowband.modes.link_estimate import LinkEstimator

BASE_FIRST_S = 5.0  # other layers wait this long after the base layer was last late; twice
BASE_FIRST_MAX_S, BASE_FIRST_CALM_S = 40.0, 60.0  # as long each time it recurs within a minute
STALL_AFTER_S = 1.5
SETTLE_S = 2.0  # after a layer is dropped, its bytes in flight still take the link, uncounted
PROBE_FIRST_S = 5.0  # after the start or a step up, before the next probe
PROBE_BLIND_S = 20.0  # with no rate hint from the base layer, the first probe waits this long
PROBE_MIN_S = 4.0  # the least evidence before a probe may fail
PROBE_SLACK_S = 8.0  # beyond the ladder's holds, before a probe gives up waiting
MAX_FETCH_S = 10.0  # the longest a layer's backlog may take to fetch before it goes live
MIN_RATE_BPS = 9_600.0  # assumed when the link has not been measured yet
BACKOFF_S, BACKOFF_MAX_S = 20.0, 320.0


@dataclass(frozen=True, slots=True)
class Choice:
    follow: tuple[LayerId, ...]  # first the base connection's layer, then one per extra layer
    play: frozenset[LayerId]
    mode: Mode


class ProbeState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"


class Outcome(enum.Enum):
    START = "start"
    CLIMBED = "the ladder climbed"
    FELL = "the ladder fell or the link stalled"
    CROWDED = "the base layer fell behind"
    SHORT = "the link showed too little"
    TIMEOUT = "the ladder did not climb in time"
    BASE_FIRST = "the base layer came late: other layers paused"


@dataclass(slots=True)
class Probe:
    state: ProbeState = ProbeState.IDLE
    layer: LayerId | None = None
    target: Mode = Mode.VOICE_PLUS
    source: Mode = Mode.VOICE  # the mode it started from
    started: float = 0.0
    next_at: dict[LayerId, float] = field(default_factory=dict)  # per layer probed
    backoff: dict[LayerId, float] = field(default_factory=dict)

    def due(self, layer: LayerId, now: float) -> bool:
        return now >= self.next_at.get(layer, 0.0)

    def wait(self, layer: LayerId, now: float, seconds: float, failed: bool) -> None:
        self.next_at[layer] = now + seconds
        if failed:
            self.backoff[layer] = min(BACKOFF_MAX_S, 2 * self.backoff.get(layer, BACKOFF_S))
        else:
            self.backoff.pop(layer, None)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules read, computed once per tick."""

    now: float
    mode: Mode
    stalled: bool
    busy: bool  # some followed layer is behind its live edge
    base_behind: bool  # the base layer is: the link does not carry a probe as well
    fast_bps: float
    next_layer: LayerId | None  # the layer a probe would follow now, if its backlog allows
    hint_bps: float | None  # the base layer's passive estimate of the link's rate
    started: float  # when the listener started


def _can_start(p: Probe, f: Facts) -> bool:
    quiet = not (f.stalled or f.busy)
    layer = f.next_layer
    if layer is None or f.mode < Mode.TEXT or not p.due(layer, f.now) or not quiet:
        return False
    # A link the base layer already shows too slow is not worth the base layer's delay; with
    # no hint yet (all bundles the same size), wait a while for one.
    if f.hint_bps is None:
        return f.now - f.started >= PROBE_BLIND_S
    return f.hint_bps >= HEADROOM * NEED_BPS[_target(layer)]


def _patience(p: Probe) -> float:
    """The ladder climbs one mode per ``UP_HOLD_S`` at best: from text to voice+ is two."""
    return (p.target - p.source) * UP_HOLD_S + PROBE_SLACK_S


def _short(p: Probe, f: Facts) -> bool:
    return f.now - p.started >= PROBE_MIN_S and f.fast_bps < HEADROOM * NEED_BPS[p.target]


PROBE_RULES: tuple[tuple[ProbeState, Callable[[Probe, Facts], bool], Outcome], ...] = (
    (ProbeState.IDLE, _can_start, Outcome.START),
    (ProbeState.RUNNING, lambda p, f: f.mode >= p.target, Outcome.CLIMBED),
    (ProbeState.RUNNING, lambda p, f: f.stalled or f.mode < p.source, Outcome.FELL),
    (ProbeState.RUNNING, lambda p, f: f.base_behind, Outcome.CROWDED),
    (ProbeState.RUNNING, _short, Outcome.SHORT),
    (ProbeState.RUNNING, lambda p, f: f.now - p.started >= _patience(p), Outcome.TIMEOUT),
)


def _mode_layer(mode: Mode) -> LayerId:
    return MODE_LAYER.get(mode, LayerId.NB6)


def _target(layer: LayerId) -> Mode:
    return next(m for m in Mode if MODE_LAYER.get(m) == layer)


class LayerChoice:
    """Auto (``fixed=None``): the ladder and probes decide; fixed: always that one layer."""

    def __init__(
        self, fixed: LayerId | None = None, ladder: Ladder | None = None, start: Mode = Mode.VOICE
    ) -> None:
        self.fixed = fixed
        self.ladder = ladder or Ladder(start)
        self.edge = LiveEdge()
        self.probe = Probe()
        self.outcomes: list[tuple[float, Outcome, LayerId | None]] = []
        self._rtt_ms: float | None = None
        self._started: float | None = None
        self._follow_now: tuple[LayerId, ...] = (fixed or LayerId.NB6,)
        self._backlog_s: dict[LayerId, float] = {}
        self._bin, self._bin_bytes = 0, 0
        self._bin_falling, self._bin_draining = False, False
        self._base_first_until = float("-inf")
        self._base_first_s = BASE_FIRST_S
        self._settle_until = float("-inf")
        self._now = 0.0

    @property
    def _base_first(self) -> bool:
        return self._now < self._base_first_until

    def observe(
        self,
        now: float,
        received: int,
        silent_s: float,
        rtt_ms: float | None = None,
        backlog_s: dict[LayerId, float] | None = None,
    ) -> Choice:
        """One tick: ``received`` bytes since the last tick on every connection; ``silent_s``
        since the last byte while audio flowed (0 when it never did); ``backlog_s``, per layer
        not followed, the seconds of audio taking it up would fetch before its live edge."""
        self._now = now
        before = self.ladder.mode  # on_bytes and on_stall may move the ladder too
        if self._started is None:
            self._started = now
            for layer in LayerId:
                self.probe.wait(layer, now, PROBE_FIRST_S, failed=False)
        started = self._started
        self._backlog_s = backlog_s or {}
        busy = self.edge.late
        self._feed(now, received)
        stalled = silent_s >= STALL_AFTER_S
        if stalled:
            self.ladder.on_stall(now - silent_s)
        if rtt_ms is not None and rtt_ms != self._rtt_ms:
            self._rtt_ms = rtt_ms
            self.ladder.on_rtt(rtt_ms, now)
        mode = self.ladder.tick(now)
        if mode < before:  # after a step down, try the layer it left again soon (the link
            # may have dipped only for a moment); failures back off from there
            self.probe.wait(self._play_layer(before), now, PROBE_FIRST_S, failed=False)
        if self.fixed is None:
            fast = self.ladder.link.fast_bps or 0.0
            base_behind = self.edge.behind(LayerId.NB6)
            if base_behind:
                if not self._base_first and len(self._follow_now) > 1:
                    self.outcomes.append((now, Outcome.BASE_FIRST, None))
                    again = now - self._base_first_until < BASE_FIRST_CALM_S
                    self._base_first_s = (
                        min(BASE_FIRST_MAX_S, 2 * self._base_first_s) if again else BASE_FIRST_S
                    )
                self._base_first_until = now + self._base_first_s
            hint = self.edge.rate_hint(LayerId.NB6)
            hint_bps = None if hint is None else 8 * hint
            nxt = self._next_layer(mode)
            facts = Facts(now, mode, stalled, busy, base_behind, fast, nxt, hint_bps, started)
            self._step_probe(facts)
        follow = self._follow(mode)
        if len(follow) < len(self._follow_now):
            self._settle_until = now + SETTLE_S
        self._follow_now = follow
        for layer in self.edge.layers() - set(follow):
            self.edge.forget(layer)
        return Choice(follow, self._play(mode), mode)

    def _feed(self, now: float, received: int) -> None:
        """Bytes go to the ladder a bin at a time (the estimator's 0.5 s bins). A bin lowers the
        estimate only if some layer was falling behind through all of it; a bin in which a
        backlog drained shows at least the link's rate, so it may only raise it (and be the
        first measurement); live bins may only raise it, and only once the link was measured."""
        current = math.floor(now / LinkEstimator.BIN_S)
        if current != self._bin:
            measured = self.ladder.link.fast_bps is not None
            if self._bin_bytes and (self._bin_falling or self._bin_draining or measured):
                self.ladder.on_bytes(self._bin_bytes, now, app_limited=not self._bin_falling)
            self._bin, self._bin_bytes = current, 0
            self._bin_falling, self._bin_draining = True, False
        self._bin_bytes += received
        settled = now >= self._settle_until  # a closed exchange's bytes still crossed the link
        self._bin_falling = self._bin_falling and self.edge.falling and settled
        self._bin_draining = self._bin_draining or self.edge.draining
        if received:
            self.ladder.on_progress(now)  # bytes flow: no stall, whatever the bin will say
        self.ladder.on_bytes(0, now, app_limited=True)  # closes the estimator's bins

    def reachable(self, layer: LayerId) -> bool:
        """Followed already, or its backlog fetches in ``MAX_FETCH_S`` at the link's rate (the
        estimate, or the base layer's hint if higher): the core serves a stream from the
        follower's cursor, never from its live edge."""
        if layer is LayerId.NB6 or layer in self._follow_now:
            return True
        hint = self.edge.rate_hint(LayerId.NB6)
        rate = max(self.ladder.link.fast_bps or 0.0, 8 * hint if hint else 0.0, MIN_RATE_BPS)
        fetch_s = self._backlog_s.get(layer, 0.0) * LAYERS[layer].bitrate / rate
        return fetch_s <= MAX_FETCH_S

    def _next_layer(self, mode: Mode) -> LayerId | None:
        """The layer of the lowest mode above ``mode`` that plays something better."""
        now = self._play_layer(mode)
        for m in Mode:
            layer = MODE_LAYER.get(m)
            if m > mode and layer is not None and layer > now:
                return layer if self.reachable(layer) else None
        return None

    def _play_layer(self, mode: Mode) -> LayerId:
        layer = _mode_layer(mode)
        while not self.reachable(layer):
            layer = LayerId(layer - 1)
        return layer

    def _step_probe(self, f: Facts) -> None:
        p = self.probe
        for state, holds, outcome in PROBE_RULES:
            if p.state is not state or not holds(p, f):
                continue
            self.outcomes.append((f.now, outcome, f.next_layer if p.layer is None else p.layer))
            if outcome is Outcome.START:
                assert f.next_layer is not None
                p.state, p.layer, p.started = ProbeState.RUNNING, f.next_layer, f.now
                p.target, p.source = _target(f.next_layer), f.mode
                return
            assert p.layer is not None
            if outcome is Outcome.CLIMBED:
                p.wait(p.layer, f.now, PROBE_FIRST_S, failed=False)
            else:
                p.wait(p.layer, f.now, p.backoff.get(p.layer, BACKOFF_S), failed=True)
            p.state, p.layer = ProbeState.IDLE, None
            return

    def _follow(self, mode: Mode) -> tuple[LayerId, ...]:
        if self.fixed is not None:
            return (self.fixed,)
        out = [LayerId.NB6]
        if self._base_first:  # the base layer is late: nothing else shares the link for now
            return tuple(out)
        for layer in (self._play_layer(mode), self.probe.layer):
            if layer is not None and layer not in out:
                out.append(layer)
        return tuple(out)

    def _play(self, mode: Mode) -> frozenset[LayerId]:
        """The layers that play: nb6 and the mode's layer, as far as they are followed."""
        if self.fixed is not None:
            return frozenset({self.fixed})
        return frozenset({LayerId.NB6, self._play_layer(mode)} & set(self._follow_now))
