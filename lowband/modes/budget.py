"""Data used today against the delegate's daily budget, kept in the store's meta table.

Owns the meta keys `usage/<YYYY-MM-DD>` (bytes both ways through this node's
link on that local day) and `budget/daily` (bytes a day; absent means no
budget), and the words the status bar uses for them. The sync thread and a
listener add; the screens read. Callers of `add` run inside `Store.tx()`.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from lowband.modes.ladder import Ladder
from lowband.storage.store import Store

BUDGET_KEY = "budget/daily"


def _day_key(day: date) -> str:
    return f"usage/{day.isoformat()}"


def add(store: Store, n: int, today: date) -> None:
    if n > 0:
        store.set_meta(_day_key(today), str(used(store, today) + n))


def used(store: Store, today: date) -> int:
    return int(store.get_meta(_day_key(today), "0") or 0)


def budget(store: Store) -> int | None:
    text = store.get_meta(BUDGET_KEY)
    return int(text) if text else None


def set_budget(store: Store, limit: int | None) -> None:
    if limit is None:
        store.db.execute("DELETE FROM meta WHERE key=?", (BUDGET_KEY,))
    else:
        store.set_meta(BUDGET_KEY, str(limit))


def allowance(store: Store, now: datetime) -> tuple[int, float] | None:
    """Bytes left of today's budget and seconds until midnight; None when there is no budget.
    What the mode ladder's forecast needs (``Ladder.set_budget``)."""
    limit = budget(store)
    if limit is None:
        return None
    return limit - used(store, now.date()), seconds_left_today(now)


def limit_ladder(store: Store, ladder: Ladder) -> None:
    """Give the ladder what is left of today's budget, if there is one."""
    left = allowance(store, datetime.now().astimezone())
    if left is not None:
        now = time.monotonic()
        ladder.set_budget(left[0], now + left[1], now)


def count(store: Store, n: int) -> None:
    """Add ``n`` bytes to today's use, in a transaction of its own."""
    if n > 0:
        with store.tx():
            add(store, n, datetime.now().astimezone().date())


def seconds_left_today(now: datetime) -> float:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return (midnight - now).total_seconds()


def parse_size(text: str) -> int:
    """'20MB', '500k', '1.5G' or plain bytes."""
    t = text.strip().upper().removesuffix("B")
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(t[-1:], 1)
    number = t[:-1] if scale > 1 else t
    try:
        return int(float(number) * scale)
    except ValueError:
        raise ValueError(f"{text!r} is not a size such as 20MB or 500kB.") from None


def human(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"
