"""Where one node keeps its key and store: `--home DIR`, `LOWBAND_HOME`, or the user data dir.

Owns the home's layout and its key file (64 hex digits, mode 0600, written once). Several
nodes (an origin, relays, delegates) run side by side on one machine by giving each its own
home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from nacl.signing import SigningKey

from lowband.storage.store import Store


class KeyFileError(Exception):
    """A key file is missing or unreadable; the message is one plain sentence."""


def load_or_create_key(path: Path) -> SigningKey:
    """The node's key pair; a new one is written with mode 0600 if none exists."""
    if path.exists():
        return load_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(bytes(key).hex().encode() + b"\n")
    return key


def load_key(path: Path) -> SigningKey:
    try:
        text = path.read_text().strip()
        return SigningKey(bytes.fromhex(text))
    except FileNotFoundError:
        raise KeyFileError(f"No key at {path}; run `lowband id init` first.") from None
    except (ValueError, OSError):
        raise KeyFileError(f"The key file {path} is not a lowband key.") from None


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def locate(cls, explicit: str | None) -> Home:
        chosen = explicit or os.environ.get("LOWBAND_HOME") or platformdirs.user_data_dir("lowband")
        return cls(Path(chosen).expanduser())

    @property
    def key_path(self) -> Path:
        return self.root / "key"

    @property
    def store_path(self) -> Path:
        return self.root / "store.sqlite"

    def key(self) -> SigningKey:
        return load_key(self.key_path)

    def key_or_new(self) -> SigningKey:
        self._make()
        return load_or_create_key(self.key_path)

    def store(self) -> Store:
        self._make()
        return Store(self.store_path)

    def _make(self) -> None:
        """The home exists and is its owner's alone (0700), whoever created it first."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
