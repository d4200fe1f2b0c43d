"""Where each audio layer stands against its live edge, from how old its bundles arrive.

Owns the transit record per layer (how long after the origin took a bundle it reached the
store) and the three judgements the layer choice reads: late, falling behind, draining. Must
not: read a clock or the store; the listener passes arrival times and transits in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from lowband.audio.layers import LayerId

BEHIND_REL_S = 0.75  # this much older than the freshest any layer brought lately: late
BEHIND_ABS_S = 3.0  # this old on arrival: late, whatever came before
FLOOR_WINDOW_S = 20.0
DRAIN_S = 0.25  # a step in transit this large between bundles is the link, not its jitter
SIZE_SAMPLES = 24  # bundles whose size and transit estimate the link's rate
MIN_SIZE_SPREAD = 300  # bytes between the smallest bundle and the biggest
MIN_SERIAL_S = 0.01  # finer than that is the clock, not the link


class LiveEdge:
    """How old each bundle was when it arrived (its transit), against the freshest any layer
    brought lately. A layer is late when its bundles are well older than that; it is falling
    behind when each comes later than the one before (the link carries less than the layer),
    and draining when each comes sooner (a backlog arrives faster than it was spoken). A layer
    late by a steady amount is neither: its delay was someone else's queue."""

    def __init__(self) -> None:
        self._recent: dict[LayerId, deque[tuple[float, float]]] = {}
        self._sizes: dict[LayerId, deque[tuple[int, float]]] = {}
        self._late: set[LayerId] = set()
        self._falling: set[LayerId] = set()
        self._draining: set[LayerId] = set()

    def arrived(self, layer: LayerId, transit_s: float, now: float, size: int = 0) -> None:
        if size:
            self._sizes.setdefault(layer, deque(maxlen=SIZE_SAMPLES)).append((size, transit_s))
        recent = self._recent.setdefault(layer, deque())
        step = transit_s - recent[-1][1] if recent else 0.0
        recent.append((now, transit_s))
        while recent and recent[0][0] < now - FLOOR_WINDOW_S:
            recent.popleft()
        above = transit_s - min(t for r in self._recent.values() for _, t in r)
        late = transit_s > BEHIND_ABS_S or above > BEHIND_REL_S
        for group, member in (
            (self._late, late),
            (self._falling, late and step > DRAIN_S),
            (self._draining, step < -DRAIN_S and above > DRAIN_S),
        ):
            (group.add if member else group.discard)(layer)

    def rate_hint(self, layer: LayerId) -> float | None:
        """Bytes a second the link serialises, from how much later big bundles arrive than
        small ones (speech against DTX silence): the fastest of each size (a low quantile, so
        one lucky bundle does not count) saw no queue, so the difference of their transits is
        the difference of their sizes over the rate. None until both sizes were seen. It
        tells hf from VSAT without a probe."""
        points = list(self._sizes.get(layer, ()))
        if len(points) < SIZE_SAMPLES // 3:
            return None
        low, high = min(s for s, _ in points), max(s for s, _ in points)
        if high - low < MIN_SIZE_SPREAD:
            return None
        middle = (low + high) / 2
        small = [(s, t) for s, t in points if s <= middle]
        large = [(s, t) for s, t in points if s > middle]
        extra = _low(t for _, t in large) - _low(t for _, t in small)
        spread = sum(s for s, _ in large) / len(large) - sum(s for s, _ in small) / len(small)
        return spread / max(extra, MIN_SERIAL_S)

    def behind(self, layer: LayerId) -> bool:
        return layer in self._late

    def drains(self, layer: LayerId) -> bool:
        return layer in self._draining

    @property
    def late(self) -> bool:
        return bool(self._late)

    @property
    def falling(self) -> bool:
        """Some layer gets less than it needs: the link's rate shows in what arrives."""
        return bool(self._falling)

    @property
    def draining(self) -> bool:
        """Some layer fetches a backlog: what arrives shows at least what the link carries."""
        return bool(self._draining)

    def layers(self) -> set[LayerId]:
        return set(self._recent)

    def forget(self, layer: LayerId) -> None:
        self._recent.pop(layer, None)
        self._sizes.pop(layer, None)
        for group in (self._late, self._falling, self._draining):
            group.discard(layer)


def _low(values: Iterable[float]) -> float:
    """The lower quartile: the fast end of a sample, minus its luckiest outlier."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 4]
