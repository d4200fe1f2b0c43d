"""A relay's background work while it serves: signing at the origin, saving its figures,
pruning old audio, and noticing writes to its store by other processes.

Each task loops until the app's lifespan cancels it; a busy or full store only skips a round.
"""

from __future__ import annotations

import asyncio
import contextlib

from lowband.protocol.checkpoints import TICK_MS
from lowband.relay.retention import prune
from lowband.relay.state import RelayState, now_ms
from lowband.storage.store import StoreError

STATS_SAVE_S = 30.0


async def save_stats(state: RelayState) -> None:
    while True:
        await asyncio.sleep(STATS_SAVE_S)
        with contextlib.suppress(StoreError):
            state.metrics.save()


async def prune_loop(state: RelayState) -> None:
    """Drop old audio now and then (relay/retention.py); followers then see the anchors."""
    while True:
        await asyncio.sleep(state.settings.retention.every_s)
        for info in state.store.meetings():
            with contextlib.suppress(StoreError):  # a busy store: the next round prunes
                if prune(state.store, info.id, state.settings.retention, state.cursors, now_ms()):
                    state.hub.notify(info.id)


async def watch_store(state: RelayState) -> None:
    """Other processes write this store too (the CLI at the origin): wake followers then."""
    seen = state.store.data_version()
    while True:
        await asyncio.sleep(0.25)
        version = state.store.data_version()
        if version != seen:
            seen = version
            state.hub.notify_all()
            for info in state.store.meetings():
                state.hub.notify(info.id)


async def sign_loop(state: RelayState) -> None:
    assert state.origin is not None
    while True:
        await asyncio.sleep(TICK_MS / 1000)
        try:
            if state.origin.sign_due(now_ms()):
                for info in state.store.meetings():
                    state.hub.notify(info.id)
        except StoreError:
            continue  # a busy store: the next tick signs
