"""One direction of one proxied connection, and the link state all connections share.

Owns the pipeline read -> queue -> pacer -> delay line -> write, its
backpressure (the sender is not read while the queue is over its limit) and
its half-close, plus `LinkState`: profile, pacers, outage flag and byte
counters of one emulator. Must not do shaping arithmetic of its own (that is
`shaping`), open or reset sockets, or decide when outages happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque

from lowband.linkem.profiles import LinkProfile, OutageKind
from lowband.linkem.shaping import (
    MTU,
    DelayLine,
    Direction,
    Pacer,
    flight_limit,
    queue_limit,
)


class LinkState:
    """What every connection of one emulator shares: profile, pacers, outage flag, counters."""

    def __init__(self, profile: LinkProfile) -> None:
        self.profile = profile
        self.pacers = {
            Direction.DOWN: Pacer(profile.down_kbps),
            Direction.UP: Pacer(profile.up_kbps),
        }
        self.link_up = asyncio.Event()
        self.link_up.set()
        self.rate_changed = asyncio.Event()  # set and replaced on every profile change
        self.outage: OutageKind | None = None
        self.delivered = {Direction.DOWN: 0, Direction.UP: 0}
        self.resets = 0

    def set_profile(self, profile: LinkProfile, now: float) -> None:
        """Switch profile; serialisers in progress wake up and remap their finish times."""
        self.profile = profile
        self.pacers[Direction.DOWN].set_rate(profile.down_kbps, now)
        self.pacers[Direction.UP].set_rate(profile.up_kbps, now)
        self.rate_changed.set()
        self.rate_changed = asyncio.Event()

    def kbps(self, direction: Direction) -> float:
        p = self.profile
        return p.down_kbps if direction is Direction.DOWN else p.up_kbps


class Pipe:
    """One direction of one connection: reader -> queue -> pacer -> delay line -> writer."""

    def __init__(
        self,
        link: LinkState,
        direction: Direction,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        rng: random.Random,
    ) -> None:
        self._link, self._direction = link, direction
        self._source, self._sink = source, sink
        self._delay = DelayLine(rng)
        self._queue: deque[bytes] = deque()
        self._flight: deque[tuple[float, bytes]] = deque()
        self._waiting = 0  # bytes read but not yet serialised
        self._in_flight = 0  # bytes serialised but not yet delivered
        self._changed = asyncio.Condition()

    def tasks(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(c) for c in (self._read(), self._serialise(), self._deliver())]

    def _limits(self) -> tuple[int, int]:
        p, kbps = self._link.profile, self._link.kbps(self._direction)
        queue = queue_limit(kbps, p.queue_bytes)
        return queue, flight_limit(kbps, p.rtt_ms, p.jitter_ms, queue)

    async def _read(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._waiting <= self._limits()[0])
            data = await self._source.read(MTU)
            async with self._changed:
                self._queue.append(data)
                self._waiting += len(data)
                self._changed.notify_all()
            if not data:
                return

    async def _serialise(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: bool(self._queue) and self._in_flight <= self._limits()[1]
                )
                piece = self._queue.popleft()
            await self._link.link_up.wait()
            pacer = self._link.pacers[self._direction]
            finish, generation = pacer.reserve(len(piece), loop.time()), pacer.generation
            while (wait := finish - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._link.rate_changed.wait(), wait)
                finish, generation = pacer.remap(finish, generation), pacer.generation
            p = self._link.profile
            arrival = self._delay.arrival(finish, rtt_ms=p.rtt_ms, jitter_ms=p.jitter_ms)
            async with self._changed:
                self._waiting -= len(piece)
                self._in_flight += len(piece)
                self._flight.append((arrival, piece))
                self._changed.notify_all()
            if not piece:
                return

    async def _deliver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._flight))
            arrival, piece = self._flight[0]
            await asyncio.sleep(max(0.0, arrival - loop.time()))
            await self._link.link_up.wait()
            if not piece:
                if self._sink.can_write_eof():
                    self._sink.write_eof()
                return
            self._sink.write(piece)
            await self._sink.drain()
            self._link.delivered[self._direction] += len(piece)
            async with self._changed:
                self._flight.popleft()
                self._in_flight -= len(piece)
                self._changed.notify_all()
