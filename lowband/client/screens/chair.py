"""The chair's console: the speaking queue run fairly, from the same store.

Owns what the chair sees and does: who holds the floor, the queue (points
of order first) with remote and in-room requests told apart and each one's
waiting time, the fairness figures (mean and longest wait, remote against
in the room), and the floor's recent events. Every action is a signed CHAIR
submission queued through the sync thread; the origin accepts it only from
a key with chair rights and turns it into a floor event every delegate sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from lowband.client.messages import LinkChanged, StoreChanged
from lowband.client.views.room_data import RoomReader
from lowband.client.widgets.item_list import ItemList
from lowband.client.widgets.status_bar import StatusBar
from lowband.meeting.floor import fairness
from lowband.meeting.render import clock, line
from lowband.protocol.model import ChairAction, ChairVerb, Kind, Rights, SubKind, has_right
from lowband.protocol.wire import decode_canonical, encode_body

if TYPE_CHECKING:
    from lowband.client.app import LowbandApp


def mmss(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


class ChairScreen(Screen[None]):
    CSS_PATH = "chair.tcss"
    BINDINGS = [
        Binding("n", "chair('next')", "Next speaker"),
        Binding("g", "chair('grant')", "Grant selected"),
        Binding("x", "chair('release')", "End turn"),
        Binding("c", "close_list", "Close/open list"),
        Binding("a", "in_room(False)", "Add in-room"),
        Binding("o", "in_room(True)", "In-room point of order"),
        Binding("d", "chair('remove')", "Remove selected"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, meeting: str) -> None:
        super().__init__()
        self.meeting = meeting
        self._version = -1
        self._floor_seen = 0
        self._poo = False

    @property
    def lb(self) -> LowbandApp:
        return cast("LowbandApp", self.app)  # screens run only inside LowbandApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="chair-floor")
        with Horizontal(id="chair-body"):
            with Vertical(id="chair-left"):
                yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
                yield Input(placeholder="Name, member state (Enter adds; Escape cancels)", id="who")
            with Vertical(id="chair-right"):
                yield Static(id="fairness")
                yield ItemList("No floor events yet.", id="floor-log")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.reader = RoomReader(self.lb.store, self.meeting, self.lb.my_key)
        self.title = f"Chair · {self.reader.title}"
        self.sub_title = self.meeting
        self.query_one("#queue", DataTable).add_columns(
            "#", "name", "member state", "where", "kind", "waiting"
        )
        self.query_one("#fairness", Static).border_title = "Fairness"
        self.query_one("#floor-log", ItemList).border_title = "Floor"
        self.reload()
        self.set_interval(1.0, self._tick)
        self.query_one("#queue", DataTable).focus()

    def _now_ts(self) -> int:
        return int(self.lb.config.clock() * 1000) - self.reader.epoch

    def reload(self) -> None:
        self._version = self.lb.store.data_version()
        self.reader.refresh()
        self._paint()

    def _paint(self) -> None:
        state, now = self.reader.floor, self._now_ts()
        me = self.reader.me()
        warn = ""
        if me is None or not has_right(me.rights, Rights.CHAIR):
            warn = "  ⚠ Your key has no chair rights here: the origin will reject chair actions."
        speaker = (
            f"{state.speaker.name} ({state.speaker.member_state})" if state.speaker else "nobody"
        )
        listed = "CLOSED (points of order only)" if state.closed else "open"
        self.query_one("#chair-floor", Static).update(
            Text(f"Floor: {speaker} │ List of speakers: {listed}{warn}")
        )
        table = self.query_one("#queue", DataTable)
        row = table.cursor_row
        table.clear()
        for i, r in enumerate(state.queue, start=1):
            table.add_row(
                str(i),
                r.name,
                r.member_state,
                "remote" if r.remote else "in the room",
                "POINT OF ORDER" if r.point_of_order else "request",
                mmss((now - r.since_ts) / 1000),
                key=r.sub_id.hex(),
            )
        if state.queue:
            table.move_cursor(row=min(row, len(state.queue) - 1))
        figures = []
        for group, w in fairness(state, now).items():
            figures.append(
                f"{group.capitalize()}: {w.count} request(s), mean wait {mmss(w.mean_s)}, "
                f"longest {mmss(w.longest_s)}"
            )
        self.query_one("#fairness", Static).update(Text("\n".join(figures)))
        self._paint_log()
        mine = sum(1 for i in self.reader.mine() if not i.final)
        newest = self.reader.newest_checkpoint_ms()
        age = None if newest is None else self.lb.config.clock() - newest / 1000
        self.query_one(StatusBar).show(self.lb.link, mine, age)

    def _paint_log(self) -> None:
        found = self.reader.stream("floor")
        if found is None:
            return
        log = self.query_one("#floor-log", ItemList)
        fresh = []
        for seq, ts, kind, data in self.lb.store.events(
            self.meeting, found[0], self._floor_seen, 500
        ):
            text = line(
                "floor", seq, Kind(kind), decode_canonical(data)[2], clock(self.reader.epoch, ts)
            )
            if text:
                fresh.append(text)
            self._floor_seen = seq
        if fresh:
            log.show(log.items + fresh)

    def _tick(self) -> None:
        if self.lb.store.data_version() != self._version:
            self.reload()
        else:
            self._paint()

    def on_store_changed(self, message: StoreChanged) -> None:
        self.reload()

    def on_link_changed(self, message: LinkChanged) -> None:
        self._paint()

    # --- actions ---------------------------------------------------------------------

    def _send(self, act: ChairAction, words: str) -> None:
        if self.lb.syncer is None:
            self.notify("Not syncing this meeting; nothing was queued.", severity="warning")
            return
        self.lb.syncer.submit(SubKind.CHAIR, encode_body(act))
        self.notify(f"Queued: {words}.")

    def _selected(self) -> bytes | None:
        table = self.query_one("#queue", DataTable)
        queue = self.reader.floor.queue
        if not queue or table.cursor_row < 0 or table.cursor_row >= len(queue):
            return None
        return queue[table.cursor_row].sub_id

    def action_chair(self, verb: str) -> None:
        v = ChairVerb(verb)
        if v in (ChairVerb.GRANT, ChairVerb.REMOVE):
            ref = self._selected()
            if ref is None:
                self.notify("Select a request in the queue first.")
                return
            self._send(ChairAction(v, ref), f"{v} the selected request")
            return
        self._send(ChairAction(v), {"next": "next speaker", "release": "end of turn"}[verb])

    def action_close_list(self) -> None:
        verb = ChairVerb.OPEN if self.reader.floor.closed else ChairVerb.CLOSE
        self._send(ChairAction(verb), f"{verb} the list of speakers")

    def action_in_room(self, point_of_order: bool) -> None:
        self._poo = point_of_order
        box = self.query_one("#who", Input)
        box.add_class("-open")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name, _, state = event.value.partition(",")
        event.input.value = ""
        event.input.remove_class("-open")
        self.query_one("#queue", DataTable).focus()
        if name.strip():
            act = ChairAction(
                ChairVerb.IN_ROOM,
                name=name.strip(),
                member_state=state.strip(),
                point_of_order=self._poo,
            )
            self._send(
                act, f"in-room {'point of order' if self._poo else 'request'} for {name.strip()}"
            )

    def action_back(self) -> None:
        box = self.query_one("#who", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            self.query_one("#queue", DataTable).focus()
            return
        self.lb.show_meetings()
