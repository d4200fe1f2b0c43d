"""Shared fixtures: real stores in temporary files, an origin with a meeting and a delegate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from lowband.origin.append import append, create_meeting
from lowband.origin.origin import Origin
from lowband.protocol.model import Kind, MeetingKind, Notice, Rights, RosterEntry, Session
from lowband.protocol.wire import encode_body
from lowband.storage.store import Store

MEETING = "pp26"


def now_ms() -> int:
    return int(time.time() * 1000)


def notice(remote_rights: Rights = Rights.SPEAK) -> Notice:
    return Notice(
        "Council 2026",
        MeetingKind.HYBRID,
        remote_rights,
        [Session("2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z")],
        ["en", "zh"],
    )


@dataclass
class World:
    origin_store: Store
    origin_key: SigningKey
    origin: Origin
    delegate_key: SigningKey

    def add_delegate(
        self, key: SigningKey, rights: Rights = Rights.SPEAK, name: str = "Amina"
    ) -> None:
        info = self.origin_store.meeting(MEETING)
        assert info is not None
        entry = RosterEntry(bytes(key.verify_key), name, "Kenya", rights)
        with self.origin_store.tx():
            append(self.origin_store, info, "roster", Kind.ROSTER, encode_body(entry), now_ms())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = Store(tmp_path / "origin.sqlite")
    key = SigningKey.generate()
    create_meeting(store, key, MEETING, notice(), now_ms())
    w = World(store, key, Origin(store, key, "origin"), SigningKey.generate())
    w.add_delegate(w.delegate_key)
    yield w
    store.close()


@pytest.fixture
def client_store(tmp_path: Path, world: World) -> Iterator[Store]:
    store = Store(tmp_path / "client.sqlite")
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    store.add_meeting(info, "http://127.0.0.1:9")
    yield store
    store.close()
