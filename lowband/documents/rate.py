"""How fast a document is arriving and how long the rest will take, for a progress bar.

Owns the estimate a person reads beside a transfer: the bytes per second over the last few
seconds (a window, so a stall shows at once instead of being averaged away over the whole
transfer) and the time left at that rate. Pure: time comes in as `now` (seconds); the caller
samples it. Must not: sleep, or decide what to fetch.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 5.0


@dataclass
class RateMeter:
    """Samples of (now, bytes done) of one transfer; a resume or restart starts a new window."""

    window_s: float = WINDOW_S
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, now: float, done: int) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # the transfer started over
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def rate(self, now: float) -> float:
        """Bytes per second over the window (0 until two samples, or when nothing moves)."""
        if len(self.samples) < 2:
            return 0.0
        (t0, d0), (_, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (now - t0) if now > t0 else 0.0

    def seconds_left(self, now: float, total: int) -> float | None:
        """Time to `total` bytes at the current rate; None while the rate is not known."""
        rate = self.rate(now)
        if rate <= 0 or not self.samples:
            return None
        return max(0, total - self.samples[-1][1]) / rate
