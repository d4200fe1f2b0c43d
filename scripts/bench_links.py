#!/usr/bin/env python3
"""The bad-link benchmark: captions, catch-up and exactly-once submissions over emulated links.

Owns the run and its one table. For each link profile it starts an origin, a regional relay
and a delegate's follower as real processes on 127.0.0.1, the follower behind the link
emulator (in this process, so its byte counters can be read; the profile's outages and resets
are the emulator's own schedule); feeds captions at 160 words a minute from real text on
transcript/en and transcript/zh; queues submissions (say, floor) with the CLI from the
delegate's home at random moments, one during each outage; then prints latency, steady-state
wire bytes against two zstd baselines, verification within 60 s, the cost of catching up after
every outage, and what became of the submissions. The figures are computed in
`lowband/harness/linkfigures.py`; the scene is `lowband/harness/scene.py`.

    scripts/bench_links.py --quick                 # about 2 minutes, profiles in parallel
    scripts/bench_links.py --profiles hf,edge --duration 240 --json out.json
    scripts/bench_links.py --quick --audio          # then a listener on each profile
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lowband
from lowband.harness import audit
from lowband.harness.background import Background
from lowband.harness.linkfigures import CATCHUP_GOAL, WIRE_GOAL, Figures, OutageFigures, figures
from lowband.harness.linkprobe import Probe, arrivals, coded_sizes, lines
from lowband.harness.scene import Scene, Submitter
from lowband.harness.testbed import stream_state
from lowband.linkem import LinkProfile, get_profile
from lowband.protocol.submissions import FINAL
from lowband.storage import submissions as queues
from lowband.storage.store import Store

BASELINE = "loopback"
QUICK_OUTAGES: dict[str, dict[str, Any]] = {  # one or two outages inside a quick run
    "hf": {"outage_every_s": 25.0, "outage_for_s": (6.0, 6.0)},
    "flaky3g": {"outage_every_s": 25.0, "outage_for_s": (3.0, 8.0)},
}
DRAIN_S = 75.0  # after the captions stop: time for the last checkpoint (30 s cadence) and acks


@dataclasses.dataclass
class Run:
    profile: str
    lang: str
    duration_s: float
    figures: Figures
    sent: int
    sent_in_outage: int
    sent_at: list[tuple[float, str]]  # (time queued, sub_id hex)
    submissions: audit.SubmissionAudit
    captions: audit.CaptionAudit
    link: dict[str, int]
    raw: dict[str, Any]  # what the figures were computed from, for --json


def quick_profile(profile: LinkProfile) -> LinkProfile:
    return profile.with_overrides(**QUICK_OUTAGES.get(profile.name, {}))


class Submissions(Background):
    """Queues submissions with the CLI at random moments, and one in every other outage (so
    that the catch-up after the others is the captions' alone)."""

    def __init__(self, scene: Scene, probe: Probe, mean_gap_s: float, seed: int) -> None:
        super().__init__("submissions")
        self.scene, self.probe, self.mean_gap_s = scene, probe, mean_gap_s
        self.rng = random.Random(seed)
        self.what = Submitter(self.rng)
        self.sent: list[tuple[float, bytes, bool]] = []  # (time, sub_id, during an outage)

    def _run(self) -> None:
        next_at = time.time() + self.rng.expovariate(1 / self.mean_gap_s)
        in_outage, outages = False, 0
        while not self._stop.wait(0.1):
            if not self.probe.samples:
                continue
            outage = self.probe.last().outage is not None
            if outage and not in_outage:
                outages += 1
                if outages % 2:
                    next_at = min(next_at, time.time() + self.rng.uniform(0.5, 2.0))
            in_outage = outage
            if time.time() >= next_at:
                kind, text = self.what.next()
                during = self.probe.last().outage is not None
                self.sent.append((time.time(), self.scene.submit_cli(kind, text), during))
                next_at = time.time() + self.rng.expovariate(1 / self.mean_gap_s)


def settled(scene: Scene) -> list[tuple[bytes, float | None]]:
    with Store(scene.delegate_home / "store.sqlite") as store:
        return [
            (i.sub_id, i.updated_ms / 1000 if i.state in FINAL else None)
            for i in queues.outbox(store, scene.meeting)
        ]


def run_profile(name: str, args: argparse.Namespace, work: Path) -> Run:
    profile = get_profile(name)
    if args.quick:
        profile = quick_profile(profile)
    stream = f"transcript/{args.lang}"
    with Scene.start(profile, work / name, seed=args.seed, lang=args.lang) as scene:
        assert scene.link is not None
        probe = Probe(scene.link, scene.delegate_home, scene.meeting, stream)
        probe.start()
        subs = Submissions(scene, probe, args.duration / 6, args.seed)
        start = time.time()
        captioners = {lang: scene.caption(lang) for lang in ("en", "zh")}
        followed = captioners[args.lang]
        subs.start()
        time.sleep(args.duration)
        subs.stop()
        scene.stop_captions()
        end = time.time()
        deadline = time.monotonic() + DRAIN_S

        def drained() -> bool:
            head = stream_state(scene.origin_home, scene.meeting, stream)[0]
            mine = stream_state(scene.delegate_home, scene.meeting, stream)
            return mine == (head, head) and all(t is not None for _, t in settled(scene))

        while not drained() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)  # the probe reads the store every 0.2 s: let it see the end
        probe.stop()
        got = arrivals(scene.delegate_home, scene.meeting, stream)
        text = lines(scene.origin_home, scene.meeting, stream)
        when = dict(settled(scene))
        spans = [(t, when.get(sid) or probe.last().t) for t, sid, _ in subs.sent]
        coded = coded_sizes(scene.delegate_home, scene.meeting, stream)
        warmup = 5.0 if args.quick else 10.0
        fresh = followed.wrapped_at or end
        figs = figures(probe.samples, text, got, profile, (start, end), spans, coded, warmup, fresh)
        return Run(
            name,
            args.lang,
            end - start,
            figs,
            len(subs.sent),
            sum(1 for *_, during in subs.sent if during),
            [(t, sid.hex()) for t, sid, _ in subs.sent],
            audit.submissions(scene.origin_home, scene.delegate_home, scene.meeting),
            audit.captions(scene.origin_home, scene.delegate_home, scene.meeting, stream),
            scene.link.stats(),
            {
                "window": [start, end],
                "samples": [dataclasses.astuple(x) for x in probe.samples],
                "lines": [
                    [ln.seq, ln.origin_ms, got.get(ln.seq), coded.get(ln.seq)] for ln in text
                ],
                "submissions": spans,
            },
        )


