"""When the origin signs: the checkpoint schedule as a pure function.

The origin looks every `TICK_MS`. A stream that moved is signed once at least
`MIN_GAP_MS` has passed since its last signature, so events that arrive
together share one signature and a moved stream is signed within
`TICK_MS + MIN_GAP_MS` (1.5 s, inside the 2 s the design allows). Every stream
gets a heartbeat every `HEARTBEAT_MS`, so followers can tell how stale their
view may be.
"""

from __future__ import annotations

from typing import NamedTuple

TICK_MS = 500
MIN_GAP_MS = 1_000
HEARTBEAT_MS = 30_000


class StreamHead(NamedTuple):
    no: int
    head: int
    signed_seq: int  # -1 when never signed
    signed_ms: int  # 0 when never signed


def due(streams: list[StreamHead], now_ms: int) -> list[int]:
    """Numbers of the streams to sign now."""
    out = []
    for s in streams:
        age = now_ms - s.signed_ms
        if (s.head > s.signed_seq and age >= MIN_GAP_MS) or age >= HEARTBEAT_MS:
            out.append(s.no)
    return out
