"""The link estimate the mode ladder reads: goodput, RTT and stall state, sans-IO.

Owns: turning the driver's reports (bytes received, RTT samples, stall and progress) into
numbers. Must not: decide modes (that is ``ladder.py``), do I/O or read a clock; ``now`` is
an argument. Imports no I/O library.
"""

from __future__ import annotations

import math


class LinkEstimator:
    """Goodput as two EWMAs over 0.5 s bins (fast for going down, slow for going up),
    smoothed RTT (RFC 6298), and stall state as the driver reports it.

    A bin whose bytes were all app-limited (the sender had nothing more to send, e.g. a live
    stream at its head) can raise the estimate but never lower it, as in BBR; an empty bin
    is no evidence either way. Any bytes end a stall.
    """

    BIN_S, FAST_TAU_S, SLOW_TAU_S = 0.5, 0.5, 4.0

    def __init__(self) -> None:
        self.fast_bps: float | None = None
        self.slow_bps: float | None = None
        self.srtt_ms: float | None = None
        self.rttvar_ms = 0.0
        self.stalled_since: float | None = None
        self._bin = -math.inf
        self._bytes = 0
        self._limited = True

    @property
    def goodput_bps(self) -> float:
        """The conservative estimate: the lower of the two averages (0 before any sample)."""
        if self.fast_bps is None or self.slow_bps is None:
            return 0.0
        return min(self.fast_bps, self.slow_bps)

    def _close_bins(self, now: float) -> None:
        current = math.floor(now / self.BIN_S)
        if current <= self._bin:
            return
        if self._bytes:
            rate = self._bytes * 8 / self.BIN_S
            for name, tau in (("fast_bps", self.FAST_TAU_S), ("slow_bps", self.SLOW_TAU_S)):
                old = getattr(self, name)
                if old is None or not self._limited or rate > old:
                    alpha = 1 - math.exp(-self.BIN_S / tau)
                    setattr(self, name, rate if old is None else old + alpha * (rate - old))
        self._bin, self._bytes, self._limited = current, 0, True

    def on_bytes(self, n: int, now: float, app_limited: bool = False) -> None:
        self._close_bins(now)
        self._bytes += max(0, n)
        self._limited = self._limited and app_limited
        if n > 0:
            self.stalled_since = None

    def on_rtt(self, ms: float, now: float) -> None:
        self._close_bins(now)
        if self.srtt_ms is None:
            self.srtt_ms, self.rttvar_ms = ms, ms / 2
        else:
            self.rttvar_ms += (abs(self.srtt_ms - ms) - self.rttvar_ms) / 4
            self.srtt_ms += (ms - self.srtt_ms) / 8

    def on_stall(self, now: float) -> None:
        self._close_bins(now)
        if self.stalled_since is None:
            self.stalled_since = now

    def on_progress(self, now: float) -> None:
        self._close_bins(now)
        self.stalled_since = None

    def stalled_for(self, now: float) -> float:
        return 0.0 if self.stalled_since is None else max(0.0, now - self.stalled_since)
