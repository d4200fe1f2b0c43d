"""The meetings screen: every meeting in the store and its notice, offline too.

Owns the first screen: the list of joined meetings, and for the highlighted
one its notice in plain words (the physical/virtual/hybrid badge, what
remote participants and this delegate may do, each session in the
delegate's time with UTC and the venue's time beside it, the languages and
the agenda). Enter opens the room; `c` the chair's console. Reads the store
only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from lowband.client.messages import StoreChanged
from lowband.client.views.notice_words import BADGES, describe
from lowband.client.views.room_data import RoomReader

if TYPE_CHECKING:
    from lowband.client.app import LowbandApp

EMPTY = (
    "No meetings in this store yet.\n\n"
    "Join one through a relay:\n  lowband join URL --meeting ID\n\n"
    "or try the demo:\n  lowband demo"
)


class MeetingsScreen(Screen[None]):
    CSS_PATH = "meetings.tcss"
    BINDINGS = [
        Binding("enter", "open", "Open room"),
        Binding("c", "chair", "Chair console"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    @property
    def lb(self) -> LowbandApp:
        return cast("LowbandApp", self.app)  # screens run only inside LowbandApp

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList(id="meetings")
            with VerticalScroll(id="notice-box"):
                yield Static(EMPTY, id="notice")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Meetings"
        self.action_reload()
        self.query_one(OptionList).focus()

    def action_reload(self) -> None:
        store = self.lb.store
        options = []
        self.ids = []
        for info in store.meetings():
            notice = RoomReader(store, info.id, self.lb.my_key).notice()
            badge = BADGES[notice.kind].split(" ")[0] if notice else "NOTICE PENDING"
            options.append(Option(Text(f"{info.title}\n  [{badge}] {info.id}"), id=info.id))
            self.ids.append(info.id)
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options(options)
        if options:
            ol.highlighted = 0
            self._show(self.ids[0])

    def on_store_changed(self, message: StoreChanged) -> None:
        if len(self.lb.store.meetings()) != len(self.ids):
            self.action_reload()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._show(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.lb.open_meeting(event.option.id)

    def _show(self, meeting: str) -> None:
        reader = RoomReader(self.lb.store, meeting, self.lb.my_key)
        notice = reader.notice()
        me = reader.me()
        box = self.query_one("#notice-box", VerticalScroll)
        box.border_title = reader.title
        if notice is None:
            text = "The notice has not arrived yet; it comes with the next sync."
        else:
            who = f"You: {me.name} ({me.member_state}), rights: {me.rights}." if me else ""
            text = "\n".join([*describe(notice, me.rights if me else None), "", who])
        self.query_one("#notice", Static).update(Text(text))

    def _selected(self) -> str | None:
        ol = self.query_one(OptionList)
        if ol.highlighted is None or not self.ids:
            return None
        return self.ids[ol.highlighted]

    def action_open(self) -> None:
        meeting = self._selected()
        if meeting:
            self.lb.open_meeting(meeting)

    def action_chair(self) -> None:
        meeting = self._selected()
        if meeting:
            self.lb.open_meeting(meeting, chair=True)
