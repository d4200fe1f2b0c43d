"""The listener behind ``lowband listen``: audio from the local store to a sink, kept in sync.

Owns the loop: every tick it reads the audio events of the followed layers that reached the
store, notes how old each was when it came (``LayerChoice.edge``; the relay's clock from its
Hello corrects ours), pushes the bundles of the layers that play into the jitter buffer
(beginning at the live edge), asks the layer choice what to follow and reconnects accordingly
(``links.py``), and writes what is due to the sink and the play log. ``pause()`` and
``resume()`` may be called from any thread. Must not: decode Opus (``jitter.py``), decide layers
(``layer_choice.py``) or speak the sync protocol (the core's ``Uplink`` does).

Layers switch only at window boundaries (the jitter buffer binds a window to the best bundle
held when the window starts), and in auto nb6 keeps flowing underneath, so a switch leaves no
gap. The jitter buffer holds at least ``MIN_DELAY_S`` (a fixed layer) or ``AUTO_DELAY_S``: when
the link falls, bundles of the layer being dropped are still queued ahead of nb6's, and on a
16 kbit/s link each 1400-byte segment ahead of a bundle delays it 0.7 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

from lowband import http
from lowband.audio.bundle import Bundle, BundleError, decode_bundle
from lowband.audio.jitter import JitterBuffer, Source, State
from lowband.audio.layer_choice import Choice, LayerChoice
from lowband.audio.layers import BUNDLE_MS, BUNDLE_SAMPLES, LayerId, stream_name
from lowband.audio.links import AudioLinks
from lowband.audio.playback import Sink
from lowband.audio.playlog import PlayLog
from lowband.audio.playout_delay import DelayEstimator
from lowband.modes.ladder import Mode
from lowband.protocol.model import Kind
from lowband.protocol.wire import decode_canonical
from lowband.storage.store import Store

TICK_S = 0.04
START_FRESH_S = 3.0  # a first bundle this fresh starts playback at once
MIN_DELAY_S = 1.0  # a fixed layer
AUTO_DELAY_S = 2.0  # auto: when the link falls, the base layer's bundles queue behind others'
HELD_BUNDLES = 8  # recent bundles of a followed layer that does not play (yet)
READ_LIMIT = 256
ACCOUNT_BYTES = 16_384  # bytes used are counted against the day's budget in steps this big


class Listener:
    def __init__(
        self,
        store: Store,
        meeting: str,
        parent: str,
        *,
        name: str = "listener",
        channel: str = "floor",
        layer: LayerId | None = None,
        lang: str = "en",
        sink: Sink | None = None,
        catch_up: float = 1.25,
        start: Mode = Mode.VOICE,
        log: PlayLog | None = None,
        transport: http.Transport | None = None,
        note: Callable[[str], None] | None = None,
        meeting_streams: bool = True,
        account: Callable[[int], None] | None = None,
    ) -> None:
        info = store.meeting(meeting)
        if info is None:
            raise ValueError(f"Meeting {meeting} is not in this store; join it first.")
        self.store, self.meeting, self.channel = store, meeting, channel
        self.epoch_ms = info.epoch_ms
        self.sink, self.log = sink, log or PlayLog()
        self.choice = LayerChoice(layer, start=start)
        low = MIN_DELAY_S if layer is not None else AUTO_DELAY_S
        delay = DelayEstimator(low=low, initial=low)
        self.jitter = JitterBuffer(catch_up_speed=catch_up, delay=delay)
        self.links = AudioLinks(
            store, meeting, parent, name, channel, lang, transport, meeting_streams
        )
        self.note = note or (lambda _: None)
        self.account = account or (lambda _: None)  # bytes both ways, for the daily budget
        self._accounted = 0
        self.events = 0
        self.corrupt = 0
        self.payload: dict[LayerId, int] = {}
        self._read: dict[LayerId, int] = {}
        self._held: dict[LayerId, deque[Bundle]] = {}
        self._window_layer: dict[int, LayerId] = {}
        self._current: Choice | None = None
        self._started = False
        self._first: Bundle | None = None
        self._first_transit = 0.0
        self._calm = 0
        self._last_audio = 0.0
        self._commands: deque[tuple[str, Mode | None]] = deque()
        self._lock = threading.Lock()

    # --- controls, from any thread ---------------------------------------------------------

    def pause(self) -> None:
        with self._lock:
            self._commands.append(("pause", None))

    def resume(self) -> None:
        with self._lock:
            self._commands.append(("resume", None))

    def pin(self, mode: Mode | None) -> None:
        """Hold the ladder at ``mode`` (the daily budget still caps it); None: automatic."""
        with self._lock:
            self._commands.append(("pin", mode))

    @property
    def playing(self) -> frozenset[LayerId]:
        """The layers that play now (nb6, and the mode's layer once it flows)."""
        return self._current.play if self._current is not None else frozenset()

    # --- the loop -------------------------------------------------------------------------

    async def run(self, duration: float | None = None, stop: asyncio.Event | None = None) -> None:
        loop = asyncio.get_running_loop()
        ends = None if duration is None else loop.time() + duration
        async with self.links:
            try:
                while (stop is None or not stop.is_set()) and (ends is None or loop.time() < ends):
                    self.tick(time.monotonic(), time.time())
                    self.links.on_change.clear()
                    try:
                        await asyncio.wait_for(self.links.on_change.wait(), TICK_S)
                    except TimeoutError:
                        pass
                    if self.links.bytes_total - self._accounted > ACCOUNT_BYTES:
                        self._account()
            finally:
                self._account()

    def _account(self) -> None:
        total = self.links.bytes_total
        self.account(total - self._accounted)
        self._accounted = total

    def tick(self, now: float, wall: float) -> None:
        with self._lock:
            commands, self._commands = list(self._commands), deque()
        for command, mode in commands:
            if command == "pin":
                self.choice.ladder.pin(mode, now)
                command = f"pin {mode.name.lower() if mode is not None else 'auto'}"
            else:
                getattr(self.jitter, command)(now)
            self.log.notes.append((now, command))
        received = self.links.take_received()
        if self._current is not None:
            self._read_new(now, wall)
        silent = now - max(self.links.last_rx, self._last_audio) if self._last_audio else 0.0
        choice = self.choice.observe(now, received, silent, self.links.rtt_ms, self._backlogs())
        if choice != self._current:
            self._switch(choice, now)
        self._play(now, wall)

    def _switch(self, choice: Choice, now: float) -> None:
        before = self._current
        self._current = choice
        for layer in choice.follow:  # what the store holds already is history, not arrivals
            if layer not in self._read:
                self._read[layer] = self._head(layer)
        for layer in [x for x in self._read if x not in choice.follow]:
            del self._read[layer]
        self.links.follow(choice.follow)
        newly = choice.play - (before.play if before else frozenset())
        for layer in newly:  # a layer that starts to play: its held bundles not yet due
            for bundle in self._held.pop(layer, deque()):
                self._push(bundle, now)
        names = tuple(x.name.lower() for x in choice.follow)
        played = tuple(sorted(x.name.lower() for x in choice.play))
        self.log.choice(now, choice.mode.name.lower(), played, names)
        if before is None or before.play != choice.play or before.mode != choice.mode:
            self.note(f"Mode {choice.mode.name.lower()}: playing {'+'.join(played)}.")

    def _head(self, layer: LayerId) -> int:
        no = self.store.stream_no(self.meeting, stream_name(self.channel, layer))
        return 0 if no is None else self.store.head(self.meeting, no)[0]

    def _backlogs(self) -> dict[LayerId, float]:
        """Seconds of audio a layer not followed would fetch before its live edge. Every layer
        carries the same windows, so the base layer's head tells where the others stand."""
        if self.choice.fixed is not None or self._current is None:
            return {}
        base = self._head(LayerId.NB6)
        return {
            layer: max(0, base - self._head(layer)) * BUNDLE_MS / 1000
            for layer in LayerId
            if layer not in self._current.follow
        }

    def _read_new(self, now: float, wall: float) -> None:
        assert self._current is not None
        offset = self.links.clock_offset_ms
        for layer in self._current.follow:
            no = self.store.stream_no(self.meeting, stream_name(self.channel, layer))
            if no is None:
                continue
            rows = self.store.events(self.meeting, no, self._read[layer], READ_LIMIT)
            for seq, ts, kind, data in rows:
                self._read[layer] = seq
                self._arrived(layer, ts, kind, data, now, wall, offset)
        first = self._first
        if first is None:
            return
        # Start at the live edge: with a fresh bundle, or once no backlog has drained for two
        # ticks (a relay that lags steadily must not keep us silent).
        self._calm = 0 if self.choice.edge.drains(first.layer) else self._calm + 1
        if self._first_transit <= START_FRESH_S or self._calm >= 2:
            self._first = None
            self._push(first, now)
            self.note(f"Playing; the first bundle came {self._first_transit:.1f} s after the room.")

    def _arrived(
        self, layer: LayerId, ts: int, kind: int, data: bytes, now: float, wall: float, offset: int
    ) -> None:
        self.events += 1
        try:
            bundle = decode_bundle(decode_canonical(data)[2])
        except (BundleError, ValueError):
            self.corrupt += 1
            return
        if kind != Kind.AUDIO or bundle.layer != layer:
            self.corrupt += 1
            return
        transit = (wall * 1000 + offset - (self.epoch_ms + ts)) / 1000
        self.choice.edge.arrived(layer, transit, now, len(data))
        self._last_audio = now
        self.payload[layer] = self.payload.get(layer, 0) + bundle.payload_bytes
        assert self._current is not None
        if layer not in self._current.play:
            self._held.setdefault(layer, deque(maxlen=HELD_BUNDLES)).append(bundle)
        elif self._started:
            self._push(bundle, now)
        else:
            self._first, self._first_transit = bundle, transit  # the newest so far

    def _push(self, bundle: Bundle, now: float) -> None:
        if self._started and bundle.start_sample + bundle.duration_samples <= self.jitter.position:
            return  # already played past it
        if self.jitter.push(bundle, now):
            self._started = True
            window = bundle.start_sample // BUNDLE_SAMPLES
            best = self._window_layer.get(window)
            if best is None or bundle.layer > best:
                self._window_layer[window] = bundle.layer

    def _play(self, now: float, wall: float) -> None:
        was, hurrying = self.jitter.state, self.jitter.catching_up
        items = self.jitter.pull(now)
        if hurrying != self.jitter.catching_up:
            lag = self.jitter.lag_seconds
            text = (
                f"Catching up {lag:.0f} s at {self.jitter.speed:g}x."
                if not hurrying
                else "Caught up."
            )
            self.note(text)
            self.log.notes.append((now, "catch-up" if not hurrying else "caught up"))
        if was is State.PLAYING and self.jitter.state is State.BUFFERING:
            self.log.stall(now)
            self.note("Stalled: waiting for audio.")
        elif was is State.BUFFERING and items:
            if self.log.stalls and self.log.stalls[-1][1] is None:
                self.note("Playing again.")
            self.log.resumed(now)
        for item in items:
            window = item.media_start // BUNDLE_SAMPLES
            layer = self._window_layer.get(window)
            missing = layer is None and item.source is Source.CONCEALED
            if item.pcm and self.sink is not None:
                self.sink.write(item.pcm)
            self.log.played(now, wall, item, layer, missing)
        if items:
            oldest = items[-1].media_start // BUNDLE_SAMPLES - 2
            for w in [w for w in self._window_layer if w < oldest]:
                del self._window_layer[w]
