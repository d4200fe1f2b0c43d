"""Who may use a relay, and how much: request tokens, barred keys, rate limits, quotas.

Owns the relay's admission rules as pure decisions over explicit time, so they are testable
without a server. A delegate signs a short-lived token with its key; the relay checks it and
the roster (or its list of child relays) before serving, so strangers cannot use it, and the
operator can bar a key. Submissions pass per-key and per-address token buckets and a per-key
cap on what the relay holds in custody; a submission over a limit is deferred (the client keeps
it queued), never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a token was taken, else seconds until one will be there."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Limits:
    per_key_per_min: float = 30
    per_address_per_min: float = 120
    custody_per_key: int = 500
    barred: set[bytes] = field(default_factory=set)
    relays: set[bytes] = field(default_factory=set)  # child relays' keys, allowed like delegates
    _keys: dict[bytes, Bucket] = field(default_factory=dict)
    _addresses: dict[str, Bucket] = field(default_factory=dict)

    def admit(self, key: bytes, on_roster: bool) -> str:
        """'' when a token's key may use this relay for a meeting, else why not."""
        if key in self.barred:
            return "This relay's operator has barred your key."
        if not on_roster and key not in self.relays:
            return "Your key is not on this meeting's roster, nor a relay this one serves."
        return ""

    def direct(self, key: bytes, now: float) -> str:
        """'' when the origin may decide one more submission that `key` sent it directly (not
        forwarded by a child relay, which applied its own limits), else why not."""
        if key in self.barred:
            return "This origin's operator has barred your key."
        wait = self._keys.setdefault(key, Bucket(self.per_key_per_min / 60, 10)).take(now)
        if wait:
            return f"Too many submissions just now; this one is sent again in {wait:.0f} s."
        return ""

    def submission(self, key: bytes, address: str, held: int, now: float) -> str:
        """'' when one more submission may be taken into custody now, else why not."""
        if key in self.barred:
            return "This relay's operator has barred your key."
        if held >= self.custody_per_key:
            return f"This relay already holds {held} of your submissions; it sends them first."
        for bucket in (
            self._keys.setdefault(key, Bucket(self.per_key_per_min / 60, 10)),
            self._addresses.setdefault(address, Bucket(self.per_address_per_min / 60, 40)),
        ):
            wait = bucket.take(now)
            if wait:
                return f"Too many submissions just now; this one is sent again in {wait:.0f} s."
        return ""
