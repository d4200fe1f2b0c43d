"""A `LinkEmulator` on its own event loop in a daemon thread, for synchronous callers.

Owns the thread, its loop, and the hand-over of calls onto that loop so that
`stats`, `begin_outage`, `end_outage` and `set_profile` are thread-safe. Must
not add behaviour of its own: everything is delegated to `LinkEmulator`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from lowband.linkem.profiles import PROFILES, LinkProfile, OutageKind
from lowband.linkem.proxy import LinkEmulator

T = TypeVar("T")
CALL_TIMEOUT_S = 30.0


class LinkEmulatorThread:
    """`with LinkEmulatorThread(...) as link:` runs the proxy until the block ends."""

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        profile: LinkProfile = PROFILES["loopback"],
        seed: int = 0,
    ) -> None:
        self.emulator = LinkEmulator(
            listen_host, listen_port, target_host, target_port, profile, seed
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._port = 0

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        """Start the thread and return once the proxy listens (or raise why it cannot)."""
        self._thread = threading.Thread(target=self._main, name="linkem", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        """Stop the proxy, closing every connection, and join the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> LinkEmulatorThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stats(self) -> dict[str, int]:
        return self._call(self.emulator.stats)

    def begin_outage(self, kind: OutageKind | str = OutageKind.SILENT) -> None:
        self._call(lambda: self.emulator.begin_outage(kind))

    def end_outage(self) -> None:
        self._call(self.emulator.end_outage)

    def set_profile(self, profile: LinkProfile) -> None:
        self._call(lambda: self.emulator.set_profile(profile))

    def _call(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or not self._ready.is_set() or self._error is not None:
            raise RuntimeError("The link emulator thread is not running.")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=CALL_TIMEOUT_S)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.emulator.start())
                self._port = self.emulator.port
            except BaseException as exc:
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.emulator.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
