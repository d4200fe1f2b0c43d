"""The speaking queue, folded from the `floor` stream's events. Pure.

Points of order go ahead of ordinary requests; within each, first come first
served. The origin folds it to validate submissions; clients fold it to show
the queue and the delegate's place in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import FloorAction, FloorChange


@dataclass(frozen=True)
class Request:
    sub_id: bytes
    key: bytes
    name: str
    member_state: str
    remote: bool
    point_of_order: bool
    since_ts: int


@dataclass
class FloorState:
    queue: list[Request] = field(default_factory=list)

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

    def position(self, key: bytes) -> int | None:
        """1-based place of `key` in the queue, or None."""
        for i, r in enumerate(self.queue, start=1):
            if r.key == key:
                return i
        return None

    def waiting(self, key: bytes) -> bool:
        return self.position(key) is not None
