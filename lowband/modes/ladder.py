"""The mode ladder: offline, text, voice, voice+ or full, from the link estimate.

Owns: every rule that moves the mode (STYLE rule 5: all of them live in ``RULES`` below), the
user's pin, and the daily data budget and its forecast. Which audio layer a mode asks for is
``audio/layers.py``'s to say: this module knows nothing of audio.
Must not: do I/O or read a clock (``now``, seconds on one monotonic clock, is an argument),
nor import asyncio, httpx, av, sqlite or textual. The numbers come from ``link_estimate.py``.

Down fast, up slow: a stall of 2 s drops to text, 10 s to offline; goodput below the mode's
need for 1.5 s drops to the highest mode it carries; one step up needs 25 s in a row at 1.3x
the next mode's need, and every change restarts that clock, so the ladder cannot flap faster.
Offline returns to text as soon as bytes flow: captions come first and text costs little.
A pin fixes the mode but not past the budget; a budget that is spent means offline.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from lowband.modes.link_estimate import LinkEstimator


class Mode(enum.IntEnum):
    OFFLINE = 0
    TEXT = 1
    VOICE = 2
    VOICE_PLUS = 3
    FULL = 4


def mode_word(mode: Mode) -> str:
    """The name a user reads and types: offline, text, voice, voice+ or full."""
    return mode.name.lower().replace("_plus", "+")


def mode_by_word(word: str) -> Mode:
    for mode in Mode:
        if mode_word(mode) == word:
            return mode
    raise ValueError(f"{word!r} is not a mode: use text, voice, voice+ or full.")


NEED_BPS = {
    Mode.OFFLINE: 0,
    Mode.TEXT: 0,
    Mode.VOICE: 10_000,
    Mode.VOICE_PLUS: 24_000,
    Mode.FULL: 64_000,
}
# What a mode spends in a day's forecast: audio layer + framing + captions, documents excluded.
USE_BPS = {
    Mode.OFFLINE: 0,
    Mode.TEXT: 1_500,
    Mode.VOICE: 8_000,
    Mode.VOICE_PLUS: 19_000,
    Mode.FULL: 32_000,
}
HEADROOM = 1.3
UP_HOLD_S = 25.0


class Trigger(enum.Enum):
    BUDGET_SPENT = "budget spent"
    LONG_STALL = "stalled 10 s"
    STALL = "stalled 2 s"
    OVER_BUDGET = "forecast over budget"
    SHORT_GOODPUT = "goodput below need"
    LINK_BACK = "bytes flow again"
    HEADROOM = "sustained headroom"


class Target(enum.Enum):
    OFFLINE = "offline"
    TEXT = "text"
    FIT_BUDGET = "highest mode the budget forecast allows"
    FIT_GOODPUT = "highest mode the goodput carries"
    ONE_UP = "one mode up"


@dataclass(frozen=True, slots=True)
class Rule:
    trigger: Trigger
    modes: frozenset[Mode]  # the modes it moves out of
    hold_s: float  # how long the condition must hold without a break
    target: Target


_ABOVE_TEXT = frozenset({Mode.VOICE, Mode.VOICE_PLUS, Mode.FULL})
_ONLINE = frozenset(Mode) - {Mode.OFFLINE}
RULES: tuple[Rule, ...] = (  # first match wins
    Rule(Trigger.BUDGET_SPENT, _ONLINE, 0.0, Target.OFFLINE),
    Rule(Trigger.LONG_STALL, _ONLINE, 10.0, Target.OFFLINE),
    Rule(Trigger.STALL, _ABOVE_TEXT, 2.0, Target.TEXT),
    Rule(Trigger.OVER_BUDGET, _ABOVE_TEXT, 0.0, Target.FIT_BUDGET),
    Rule(Trigger.SHORT_GOODPUT, _ABOVE_TEXT, 1.5, Target.FIT_GOODPUT),
    Rule(Trigger.LINK_BACK, frozenset({Mode.OFFLINE}), 0.0, Target.TEXT),
    Rule(Trigger.HEADROOM, frozenset(Mode) - {Mode.OFFLINE, Mode.FULL}, UP_HOLD_S, Target.ONE_UP),
)


@dataclass(frozen=True, slots=True)
class Transition:
    at: float
    before: Mode
    after: Mode
    trigger: Trigger


class Ladder:
    def __init__(self, start: Mode = Mode.TEXT, link: LinkEstimator | None = None) -> None:
        self.link = link or LinkEstimator()
        self.auto_mode = start
        self.pinned: Mode | None = None
        self.mode = start  # what to use now: the automatic mode, or the pin within the budget
        self.transitions: deque[Transition] = deque(maxlen=256)
        self._since: dict[Trigger, float] = {}
        self._limit: int | None = None
        self._until = 0.0
        self._used = 0

    def on_bytes(self, n: int, now: float, app_limited: bool = False) -> Mode:
        self.link.on_bytes(n, now, app_limited)
        self._used += max(0, n)
        return self.tick(now)

    def on_rtt(self, ms: float, now: float) -> Mode:
        self.link.on_rtt(ms, now)
        return self.tick(now)

    def on_stall(self, now: float) -> Mode:
        self.link.on_stall(now)
        return self.tick(now)

    def on_progress(self, now: float) -> Mode:
        self.link.on_progress(now)
        return self.tick(now)

    def pin(self, mode: Mode | None, now: float) -> Mode:
        """Hold the user's mode (still capped by the budget); None returns to automatic."""
        self.pinned = mode
        return self.tick(now)

    def set_budget(self, limit_bytes: int | None, until: float, now: float) -> Mode:
        """Allow ``limit_bytes`` from now until ``until`` (the day's or the session's end)."""
        self._limit, self._until, self._used = limit_bytes, until, 0
        return self.tick(now)

    def budget_left(self) -> int | None:
        return None if self._limit is None else self._limit - self._used

    def _budget_cap(self, now: float) -> Mode:
        left = self.budget_left()
        if left is None:
            return Mode.FULL
        if left <= 0:
            return Mode.OFFLINE
        seconds = max(0.0, self._until - now)
        fits = [m for m in Mode if m >= Mode.TEXT and USE_BPS[m] / 8 * seconds <= left]
        return max(fits, default=Mode.TEXT)

    def _conditions(self, now: float) -> set[Trigger]:
        mode, goodput, cap = self.auto_mode, self.link.goodput_bps, self._budget_cap(now)
        stalled = self.link.stalled_since is not None
        held: set[Trigger] = set()
        if cap is Mode.OFFLINE:
            held.add(Trigger.BUDGET_SPENT)
        elif cap < mode:
            held.add(Trigger.OVER_BUDGET)
        if stalled:
            held |= {Trigger.STALL, Trigger.LONG_STALL}
        elif mode is Mode.OFFLINE and cap is not Mode.OFFLINE:
            held.add(Trigger.LINK_BACK)
        if self.link.fast_bps is not None and goodput < NEED_BPS[mode]:
            held.add(Trigger.SHORT_GOODPUT)
        if not stalled and Mode.TEXT <= mode < Mode.FULL:
            up = Mode(mode + 1)
            if goodput >= HEADROOM * NEED_BPS[up] and cap >= up:
                held.add(Trigger.HEADROOM)
        return held

    def _target(self, target: Target, now: float) -> Mode:
        if target is Target.OFFLINE:
            return Mode.OFFLINE
        if target is Target.TEXT:
            return Mode.TEXT
        if target is Target.FIT_BUDGET:
            return Mode(min(self.auto_mode, self._budget_cap(now)))
        if target is Target.FIT_GOODPUT:
            fits = [m for m in Mode if m >= Mode.TEXT and NEED_BPS[m] <= self.link.goodput_bps]
            return Mode(min(self.auto_mode, max(fits)))
        return Mode(self.auto_mode + 1)

    def _held_since(self, trigger: Trigger, now: float) -> float:
        if trigger in (Trigger.STALL, Trigger.LONG_STALL) and self.link.stalled_since is not None:
            return self.link.stalled_since
        return self._since.get(trigger, now)

    def tick(self, now: float) -> Mode:
        """Re-evaluate the rules at ``now`` (call it at least once a second); the mode to use."""
        held = self._conditions(now)
        self._since = {t: self._held_since(t, now) for t in held}
        for rule in RULES:
            if rule.trigger not in held or self.auto_mode not in rule.modes:
                continue
            if now - self._since[rule.trigger] < rule.hold_s:
                continue
            after = self._target(rule.target, now)
            if after != self.auto_mode:
                self.transitions.append(Transition(now, self.auto_mode, after, rule.trigger))
                self.auto_mode = after
                self._since = {}  # every hold starts again in the new mode: no quick flaps
            break
        cap = self._budget_cap(now)
        self.mode = self.auto_mode if self.pinned is None else Mode(min(self.pinned, cap))
        return self.mode
