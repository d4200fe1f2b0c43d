"""A node's home: its key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lowband.node.home import Home, KeyFileError, load_key, load_or_create_key


def test_key_file_is_private_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "home" / "key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert bytes(load_key(path)) == bytes(key)
    path.write_text("not a key")
    with pytest.raises(KeyFileError, match="not a lowband key"):
        load_key(path)
    with pytest.raises(KeyFileError, match="lowband id init"):
        load_key(tmp_path / "missing")


def test_the_home_and_the_store_are_the_owners_alone(tmp_path: Path) -> None:
    root = tmp_path / "home"
    root.mkdir(mode=0o755)  # made by someone else first, as a systemd unit or an installer may
    home = Home(root)
    with home.store() as store, store.tx():
        store.set_meta("probe", "1")  # a write, so the WAL file exists
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in root.iterdir()}
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert modes["store.sqlite"] == 0o600 and modes["store.sqlite-wal"] == 0o600
