"""Wakes the live exchanges of a meeting when its store moves.

Owns one generation counter per meeting and an asyncio.Event per generation:
writers call `notify(meeting)`; each live exchange waits for the generation
after the one it last served, or for its own deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class Hub:
    def __init__(self) -> None:
        self._gen: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._observers: list[Callable[[str], None]] = []

    def observe(self, observer: Callable[[str], None]) -> None:
        """Also call `observer(meeting)` whenever a meeting moves (the document prefetcher)."""
        self._observers.append(observer)

    def generation(self, meeting: str) -> int:
        return self._gen.get(meeting, 0)

    def notify(self, meeting: str) -> None:
        self._gen[meeting] = self.generation(meeting) + 1
        event = self._events.pop(meeting, None)
        if event is not None:
            event.set()
        for observer in self._observers:
            observer(meeting)

    def notify_all(self) -> None:
        for meeting in list(self._gen) + list(self._events):
            self.notify(meeting)

    async def wait(self, meeting: str, seen: int, timeout: float) -> None:
        """Return when the meeting's generation passes `seen`, or after `timeout` seconds."""
        if self.generation(meeting) != seen:
            return
        event = self._events.setdefault(meeting, asyncio.Event())
        # asyncio.timeout costs one timer; wait_for would cost a task per follower per wake.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
