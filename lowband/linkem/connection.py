"""One proxied TCP connection from accept to close, and the socket chores around it.

Owns the handshake delay, the connection to the target, the two `Pipe`s, the
reset of both sides (SO_LINGER 0, so peers see ECONNRESET) and small socket
buffers. Must not decide when outages happen (the emulator does) or compute
shaping numbers (`shaping` does), and must not connect anywhere but the target
it is handed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from lowband.linkem.pipe import LinkState, Pipe
from lowband.linkem.shaping import MTU, Direction, jitter_rng, reset_after

SOCKET_BUFFER_BYTES = 4096  # SO_RCVBUF of the proxy's sockets (Linux doubles it)
STREAM_LIMIT = MTU  # asyncio pauses reading a socket once its reader holds twice this


def shrink_buffers(sock: socket.socket | None) -> None:
    """A small receive buffer, so a sender on a slow link feels backpressure early."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)


def reset_writer(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0, so the peer gets RST (ECONNRESET), not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def open_target(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the target with a small receive buffer set before the handshake."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        shrink_buffers(sock)
        await loop.sock_connect(sock, address)
        return await asyncio.open_connection(sock=sock, limit=STREAM_LIMIT)
    except BaseException:
        sock.close()
        raise


class Connection:
    """A client connection: one RTT of handshake, then the target and two pipes."""

    def __init__(
        self,
        link: LinkState,
        index: int,
        seed: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        target: tuple[str, int],
    ) -> None:
        self._link, self._index, self._seed = link, index, seed
        self._client_reader, self._client_writer = client
        self._target = target
        self._target_writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._finishing = False

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run())
        return self._task

    def reset(self) -> bool:
        """Reset both sides now and stop forwarding; False if it was closing anyway."""
        if self._finishing:
            return False  # both directions are done: let it close cleanly
        self.abort()
        if self._task is not None:
            self._task.cancel()
        return True

    def abort(self) -> None:
        """Reset both sockets, even of a connection that is closing cleanly."""
        for writer in (self._client_writer, self._target_writer):
            if writer is not None:
                reset_writer(writer)

    def _scheduled_reset(self) -> None:
        if self.reset():
            self._link.resets += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        after = reset_after(self._link.profile, self._seed, self._index)
        timer = None if after is None else loop.call_later(after, self._scheduled_reset)
        tasks: list[asyncio.Task[None]] = []
        try:
            # The SYN and SYN-ACK cross the link before any data can.
            await self._link.link_up.wait()
            await asyncio.sleep(self._link.profile.rtt_ms / 1000.0)
            await self._link.link_up.wait()
            target_reader, self._target_writer = await open_target(*self._target)
            for direction, source, sink in (
                (Direction.UP, self._client_reader, self._target_writer),
                (Direction.DOWN, target_reader, self._client_writer),
            ):
                rng = jitter_rng(self._seed, self._index, direction)
                tasks += Pipe(self._link, direction, source, sink, rng).tasks()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if any(not t.cancelled() and t.exception() is not None for t in done):
                self.abort()  # one side failed: pass the failure on as a reset
        except OSError:
            self.abort()  # target unreachable: the client sees a reset
        finally:
            self._finishing = True
            if timer is not None:
                timer.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for writer in (self._client_writer, self._target_writer):
                if writer is not None:
                    await close_writer(writer)
