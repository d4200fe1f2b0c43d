"""The three simulcast audio layers as data, and the bundle time grid they share.

Owns: which layers exist, their Opus settings, their stream names, and the layer each mode of
the ladder (``modes/ladder.py``) asks for. Must not: encode, decode or load libopus (``opus.py``
does that), so it stays plain data.

Measured on the espeak fixture with libopus 1.6.1 (PESQ-WB against the 16 kHz source; see
``scripts/bench_audio_codec.py``):

* nb6  6 kbit/s narrowband: 60 ms 1.86, 40 ms 1.88, 20 ms 1.79. 60 ms, as DESIGN says: the
  fewest packets, and the issue measured 2.6 on real voices.
* wb16 16 kbit/s wideband: 60 ms 3.69, 40 ms 3.65, 20 ms 3.59. 60 ms wins and has a third
  of the packets (bundle length bytes) of 20 ms.
* fb28 28 kbit/s fullband: 20 ms 4.05, 60 ms 3.27 (at 60 ms libopus picks hybrid mode and
  loses detail); 20 ms it is.

No layer uses in-band FEC: it adds nothing at 16 kbit/s and below, and over TCP loss becomes
delay, not gaps. Never 120 ms frames with FEC (libopus 1.6.1 then scores 1.3 with no loss).
Every layer uses DTX: silence costs a packet of comfort noise every 400 ms instead of 50/s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lowband.audio.opus import SAMPLE_RATE, Bandwidth
from lowband.modes.ladder import Mode

BUNDLE_MS = 960  # one bundle: 16 frames of 60 ms or 48 of 20 ms, so every layer's bundles align
BUNDLE_SAMPLES = SAMPLE_RATE * BUNDLE_MS // 1000


class LayerId(enum.IntEnum):
    """The layer id carried in a bundle header; never renumber."""

    NB6 = 0
    WB16 = 1
    FB28 = 2


@dataclass(frozen=True, slots=True)
class Layer:
    id: LayerId
    name: str  # stream suffix: audio/<channel>/<name>
    bitrate: int  # target bit/s handed to the encoder
    bandwidth: Bandwidth
    frame_ms: int
    complexity: int = 10
    dtx: bool = True
    fec: bool = False

    @property
    def frame_samples(self) -> int:
        return SAMPLE_RATE * self.frame_ms // 1000

    @property
    def frames_per_bundle(self) -> int:
        return BUNDLE_MS // self.frame_ms


LAYERS: dict[LayerId, Layer] = {
    LayerId.NB6: Layer(LayerId.NB6, "nb6", 6_000, Bandwidth.NARROW, 60),
    LayerId.WB16: Layer(LayerId.WB16, "wb16", 16_000, Bandwidth.WIDE, 60),
    LayerId.FB28: Layer(LayerId.FB28, "fb28", 28_000, Bandwidth.FULL, 20),
}

assert all(BUNDLE_MS % layer.frame_ms == 0 for layer in LAYERS.values())


MODE_LAYER = {Mode.VOICE: LayerId.NB6, Mode.VOICE_PLUS: LayerId.WB16, Mode.FULL: LayerId.FB28}


def layer_for(mode: Mode) -> LayerId | None:
    """The layer a sync request asks for in `mode`; None for offline and text."""
    return MODE_LAYER.get(mode)


def layer_by_name(name: str) -> Layer:
    for layer in LAYERS.values():
        if layer.name == name:
            return layer
    raise KeyError(f"no audio layer is called {name!r}; the layers are nb6, wb16 and fb28")


def stream_name(channel: str, layer: LayerId) -> str:
    """The event stream that carries one layer of one channel, such as ``audio/floor/nb6``."""
    return f"audio/{channel}/{LAYERS[layer].name}"
