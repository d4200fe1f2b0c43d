"""A sans-IO jitter buffer: bundles in, 48 kHz mono PCM out at playout time, with catch-up.

Owns: the playout timeline (in 48 kHz media samples, the same for every layer), which bundle
plays each 960 ms window (layers switch only at window boundaries), concealment of missing
or DTX frames through the Opus decoder, the target delay sized from measured arrival delay,
stalls (rebuffering), pause, and catch-up at 1.25x/1.5x with DTX silence skipped. Must not:
read a clock, sleep, use asyncio or touch a device; ``now`` (seconds) comes in as an argument.

Over TCP a missing bundle is late, not lost: at the live edge the buffer conceals at most
``max_conceal_s`` and then stalls rather than play PLC over audio that is still coming; once
it is behind the live edge by more than two bundles beyond the jitter allowance, it catches
up (time-stretched speech, DTX frames skipped) until it is back within one bundle of it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lowband.audio.bundle import Bundle
from lowband.audio.layers import BUNDLE_SAMPLES
from lowband.audio.opus import SAMPLE_RATE, Decoder, OpusError
from lowband.audio.playout_delay import DelayEstimator

BUNDLE_S = BUNDLE_SAMPLES / SAMPLE_RATE


class Stretcher(Protocol):
    def push(self, pcm: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


def atempo(speed: float) -> Stretcher:
    from lowband.audio.avio import AtempoStretcher  # PyAV only when catch-up first happens

    return AtempoStretcher(speed)


class State(enum.Enum):
    BUFFERING = "buffering"  # waiting for data (at start or after a stall)
    PLAYING = "playing"
    PAUSED = "paused"


class Source(enum.Enum):
    DECODED = "decoded"
    CONCEALED = "concealed"  # PLC: DTX silence, a missing packet, or a short underrun
    STRETCHED = "stretched"  # catch-up output of the time-stretcher
    SKIPPED = "skipped"  # catch-up dropped a silent or missing frame: media moved, no output


@dataclass(frozen=True, slots=True)
class Played:
    pcm: bytes  # s16le mono 48 kHz, what to hand to the sink now
    media_start: int  # first media sample consumed
    media_samples: int  # media consumed (output is shorter during catch-up)
    source: Source


@dataclass(slots=True)
class Stats:
    decoded: int = 0
    concealed: int = 0
    skipped: int = 0
    late_bundles: int = 0
    rejected_bundles: int = 0
    corrupt_packets: int = 0
    stalls: int = 0
    stall_seconds: float = 0.0
    catch_ups: int = 0


class JitterBuffer:
    def __init__(
        self,
        *,
        catch_up_speed: float = 1.25,
        max_conceal_s: float = 0.12,
        max_windows: int = 3750,
        delay: DelayEstimator | None = None,
        decoder: Decoder | None = None,
        stretcher: Callable[[float], Stretcher] = atempo,
    ) -> None:
        if catch_up_speed not in (1.25, 1.5):
            raise ValueError("catch-up speed is 1.25 or 1.5")
        self.speed = catch_up_speed
        self.delay = delay or DelayEstimator()
        self.stats = Stats()
        self.state = State.BUFFERING
        self._decoder = decoder or Decoder()
        self._make_stretcher = stretcher
        self._stretcher: Stretcher | None = None
        self._max_conceal = int(max_conceal_s * SAMPLE_RATE)
        self._max_windows = max_windows
        self._windows: dict[int, Bundle] = {}
        self._playing: Bundle | None = None
        self._pos: int | None = None  # next media sample to play
        self._edge = 0  # end of the newest media received
        self._due = 0.0  # wall time at which the next output is due
        self._start_at: float | None = None
        self._stalled_at: float | None = None
        self._underrun = 0
        self._frame = 960

    @property
    def position(self) -> int:
        return self._pos or 0

    @property
    def lag_seconds(self) -> float:
        """How far playout is behind the newest audio received."""
        return max(0, self._edge - self.position) / SAMPLE_RATE

    @property
    def catching_up(self) -> bool:
        return self._stretcher is not None

    def push(self, bundle: Bundle, now: float) -> bool:
        """Take one bundle; False if it is malformed for the grid or already too late."""
        start, length = bundle.start_sample, bundle.duration_samples
        if start % BUNDLE_SAMPLES or not 0 < length <= BUNDLE_SAMPLES:
            self.stats.rejected_bundles += 1
            return False
        if self._pos is None:
            self._pos = start
        if start + length <= self._pos or (self._playing and start < self._pos):
            self.stats.late_bundles += 1
            return False
        window = start // BUNDLE_SAMPLES
        held = self._windows.get(window)
        if held is None or bundle.layer >= held.layer:  # the higher layer wins a window
            self._windows[window] = bundle
        if start + length > self._edge:
            self.delay.add(now - (start + length) / SAMPLE_RATE)
            self._edge = start + length
        while len(self._windows) > self._max_windows:  # paused too long: forget the oldest
            oldest = min(self._windows)
            del self._windows[oldest]
            self.stats.late_bundles += 1
            self._pos = max(self._pos, (oldest + 1) * BUNDLE_SAMPLES)
            self._playing = None
        if self.state is State.BUFFERING and self._start_at is None and self._covered():
            self._start_at = now + self.delay.target
        return True

    def pause(self, now: float) -> None:
        if self._stalled_at is not None:  # a stall that turns into a pause ends here
            self.stats.stall_seconds += max(0.0, now - self._stalled_at)
            self._stalled_at = None
        self.state = State.PAUSED

    def resume(self, now: float) -> None:
        """Play on from where the pause began; the backlog makes the buffer catch up."""
        if self.state is State.PAUSED:
            self.state = State.PLAYING if self._covered() else State.BUFFERING
            self._due, self._start_at = now, None

    def pull(self, now: float) -> list[Played]:
        """Everything due by ``now``: call it often (every 20 to 100 ms) from the driver."""
        if self.state is State.BUFFERING and self._start_at is not None and now >= self._start_at:
            self.state, self._due = State.PLAYING, self._start_at
            if self._stalled_at is not None:
                self.stats.stall_seconds += self._start_at - self._stalled_at
                self._stalled_at = None
        out: list[Played] = []
        while self.state is State.PLAYING and self._due <= now:
            item = self._step()
            if item is None:
                break
            out.append(item)
            self._due += self._output_seconds(item)
        return out

    def _output_seconds(self, item: Played) -> float:
        """Playout time an item takes: skipped frames none, stretched ones 1/speed."""
        if item.source is Source.SKIPPED:
            return 0.0
        speed = self.speed if item.source is Source.STRETCHED else 1.0
        return item.media_samples / SAMPLE_RATE / speed

    def _covered(self) -> bool:
        return self._pos is not None and self._edge > self._pos

    def _conceal_step(self, pos: int) -> int:
        """The frame to conceal at ``pos``: the last frame size, cut down to end on the grid."""
        step = self._frame
        while (BUNDLE_SAMPLES - pos % BUNDLE_SAMPLES) % step:
            step = max(s for s in (120, 240, 480, 960, 1920, 2880) if s < step)
        return step

    def _step(self) -> Played | None:
        assert self._pos is not None
        pos, window = self._pos, self._pos // BUNDLE_SAMPLES
        if pos % BUNDLE_SAMPLES == 0 or self._playing is None:
            for old in [w for w in self._windows if w < window]:
                del self._windows[old]
            self._playing = self._windows.get(window)
        tail = self._update_catch_up()
        if tail is not None:
            return tail
        bundle, packet = self._playing, None
        frame = self._conceal_step(pos)
        if bundle is not None and (pos - bundle.start_sample) % bundle.frame_samples == 0:
            index = (pos - bundle.start_sample) // bundle.frame_samples
            if index < len(bundle.packets):
                frame = self._frame = bundle.frame_samples
                packet = bundle.packets[index]
        if packet is None and not self._covered():
            if self._underrun >= self._max_conceal:  # a stall: stop and wait for data
                self.state, self._start_at, self._stalled_at = State.BUFFERING, None, self._due
                self.stats.stalls += 1
                self._underrun = 0
                return None
            self._underrun += frame
        else:
            self._underrun = 0
        self._pos = pos + frame
        if self._pos % BUNDLE_SAMPLES == 0:
            self._playing = None
        if not packet and self._stretcher is not None:
            self.stats.skipped += 1
            return Played(b"", pos, frame, Source.SKIPPED)
        pcm, source = self._decode(packet, frame)
        if self._stretcher is not None:
            return Played(self._stretcher.push(pcm), pos, frame, Source.STRETCHED)
        return Played(pcm, pos, frame, source)

    def _decode(self, packet: bytes | None, frame: int) -> tuple[bytes, Source]:
        if packet:
            try:
                pcm = self._decoder.decode(packet)
            except OpusError:
                pcm = b""
            if len(pcm) == 2 * frame:
                self.stats.decoded += 1
                return pcm, Source.DECODED
            self.stats.corrupt_packets += 1
        self.stats.concealed += 1
        return self._decoder.conceal(frame), Source.CONCEALED

    def _update_catch_up(self) -> Played | None:
        """Start catch-up when well behind the live edge; on leaving, return the stretch tail."""
        assert self._pos is not None
        behind = (self._edge - self._pos) / SAMPLE_RATE
        target = self.delay.target
        if self._stretcher is None and behind > 2 * target + 2 * BUNDLE_S:
            self._stretcher = self._make_stretcher(self.speed)
            self.stats.catch_ups += 1
        elif self._stretcher is not None and behind <= target + BUNDLE_S:
            tail, self._stretcher = self._stretcher.flush(), None
            return Played(tail, self._pos, 0, Source.STRETCHED) if tail else None
        return None
