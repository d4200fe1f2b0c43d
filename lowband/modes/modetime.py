"""Seconds a delegate's client spends in each mode, held until a sync request delivers them.

Owns the tally only. The syncer adds each tick's seconds under the mode the ladder chose;
`take()` gives the whole seconds for the next request (`SyncRequest.mode_s`, indexed by mode:
offline, text, voice, voice+, full) and keeps the fractions; `restore()` puts them back when
that request was not delivered, so time spent offline is reported once the link is back.
The relay sums the reports per member and day for `lowband stats`.
"""

from __future__ import annotations

from lowband.protocol.wire import MAX_MODE_S, MODES


class ModeTime:
    def __init__(self) -> None:
        self._seconds = [0.0] * MODES

    def add(self, mode: int, seconds: float) -> None:
        if 0 <= mode < MODES and seconds > 0:
            self._seconds[mode] = min(self._seconds[mode] + seconds, MAX_MODE_S)

    def take(self) -> list[int]:
        """The whole seconds not yet reported (empty when there are none), now in flight."""
        whole = [int(s) for s in self._seconds]
        if not any(whole):
            return []
        self._seconds = [s - w for s, w in zip(self._seconds, whole, strict=True)]
        return whole

    def restore(self, sent: list[int]) -> None:
        """A request carrying `sent` was not delivered: report those seconds again later."""
        for mode, s in enumerate(sent[:MODES]):
            self.add(mode, s)
