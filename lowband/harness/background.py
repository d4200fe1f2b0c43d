"""A loop on a daemon thread of its own, started and stopped by the harness's watchers and
actors (the link probe, the benchmark's and the soak's simulated delegates)."""

from __future__ import annotations

import threading


class Background:
    """Subclasses write `_run`, which loops until `self._stop` is set."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        raise NotImplementedError
