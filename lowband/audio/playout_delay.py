"""How long the jitter buffer holds audio back: a target delay from measured arrival delays.

Owns: the window of recent transits and the rule that turns them into a delay. Must not:
hold audio, read a clock or decide stalls and catch-up (that is ``jitter.py``).
"""

from __future__ import annotations

from collections import deque


class DelayEstimator:
    """Target delay from the spread of recent arrival delays (transit = arrival - media end).

    Clock offsets cancel in the spread; its 90th percentile drops a lone outlier. A transit
    more than ``outage`` above the window's minimum is an outage and its backlog, not jitter:
    it stays in the window (so a lasting shift of the base delay rolls in) but not in the
    spread; stalls and catch-up deal with outages instead of a permanently longer delay.
    """

    def __init__(
        self,
        window: int = 16,
        margin: float = 0.06,
        low: float = 0.06,
        high: float = 3.0,
        initial: float = 0.5,
        outage: float = 1.0,
    ) -> None:
        self._transits: deque[float] = deque(maxlen=window)
        self._margin, self._low, self._high, self._initial = margin, low, high, initial
        self._outage = outage

    def add(self, transit: float) -> None:
        self._transits.append(transit)

    @property
    def target(self) -> float:
        if len(self._transits) < 4:
            return self._initial
        base = min(self._transits)
        ordered = sorted(t for t in self._transits if t <= base + self._outage)
        spread = ordered[int(0.9 * (len(ordered) - 1))] - base
        return min(self._high, max(self._low, spread + self._margin))
