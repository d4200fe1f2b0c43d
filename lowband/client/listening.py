"""Listening from the client: one `Listener` in a thread of its own, and what the screen shows.

Owns the audio thread of the room screen: it opens its own store, runs a `Listener` on the
channel chosen (the automatic layer choice, with the delegate's pin and daily budget), plays
to the sound device or, on a machine without one, records what would have played to a WAV
file in the home's `audio/` folder, counts its bytes against the day's budget, and tells the
UI twice a second with `AudioChanged`. The UI calls only the thread-safe methods (`pause`,
`resume`, `pin`, `stop`).

The meeting's own streams (captions, floor, the outbox) stay on the client's sync exchange;
the listener follows only audio streams, on exchanges of its own. So captions and the floor
never wait behind audio inside one response, though on the wire the connections share the
link.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.message import Message

from lowband import http
from lowband.audio.jitter import State
from lowband.audio.listen import Listener
from lowband.audio.playback import NoDeviceError, Sink, WavSink, open_sink
from lowband.client.loop_thread import LoopThread
from lowband.client.messages import AudioChanged, AudioReport
from lowband.modes.ladder import Mode
from lowband.node import usage
from lowband.storage.store import Store, StoreError

REPORT_EVERY_S = 0.5


def open_player(audio_dir: Path, meeting: str, channel: str) -> tuple[Sink, str]:
    """The sound device, or a WAV file when there is none; and words for where sound goes."""
    try:
        return open_sink(None), "the sound device"
    except NoDeviceError:  # none, or one that will not open: record instead
        audio_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = audio_dir / f"{meeting}-{channel}-{stamp}.wav"
        return WavSink(path), str(path)


class Listening(LoopThread):
    def __init__(
        self,
        store_path: Path,
        audio_dir: Path,
        meeting: str,
        channel: str,
        node_name: str,
        pin: Mode | None,
        catch_up: float,
        post: Callable[[Message], object],
        transport: http.Transport | None = None,
    ) -> None:
        super().__init__()
        self.store_path, self.audio_dir = store_path, audio_dir
        self.meeting, self.channel, self.node_name = meeting, channel, node_name
        self.post, self.transport = post, transport
        self._pin, self.catch_up = pin, catch_up
        self._listener: Listener | None = None
        self._paused = False
        self.report = AudioReport(channel=channel, state="starting")

    # --- called from the UI thread ---------------------------------------------------

    def pause(self) -> None:
        self._paused = True
        if self._listener is not None:
            self._listener.pause()

    def resume(self) -> None:
        self._paused = False
        if self._listener is not None:
            self._listener.resume()

    @property
    def paused(self) -> bool:
        return self._paused

    def pin(self, mode: Mode | None) -> None:
        self._pin = mode
        if self._listener is not None:
            self._listener.pin(mode)

    # --- the thread -------------------------------------------------------------------

    def run(self) -> None:
        """The worker thread's body: listen until `stop()`; a failure is the report's last word."""
        try:
            super().run()
        except (OSError, StoreError, ValueError) as exc:
            self._send(AudioReport(channel=self.channel, state="stopped", error=str(exc)))

    async def _main(self) -> None:
        with Store(self.store_path) as store:
            parent = store.parent(self.meeting)
            if not parent:
                raise ValueError("This meeting has no relay: there is no audio to listen to.")
            sink, where = open_player(self.audio_dir, self.meeting, self.channel)
            try:
                listener = Listener(
                    store,
                    self.meeting,
                    parent,
                    name=self.node_name + "-audio",
                    channel=self.channel,
                    sink=sink,
                    catch_up=self.catch_up,
                    transport=self.transport,
                    meeting_streams=False,
                    account=lambda n: usage.count(store, n),
                )
                usage.limit_ladder(store, listener.choice.ladder)
                listener.choice.ladder.pin(self._pin, time.monotonic())
                self._listener = listener
                if self._paused:  # paused before the thread got this far
                    listener.pause()
                stop = asyncio.Event()
                task = asyncio.create_task(listener.run(None, stop))
                while not self.stopping and not task.done():
                    self._send(self._describe(listener, where))
                    await asyncio.sleep(REPORT_EVERY_S)
                stop.set()
                await task
            finally:
                sink.close()
        self._send(AudioReport(channel=self.channel, state="stopped", output=where))

    def _describe(self, listener: Listener, where: str) -> AudioReport:
        jitter = listener.jitter
        if jitter.state is State.PAUSED:
            state = "paused"
        elif jitter.catching_up:
            state = f"catching up at {jitter.speed:g}x"
        elif jitter.state is State.PLAYING:
            state = "playing"
        elif listener.log.stalls:
            state = "stalled: waiting for audio"
        else:
            state = "waiting for audio"
        mode = listener.choice.ladder.mode
        layers = tuple(sorted(x.name.lower() for x in listener.playing))
        return AudioReport(
            channel=self.channel,
            state=state,
            mode=mode,
            pinned=listener.choice.ladder.pinned is not None,
            layers=layers,
            lag_s=round(jitter.lag_seconds, 1),
            gaps=listener.log.gaps()[0],
            output=where,
        )

    def _send(self, report: AudioReport) -> None:
        if report != self.report:
            self.report = report
            self.post(AudioChanged(report, self))
