"""The daily data budget as numbers: what is left today, sizes as people write and read them.

Owns the arithmetic of the budget (bytes left of today's allowance and the seconds until local
midnight, which the mode ladder's forecast takes) and the words for sizes ("20MB" in, "1.5 MB"
out). Pure: the counters live in the store (`storage/meta.py`) and `node/usage.py` joins the
two.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def allowance(limit: int | None, used: int, now: datetime) -> tuple[int, float] | None:
    """Bytes left of today's budget and seconds until midnight; None when there is no budget.
    What the mode ladder's forecast needs (``Ladder.set_budget``)."""
    if limit is None:
        return None
    return limit - used, seconds_left_today(now)


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
