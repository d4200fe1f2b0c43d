"""`lowband status` tells a delegate what a relay may be hiding."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from conftest import MEETING, World

from lowband.protocol.model import Checkpoint
from lowband.storage import meta
from lowband.storage.store import Store


def status(home: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "lowband", "--home", str(home), "status"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_stale_signatures_on_a_live_link_are_flagged(world: World, tmp_path: Path) -> None:
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    with Store(tmp_path / "store.sqlite") as store:
        store.add_meeting(info, "http://127.0.0.1:9")
        no = store.ensure_stream(MEETING, "transcript/en", 3)
        old = int((time.time() - 600) * 1000)
        store.put_checkpoint(MEETING, no, Checkpoint("transcript/en", 0, old, bytes(64)))
        meta.set_link_record(store, MEETING, meta.LinkRecord(online=True, at=time.time()))
    assert "may be withholding events" in status(tmp_path)
    with Store(tmp_path / "store.sqlite") as store:
        store.put_checkpoint(
            MEETING, no, Checkpoint("transcript/en", 0, int(time.time() * 1000), bytes(64))
        )
    assert "withholding" not in status(tmp_path)