def _ms(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.0f}"


def _pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{100 * v:.0f}%"


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


COLUMNS = [
    "profile",
    "lang",
    "lines",
    "latency p50/p95/max ms",
    "steady p95 (goal)",
    "wire B/min (up)",
    "coded",
    "zstd (a)",
    "zstd (b)",
    "wire/(a)",
    "verified<=60s: steady, all",
    "subs sent/deliv/dup/lost (in outage)",
]


def row(r: Run) -> list[str]:
    f = r.figures
    p50, p95, worst = f.latency_ms
    ratio = f.wire_per_min / f.zstd_minute_per_min if f.zstd_minute_per_min > 0 else math.nan
    s = r.submissions
    return [
        r.profile,
        r.lang,
        str(f.arrived),
        f"{_ms(p50)}/{_ms(p95)}/{_ms(worst)}",
        f"{_ms(f.steady_p95_ms)} ({_ms(f.latency_goal_ms)}) "
        + ("" if math.isnan(f.steady_p95_ms) else _mark(f.steady_p95_ms <= f.latency_goal_ms)),
        f"{_ms(f.wire_per_min)} ({_ms(f.up_per_min)})",
        _ms(f.coded_per_min),
        _ms(f.zstd_minute_per_min),
        _ms(f.zstd_run_per_min),
        "-" if math.isnan(ratio) else f"{ratio:.2f}x {_mark(ratio <= WIRE_GOAL)}",
        f"{_pct(f.steady_verified_share)}, {_pct(f.verified_share)} of {f.judged}",
        f"{r.sent}/{s.applied}/{s.duplicated}/{s.lost} ({r.sent_in_outage})"
        + ("" if r.captions.ok else f"  CAPTIONS WRONG: {r.captions}"),
    ]


def outage_line(i: int, o: OutageFigures, sent: list[float]) -> str:
    what = f"  outage {i}: {o.kind} {o.duration_s:.1f} s"
    during = sum(1 for t in sent if o.start <= t <= o.start + o.duration_s)
    what += f" (+{during} submission)" if during else ""
    what += f", missed {o.missed_lines} lines ({o.missed_zstd} B zstd): "
    if o.catchup_s is None or o.catchup_bytes is None:
        return what + "not caught up by the end of the run"
    if not o.missed_lines:
        return what + f"nothing to catch up; {o.catchup_bytes} B"
    retry = "-" if o.retry_s is None else f"{o.retry_s:.1f} s"
    return (
        what
        + f"catch-up {o.catchup_s:.1f} s {_mark(o.catchup_s <= o.goal_s)}"
        + f" / {o.catchup_bytes} B {_mark(o.catchup_bytes <= o.goal_bytes)}"
        + f" (goal {o.goal_s:.1f} s / {o.goal_bytes:.0f} B); first byte up after {retry}"
    )


