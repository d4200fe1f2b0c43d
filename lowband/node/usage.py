"""A node's data use against its daily budget: the store's counters fed to the mode ladder.

Owns the two steps every link user repeats: counting bytes that crossed the link into today's
total, and handing the ladder what is left of today's budget. The counters are
`storage/meta.py`'s; the arithmetic is `modes/budget.py`'s.
"""

from __future__ import annotations

import time
from datetime import datetime

from lowband.modes.budget import allowance
from lowband.modes.ladder import Ladder
from lowband.storage import meta
from lowband.storage.store import Store


def count(store: Store, n: int) -> None:
    """Add ``n`` bytes to today's use, in a transaction of its own."""
    if n > 0:
        with store.tx():
            meta.add_used(store, n, datetime.now().astimezone().date())


def limit_ladder(store: Store, ladder: Ladder) -> None:
    """Give the ladder what is left of today's budget, if there is one."""
    now = datetime.now().astimezone()
    left = allowance(meta.daily_budget(store), meta.used_on(store, now.date()), now)
    if left is not None:
        mono = time.monotonic()
        ladder.set_budget(left[0], mono + left[1], mono)
