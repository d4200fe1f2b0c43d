"""The fan-out's writes: an ASGI send runs at once, or waits on a task without losing a byte."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from lowband.relay.exchange import body, finish_send, start_send


class Connection:
    """An ASGI send with uvicorn's flow control: it waits while the write buffer is full."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.wire: list[bytes] = []

    async def send(self, message: Message) -> None:
        await self.writable.wait()
        self.wire.append(message["body"])


async def test_a_writable_connection_takes_the_write_at_once() -> None:
    conn = Connection()
    assert start_send(conn.send, body(b"frame", False)) is None
    assert conn.wire == [b"frame"]


async def test_a_full_connection_gets_the_same_write_once_it_drains() -> None:
    conn = Connection()
    conn.writable.clear()
    suspended = start_send(conn.send, body(b"frame", False))
    assert suspended is not None and conn.wire == []
    task = asyncio.get_running_loop().create_task(finish_send(suspended))
    await asyncio.sleep(0)
    assert conn.wire == []
    conn.writable.set()
    await task
    assert conn.wire == [b"frame"]


async def test_a_follower_that_leaves_while_waiting_gets_nothing() -> None:
    conn = Connection()
    conn.writable.clear()
    suspended = start_send(conn.send, body(b"frame", True))
    assert suspended is not None
    task = asyncio.get_running_loop().create_task(finish_send(suspended))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    conn.writable.set()
    await asyncio.sleep(0)
    assert conn.wire == []
