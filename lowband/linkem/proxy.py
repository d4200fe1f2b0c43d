"""The link emulator: an asyncio TCP proxy that makes loopback behave like a bad link.

Owns the listening socket, the set of live connections, the outage state and
its schedule, runtime control (`begin_outage`, `end_outage`, `set_profile`)
and the counters. Must not connect anywhere but the target it was given, and
binds wherever it is told (127.0.0.1 in every default and test). Shaping
numbers come from `shaping`; the per-connection pipeline lives in
`connection` and `pipe`.
"""

from __future__ import annotations

import asyncio
import random
import socket
from types import TracebackType

from lowband.linkem.connection import (
    STREAM_LIMIT,
    Connection,
    close_writer,
    reset_writer,
    shrink_buffers,
)
from lowband.linkem.pipe import LinkState
from lowband.linkem.profiles import PROFILES, LinkProfile, OutageKind
from lowband.linkem.shaping import Direction, iter_outages

STOP_GRACE_S = 1.0
_SCHEDULE_FIELDS = ("outage_every_s", "outage_for_s", "outage_schedule", "outage_kind")


class LinkEmulator:
    """Forward `listen_host:listen_port` to `target_host:target_port` through `profile`."""

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        profile: LinkProfile = PROFILES["loopback"],
        seed: int = 0,
    ) -> None:
        self._listen = (listen_host, listen_port)
        self._target = (target_host, target_port)
        self._profile, self._seed = profile, seed
        self._rng = random.Random(f"lowband.linkem.manual:{seed}")
        self._link: LinkState | None = None
        self._server: asyncio.Server | None = None
        self._live: dict[Connection, asyncio.Task[None]] = {}
        self._schedule: asyncio.Task[None] | None = None
        self._scheduled_outage = False
        self._connections = 0
        self._outages = 0

    @property
    def port(self) -> int:
        """The port listened on, the real one when asked for port 0."""
        if self._server is None:
            raise RuntimeError("The link emulator is not started.")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def profile(self) -> LinkProfile:
        return self._profile

    @property
    def outage(self) -> OutageKind | None:
        """The kind of the outage in progress, or None while the link is up."""
        return None if self._link is None else self._link.outage

    async def start(self) -> None:
        self._link = LinkState(self._profile)
        host, port = self._listen
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            shrink_buffers(sock)  # accepted sockets inherit it
            sock.bind(address)
            self._server = await asyncio.start_server(self._accept, sock=sock, limit=STREAM_LIMIT)
        except BaseException:
            sock.close()
            raise
        self._restart_schedule()

    async def stop(self) -> None:
        if self._schedule is not None:
            self._schedule.cancel()
            await asyncio.gather(self._schedule, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for connection in list(self._live):
            connection.reset()
        if self._live:  # connections closing cleanly get a moment, then a reset
            await asyncio.wait(list(self._live.values()), timeout=STOP_GRACE_S)
        for connection in list(self._live):
            connection.abort()
        await asyncio.gather(*self._live.values(), return_exceptions=True)

    async def __aenter__(self) -> LinkEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> dict[str, int]:
        """Counters so far: bytes delivered each way, connections, resets, outages."""
        link = self._link
        return {
            "bytes_down": 0 if link is None else link.delivered[Direction.DOWN],
            "bytes_up": 0 if link is None else link.delivered[Direction.UP],
            "connections": self._connections,
            "open_connections": len(self._live),
            "resets": 0 if link is None else link.resets,
            "outages": self._outages,
        }

    def begin_outage(self, kind: OutageKind | str = OutageKind.SILENT) -> None:
        """Cut the link: silent holds every byte, hard also resets every connection."""
        link = self._started()
        kind = OutageKind(kind)
        if kind is OutageKind.MIXED:
            kind = self._rng.choice((OutageKind.SILENT, OutageKind.HARD))
        if link.outage is None:
            self._outages += 1
        link.outage = kind
        link.link_up.clear()
        if kind is OutageKind.HARD:
            for connection in list(self._live):
                link.resets += connection.reset()

    def end_outage(self) -> None:
        """Bring the link back; held bytes flow again at the link rate."""
        link = self._started()
        link.outage = None
        link.link_up.set()

    def set_profile(self, profile: LinkProfile) -> None:
        """Switch profile now: rates apply at once, even to chunks being serialised; delays
        to the next chunk; a changed outage schedule restarts from now."""
        link = self._started()
        old, self._profile = self._profile, profile
        link.set_profile(profile, asyncio.get_running_loop().time())
        if any(getattr(old, f) != getattr(profile, f) for f in _SCHEDULE_FIELDS):
            self._restart_schedule()

    def _started(self) -> LinkState:
        if self._link is None:
            raise RuntimeError("The link emulator is not started.")
        return self._link

    def _restart_schedule(self) -> None:
        if self._schedule is not None:
            self._schedule.cancel()
            if self._scheduled_outage:
                self.end_outage()
        self._scheduled_outage = False
        if self._profile.has_outages:
            self._schedule = asyncio.create_task(self._follow_schedule(self._profile))

    async def _follow_schedule(self, profile: LinkProfile) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for outage in iter_outages(profile, self._seed):
            await asyncio.sleep(max(0.0, t0 + outage.start - loop.time()))
            self._scheduled_outage = True
            self.begin_outage(outage.kind)
            await asyncio.sleep(max(0.0, t0 + outage.end - loop.time()))
            self._scheduled_outage = False
            self.end_outage()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = self._started()
        index, self._connections = self._connections, self._connections + 1
        shrink_buffers(writer.get_extra_info("socket"))
        if link.outage is OutageKind.HARD:
            link.resets += 1
            reset_writer(writer)
            await close_writer(writer)
            return
        connection = Connection(link, index, self._seed, (reader, writer), self._target)
        task = connection.start()
        self._live[connection] = task
        task.add_done_callback(lambda _: self._live.pop(connection, None))
