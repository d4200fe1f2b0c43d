"""A scrolling list of short wrapped items (interventions, chat, my submissions).

Owns showing a list that a panel rewrites as a whole when it changes; items
wrap to the panel's width, whatever the script. For the transcript, which
can hold thousands of lines, see `transcript.py`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class ItemList(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    ItemList { height: 1fr; padding: 0 1; }
    ItemList > Static { width: 1fr; }
    """

    def __init__(self, empty: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.empty = empty
        self.items: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(self.empty))

    def show(self, items: list[str], follow: bool = True) -> None:
        self.items = items
        text = "\n".join(items) if items else self.empty
        self.query_one(Static).update(Text(text))
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)
