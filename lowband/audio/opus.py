"""A small ctypes binding to libopus: one encoder and one decoder, 48 kHz mono s16le.

Owns: finding and loading libopus, the encoder settings (opus_encoder_ctl) and the three
decoder calls a listener needs: ``decode``, ``conceal`` (packet-loss concealment, data=NULL)
and ``decode_fec`` (in-band FEC from the next packet). Must not: read files, resample, frame
bundles or do any I/O. Importing this module loads nothing; the library loads on first use.

Why ctypes over the library that PyAV already carries: PyAV's decoder cannot conceal or use
FEC (FFmpeg's libopusdec always passes decode_fec=0 and treats an empty packet as the end of
the stream). The PyPI bindings (opuslib, opuslib-next) are ctypes wrappers that look for a
system libopus with find_library, which a relay or delegate box may lack; pyogg bundles
libraries only for Windows and macOS; the "bundled" forks are young single-author wheels.
PyAV is already a dependency and its wheel ships libopus (1.6.1 here) in ``av.libs/``, so
loading that copy costs no new dependency; find_library("opus") is the fallback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import glob
import importlib.util
import os

SAMPLE_RATE = 48_000
MAX_PACKET_BYTES = 1275
MAX_FRAME_SAMPLES = 5760  # 120 ms at 48 kHz, the longest Opus frame
_SAMPLES_2_5_MS = SAMPLE_RATE // 400
_FRAME_SAMPLES = frozenset(_SAMPLES_2_5_MS * k for k in (1, 2, 4, 8, 16, 24))  # 2.5 .. 60 ms


class OpusError(RuntimeError):
    """libopus refused a call, or an argument was out of bounds."""


class Application(enum.IntEnum):
    VOIP = 2048
    AUDIO = 2049
    RESTRICTED_LOWDELAY = 2051


class Bandwidth(enum.IntEnum):
    NARROW = 1101  # 4 kHz audio band
    MEDIUM = 1102
    WIDE = 1103  # 8 kHz
    SUPERWIDE = 1104
    FULL = 1105  # 20 kHz


_SET_BITRATE, _SET_VBR, _SET_BANDWIDTH, _SET_COMPLEXITY = 4002, 4006, 4008, 4010
_SET_INBAND_FEC, _SET_PACKET_LOSS_PERC, _SET_DTX, _SET_SIGNAL = 4012, 4014, 4016, 4024
_GET_LOOKAHEAD, _SIGNAL_VOICE = 4027, 3001
_lib: ctypes.CDLL | None = None


def _candidates() -> list[str]:
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return []
    pkg = os.path.dirname(spec.origin)
    patterns = [
        os.path.join(os.path.dirname(pkg), "av.libs", "libopus*.so*"),  # manylinux wheels
        os.path.join(pkg, ".dylibs", "libopus*.dylib"),  # macOS wheels
    ]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


def load_library() -> ctypes.CDLL:
    """Load libopus once: PyAV's bundled copy first, then the system's."""
    global _lib
    if _lib is not None:
        return _lib
    paths = _candidates()
    system = ctypes.util.find_library("opus")
    if system:
        paths.append(system)
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.opus_strerror.restype = ctypes.c_char_p
        lib.opus_get_version_string.restype = ctypes.c_char_p
        error_p = ctypes.POINTER(ctypes.c_int)
        lib.opus_encoder_create.restype = lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, error_p]
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, error_p]
        lib.opus_encode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int32,
        ]
        lib.opus_decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_encoder_destroy.argtypes = lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        _lib = lib
        return lib
    raise OpusError("libopus was not found: install PyAV (its wheel carries libopus) or libopus0")


def version() -> str:
    """The loaded libopus version string, such as 'libopus 1.6.1'."""
    raw: bytes = load_library().opus_get_version_string()
    return raw.decode()


def _check(result: int, what: str) -> int:
    if result < 0:
        message = load_library().opus_strerror(result).decode()
        raise OpusError(f"libopus {what} failed: {message} ({result})")
    return result


def _check_frame(samples: int) -> None:
    if samples not in _FRAME_SAMPLES:
        raise OpusError(f"{samples} samples is not an Opus frame size (2.5 to 60 ms at 48 kHz)")


class Encoder:
    """One mono 48 kHz Opus encoder; ``encode`` takes exactly one frame of s16le PCM."""

    def __init__(self, application: Application = Application.VOIP) -> None:
        self._lib = load_library()
        error = ctypes.c_int(0)
        self._state = self._lib.opus_encoder_create(SAMPLE_RATE, 1, int(application), error)
        _check(error.value, "encoder_create")
        self._ctl(_SET_SIGNAL, _SIGNAL_VOICE)
        self._ctl(_SET_INBAND_FEC, 0)

    def _ctl(self, request: int, value: int) -> None:
        _check(
            self._lib.opus_encoder_ctl(
                ctypes.c_void_p(self._state), request, ctypes.c_int32(value)
            ),
            f"encoder_ctl({request})",
        )

    def configure(
        self,
        *,
        bitrate: int,
        bandwidth: Bandwidth,
        complexity: int = 10,
        dtx: bool = True,
        vbr: bool = True,
        fec: bool = False,
        loss_percent: int = 0,
    ) -> None:
        if (
            not 500 <= bitrate <= 512_000
            or not 0 <= complexity <= 10
            or not 0 <= loss_percent <= 100
        ):
            raise OpusError("bitrate must be 500..512000, complexity 0..10, loss 0..100")
        self._ctl(_SET_BITRATE, bitrate)
        self._ctl(_SET_BANDWIDTH, int(bandwidth))
        self._ctl(_SET_COMPLEXITY, complexity)
        self._ctl(_SET_DTX, int(dtx))
        self._ctl(_SET_VBR, int(vbr))
        self._ctl(_SET_INBAND_FEC, int(fec))
        self._ctl(_SET_PACKET_LOSS_PERC, loss_percent)

    @property
    def lookahead(self) -> int:
        """Samples of algorithmic delay: decoded output lags the input by this much."""
        value = ctypes.c_int32(0)
        _check(
            self._lib.opus_encoder_ctl(
                ctypes.c_void_p(self._state), _GET_LOOKAHEAD, ctypes.byref(value)
            ),
            "get_lookahead",
        )
        return value.value

    def encode(self, pcm: bytes) -> bytes:
        """One packet for one frame; during DTX libopus returns 1 to 2 bytes (send nothing)."""
        samples, odd = divmod(len(pcm), 2)
        if odd:
            raise OpusError("PCM must be whole 16-bit samples")
        _check_frame(samples)
        out = ctypes.create_string_buffer(MAX_PACKET_BYTES)
        n = _check(
            self._lib.opus_encode(self._state, pcm, samples, out, MAX_PACKET_BYTES), "encode"
        )
        return out.raw[:n]

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.opus_encoder_destroy(self._state)
            self._state = None


class Decoder:
    """One mono 48 kHz Opus decoder that returns s16le PCM bytes."""

    def __init__(self) -> None:
        self._lib = load_library()
        error = ctypes.c_int(0)
        self._state = self._lib.opus_decoder_create(SAMPLE_RATE, 1, error)
        _check(error.value, "decoder_create")
        self._out = ctypes.create_string_buffer(MAX_FRAME_SAMPLES * 2)

    def _run(self, data: bytes | None, frame_samples: int, fec: int) -> bytes:
        size = 0 if data is None else len(data)
        n = self._lib.opus_decode(self._state, data, size, self._out, frame_samples, fec)
        return self._out.raw[: _check(n, "decode") * 2]

    def decode(self, packet: bytes) -> bytes:
        if not 1 <= len(packet) <= MAX_PACKET_BYTES:
            raise OpusError(f"an Opus packet has 1 to {MAX_PACKET_BYTES} bytes, not {len(packet)}")
        return self._run(packet, MAX_FRAME_SAMPLES, 0)

    def conceal(self, frame_samples: int) -> bytes:
        """Packet-loss concealment for one missing frame (comfort noise after DTX)."""
        _check_frame(frame_samples)
        return self._run(None, frame_samples, 0)

    def decode_fec(self, next_packet: bytes, frame_samples: int) -> bytes:
        """Rebuild the lost frame before ``next_packet`` from its in-band FEC data (or PLC)."""
        _check_frame(frame_samples)
        if not 1 <= len(next_packet) <= MAX_PACKET_BYTES:
            raise OpusError(
                f"an Opus packet has 1 to {MAX_PACKET_BYTES} bytes, not {len(next_packet)}"
            )
        return self._run(next_packet, frame_samples, 1)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.opus_decoder_destroy(self._state)
            self._state = None
