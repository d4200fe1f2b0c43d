"""The one-line composer for interventions and chat, usable online or offline.

Owns the input at the bottom of the room screen: it opens for an
intervention or a chat message, says where the text goes, and posts
`Sent` with the text (the screen queues it; the sync thread sends it when
the link allows). Escape closes it without sending.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class ComposeBar(Horizontal):
    DEFAULT_CSS = """
    ComposeBar { height: 3; display: none; border-top: solid $accent; }
    ComposeBar.-open { display: block; }
    ComposeBar > Label { padding: 1 1 0 1; width: auto; text-style: bold; }
    ComposeBar > Input { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Cancel", show=True)]

    @dataclass
    class Sent(Message):
        what: str  # "intervention" or "chat"
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.what = "intervention"

    def compose(self) -> ComposeResult:
        yield Label("", id="compose-label")
        yield Input(placeholder="Write, then Enter (works offline too)", id="compose-input")

    def open(self, what: str, label: str) -> None:
        self.what = what
        self.query_one("#compose-label", Label).update(label)
        self.add_class("-open")
        self.query_one("#compose-input", Input).focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.query_one("#compose-input", Input).value = ""
        self.screen.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.post_message(self.Sent(self.what, text))
        self.action_close()
