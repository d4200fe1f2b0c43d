#!/usr/bin/env python3
"""The soak: randomized faults while captions and submissions flow, then a strict audit.

Owns the fault schedule and the verdict. A `Scene` (origin, regional relay, the delegate's
`lowband sync` process behind the link emulator) runs while a captioner publishes real text
and the delegate queues floor requests, withdrawals and interventions; meanwhile flaps are
drawn from a seeded generator: silent and hard outages of the link, connection resets, relay
restarts (SIGTERM and SIGKILL, same port and store), origin restarts (SIGKILL) and client
restarts (SIGKILL or Ctrl-C of the sync process). At the end it checks that every caption
arrived once, in order and verified at the delegate, and that every submission was applied
exactly once at the origin; it prints the counts and exits 1 if anything was lost or
duplicated.

    scripts/soak.py --flaps 1000 --seed 1 --minutes 10
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from lowband.harness import audit
from lowband.harness.background import Background
from lowband.harness.linkprobe import lines
from lowband.harness.scene import Scene, Submitter
from lowband.harness.testbed import stream_state, wait_for
from lowband.linkem import OutageKind, get_profile

STREAM = "transcript/en"
FLAPS: dict[str, float] = {  # kind -> weight
    "silent outage": 4,
    "hard outage": 4,
    "reset": 4,
    "relay restart": 1,
    "relay kill": 1.5,
    "origin kill": 0.5,
    "client kill": 1.5,
    "client interrupt": 0.5,
}
SETTLE_S = 240.0


def flap(scene: Scene, kind: str, rng: random.Random) -> None:
    """One fault, over when this returns (the link back up, the process running again)."""
    assert scene.link and scene.relay and scene.origin and scene.follower
    if kind in ("silent outage", "hard outage"):
        scene.link.begin_outage(OutageKind.SILENT if kind == "silent outage" else OutageKind.HARD)
        time.sleep(rng.uniform(0.1, 1.0) if rng.random() < 0.8 else rng.uniform(1.0, 5.0))
        scene.link.end_outage()
    elif kind == "reset":  # every open connection reset at once, the link up again at once
        scene.link.begin_outage(OutageKind.HARD)
        scene.link.end_outage()
    elif kind in ("relay restart", "relay kill"):
        scene.relay.stop(signal.SIGTERM if kind == "relay restart" else signal.SIGKILL)
        time.sleep(rng.uniform(0.0, 1.0))
        scene.relay.start()
    elif kind == "origin kill":
        scene.origin.kill()
        time.sleep(rng.uniform(0.0, 1.0))
        scene.origin.start()
    else:
        scene.follower.stop(signal.SIGKILL if kind == "client kill" else signal.SIGINT)
        time.sleep(rng.uniform(0.0, 1.0))
        scene.follower.start()


class Delegate(Background):
    """Queues submissions in the delegate's outbox at random moments, as `lowband say` would."""

    def __init__(self, scene: Scene, rng: random.Random, mean_gap_s: float) -> None:
        super().__init__("delegate")
        self.scene, self.rng, self.mean_gap_s = scene, rng, mean_gap_s
        self.what = Submitter(rng)
        self.queued = 0

    def _run(self) -> None:
        while not self._stop.wait(self.rng.expovariate(1 / self.mean_gap_s)):
            kind, text = self.what.next()
            self.scene.submit(kind, text)
            self.queued += 1


def settled(scene: Scene, published: int) -> bool:
    origin = stream_state(scene.origin_home, scene.meeting, STREAM)[0]
    mine = stream_state(scene.delegate_home, scene.meeting, STREAM)
    subs = audit.submissions(scene.origin_home, scene.delegate_home, scene.meeting)
    return origin == published and mine == (origin, origin) and subs.unsettled == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--flaps", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--minutes", type=float, help="stop flapping after this long, flaps or not")
    p.add_argument("--profile", default="flaky3g", help="rates and delay (its own outages off)")
    p.add_argument("--work", type=Path, help="keep every node's home under this directory")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    profile = get_profile(args.profile).with_overrides(
        outage_schedule=None, outage_every_s=None, outage_for_s=(0, 0)
    )
    kinds, weights = zip(*FLAPS.items(), strict=True)
    done: Counter[str] = Counter()
    started = time.monotonic()
    with Scene.start(profile, args.work, seed=args.seed, command="sync") as scene:
        cap = scene.caption("en", pace=4.0)
        delegate = Delegate(scene, random.Random(args.seed + 1), 1.5)
        delegate.start()
        limit = started + 60 * args.minutes if args.minutes else float("inf")
        while sum(done.values()) < args.flaps and time.monotonic() < limit:
            kind = rng.choices(kinds, weights)[0]
            flap(scene, kind, rng)
            done[kind] += 1
            n = sum(done.values())
            if n % 50 == 0:
                print(f"{n} flaps, {time.monotonic() - started:.0f} s", flush=True)
            time.sleep(rng.uniform(0.05, 0.5))
        flapping = time.monotonic() - started
        delegate.stop()
        scene.stop_captions()
        published = len(cap.published)
        try:
            wait_for(lambda: settled(scene, published), SETTLE_S, "everything to settle")
        except AssertionError as exc:
            print(f"soak: {exc} within {SETTLE_S:.0f} s")
        caps = audit.captions(scene.origin_home, scene.delegate_home, scene.meeting, STREAM)
        subs = audit.submissions(scene.origin_home, scene.delegate_home, scene.meeting)
        at_origin = [ln.text for ln in lines(scene.origin_home, scene.meeting, STREAM)]
        sent = [f"{speaker}: {text}" for _, speaker, text in cap.published]
        restarts = scene.follower.starts - 1 if scene.follower else 0
    n = sum(done.values())
    print(
        f"soak: {n} flaps in {flapping / 60:.1f} min (seed {args.seed}, {args.profile} rates): "
        + ", ".join(f"{done[k]} {k}s" for k in kinds)
        + f"; the sync process was started {restarts + 1} times"
    )
    in_order = at_origin == sent
    print(
        f"captions: {len(sent)} published, {len(at_origin)} at the origin "
        f"({'the same lines in the same order' if in_order else 'NOT the lines published'}); "
        f"{caps}; {'ok' if caps.ok and in_order else 'WRONG'}"
    )
    print(f"{subs}; {'ok' if subs.ok and subs.queued == delegate.queued else 'WRONG'}")
    good = caps.ok and in_order and subs.ok and subs.unsettled == 0
    good = good and subs.queued == delegate.queued
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
