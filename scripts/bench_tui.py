"""Figures for the terminal client (a script, not a timed test).

1. Time from start to the first painted room with 10,000 transcript lines in the store: measured
   in a fresh interpreter (imports included) and in-process (from make_app), to the first call
   of the transcript's render_line with lines in it.
2. Frame time while lines arrive at 10 a second: another thread writes caption events into the
   store and tells the app, as the sync thread does; we time the screen's reload and each
   compositor refresh.
3. Memory: the process's peak RSS after the first paint, and after loading all 10,000 lines
   into the scrollback.

Usage: .venv/bin/python scripts/bench_tui.py [--lines 10000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "client"))

from room_scene import MEETING, T0, append, fill  # noqa: E402

from lowband.client import make_app  # noqa: E402
from lowband.client.messages import StoreChanged  # noqa: E402
from lowband.client.screens.room import RoomScreen  # noqa: E402
from lowband.client.widgets.transcript import TranscriptView  # noqa: E402
from lowband.protocol.model import CaptionLine, Kind  # noqa: E402
from lowband.protocol.wire import encode_body  # noqa: E402
from lowband.storage.store import Store  # noqa: E402

SIZE = (120, 36)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_paint_hook() -> dict[str, float]:
    seen: dict[str, float] = {}
    original = TranscriptView.render_line

    def render_line(self: TranscriptView, y: int):  # type: ignore[no-untyped-def]
        if "t" not in seen and self.lines:
            seen["t"] = time.perf_counter()
        return original(self, y)

    TranscriptView.render_line = render_line  # type: ignore[method-assign]
    return seen


async def first_paint(home: Path) -> float:
    seen = first_paint_hook()
    t0 = time.perf_counter()
    app = make_app(home, MEETING, sync=False)
    async with app.run_test(size=SIZE) as pilot:
        while "t" not in seen:
            await pilot.pause(0.01)
    return seen["t"] - t0


def child(home: Path, started: float) -> None:
    """In a fresh interpreter: print the seconds from `started` (the parent's clock) to paint."""
    seen = first_paint_hook()

    async def run() -> None:
        app = make_app(home, MEETING, sync=False)
        async with app.run_test(size=SIZE) as pilot:
            while "t" not in seen:
                await pilot.pause(0.01)
        print(time.time() - started - (time.perf_counter() - seen["t"]))

    asyncio.run(run())


async def live(home: Path, seconds: float) -> tuple[list[float], list[float], float, float]:
    app = make_app(home, MEETING, sync=False)
    reloads: list[float] = []
    frames: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, RoomScreen)
        reload, refresh = screen.reload, screen._compositor_refresh

        def timed_reload(first: bool = False) -> None:
            t = time.perf_counter()
            reload(first)
            reloads.append(time.perf_counter() - t)

        def timed_refresh() -> None:
            t = time.perf_counter()
            refresh()
            frames.append(time.perf_counter() - t)

        screen.reload = timed_reload  # type: ignore[method-assign]
        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        stop = threading.Event()

        def captioner() -> None:
            with Store(home / "store.sqlite") as store:
                info = store.meeting(MEETING)
                assert info is not None
                i = 0
                while not stop.wait(0.1):
                    i += 1
                    body = encode_body(
                        CaptionLine("KENYA", f"Live line {i} on remote participation.")
                    )
                    with store.tx():
                        append(store, info, "transcript/en", Kind.CAPTION, body, T0 + 10**7 + i)
                    app.post_message(StoreChanged())

        writer = threading.Thread(target=captioner)
        writer.start()
        await pilot.pause(seconds)
        stop.set()
        writer.join()
        await pilot.pause(0.3)
        painted_rss = rss_mb()
        view = screen.query_one(TranscriptView)
        while view.has_older:
            lines, older = screen.reader.transcript_before("en", view.oldest_seq)
            view.prepend(lines, older)
        await pilot.pause(0.1)
        return reloads, frames, painted_rss, rss_mb()


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child), args.started)
        return
    home = Path(tempfile.mkdtemp(prefix="lowband-bench-")) / "delegate"
    fill(home, lines=args.lines)
    cold = []
    for _ in range(3):
        started = time.time()
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(home), "--started", str(started)],
            capture_output=True,
            text=True,
            check=True,
        )
        cold.append(float(out.stdout.strip().splitlines()[-1]))
    warm = [asyncio.run(first_paint(home)) for _ in range(3)]
    reloads, frames, painted_rss, all_rss = asyncio.run(live(home, args.seconds))
    print(f"transcript lines in the store: {args.lines}")
    print(
        f"start to first painted room, fresh process (imports included): "
        f"median {statistics.median(cold):.2f} s, runs {', '.join(f'{c:.2f}' for c in cold)}"
    )
    print(f"make_app to first painted room, in-process: median {statistics.median(warm):.2f} s")
    print(
        f"lines arriving at 10/s for {args.seconds:.0f} s: reload per update median "
        f"{pct(reloads, 0.5):.1f} ms, p95 {pct(reloads, 0.95):.1f} ms, max {max(reloads) * 1000:.1f} ms"
    )
    print(
        f"  frame (compositor refresh): {len(frames)} frames, median {pct(frames, 0.5):.1f} ms, "
        f"p95 {pct(frames, 0.95):.1f} ms, max {max(frames) * 1000:.1f} ms"
    )
    print(
        f"memory: peak RSS {painted_rss:.0f} MB after painting; {all_rss:.0f} MB with all lines loaded"
    )


if __name__ == "__main__":
    main()
