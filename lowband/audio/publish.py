"""Publishing audio at the origin: encode once into every layer, one PUBLISH per bundle.

Owns: reading a source (a file PyAV opens, or raw s16le PCM on stdin), encoding it once into
the three layers (``encode.LayeredEncoder``), numbering bundle windows on the meeting's clock
(window ``w`` is the 960 ms that starts ``w * 0.96`` s after the meeting's epoch, so a restarted
publisher carries on where the last one stopped and a listener can tell how old a window is),
pacing bundles at real time when asked, signing each bundle as a PUBLISH submission of a
Kind.AUDIO event on ``audio/<channel>/<layer>``, and sending them in order, several per
exchange, until the origin holds them. Must not: decode, play, or follow any stream.

Why not the store's outbox (``delegate.submit``): the outbox suits a few submissions a minute,
not three a second. ``Node.pending`` reads every outbox row and its body on each exchange, so
the cost of an exchange would grow with the meeting; the outbox orders by ``created_ms``, and
bundles made in the same millisecond could swap; and every bundle would be stored twice at the
origin. A live feed keeps its unsent bundles in memory, in order, and resends them after a
break; the origin applies each sub_id once, so a resend after a lost ack is harmless.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import struct
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from nacl.signing import SigningKey

from lowband import http
from lowband.audio import avio
from lowband.audio.bundle import Bundle, encode_bundle
from lowband.audio.encode import LayeredEncoder
from lowband.audio.layers import BUNDLE_MS, BUNDLE_SAMPLES, stream_name
from lowband.http import LinkError, make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol import backoff
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import Kind, Publish, Rights, SubKind, Submission, has_right
from lowband.protocol.receiver import AckSeen, Effect, Receiver
from lowband.protocol.wire import MAX_SUBS, AckState, encode_body
from lowband.storage import meta
from lowband.storage.store import Store

READ_BYTES = 8192  # one read from a source; at 16 kHz mono a quarter of a second


class PublishError(Exception):
    """Publishing cannot start or go on; the message is one plain sentence."""


@dataclass
class PublishStats:
    bundles: int = 0  # bundles made (one per layer per window)
    sent: int = 0  # bundles the origin acknowledged
    refused: int = 0
    exchanges: int = 0
    retries: int = 0
    payload: dict[str, int] = field(default_factory=dict)  # Opus bytes per stream
    first_window: int | None = None
    last_error: str = ""


class _Streaming(io.RawIOBase):
    """Raw s16le PCM behind a WAV header, so PyAV resamples a pipe with one resampler."""

    def __init__(self, source: BinaryIO, rate: int, channels: int) -> None:
        fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
        self._head = b"RIFF\xff\xff\xff\xffWAVEfmt " + fmt + b"data\xff\xff\xff\xff"
        self._source = source

    def readable(self) -> bool:
        return True

    # RawIOBase.readinto takes any writable buffer; PyAV hands it a memoryview, and that is all
    # this reader supports, so the narrower parameter is deliberate.
    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        read = getattr(self._source, "read1", self._source.read)
        data = read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def pcm48_chunks(path: str, raw_rate: int = 16_000, raw_channels: int = 1) -> Iterator[bytes]:
    """48 kHz mono s16le from a file PyAV opens, or from raw s16le PCM on stdin (``-``)."""
    if path != "-":
        if not os.path.exists(path):
            raise PublishError(f"{path} does not exist.")
        return avio.iter_pcm48(path)
    stdin = sys.stdin.buffer
    if raw_rate == avio.RATE and raw_channels == 1:
        return _whole_samples(stdin)
    if raw_channels not in (1, 2) or not 8_000 <= raw_rate <= 192_000:
        raise PublishError("Raw PCM on stdin must be mono or stereo at 8 to 192 kHz.")
    return avio.iter_pcm48(io.BufferedReader(_Streaming(stdin, raw_rate, raw_channels)))


def _whole_samples(source: BinaryIO) -> Iterator[bytes]:
    """Raw 48 kHz mono as it comes, cut to whole 16-bit samples (a pipe splits anywhere)."""
    read = getattr(source, "read1", source.read)
    odd = b""
    while data := read(READ_BYTES):
        data = odd + data
        cut = len(data) - len(data) % 2
        odd = data[cut:]
        if cut:
            yield data[:cut]


class _PublisherNode(Node):
    """Sends the publisher's queue head and notes which sub_ids the origin acknowledged."""

    def __init__(
        self, store: Store, meeting: str, name: str, queue: deque[Submission], key: SigningKey
    ) -> None:
        super().__init__(store, meeting, Role.CLIENT, name, key=key)
        self.queue = queue
        self.acked: dict[bytes, tuple[int, str]] = {}

    def pending(self) -> list[Submission]:
        return [self.queue[i] for i in range(min(MAX_SUBS, len(self.queue)))]

    def asks(self) -> list[bytes]:
        return []

    def receiver(self) -> Receiver:
        """No events come back on a send-only exchange: skip rebuilding every stream's state."""
        info = self.store.meeting(self.meeting)
        assert info is not None
        return Receiver(self.meeting, info.origin_key, info.epoch_ms, [])

    def apply(self, effects: list[Effect], now_ms: int) -> None:
        for e in effects:
            if isinstance(e, AckSeen):
                self.acked[e.sub_id] = (e.state, e.reason)
        super().apply(effects, now_ms)


