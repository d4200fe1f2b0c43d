"""Watching a run over the link emulator: the samples the link benchmark computes its figures from.

Owns the sampling thread that runs beside a `Scene`: every `TICK_S` the emulator's byte
counters and outage state (so outage edges are known to a tick), and every few ticks the head
and verified seq of the followed transcript at the delegate. After the run it reads each
event's arrival time from a store. Only reads: the emulator through its thread-safe calls, the
stores through their own connections. Must not compute figures (`harness/linkfigures.py` does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lowband.harness.background import Background
from lowband.linkem import LinkEmulatorThread
from lowband.protocol.model import CaptionLine
from lowband.protocol.wire import decode_body, decode_canonical
from lowband.storage.store import Store

TICK_S = 0.05
STORE_EVERY = 4  # ticks between reads of the delegate's store


@dataclass(frozen=True)
class Sample:
    t: float  # time.time()
    down: int  # bytes the emulator delivered towards the delegate so far
    up: int  # and towards the relay
    outage: str | None  # the kind of outage in progress
    head: int  # of the followed transcript at the delegate
    verified: int


@dataclass(frozen=True)
class Line:
    seq: int
    origin_ms: int  # when the origin appended it (its store's received_ms, this machine's clock)
    text: str  # "SPEAKER: text", the caption as a reader sees it


class Probe(Background):
    """Samples a run until `stop()`; `samples` is safe to read afterwards."""

    def __init__(
        self, link: LinkEmulatorThread, delegate_home: Path, meeting: str, stream: str
    ) -> None:
        super().__init__("linkprobe")
        self.link, self.meeting, self.stream = link, meeting, stream
        self.delegate_home = delegate_home
        self.samples: list[Sample] = []

    def last(self) -> Sample:
        return self.samples[-1]

    def _run(self) -> None:
        head = verified = 0
        tick = 0
        with Store(self.delegate_home / "store.sqlite") as store:
            while not self._stop.is_set():
                if tick % STORE_EVERY == 0:
                    head, verified = _state(store, self.meeting, self.stream)
                stats = self.link.stats()
                outage = self.link.emulator.outage  # a plain attribute: safe to read
                self.samples.append(
                    Sample(
                        time.time(),
                        stats["bytes_down"],
                        stats["bytes_up"],
                        None if outage is None else str(outage),
                        head,
                        verified,
                    )
                )
                tick += 1
                self._stop.wait(TICK_S)


def _state(store: Store, meeting: str, stream: str) -> tuple[int, int]:
    for _, name, head, verified in store.streams(meeting):
        if name == stream:
            return head, verified
    return 0, 0


def arrivals(home: Path, meeting: str, stream: str) -> dict[int, int]:
    """seq -> the node's wall clock (ms) when it stored the event.

    Store has no accessor for `received_ms` yet, so this reads the column through `Store.q`.
    """
    with Store(home / "store.sqlite") as store:
        no = store.stream_no(meeting, stream)
        if no is None:
            return {}
        rows = store.q(
            "SELECT seq, received_ms FROM events WHERE meeting=? AND no=? ORDER BY seq",
            (meeting, no),
        )
    return {int(seq): int(ms) for seq, ms in rows}


def coded_sizes(home: Path, meeting: str, stream: str) -> dict[int, int]:
    """seq -> bytes of the event's coded payload as it came to this node in its own frame
    (events that came in a catch-up batch have none)."""
    out: dict[int, int] = {}
    with Store(home / "store.sqlite") as store:
        no = store.stream_no(meeting, stream)
        if no is None:
            return out
        for seq, _, _, _ in store.events(meeting, no, 0, 1 << 40):
            packed = store.packed(meeting, no, seq)
            if packed is not None:
                out[seq] = len(packed[1])
    return out


def lines(origin_home: Path, meeting: str, stream: str) -> list[Line]:
    """Every caption of `stream` at the origin, with its append time and its text."""
    when = arrivals(origin_home, meeting, stream)
    with Store(origin_home / "store.sqlite") as store:
        no = store.stream_no(meeting, stream)
        rows = [] if no is None else store.events(meeting, no, 0, 1 << 40)
    out = []
    for seq, _, _, data in rows:
        cap = decode_body(decode_canonical(data)[2], CaptionLine)
        out.append(Line(seq, when[seq], f"{cap.speaker}: {cap.text}"))
    return out
