"""How fast, and when, a receiver lets document bytes in: the priority rule of DESIGN section 4.

Documents travel in their own requests (GET /v1/blobs), beside the live exchange, so the
client enforces their place in the priority order itself, with two rules:

1. Hold: no blob fetch starts, and a running one reads no further bytes, while the outbox
   holds a submission still to be sent (floor requests, interventions and chat go first).
   Holding stops reading, so TCP flow control stops the sender within the link's buffers.
   A fetch holds for at most HOLD_MAX_S in all: a submission nobody is sending (no `follow`
   running, say) must not stop documents for good.
2. Rate: blob bytes are read at most at `rate_bps` (a token bucket; 0 means no cap). A caller
   that knows the link sets it to what the live streams leave: `spare_bps(goodput, use)`,
   with `use` the current mode's spend (ladder.USE_BPS); `lowband docs get --max-kbps` sets
   it by hand.

Within documents, the current agenda item's go first (documents/index.py orders them). Pure: time
comes in as `now` (seconds); the fetch loop in documents/transfer.py does the sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

HOLD_POLL_S = 0.5  # how often a held fetch looks again
HOLD_MAX_S = 60.0  # the longest one fetch holds, in all
MIN_SHARE = 0.1  # documents always get this share of the goodput, so they finish eventually


def spare_bps(goodput_bps: float, live_use_bps: float) -> float:
    """Bits per second left for documents when the live streams use `live_use_bps`."""
    return max(goodput_bps * MIN_SHARE, goodput_bps - live_use_bps)


@dataclass
class Pacer:
    """A token bucket over received bytes; `burst` bytes may arrive at once."""

    rate_bps: float = 0.0
    burst: int = 16 * 1024
    tokens: float = 0.0
    last: float | None = None

    def delay(self, now: float, nbytes: int) -> float:
        """Seconds to wait before taking in `nbytes` more (and charge them)."""
        if self.rate_bps <= 0:
            return 0.0
        rate = self.rate_bps / 8
        if self.last is None:
            self.tokens, self.last = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * rate)
        self.last = now
        self.tokens -= nbytes
        return 0.0 if self.tokens >= 0 else -self.tokens / rate
