"""A node's small settings and counters in the store's `meta` table, through typed accessors.

Owns every meta key, so that no other module spells one: the alert a refused event left
(`alert/<meeting>`), the CA bundle or pinned certificate a meeting's relay is trusted with
(`ca/<meeting>`), the name of its relay (`relay/<meeting>`), the link state the last `follow` or `sync` saw (`link/<meeting>`), bytes used
on a local day (`usage/<YYYY-MM-DD>`), the daily budget (`budget/daily`, absent: none), and a
relay's totals of bytes served (`stats/served`). Writers run inside `Store.tx()` unless said.
Must not: decide anything with these values (the ladder and the screens do).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import msgspec

from lowband.storage.store import Store

_BUDGET = "budget/daily"
_SERVED = "stats/served"


def alert(store: Store, meeting: str) -> str:
    """What the last refused event from the relay said, or ''."""
    return store.get_meta(f"alert/{meeting}")


def set_alert(store: Store, meeting: str, text: str) -> None:
    store.set_meta(f"alert/{meeting}", text)


def relay_ca(store: Store, meeting: str) -> str | None:
    """The CA bundle or pinned certificate the meeting's relay is checked against; None: the
    system's CAs."""
    return store.get_meta(f"ca/{meeting}") or None


def set_relay_ca(store: Store, meeting: str, path: str) -> None:
    store.set_meta(f"ca/{meeting}", path)


def relay_name(store: Store, meeting: str) -> str:
    """The name the meeting's relay (this node's parent) goes by: the audience of the tokens
    this node sends it; '' until learned."""
    return store.get_meta(f"relay/{meeting}")


def set_relay_name(store: Store, meeting: str, name: str) -> None:
    store.set_meta(f"relay/{meeting}", name)


@dataclass(frozen=True)
class LinkRecord:
    """The link as `follow` or `sync` last saw it, for `lowband status`."""

    online: bool = False
    error: str = ""
    at: float = 0.0  # seconds since the epoch
    peer: str = ""
    rtt_s: float | None = None


def link_record(store: Store, meeting: str) -> LinkRecord | None:
    text = store.get_meta(f"link/{meeting}")
    if not text:
        return None
    try:
        return msgspec.json.decode(text, type=LinkRecord)
    except msgspec.DecodeError:
        return None  # written by a version that kept other fields: as if never recorded


def set_link_record(store: Store, meeting: str, record: LinkRecord) -> None:
    store.set_meta(f"link/{meeting}", msgspec.json.encode(record).decode())


def used_on(store: Store, day: date) -> int:
    """Bytes both ways through this node's link on that local day."""
    return int(store.get_meta(f"usage/{day.isoformat()}", "0") or 0)


def add_used(store: Store, n: int, day: date) -> None:
    if n > 0:
        store.set_meta(f"usage/{day.isoformat()}", str(used_on(store, day) + n))


def daily_budget(store: Store) -> int | None:
    text = store.get_meta(_BUDGET)
    return int(text) if text else None


def set_daily_budget(store: Store, limit: int | None) -> None:
    if limit is None:
        store.db.execute("DELETE FROM meta WHERE key=?", (_BUDGET,))
    else:
        store.set_meta(_BUDGET, str(limit))


def served_totals(store: Store) -> dict[str, int]:
    """A relay's bytes served by stream class (relay/metrics.py keeps them)."""
    totals: dict[str, int] = json.loads(store.get_meta(_SERVED, "{}") or "{}")
    return totals


def set_served_totals(store: Store, totals: dict[str, int]) -> None:
    store.set_meta(_SERVED, json.dumps(totals, sort_keys=True))