class Publisher:
    """One channel's publisher; ``run`` encodes, paces and sends until the source ends."""

    def __init__(
        self,
        store: Store,
        key: SigningKey,
        meeting: str,
        origin: str,
        channel: str,
        *,
        transport: http.Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        info = store.meeting(meeting)
        if info is None:
            raise PublishError(f"Meeting {meeting} is not in this home; join it first.")
        if not channel or "/" in channel:
            raise PublishError(f"{channel!r} is not a channel name (floor, en, fr, ...).")
        self.store, self.key, self.info, self.origin = store, key, info, origin
        self.channel, self.clock, self.transport = channel, clock, transport
        self.stats = PublishStats()
        self.queue: deque[Submission] = deque()
        self._name = f"publisher-{bytes(key.verify_key).hex()[:8]}-{channel}"
        self._node = _PublisherNode(store, meeting, self._name, self.queue, key)
        self._wake = asyncio.Event()
        self._done = False
        self._window = -1

    def check_rights(self) -> None:
        entry = self.store.roster_entry(self.info.id, bytes(self.key.verify_key))
        if entry is None or not has_right(entry.rights, Rights.SECRETARIAT):
            held = "is not on the roster" if entry is None else f"has {entry.rights} rights"
            raise PublishError(
                f"This home's key {held} in meeting {self.info.id}; publishing audio needs"
                " secretariat rights (publish with the origin's home, or add the key)."
            )

    def window_now(self) -> int:
        """The next window boundary on the meeting's clock."""
        return max(0, math.ceil((self.clock() * 1000 - self.info.epoch_ms) / BUNDLE_MS))

    def _submission(self, bundle: Bundle) -> Submission:
        stream = stream_name(self.channel, bundle.layer)
        body = encode_body(Publish(stream, Kind.AUDIO, encode_bundle(bundle)))
        now_ms = int(self.clock() * 1000)
        unsigned = Submission(
            os.urandom(16), self.info.id, bytes(32), SubKind.PUBLISH, body, now_ms, bytes(64)
        )
        self.stats.bundles += 1
        self.stats.payload[stream] = self.stats.payload.get(stream, 0) + bundle.payload_bytes
        return sign_submission(self.key, unsigned)

    async def run(self, chunks: Iterable[bytes], realtime: bool = False) -> PublishStats:
        """Encode ``chunks`` (48 kHz mono s16le) and publish; returns once all are sent."""
        self.check_rights()
        start = self.window_now()
        self.stats.first_window = start
        if realtime:  # start on the grid, so window w is spoken from epoch + w * 0.96 s
            await asyncio.sleep(
                max(0.0, (self.info.epoch_ms + start * BUNDLE_MS) / 1000 - self.clock())
            )
        encoder = LayeredEncoder(start_window=start)
        ca = meta.relay_ca(self.store, self.info.id) or True
        async with make_client(self.transport, verify=ca) as client:
            sender = asyncio.create_task(self._send_loop(Uplink(self._node, self.origin, client)))
            try:
                async for pcm in _threaded(chunks):
                    await self._queue(encoder.push(pcm), realtime)
                await self._queue(encoder.finish(), realtime)
                self._done = True
                self._wake.set()
                await sender
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
        return self.stats

    async def _queue(self, bundles: list[Bundle], realtime: bool) -> None:
        """Queue bundles (every layer of a window together); in real time, once spoken."""
        for bundle in bundles:
            window = bundle.start_sample // BUNDLE_SAMPLES
            if realtime and not (self.queue and self._window == window):
                end_ms = self.info.epoch_ms + (window + 1) * BUNDLE_MS
                await asyncio.sleep(max(0.0, end_ms / 1000 - self.clock()))
            self._window = window
            self.queue.append(self._submission(bundle))
        self._wake.set()

    async def _send_loop(self, uplink: Uplink) -> None:
        attempt = 0
        while not (self._done and not self.queue):
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await uplink.exchange(live=False, with_events=False)
                self.stats.exchanges += 1
                attempt = 0
            except LinkError as exc:
                self.stats.retries += 1
                self.stats.last_error = str(exc)
                await asyncio.sleep(backoff.next_delay(attempt, uplink.rng))
                attempt += 1
            self._settle()

    def _settle(self) -> None:
        """Drop what the origin acknowledged from the queue head, in order."""
        acked = self._node.acked
        while self.queue and self.queue[0].sub_id in acked:
            state, reason = acked.pop(self.queue.popleft().sub_id)
            if state == AckState.REFUSED:
                self.stats.refused += 1
                self.stats.last_error = reason
            else:
                self.stats.sent += 1


async def _threaded(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """Read a blocking source (a pipe, a decoder) in a thread, so sending goes on meanwhile."""
    it = iter(chunks)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, it, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes)
        yield chunk
