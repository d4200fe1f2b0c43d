"""Tells the relay's parts that a meeting's store moved.

Owns one generation counter per meeting and the observers of moves: writers call
`notify(meeting)`; the fan-out (which writes to parked followers) and the document
prefetcher observe. Observers are called at once and must not wait.
"""

from __future__ import annotations

from collections.abc import Callable


class Hub:
    def __init__(self) -> None:
        self._gen: dict[str, int] = {}
        self._observers: list[Callable[[str], None]] = []

    def observe(self, observer: Callable[[str], None]) -> None:
        """Also call `observer(meeting)` whenever a meeting moves."""
        self._observers.append(observer)

    def generation(self, meeting: str) -> int:
        return self._gen.get(meeting, 0)

    def notify(self, meeting: str) -> None:
        self._gen[meeting] = self.generation(meeting) + 1
        for observer in self._observers:
            observer(meeting)

    def notify_all(self) -> None:
        for meeting in list(self._gen):
            self.notify(meeting)
