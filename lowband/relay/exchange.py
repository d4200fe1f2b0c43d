"""One open sync exchange on the wire: its ASGI response and the writes to its connection.

Owns the small per-connection state a relay keeps while an exchange is open (`Exchange`,
slotted: thousands of them stay open), the response that sends the head and then waits
for the follower to leave, and the one non-obvious trick of the fan-out: `start_send`
runs an ASGI send at once, without a task, and hands back what it waits on only when the
connection asks the writer to wait (flow control), so `finish_send` can complete that very
write on a task later. When to write and what is the fan-out's business (`fanout.py`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from lowband.protocol.serve import Follower
from lowband.protocol.wire import CONTENT_TYPE

if TYPE_CHECKING:
    from lowband.relay.fanout import Fanout

Step = Coroutine[Any, Any, None]
Suspended = tuple[Step, "asyncio.Future[Any] | None"]  # a send waiting on the connection


class Exchange:
    """What the relay holds for one open exchange: the follower's plan and its connection."""

    __slots__ = ("meeting", "live", "follower", "send", "task", "due")

    def __init__(self, meeting: str, live: bool, follower: Follower) -> None:
        self.meeting = meeting
        self.live = live
        self.follower = follower
        self.send: Send | None = None  # the connection's ASGI send, once the response starts
        self.task: asyncio.Task[None] | None = None  # set while it writes on a task of its own
        self.due = math.inf  # loop time at which a parked follower has something to say unasked


def body(data: bytes, last: bool) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": not last}


def start_send(send: Send, message: Message) -> Suspended | None:
    """Run `send(message)` now. None when it is done; else the suspended send and the future
    it waits on (the connection's write buffer is full), for `finish_send` on a task."""
    step = cast(Step, send(message))  # an ASGI send is a coroutine function
    try:
        waiting = step.send(None)
    except StopIteration:
        return None
    return step, waiting


async def finish_send(suspended: Suspended) -> None:
    """Complete a send that `start_send` left waiting, stepping it as a task would."""
    step, waiting = suspended
    try:
        while True:
            if waiting is None:
                await asyncio.sleep(0)  # a bare yield: let the loop run once
            else:
                await asyncio.wait({waiting})  # the send itself takes the outcome
            waiting = step.send(None)
    except StopIteration:
        return
    finally:
        step.close()


class ExchangeResponse(Response):
    """The streamed body of a sync exchange: the fan-out writes it; this waits for the end."""

    media_type = CONTENT_TYPE

    def __init__(
        self, fanout: Fanout, exchange: Exchange, head: bytes, on_close: Callable[[], None]
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers()
        self.fanout, self.exchange, self.head, self.on_close = fanout, exchange, head, on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        self.exchange.send = send
        self.fanout.open(self.exchange, self.head)
        try:
            # The request body is read: what comes now is the end (the follower left, or the
            # response is complete), and until then this task costs nothing.
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            self.fanout.close(self.exchange)
            self.on_close()
