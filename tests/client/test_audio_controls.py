"""The client's audio controls against real relays: listen, pause, catch up, pin a mode, stop.

The origin and the relay are real processes and `lowband publish audio --realtime` speaks the
speech fixture into the meeting; the delegate's Textual app, driven by Pilot, listens through
the relay. The test takes the sound device away, so the app records what it played to a WAV
file in the home's `audio/` folder, which the test scores against the source.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from audio_support import aligned_pesq, write_speech

from lowband.audio import playback
from lowband.client import make_app
from lowband.harness.testbed import Relay
from lowband.modes.ladder import Mode

from .live_net import M, until
from .screen_text import screen_text

pytestmark = pytest.mark.e2e


def publish(tmp: Path, origin: Relay, repeats: int) -> subprocess.Popen[bytes]:
    source = tmp / "speech.wav"
    write_speech(source, repeats)
    return subprocess.Popen(
        [sys.executable, "-m", "lowband", "--home", str(tmp / "origin"), "publish", "audio"]
        + ["--origin", origin.url, "--meeting", M, "--realtime", str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_listen_pause_catch_up_pin_and_stop(
    net: tuple[Relay, Relay, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, _relay, delegate, _chair = net
    monkeypatch.setattr(playback, "has_playback_device", lambda: False)  # record, even if one
    publisher = publish(tmp_path, origin, repeats=12)  # 71 s of speech
    try:
        states = asyncio.run(_scenario(delegate))
    finally:
        publisher.kill()
        publisher.wait(30)
    assert states.index("paused") < states.index("catching up at 1.5x") < len(states) - 1
    (recorded,) = (delegate / "audio").glob(f"{M}-floor-*.wav")
    with wave.open(str(recorded)) as w:
        assert w.getframerate() == 48_000
        heard = w.readframes(w.getnframes())
    assert len(heard) / 96_000 > 8  # before the pause, and the missed part, faster
    assert aligned_pesq(heard, 3) >= 1.5  # nb6 scores about 1.9; unrelated speech about 1.1


async def _scenario(delegate: Path) -> list[str]:
    app = make_app(delegate, M, catch_up=1.5)
    states: list[str] = []

    def state() -> str:
        if not states or states[-1] != app.audio.state:
            states.append(app.audio.state)
        return app.audio.state

    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: "ONLINE" in screen_text(app))
        assert "audio off (v)" in screen_text(app)
        await pilot.press("v")
        await until(pilot, lambda: state() == "playing", tries=600)
        assert app.audio.layers == ("nb6",) and "audio floor: playing nb6" in screen_text(app)
        assert str(delegate / "audio") in app.audio.output  # no sound device
        await pilot.pause(4)
        await pilot.press("b")
        await until(pilot, lambda: state() == "paused")
        await pilot.pause(7)
        await pilot.press("b")
        await until(pilot, lambda: state().startswith("catching up"), tries=100)
        await until(pilot, lambda: state() == "playing", tries=600)
        await pilot.press("m")  # automatic -> text pinned
        await until(pilot, lambda: app.audio.pinned and app.audio.mode is Mode.TEXT)
        assert "text (pinned)" in screen_text(app)
        assert app.audio.layers == ("nb6",)  # text mode still plays the base layer
        await pilot.press("v")
        await until(pilot, lambda: app.listening is None and "audio off" in screen_text(app))
    return states
