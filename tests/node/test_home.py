"""A node's home: its key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lowband.node.home import KeyFileError, load_key, load_or_create_key


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
