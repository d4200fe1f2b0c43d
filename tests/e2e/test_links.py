"""End to end through the link emulator on `edge` and `flaky3g`: correctness only, never timing.

Real processes on loopback (`lowband.harness.scene`): captions published at the origin reach the
delegate behind the emulated link all of them, in order and verified; submissions queued
before, during and after a forced outage are applied exactly once; the delegate catches up
after the outage. Outages on `flaky3g` are shortened so that one test stays under a minute.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from lowband.harness import audit
from lowband.harness.linkprobe import lines
from lowband.harness.scene import Scene, Submitter
from lowband.harness.testbed import stream_state, wait_for
from lowband.linkem import LinkProfile, OutageKind, get_profile
from lowband.protocol.model import SubKind

pytestmark = pytest.mark.e2e
STREAM = "transcript/en"
LINES = 16
CASES: dict[str, tuple[LinkProfile, OutageKind]] = {
    "edge": (get_profile("edge"), OutageKind.HARD),
    "flaky3g": (
        get_profile("flaky3g").with_overrides(outage_every_s=12.0, outage_for_s=(2.0, 5.0)),
        OutageKind.SILENT,
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Scene, OutageKind]]:
    profile, outage = CASES[request.param]
    with Scene.start(profile, tmp_path, seed=3) as scene:
        yield scene, outage


def head(scene: Scene, home: Path) -> int:
    return stream_state(home, scene.meeting, STREAM)[0]


def test_captions_and_submissions_cross_the_link_exactly_once(
    case: tuple[Scene, OutageKind],
) -> None:
    scene, outage = case
    assert scene.link is not None and scene.follower is not None
    what = Submitter(random.Random(5))
    captioner = scene.caption("en", pace=8.0, limit=LINES)
    queued = [scene.submit_cli(*what.next())]  # the CLI, sent by the running follower
    wait_for(lambda: head(scene, scene.origin_home) >= 4, what="the first captions")

    scene.link.begin_outage(outage)
    queued.append(scene.submit(*what.next()))
    before = head(scene, scene.origin_home)
    wait_for(lambda: head(scene, scene.origin_home) >= before + 3, what="captions in the outage")
    missed = head(scene, scene.origin_home)
    scene.link.end_outage()
    wait_for(lambda: head(scene, scene.delegate_home) >= missed, timeout=60, what="catch-up")

    captioner.wait(60)
    queued += [scene.submit(*what.next()), scene.submit(SubKind.INTERVENTION, "Thank you.")]

    def settled() -> bool:
        subs = audit.submissions(scene.origin_home, scene.delegate_home, scene.meeting)
        return head(scene, scene.delegate_home) == LINES and subs.unsettled == 0

    wait_for(settled, timeout=90, what="every caption and submission at the delegate")
    # A restarted client gets the newest checkpoint at once, not at the next 30 s cadence.
    scene.follower.stop()
    scene.follower.start()
    wait_for(
        lambda: audit.captions(scene.origin_home, scene.delegate_home, scene.meeting, STREAM).ok,
        timeout=60,
        what="every caption verified",
    )

    published = [f"{speaker}: {text}" for _, speaker, text in captioner.published]
    assert [ln.text for ln in lines(scene.origin_home, scene.meeting, STREAM)] == published
    caps = audit.captions(scene.origin_home, scene.delegate_home, scene.meeting, STREAM)
    assert caps.ok and caps.head == LINES, caps
    subs = audit.submissions(scene.origin_home, scene.delegate_home, scene.meeting)
    assert (subs.queued, subs.applied, subs.duplicated, subs.lost) == (
        len(queued),
        len(queued),
        0,
        0,
    ), subs
