"""A listener's exchanges with its relay: one for the meeting and the base layer, one per extra
audio layer.

Owns: ``AudioNode`` (a client ``Node`` that asks for exactly the audio streams given, and notes
the relay's clock from its Hello), the ``Uplink`` tasks behind it (restarted if one dies of
something other than the link), the shared httpx client, and the counters the layer choice
reads: bytes in since the last look, when the last byte came, the round trip. Must not decide
layers, read bundles or play anything.

Why a connection per extra layer rather than one exchange for everything: a change of what an
exchange follows means a new request, so the base layer would pause for a round trip or two on
every probe and every step; and on its own connection the backlog of a probed layer shares the
link with the base layer packet by packet instead of queueing ahead of it in one response.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType

from lowband import http
from lowband.audio.layers import LayerId, stream_name
from lowband.http import make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.model import Submission
from lowband.protocol.receiver import Effect, PeerHello
from lowband.storage.store import Store

RESTART_S = 1.0  # after an exchange died of an unexpected error
SKEW_MS = 2000  # a smaller clock difference is the Hello's own delay, not a wrong clock


class AudioNode(Node):
    """A delegate's node that follows the given audio streams; ``base`` adds the meeting's own
    streams (captions, floor, ...) and sends the outbox, as ``lowband follow`` does."""

    def __init__(
        self, store: Store, meeting: str, name: str, lang: str, streams: set[str], base: bool
    ) -> None:
        super().__init__(store, meeting, Role.CLIENT, name, lang, audio=set(streams))
        self.base = base
        self.clock_offset_ms = 0  # the relay's clock minus ours, from its Hello

    def wants(self) -> list[str]:
        return super().wants() if self.base else sorted(self.audio)

    def pending(self) -> list[Submission]:
        return super().pending() if self.base else []

    def asks(self) -> list[bytes]:
        return super().asks() if self.base else []

    def apply(self, effects: list[Effect], now_ms: int) -> None:
        for e in effects:
            if isinstance(e, PeerHello):
                self.clock_offset_ms = e.now_ms - now_ms
        super().apply(effects, now_ms)


@dataclass
class _Link:
    uplink: Uplink
    task: asyncio.Task[None]
    counted: int = 0


@dataclass
class AudioLinks:
    """``follow(layers)``: the first layer rides with the meeting's streams, each other layer
    on its own exchange. Use as ``async with``."""

    store: Store
    meeting: str
    parent: str
    name: str
    channel: str
    lang: str = "en"
    transport: http.Transport | None = None
    meeting_streams: bool = True  # False: another exchange (the TUI's) carries the meeting
    on_change: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._client: http.Client | None = None
        self._links: dict[LayerId, _Link] = {}
        self._base: LayerId | None = None
        self._stopping: list[asyncio.Task[None]] = []
        self._uncounted = 0
        self._closed_bytes = 0  # both ways, on exchanges already stopped
        self.last_rx = 0.0

    async def __aenter__(self) -> AudioLinks:
        self._client = make_client(self.transport)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for layer in list(self._links):
            self._stop(layer)
        await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def follow(self, layers: tuple[LayerId, ...]) -> None:
        """Open, keep or close exchanges so that exactly ``layers`` are followed."""
        for layer in [x for x in self._links if x not in layers]:
            self._stop(layer)
        for i, layer in enumerate(layers):
            if layer not in self._links:
                self._start(layer, base=i == 0)

    def _start(self, layer: LayerId, base: bool) -> None:
        assert self._client is not None
        streams = {stream_name(self.channel, layer)}
        carries = base and self.meeting_streams
        node = AudioNode(self.store, self.meeting, self.name, self.lang, streams, carries)
        uplink = Uplink(node, self.parent, self._client, on_change=self.on_change.set)
        task = asyncio.get_running_loop().create_task(self._run(uplink))
        self._links[layer] = _Link(uplink, task)
        if base:
            self._base = layer

    def _stop(self, layer: LayerId) -> None:
        link = self._links.pop(layer)
        self._uncounted += link.uplink.state.bytes_in - link.counted
        self._closed_bytes += link.uplink.state.bytes_in + link.uplink.state.bytes_out
        link.task.cancel()
        self._stopping = [t for t in self._stopping if not t.done()] + [link.task]
        if self._base == layer:
            self._base = None

    async def _run(self, uplink: Uplink) -> None:
        while True:
            try:
                await uplink.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store error, or another process writing the same
                self.errors.append(f"{type(exc).__name__}: {exc}")  # stream: reopen from the store
                await asyncio.sleep(RESTART_S)

    def take_received(self) -> int:
        """Bytes received on every exchange since the last call."""
        total, self._uncounted = self._uncounted, 0
        for link in self._links.values():
            total += link.uplink.state.bytes_in - link.counted
            link.counted = link.uplink.state.bytes_in
            self.last_rx = max(self.last_rx, link.uplink.state.last_rx)
        return total

    @property
    def bytes_total(self) -> int:
        """Bytes both ways on every exchange so far: what the day's data budget counts."""
        states = [link.uplink.state for link in self._links.values()]
        return self._closed_bytes + sum(s.bytes_in + s.bytes_out for s in states)

    def _main(self) -> Uplink | None:
        link = self._links.get(self._base) if self._base is not None else None
        return link.uplink if link is not None else None

    @property
    def rtt_ms(self) -> float | None:
        main = self._main()
        return None if main is None or main.state.rtt_s is None else main.state.rtt_s * 1000

    @property
    def clock_offset_ms(self) -> int:
        """The relay's clock minus ours, when they differ by more than a Hello's delay."""
        main = self._main()
        offset = int(getattr(main.node, "clock_offset_ms", 0)) if main is not None else 0
        return offset if abs(offset) > SKEW_MS else 0

    @property
    def online(self) -> bool:
        main = self._main()
        return main is not None and main.state.online

    @property
    def peer(self) -> str:
        main = self._main()
        return main.node.peer if main is not None else ""
