"""The speaking queue, folded from the `floor` stream's events. Pure.

Points of order go ahead of ordinary requests; within each, first come first
served. The chair grants the floor (to a named request, or the next one),
frees it, and closes or reopens the list of speakers; a closed list takes
points of order only. The origin folds it to validate submissions; clients
fold it to show the queue, who holds the floor and the delegate's place in
it; the chair's console adds the fairness figures (`fairness`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lowband.protocol.model import FloorAction, FloorChange


@dataclass(frozen=True)
class Request:
    sub_id: bytes
    key: bytes
    name: str
    member_state: str
    remote: bool
    point_of_order: bool
    since_ts: int


@dataclass(frozen=True)
class Granted:
    """A request that got the floor, and when (ms since the meeting's epoch)."""

    request: Request
    at_ts: int

    @property
    def waited_ms(self) -> int:
        return max(0, self.at_ts - self.request.since_ts)


def in_room_key(name: str, member_state: str) -> bytes:
    """The stand-in key of someone in the room whom the chair puts on the queue."""
    return hashlib.sha256(f"lowband/in-room\0{member_state}\0{name}".encode()).digest()


@dataclass
class FloorState:
    queue: list[Request] = field(default_factory=list)
    speaker: Request | None = None
    closed: bool = False
    granted: list[Granted] = field(default_factory=list)

    def apply(self, change: FloorChange, ts: int) -> None:
        match change.action:
            case FloorAction.REQUEST | FloorAction.POINT_OF_ORDER:
                poo = change.action is FloorAction.POINT_OF_ORDER
                req = Request(
                    change.sub_id,
                    change.key,
                    change.name,
                    change.member_state,
                    change.remote,
                    poo,
                    ts,
                )
                if poo:
                    at = sum(1 for r in self.queue if r.point_of_order)
                    self.queue.insert(at, req)
                else:
                    self.queue.append(req)
            case FloorAction.WITHDRAW:
                self.queue = [r for r in self.queue if r.key != change.key]
            case FloorAction.GRANT:
                found = self.find(change.ref)
                # Granted to someone not queued: a request of its own.
                req = found or Request(
                    change.ref or change.sub_id,
                    change.key,
                    change.name,
                    change.member_state,
                    change.remote,
                    False,
                    ts,
                )
                self.queue = [r for r in self.queue if r.sub_id != req.sub_id]
                self.speaker = req
                self.granted.append(Granted(req, ts))
            case FloorAction.RELEASE:
                self.speaker = None
            case FloorAction.CLOSE:
                self.closed = True
            case FloorAction.OPEN:
                self.closed = False

    def find(self, sub_id: bytes) -> Request | None:
        return next((r for r in self.queue if r.sub_id == sub_id), None) if sub_id else None

    def position(self, key: bytes) -> int | None:
        """1-based place of `key` in the queue, or None."""
        for i, r in enumerate(self.queue, start=1):
            if r.key == key:
                return i
        return None

    def waiting(self, key: bytes) -> bool:
        return self.position(key) is not None


@dataclass(frozen=True)
class Waits:
    """Waiting times of one group of requests, in seconds."""

    count: int
    mean_s: float
    longest_s: float


def _waits(ms: list[int]) -> Waits:
    if not ms:
        return Waits(0, 0.0, 0.0)
    return Waits(len(ms), sum(ms) / len(ms) / 1000, max(ms) / 1000)


def fairness(state: FloorState, now_ts: int) -> dict[str, Waits]:
    """Mean and longest wait for remote and in-room requests, granted or still waiting."""
    groups: dict[str, list[int]] = {"remote": [], "in the room": []}
    for g in state.granted:
        groups["remote" if g.request.remote else "in the room"].append(g.waited_ms)
    for r in state.queue:
        groups["remote" if r.remote else "in the room"].append(max(0, now_ts - r.since_ts))
    return {name: _waits(ms) for name, ms in groups.items()}
