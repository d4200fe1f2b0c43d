"""The background sync: one thread with its own event loop and its own store.

Owns everything the client does on the network or writes to disk: it runs
the `Uplink` for the open meeting, queues the delegate's submissions (so the
UI thread never commits), feeds the link figures to the mode ladder, counts
the bytes of the day against the budget and the time in each mode (for the
relay's statistics; while the delegate listens, the audio's mode), and tells
the UI what changed with `StoreChanged` and `LinkChanged`. The UI calls only
the thread-safe methods (`submit`, `set_lang`, `pin`, `stop`) and sets
`audio_mode`; it never waits on the network.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nacl.signing import SigningKey
from textual.message import Message

from lowband import http
from lowband.client.loop_thread import LoopThread
from lowband.client.messages import LinkChanged, LinkReport, StoreChanged
from lowband.delegate.follow import record_link
from lowband.delegate.outbox import submit
from lowband.documents.inline import InlineDocs, inline_budget
from lowband.http import make_client
from lowband.modes.ladder import Ladder, Mode, mode_word
from lowband.modes.modetime import ModeTime
from lowband.node import usage
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.model import SubKind
from lowband.storage import meta
from lowband.storage.store import Store

TICK_S = 0.25
USAGE_EVERY_S = 5.0
BUDGET_SPENT = (
    "Today's data budget is spent: syncing waits until midnight; submissions stay queued."
)


class Syncer(LoopThread):
    def __init__(
        self,
        store_path: Path,
        key: SigningKey,
        meeting: str,
        node_name: str,
        lang: str,
        post: Callable[[Message], object],
        transport: http.Transport | None = None,
    ) -> None:
        super().__init__()
        self.store_path, self.key, self.meeting = store_path, key, meeting
        self.node_name, self.lang, self.post, self.transport = node_name, lang, post, transport
        self.audio_mode: Mode | None = None  # the listener's mode while the delegate listens
        self._loop: asyncio.AbstractEventLoop | None = None
        self._todo: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    # --- called from the UI thread ---------------------------------------------------

    def submit(self, kind: SubKind, body: bytes) -> None:
        """Queue a signed submission (durably, in the sync thread) and send it when possible."""
        self._later(lambda: self._submit(kind, body))

    def set_lang(self, lang: str) -> None:
        def switch() -> None:
            self.lang = lang
            self._restart = True

        self._later(switch)

    def pin(self, mode: Mode | None) -> None:
        """Hold the delegate's mode (the budget still caps it); None returns to automatic."""
        self._later(lambda: self.ladder.pin(mode, time.monotonic()))

    def _later(self, job: Callable[[], object]) -> None:
        with self._lock:
            self._todo.append(job)

    # --- the thread -------------------------------------------------------------------

    async def _main(self) -> None:
        self.store = Store(self.store_path)
        self._restart = False
        self._unsaved = 0
        try:
            self.modes = ModeTime()
            self.node = Node(
                self.store,
                self.meeting,
                Role.CLIENT,
                self.node_name,
                self.lang,
                key=self.key,
                modes=self.modes,
                inline_limit=inline_budget(None),
                inline=InlineDocs(self.store, self.meeting, self.store_path.parent),
            )
            self.ladder = Ladder(Mode.TEXT)
            usage.limit_ladder(self.store, self.ladder)
            async with make_client(self.transport) as client:
                await self._loop_until_stopped(client)
        finally:
            self._save_usage()
            self.store.close()

    async def _loop_until_stopped(self, client: http.Client) -> None:
        parent = self.store.parent(self.meeting)
        uplink = Uplink(self.node, parent or "http://127.0.0.1:9", client, on_change=self._changed)
        task: asyncio.Task[None] | None = None
        last_bytes, last_save, report = 0, time.monotonic(), LinkReport()
        last_tick = last_save
        try:
            while not self.stopping:
                self._run_jobs(uplink)
                spent = (self.ladder.budget_left() or 1) <= 0
                if task is not None and (self._restart or spent):
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    task, self._restart = None, False
                self.node.inline_limit = inline_budget(self.ladder.link.fast_bps)  # next request
                if task is None and parent and not spent:
                    self.node.lang = self.lang
                    task = asyncio.create_task(uplink.run())
                now = time.monotonic()
                mode = self.ladder.mode if self.audio_mode is None else self.audio_mode
                self.modes.add(mode, now - last_tick)
                last_tick = now
                total = uplink.state.bytes_in + uplink.state.bytes_out
                self._unsaved += total - last_bytes
                self.ladder.on_bytes(total - last_bytes, now, app_limited=True)
                last_bytes = total
                if not uplink.state.online:
                    self.ladder.on_stall(now)
                if now - last_save > USAGE_EVERY_S:
                    self._save_usage()
                    last_save = now
                fresh = self._report(uplink, parent, spent)
                if fresh != report:
                    if fresh.online != report.online:
                        record_link(self.store, self.meeting, uplink)
                    report = fresh
                    self.post(LinkChanged(report))
                await asyncio.sleep(TICK_S)
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            record_link(self.store, self.meeting, uplink)

    def _run_jobs(self, uplink: Uplink) -> None:
        with self._lock:
            jobs, self._todo = self._todo, []
        for job in jobs:
            job()
        if jobs:
            uplink.kick()

    def _submit(self, kind: SubKind, body: bytes) -> None:
        submit(self.store, self.key, self.meeting, kind, body)
        self._changed()

    def _changed(self) -> None:
        self.post(StoreChanged())

    def _save_usage(self) -> None:
        if self._unsaved > 0:
            with self.store.tx():
                meta.add_used(self.store, self._unsaved, datetime.now().astimezone().date())
            self._unsaved = 0

    def _report(self, uplink: Uplink, parent: str | None, spent: bool) -> LinkReport:
        s = uplink.state
        if not parent:
            error = "This meeting has no relay: showing what is stored."
        elif spent:
            error = BUDGET_SPENT
        else:
            error = "" if s.online else (s.last_error or "Connecting…")
        today = datetime.now().astimezone().date()
        rtt = round(s.rtt_s, 2) if s.rtt_s is not None else None
        return LinkReport(
            online=s.online and not spent,
            error=error,
            peer=self.node.peer or (parent or ""),
            rtt_s=rtt,
            goodput_bps=round(self.ladder.link.goodput_bps, -2),
            mode=mode_word(self.ladder.mode),
            pinned=self.ladder.pinned is not None,
            used_today=meta.used_on(self.store, today) + self._unsaved,
            budget=meta.daily_budget(self.store),
        )
