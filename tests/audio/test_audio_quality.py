"""Speech through every layer: PESQ against the source, bit rates from bundle sizes, DTX."""

from __future__ import annotations

import dataclasses
import wave

import pytest
from audio_support import SPEECH, decode_all, score, source16

from lowband.audio.bundle import Bundle, encode_bundle
from lowband.audio.encode import LayeredEncoder, encode_file, encode_pcm48, encode_raw
from lowband.audio.layers import BUNDLE_MS, LAYERS, LayerId

# Measured 1.86, 3.69 and 4.05 with libopus 1.6.1; the floors leave room for other versions.
PESQ_FLOOR = {LayerId.NB6: 1.6, LayerId.WB16: 3.3, LayerId.FB28: 3.7}


@pytest.fixture(scope="module")
def encoded() -> dict[LayerId, list[Bundle]]:
    return encode_file(SPEECH)


@pytest.fixture(scope="module")
def scores(encoded: dict[LayerId, list[Bundle]]) -> dict[LayerId, float]:
    return {layer: score(decode_all(bundles)) for layer, bundles in encoded.items()}


def seconds() -> float:
    return len(source16()) / 16_000


def test_every_layer_covers_the_source_on_the_shared_grid(encoded: dict) -> None:
    for layer_id, bundles in encoded.items():
        layer = LAYERS[layer_id]
        assert [b.start_sample for b in bundles] == [
            i * 48 * BUNDLE_MS for i in range(len(bundles))
        ]
        assert all(b.frame_samples == layer.frame_samples for b in bundles)
        duration = sum(b.duration_samples for b in bundles) / 48_000
        assert seconds() <= duration < seconds() + layer.frame_ms / 1000


@pytest.mark.parametrize("layer", list(LayerId))
def test_layer_meets_its_pesq_floor(scores: dict[LayerId, float], layer: LayerId) -> None:
    assert scores[layer] >= PESQ_FLOOR[layer]


def test_higher_layers_score_higher(scores: dict[LayerId, float]) -> None:
    assert scores[LayerId.NB6] + 1.0 < scores[LayerId.WB16] < scores[LayerId.FB28]


@pytest.mark.parametrize("layer", list(LayerId))
def test_bit_rate_near_target(encoded: dict, layer: LayerId) -> None:
    bundles = encoded[layer]
    payload = sum(b.payload_bytes for b in bundles) * 8 / seconds()
    wire = sum(len(encode_bundle(b)) for b in bundles) * 8 / seconds()
    assert 0.7 * LAYERS[layer].bitrate <= payload <= 1.1 * LAYERS[layer].bitrate
    assert wire <= 1.05 * payload  # DESIGN goal is 1.15 for nb6 on the wire, events included


def test_dtx_cuts_bytes_in_silence() -> None:
    with wave.open(str(SPEECH)) as w:
        speech = w.readframes(w.getnframes())
    pcm = encode_raw(speech + bytes(16_000 * 2 * 4), 16_000)  # speech then 4 s of silence
    silent = [b for b in pcm[LayerId.WB16] if b.start_sample >= 7 * 48_000]
    spoken = [b for b in pcm[LayerId.WB16] if b.start_sample < 4 * 48_000]
    assert len(silent) >= 2
    per_bundle = sum(b.payload_bytes for b in spoken) / len(spoken)
    assert sum(b.payload_bytes for b in silent) / len(silent) < 0.05 * per_bundle
    packets = [p for b in silent for p in b.packets]
    assert packets.count(b"") >= 0.75 * len(packets)  # DTX: most frames send no packet at all
    no_dtx = dataclasses.replace(LAYERS[LayerId.WB16], dtx=False)
    loud = encode_pcm48(bytes(48_000 * 2 * 2), [no_dtx])[LayerId.WB16]
    assert sum(b.payload_bytes for b in loud) > 5 * sum(b.payload_bytes for b in silent[:2])


def test_raw_stereo_and_chunked_pcm_match_one_shot() -> None:
    with wave.open(str(SPEECH)) as w:
        mono = w.readframes(w.getnframes())
    stereo = b"".join(mono[i : i + 2] * 2 for i in range(0, len(mono), 2))
    a = encode_raw(mono, 16_000)[LayerId.NB6]
    b = encode_raw(stereo, 16_000, channels=2)[LayerId.NB6]
    assert [x.payload_bytes for x in a] == [x.payload_bytes for x in b]
    pcm48 = bytes(48_000 * 2)
    encoder = LayeredEncoder([LAYERS[LayerId.FB28]])
    chunked = [
        *encoder.push(pcm48[: 1001 * 2]),
        *encoder.push(pcm48[1001 * 2 :]),
        *encoder.finish(),
    ]
    assert chunked == encode_pcm48(pcm48, [LAYERS[LayerId.FB28]])[LayerId.FB28]


def test_bad_raw_input_is_refused() -> None:
    with pytest.raises(ValueError, match="whole s16le frames"):
        encode_raw(b"\x00\x00\x00", 16_000)
    with pytest.raises(ValueError, match="mono or stereo"):
        encode_raw(b"", 16_000, channels=6)
