"""The one thin HTTP loop around the sans-IO core: keeps a node in sync with its parent.

Owns the HTTP side of the exchange and nothing else: it posts the request a
`Node` builds, feeds response bytes to the frame reader and the receiver,
hands each chunk's effects to the node (which commits them) before reading
on, and retries with backoff across any break, resuming from the cursors in
the store. A second, short exchange carries submissions made while the live
one is open. Every byte goes through `lowband/http.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lowband import http
from lowband.http import LinkError
from lowband.protocol import backoff
from lowband.protocol.crypto import request_token
from lowband.protocol.receiver import Effect, FetchHistory, Receiver
from lowband.protocol.wire import (
    AUTH_HEADER,
    CONTENT_TYPE,
    RELAY_HEADER,
    FrameReader,
    ProtocolError,
    encode_request,
    history_path,
)

if TYPE_CHECKING:
    from lowband.node.node import Node

# A delegate's client asks for a stream's checkpoint at most every 45 s: each costs a 64-byte
# signature, as much as a caption line on the wire, and 45 s still verifies every line within a
# minute (the origin signs within 1.5 s). scripts/bench_captions.py shows the trade.
CHECKPOINT_EVERY_S = 45


@dataclass
class LinkState:
    online: bool = False
    last_error: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    rtt_s: float | None = None
    last_rx: float = 0.0


class _Misaddressed(LinkError):
    """The relay refused a token made out to another name, and said its own."""


class Uplink:
    """Keeps `node` in sync with the relay at `parent`."""

    def __init__(
        self,
        node: Node,
        parent: str,
        client: http.Client,
        *,
        checkpoint_every: int = CHECKPOINT_EVERY_S,
        on_change: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.node = node
        self.base = parent.rstrip("/")
        self.url = self.base + "/v1/sync"
        self.client = client
        self.checkpoint_every = checkpoint_every
        self.on_change = on_change or (lambda: None)
        self.rng = rng or random.Random()
        self.state = LinkState()
        self._kick = asyncio.Event()
        self._live: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Something was queued: send it now rather than at the next poll."""
        self._kick.set()

    def restart(self) -> None:
        """What the node wants changed: end the live exchange; `run` reopens it at once."""
        if self._live is not None:
            self._live.cancel()

    async def exchange(self, live: bool, with_events: bool = True) -> None:
        """One exchange: send the request, apply everything the response carries. A relay that
        refused a token made out to another name is asked once more, by the name it gave."""
        try:
            await self._exchange(live, with_events)
        except _Misaddressed:
            await self._exchange(live, with_events)

    async def _exchange(self, live: bool, with_events: bool) -> None:
        req = self.node.request(live, with_events, self.checkpoint_every)
        body = encode_request(req)
        started = time.monotonic()
        headers = {"content-type": CONTENT_TYPE}
        delivered = False
        try:
            async with http.stream(
                self.client, "POST", self.url, content=body, headers=headers
            ) as resp:
                self.state.bytes_out += len(body)
                if resp.status_code != 200:
                    text = await http.body_text(resp)
                    if self.node.learn_relay(resp.headers.get(RELAY_HEADER, "")):
                        raise _Misaddressed(text)
                    raise LinkError(text or f"The relay answered HTTP {resp.status_code}.")
                delivered = True
                await self._consume(resp, started)
        except ProtocolError as exc:
            raise LinkError(f"The relay broke the protocol: {exc}") from None
        finally:
            if not delivered:
                self.node.undelivered(req)

    async def _consume(self, resp: http.Response, started: float) -> None:
        reader = FrameReader()
        receiver = self.node.receiver()
        async for chunk in resp.aiter_raw():
            now = time.monotonic()
            if self.state.rtt_s is None or not self.state.online:
                self.state.rtt_s = now - started
            self.state.online = True
            self.state.last_rx = now
            self.state.bytes_in += len(chunk)
            effects: list[Effect] = []
            for frame in reader.feed(chunk):
                for effect in receiver.on_frame(frame):
                    if isinstance(effect, FetchHistory):
                        self._apply(effects)
                        effects = []
                        await self._fetch_history(receiver, effect)
                    else:
                        effects.append(effect)
            self._apply(effects)
            if receiver.broken:
                raise LinkError(receiver.broken)
        if reader.pending:
            raise LinkError("The response ended in the middle of a frame.")

    def _apply(self, effects: list[Effect]) -> None:
        if effects:
            self.node.apply(effects, int(time.time() * 1000))
            self.on_change()

    async def _fetch_history(self, receiver: Receiver, ref: FetchHistory) -> None:
        """Closed blocks come by plain GET, so any HTTP cache on the way can serve them."""
        for block in range(ref.first, ref.last + 1):
            url = self.base + history_path(self.node.meeting, ref.no, block)
            resp = await http.get(self.client, url, self._token())
            if resp.status_code != 200:
                raise LinkError(f"History block {block} is not available: HTTP {resp.status_code}.")
            self.state.bytes_in += len(resp.content)
            reader = FrameReader()
            effects = [e for frame in reader.feed(resp.content) for e in receiver.on_frame(frame)]
            if reader.pending or receiver.broken:
                raise LinkError(receiver.broken or "A history block ended mid-frame.")
            self._apply(effects)

    def _token(self) -> dict[str, str]:
        """The header that lets a relay requiring tokens serve a plain GET of this meeting."""
        node = self.node
        if node.key is None:
            return {}
        now = int(time.time() * 1000)
        token = request_token(node.key, node.meeting, node.name, now, node.audience())
        return {AUTH_HEADER: token}

    async def run(self) -> None:
        """Follow live forever; a second task sends what is queued meanwhile."""
        sender = asyncio.create_task(self._send_loop())
        try:
            attempt = 0
            while True:
                self._live = asyncio.create_task(self.exchange(live=True))
                try:
                    await self._live
                    attempt = 0
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # run() itself is being cancelled
                    attempt = 0  # restart(): reopen with the new wants
                except LinkError as exc:
                    attempt = backoff.after_failure(attempt, was_online=self.state.online)
                    self._offline(str(exc))
                    await asyncio.sleep(backoff.next_delay(attempt, self.rng))
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send_loop(self) -> None:
        attempt = 0
        while True:
            if self.node.pending():
                try:
                    await self.exchange(live=False, with_events=False)
                    attempt = 0
                    self.on_change()
                except LinkError as exc:
                    self._offline(str(exc))
                    await asyncio.sleep(backoff.next_delay(attempt, self.rng))
                    attempt += 1
                    continue
            self._kick.clear()
            # Other processes (`lowband say`) queue into the store: look again every second.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), 1.0)

    def _offline(self, reason: str) -> None:
        self.state.online = False
        self.state.last_error = reason
        self.on_change()
