"""Where one node keeps its key and store: `--home DIR`, `LOWBAND_HOME`, or the user data dir.

Several nodes (an origin, relays, delegates) run side by side on one machine
by giving each its own home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from nacl.signing import SigningKey

from lowband.protocol.crypto import load_key, load_or_create_key
from lowband.storage.store import Store


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
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return load_or_create_key(self.key_path)

    def store(self) -> Store:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Store(self.store_path)
