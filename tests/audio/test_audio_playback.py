"""Sinks: WAV, Ogg Opus and raw PCM files, the device queue, and the path from bundles to a file."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from audio_support import SPEECH, score

from lowband.audio import avio
from lowband.audio.encode import encode_file
from lowband.audio.jitter import JitterBuffer
from lowband.audio.layers import BUNDLE_SAMPLES, LayerId
from lowband.audio.playback import (
    DeviceSink,
    NoDeviceError,
    OggOpusSink,
    PcmQueue,
    RawSink,
    WavSink,
    has_playback_device,
    open_sink,
)


def play_to(sink_path: Path, layer: LayerId) -> None:
    """Encode the fixture, run it through the jitter buffer on a fake clock, write the sink."""
    jb = JitterBuffer()
    bundles = encode_file(SPEECH)[layer]
    sink = open_sink(sink_path)
    for tick in range(600):
        now = tick * 0.02
        while bundles and now >= 0.96 * (bundles[0].start_sample // BUNDLE_SAMPLES + 1) + 0.1:
            jb.push(bundles.pop(0), now)
        for played in jb.pull(now):
            sink.write(played.pcm)
    sink.close()


def test_wav_file_holds_what_the_listener_heard(tmp_path: Path) -> None:
    out = tmp_path / "heard.wav"
    play_to(out, LayerId.WB16)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48_000, 1, 2)
        pcm = w.readframes(w.getnframes())
    assert score(pcm) >= 3.3


def test_ogg_opus_file_round_trips_through_pyav(tmp_path: Path) -> None:
    out = tmp_path / "heard.ogg"
    play_to(out, LayerId.FB28)
    pcm = b"".join(avio.iter_pcm48(out))
    assert abs(len(pcm) / 96_000 - 6.0) < 0.5
    assert score(pcm) >= 3.0  # decoded twice (fb28, then the file's own 24 kbit/s Opus)
    again = encode_file(out)[LayerId.NB6]  # and any file PyAV opens can be published
    assert len(again) == 7


def test_raw_sink_writes_plain_pcm() -> None:
    buffer = io.BytesIO()
    sink = RawSink(buffer)
    sink.write(b"\x01\x00\x02\x00")
    sink.close()
    assert buffer.getvalue() == b"\x01\x00\x02\x00"


def test_open_sink_picks_by_name(tmp_path: Path) -> None:
    wav, ogg = open_sink(tmp_path / "a.wav"), open_sink(tmp_path / "b.opus")
    assert isinstance(wav, WavSink) and isinstance(ogg, OggOpusSink)
    wav.close()
    ogg.close()
    assert isinstance(open_sink("-"), RawSink)
    with pytest.raises(ValueError, match="use a .wav, .ogg or .opus file"):
        open_sink(tmp_path / "c.mp3")


def test_without_a_sound_device_the_error_says_to_use_a_file() -> None:
    if has_playback_device():
        pytest.skip("this machine has a sound device")
    with pytest.raises(NoDeviceError, match="--out FILE.wav"):
        DeviceSink()
    with pytest.raises(NoDeviceError):
        open_sink(None)


def test_device_queue_feeds_whole_frames_and_pads_underruns() -> None:
    queue = PcmQueue(max_bytes=8)
    feed = queue.feed()
    next(feed)
    queue.put(b"\x01\x00\x02\x00")
    assert feed.send(3) == b"\x01\x00\x02\x00\x00\x00"
    assert queue.underrun_bytes == 2
    queue.put(bytes(range(12)))  # more than the cap: the oldest bytes go
    assert feed.send(4) == bytes(range(4, 12))
