"""Feeds every open sync exchange: catch-up on a task per exchange, the live edge in one pass.

Owns the exchanges in flight and when each is written. A new exchange writes its head and
catches up on a task of its own, awaiting each write. Once caught up it is parked and has
no task at all: when its meeting moves (the hub's observer), one pass builds the meeting's
view once and writes each parked follower's frames, the shared pre-encoded event frames,
straight to its connection; a parked follower whose timer falls due (keep-alive,
heartbeat, a checkpoint held back by its cadence) is served by the same kind of pass. A
write the connection cannot take now (flow control) sends that follower back to a task of
its own until it has caught up again, so one slow link never holds up the others.

What each follower is sent is `protocol/serve.py`'s decision; this module does no I/O of its
own beyond the ASGI sends of `exchange.py`.
"""

from __future__ import annotations

import asyncio
import math

from lowband.relay.exchange import Exchange, Suspended, body, finish_send, start_send
from lowband.relay.hub import Hub
from lowband.relay.source import MeetingView, Views
from lowband.storage.store import StoreError

TIMER_SLACK_S = 0.005  # serve a timer a little early rather than arm another one


class Fanout:
    def __init__(self, hub: Hub, views: Views) -> None:
        self.hub, self.views = hub, views
        self._parked: dict[str, dict[Exchange, None]] = {}
        self._moved: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        hub.observe(self._on_move)

    def open(self, ex: Exchange, head: bytes) -> None:
        """Start an exchange: write its head, then catch it up on a task of its own."""
        ex.task = asyncio.get_running_loop().create_task(self._run(ex, head))

    def close(self, ex: Exchange) -> None:
        """The follower left or its response ended: forget it."""
        self._parked.get(ex.meeting, {}).pop(ex, None)
        if ex.task is not None:
            ex.task.cancel()
            ex.task = None

    async def _run(
        self, ex: Exchange, first: bytes | None, suspended: Suspended | None = None
    ) -> None:
        """Write until the follower has caught up, awaiting each write; then park it."""
        assert ex.send is not None
        loop = asyncio.get_running_loop()
        if suspended is not None:
            await finish_send(suspended)
        elif first is not None:
            await ex.send(body(first, False))
        while True:
            now = loop.time()
            try:
                view = self.views.get(ex.meeting, self.hub.generation(ex.meeting))
                data, last = _next(ex, view, now)
            except StoreError:
                data, last = b"", True  # end the response; the follower resumes from its cursors
            if not data and not last:
                break
            await ex.send(body(data, last))
            if last:
                return
        ex.task = None
        self._park(ex, now)

    def _park(self, ex: Exchange, now: float) -> None:
        self._parked.setdefault(ex.meeting, {})[ex] = None
        ex.due = now + ex.follower.wake_in(now)
        self._arm(ex.due)

    def _serve(self, ex: Exchange, view: MeetingView, now: float) -> None:
        """Write a parked follower's next frames without waiting, if it has any."""
        assert ex.send is not None
        try:
            data, last = _next(ex, view, now)
        except StoreError:
            data, last = b"", True  # end the response; the follower resumes from its cursors
        if data or last:
            try:
                suspended = start_send(ex.send, body(data, last))
            except Exception:  # a poison follower: drop it, never the pass or those after it
                self.close(ex)
                return
            if suspended is not None or last:
                self._parked[ex.meeting].pop(ex, None)
                if suspended is not None:
                    task = asyncio.get_running_loop().create_task(self._run(ex, None, suspended))
                    ex.task = None if last else task
                return
        ex.due = now + ex.follower.wake_in(now)
        self._arm(ex.due)

    def poke(self, meeting: str) -> None:
        """Something a parked follower may want is ready (an inline document form): look."""
        self._on_move(meeting)

    def _on_move(self, meeting: str) -> None:
        if not self._parked.get(meeting):
            return  # nobody is parked: exchanges on their own tasks look again by themselves
        if not self._moved:
            asyncio.get_running_loop().call_soon(self._flush)
        self._moved.add(meeting)

    def _flush(self) -> None:
        moved, self._moved = self._moved, set()
        now = asyncio.get_running_loop().time()
        for meeting in moved:
            try:
                view = self.views.get(meeting, self.hub.generation(meeting))
            except StoreError:
                continue  # a busy store: the parked followers are served at the next move
            for ex in list(self._parked.get(meeting, ())):
                self._serve(ex, view, now)

    def _arm(self, when: float) -> None:
        if self._timer is not None and self._timer.when() <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        soonest = math.inf
        for meeting, parked in self._parked.items():
            view = self.views.get(meeting, self.hub.generation(meeting))
            for ex in list(parked):
                if ex.due <= now + TIMER_SLACK_S:
                    self._serve(ex, view, now)
                if ex in parked:
                    soonest = min(soonest, ex.due)
        if soonest < math.inf:
            self._arm(soonest)


def _next(ex: Exchange, view: MeetingView, now: float) -> tuple[bytes, bool]:
    """The follower's next bytes, and whether they end the response."""
    follower = ex.follower
    frames = follower.pull(view, now)
    if follower.ended:
        return b"".join(frames), True
    if not ex.live and follower.caught_up(view):
        return b"".join(frames), True  # a one-off exchange ends once caught up, parked or not
    return b"".join(frames), False
