"""Snapshots of the main screens at 120 x 36, offline, at a fixed time in a fixed zone.

Update after a deliberate change with `pytest tests/client/test_snapshots.py --snapshot-update`
and look at the pictures before committing them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lowband.client import make_app
from lowband.protocol.model import Rights

from .conftest import NOW
from .doc_scene import add_documents
from .room_scene import MEETING, fill

SIZE = (120, 36)


def test_meetings_screen(home: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(home, sync=False, clock=lambda: NOW), terminal_size=SIZE)


def test_room_screen(home: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(home, MEETING, sync=False, clock=lambda: NOW), terminal_size=SIZE)


def test_room_screen_in_chinese_high_contrast(home: Path, snap_compare: Any) -> None:
    app = make_app(home, MEETING, lang="zh", high_contrast=True, sync=False, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=SIZE)


def test_chair_console(tmp_path: Path, snap_compare: Any) -> None:
    home = tmp_path / "chair"
    fill(home, rights=Rights.CHAIR)
    app = make_app(home, MEETING, chair=True, sync=False, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=SIZE)


def test_documents_screen_high_contrast(home: Path, snap_compare: Any) -> None:
    """The list with a held, a not fetched and a partly fetched document (its bar showing)."""
    texts = add_documents(home)
    annex = hashlib.sha256(texts["annex-r1"]).hexdigest()
    partial = home / "blobs" / "partial"
    partial.mkdir(parents=True)
    (partial / f"{annex}.{'ab' * 8}.1200").write_bytes(b"x" * 300)
    app = make_app(home, MEETING, high_contrast=True, sync=False, clock=lambda: NOW)
    assert snap_compare(app, press=["d"], terminal_size=SIZE)
