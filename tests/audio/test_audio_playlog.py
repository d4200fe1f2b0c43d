"""The play log's figures: gaps, layer runs, contiguity and origin-to-ear latency."""

from __future__ import annotations

import pytest

from lowband.audio.jitter import Played, Source
from lowband.audio.layers import BUNDLE_SAMPLES, LayerId
from lowband.audio.playlog import PlayLog

FRAME = 2880  # 60 ms


def play(
    log: PlayLog,
    at: float,
    start: int,
    layer: LayerId | None,
    source: Source = Source.DECODED,
    missing: bool = False,
) -> None:
    out = FRAME if source is not Source.STRETCHED else FRAME * 4 // 5
    item = Played(bytes(2 * out) if source is not Source.SKIPPED else b"", start, FRAME, source)
    log.played(at, 1000.0 + at, item, layer, missing)


def test_a_concealed_underrun_that_stalls_is_one_gap_and_an_open_end_is_none() -> None:
    log = PlayLog()
    for i in range(10):
        play(log, i * 0.06, i * FRAME, LayerId.NB6)
    play(log, 0.60, 10 * FRAME, None, Source.CONCEALED, missing=True)
    play(log, 0.66, 11 * FRAME, None, Source.CONCEALED, missing=True)
    log.stall(0.70)
    log.resumed(2.70)
    play(log, 2.70, 12 * FRAME, LayerId.NB6)
    assert log.gaps() == pytest.approx((1, 2.12))
    play(log, 2.76, 13 * FRAME, None, Source.CONCEALED, missing=True)  # the stream ended
    log.stall(2.80)
    assert log.gaps() == pytest.approx((1, 2.12))
    assert log.gaps(after=1.0) == (0, 0.0)


def test_runs_split_where_the_layer_or_the_speed_changes() -> None:
    log = PlayLog(keep_pcm=True)
    per_window = BUNDLE_SAMPLES // FRAME
    for i in range(3 * per_window):
        layer = LayerId.WB16 if i < per_window else LayerId.NB6
        source = Source.STRETCHED if 2 * per_window <= i < 2 * per_window + 3 else Source.DECODED
        play(log, i * 0.06, i * FRAME, layer, source)
    runs = log.runs()
    assert [(r.layer, r.media_start) for r in runs] == [
        (LayerId.WB16, 0),
        (LayerId.NB6, BUNDLE_SAMPLES),
        (LayerId.NB6, (2 * per_window + 3) * FRAME),
    ]
    assert len(runs[0].pcm) == 2 * BUNDLE_SAMPLES
    assert log.contiguous()
    assert log.layer_seconds() == pytest.approx({LayerId.WB16: 0.96, LayerId.NB6: 1.92})


def test_a_jump_in_media_time_is_not_contiguous() -> None:
    log = PlayLog()
    play(log, 0.0, 0, LayerId.NB6)
    play(log, 0.06, 2 * FRAME, LayerId.NB6)
    assert not log.contiguous()


def test_latency_is_when_a_window_played_minus_when_it_was_spoken() -> None:
    log = PlayLog()
    epoch_ms = 1_000_000
    window = 5
    play(log, 3.0, window * BUNDLE_SAMPLES, LayerId.NB6)
    play(log, 3.06, window * BUNDLE_SAMPLES + FRAME, LayerId.NB6)
    spoken = epoch_ms / 1000 + window * 0.96
    assert log.latencies(epoch_ms) == pytest.approx([1003.0 - spoken])


def test_runs_need_the_pcm() -> None:
    with pytest.raises(ValueError):
        PlayLog().runs()