def table(runs: list[Run]) -> list[str]:
    rows = [COLUMNS] + [row(r) for r in runs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]

    out = [fmt(COLUMNS), "-" * len(fmt(COLUMNS))]
    for r, cells in zip(runs, rows[1:], strict=True):
        out.append(fmt(cells))
        sent = [t for t, _ in r.sent_at]
        out += [outage_line(i, o, sent) for i, o in enumerate(r.figures.outages, 1)]
    return out


LEGEND = [
    "latency: origin append to the delegate's store, both on this machine's clock; steady p95",
    "  leaves out lines near outages, catch-ups and submissions; goal = one-way delay + 500 ms.",
    "wire: bytes the emulator carried, both directions (TCP payload only, no IP/TCP headers),",
    "  per minute of steady state (no warm-up, outage, catch-up or submission), checkpoints in;",
    "  only while the text is new (the English script lasts 4 min at 160 wpm, the Chinese 14).",
    "coded: of the wire bytes, the caption payloads as the codec left them (the rest is frame",
    "  headers, HTTP chunk framing, checkpoints, keep-alives and requests).",
    "zstd (a): each minute's delivered caption text ('SPEAKER: text' lines) compressed alone",
    f"  with zstd -19; the goal (wire <= {WIRE_GOAL}x) is judged against (a).",
    "zstd (b): the whole run's delivered text compressed at once, pro rata (a lower bound).",
    "verified<=60s: share of lines verified within 60 s of their origin time: of the lines",
    "  whose next 60 s saw no outage or catch-up (what the goal asks), and of all lines judged.",
    f"catch-up: outage end until the delegate holds the origin's head of then; goal bytes <="
    f" {CATCHUP_GOAL}x",
    "  the missed text compressed alone, goal time <= goal bytes / down rate + 2 RTT.",
    "subs: queued with `lowband say|floor --wait 0`; delivered = decided at the origin (`applied`);",
    "  duplicated = named by two outcome events; lost = never decided.",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profiles", default="hf,edge,vsat,flaky3g", help="comma-separated")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="the delegate's language")
    p.add_argument(
        "--duration", type=float, help="seconds of captions a profile (240; --quick: 45)"
    )
    p.add_argument(
        "--quick", action="store_true", help="45 s a profile, all at once, short outages"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--work", type=Path, help="keep every node's home under this directory")
    p.add_argument(
        "--audio",
        action="store_true",
        help="then the audio rows on the same profiles (scripts/bench_audio.py)",
    )
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 45.0 if args.quick else 240.0
    names = [n for n in args.profiles.split(",") if n and n != BASELINE] + [BASELINE]
    for n in names:
        get_profile(n)  # an unknown name fails before anything starts
    with tempfile.TemporaryDirectory(prefix="lowband-bench-") as tmp:
        work = args.work or Path(tmp)
        started = time.time()
        if args.quick:
            with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
                runs = list(pool.map(lambda n: run_profile(n, args, work), names))
        else:
            runs = [run_profile(n, args, work) for n in names]
    command = "scripts/bench_links.py " + " ".join(argv or sys.argv[1:])
    code = Path(lowband.__file__).resolve().parent.parent
    rev = subprocess.run(
        ["git", "-C", str(code), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"$ {command}   (lowband in {code}, {rev or 'not a git checkout'};"
        f" {time.time() - started:.0f} s)"
    )
    for line in table(runs) + [""] + LEGEND:
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps([dataclasses.asdict(r) for r in runs], indent=1, default=str)
        )
    ok = all(r.submissions.ok and r.captions.ok for r in runs)
    if args.audio:  # a listener on each profile, after the captions-only runs
        profiles = ",".join(n for n in names if n != BASELINE)
        audio = [sys.executable, str(Path(__file__).with_name("bench_audio.py"))]
        audio += ["--profiles", profiles, "--duration", str(max(60.0, args.duration))]
        print()
        ok = subprocess.run(audio, check=False).returncode == 0 and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
