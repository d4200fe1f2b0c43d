"""The client's background threads: each runs one asyncio loop of its own until stopped.

Owns the start and stop handshake the sync, document and audio threads share: `run()` is the
thread worker's body (`asyncio.run` of the subclass's `_main`, which returns once `stopping` is
set), and `stop()`, from the UI thread, asks it to end and waits a bounded time.
"""

from __future__ import annotations

import asyncio
import threading


class LoopThread:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._done = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, wait_s: float = 5.0) -> None:
        """From the UI thread: ask the loop to end, and wait for it at most `wait_s`."""
        self._stop.set()
        self._done.wait(wait_s)

    def run(self) -> None:
        """The worker thread's body: the loop, until `stop()`."""
        try:
            asyncio.run(self._main())
        finally:
            self._done.set()

    async def _main(self) -> None:
        raise NotImplementedError
