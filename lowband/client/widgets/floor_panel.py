"""The speaking queue as a delegate sees it: who has the floor, the queue, my place.

Owns the floor panel of the room screen. Points of order are marked, remote
and in-room requests are told apart in words, and the delegate's own line
says "you".
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lowband.meeting.floor import FloorState


def floor_lines(state: FloorState, my_key: bytes) -> list[str]:
    lines = []
    if state.speaker is not None:
        s = state.speaker
        you = " (you)" if s.key == my_key else ""
        lines.append(f"Floor: {s.name} ({s.member_state}){you}")
    else:
        lines.append("Floor: nobody has the floor")
    if state.closed:
        lines.append("The list of speakers is closed (points of order only).")
    mine = state.position(my_key)
    if mine is not None:
        lines.append(f"You are number {mine} of {len(state.queue)} in the queue.")
    else:
        lines.append("You are not in the queue (r: ask for the floor).")
    if not state.queue:
        lines.append("Queue: empty")
    for i, r in enumerate(state.queue, start=1):
        poo = "POINT OF ORDER " if r.point_of_order else ""
        where = "remote" if r.remote else "in the room"
        you = " ← you" if r.key == my_key else ""
        lines.append(f"{i:>2}. {poo}{r.name} ({r.member_state}, {where}){you}")
    return lines


class FloorPanel(Static):
    DEFAULT_CSS = """
    FloorPanel { height: auto; max-height: 12; border: round $primary; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "Speaking queue"

    def show(self, state: FloorState, my_key: bytes) -> None:
        self.update(Text("\n".join(floor_lines(state, my_key))))
