"""The document transfers a delegate asked for, run one at a time in a thread of their own.

Owns the queue behind the documents screen's `g` key: which documents are wanted, the one being
fetched, and what the screen shows of each while it travels (queued, holding for submissions,
bytes done of total with the rate and time left, the sentence of a break or a failure). It
fetches through `documents/fetch.py`, the code path of `lowband docs get`, with its own store
connection, so the transfer resumes from the partial file, waits while submissions are queued,
and verifies the SHA-256 before any file appears. The current agenda item's documents go
first. The UI calls only the thread-safe `want`, `snapshot` and `stop`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from textual.message import Message

from lowband import http
from lowband.client.loop_thread import LoopThread
from lowband.client.messages import DocsChanged
from lowband.documents import fetch
from lowband.documents import index as documents
from lowband.documents.rate import RateMeter
from lowband.documents.transfer import Progress
from lowband.http import LinkError
from lowband.node.home import Home
from lowband.storage.store import Store

TICK_S = 0.1
POST_EVERY_S = 0.1


class Stage(Enum):
    QUEUED = "queued"
    HOLDING = "holding"  # submissions are still to be sent; they go first
    FETCHING = "fetching"
    FAILED = "failed"


@dataclass(frozen=True)
class Live:
    """A wanted document as its transfer stands (bytes are of the encoded form on the wire)."""

    stage: Stage
    done: int = 0
    total: int = 0
    rate: float = 0.0  # bytes per second
    seconds_left: float | None = None
    sentence: str = ""  # the latest break ("resuming") or the failure, in one plain sentence


class DocFetcher(LoopThread):
    def __init__(
        self,
        home: Home,
        meeting: str,
        post: Callable[[Message], object],
        transport: http.Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.home, self.meeting, self.post = home, meeting, post
        self.transport, self.clock = transport, clock
        self._live: dict[str, Live] = {}
        self._lock = threading.Lock()
        self._posted = 0.0

    # --- called from the UI thread ---------------------------------------------------

    def want(self, doc_id: str) -> bool:
        """Queue the newest revision of `doc_id`; False if it is queued or travelling already."""
        with self._lock:
            now = self._live.get(doc_id)
            if now is not None and now.stage is not Stage.FAILED:
                return False
            self._live[doc_id] = Live(Stage.QUEUED)
        self.post(DocsChanged())
        return True

    def snapshot(self) -> dict[str, Live]:
        with self._lock:
            return dict(self._live)

    # --- the thread -------------------------------------------------------------------

    async def _main(self) -> None:
        with Store(self.home.store_path) as store:
            while not self.stopping:
                doc_id = self._next(store)
                if doc_id is None:
                    await asyncio.sleep(TICK_S)
                    continue
                task = asyncio.create_task(self._fetch(store, doc_id))
                while not task.done():
                    if self.stopping:
                        task.cancel()  # the partial file stays: the next fetch resumes it
                    await asyncio.wait({task}, timeout=TICK_S)
                if not task.cancelled():
                    task.result()

    def _next(self, store: Store) -> str | None:
        """The queued document to fetch next: the current agenda item's first."""
        queued = {d for d, live in self.snapshot().items() if live.stage is Stage.QUEUED}
        if not queued:
            return None
        all_entries = documents.entries(store, self.meeting)
        newest = [e for d, e in documents.latest(all_entries).items() if d in queued]
        order = documents.fetch_order(newest, documents.current_item(all_entries))
        return order[0].doc.doc_id if order else min(queued)

    async def _fetch(self, store: Store, doc_id: str) -> None:
        meter = RateMeter()

        def progress(_: documents.Entry, p: Progress) -> None:
            now = self.clock()
            meter.add(now, p.done)
            stage = Stage.HOLDING if p.holding else Stage.FETCHING
            rate, left = meter.rate(now), meter.seconds_left(now, p.total)
            self._set(doc_id, Live(stage, p.done, p.total, rate, left))

        def report(sentence: str) -> None:
            self._update(doc_id, sentence)

        self._set(doc_id, Live(Stage.FETCHING), force=True)
        try:
            await fetch.get(
                store,
                self.home.root,
                self.meeting,
                doc_id=doc_id,
                report=report,
                progress=progress,
                transport=self.transport,
            )
        except (ValueError, LinkError, OSError) as exc:
            failed = str(exc) or f"The transfer of {doc_id} failed ({type(exc).__name__})."
            self._update(doc_id, failed, Stage.FAILED)
        else:
            with self._lock:
                self._live.pop(doc_id, None)
        self.post(DocsChanged())

    def _set(self, doc_id: str, live: Live, force: bool = False) -> None:
        """Record `live`; tell the UI at once of a new stage, else at most every POST_EVERY_S."""
        with self._lock:
            before = self._live.get(doc_id)
            self._live[doc_id] = live
        now = self.clock()
        moved = before is None or before.stage is not live.stage or live.done == live.total
        if force or moved or now - self._posted >= POST_EVERY_S:
            self._posted = now
            self.post(DocsChanged())

    def _update(self, doc_id: str, sentence: str, stage: Stage | None = None) -> None:
        with self._lock:
            live = self._live.get(doc_id, Live(Stage.FETCHING))
        self._set(doc_id, replace(live, stage=stage or live.stage, sentence=sentence), force=True)
