"""What the document viewer and the diff view share: a screen over one document's held
revisions, with a heading and a text area, that reads the store only (offline too).

Owns loading the held revisions and a non-sweeping blob store on mount, the layout, and going
back. A subclass sets where it starts (`_start`) and what it shows (`_show`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from lowband.client.views import held_revisions
from lowband.client.views.held_revisions import Held
from lowband.client.widgets.doc_text import DocText
from lowband.storage.blobs import BlobStore

if TYPE_CHECKING:
    from lowband.client.app import LowbandApp


class HeldDocScreen(Screen[None]):
    CSS_PATH = "held_doc.tcss"

    def __init__(self, meeting: str, doc_id: str) -> None:
        super().__init__()
        self.meeting, self.doc_id = meeting, doc_id
        self.held: list[Held] = []

    @property
    def lb(self) -> LowbandApp:
        return cast("LowbandApp", self.app)  # screens run only inside LowbandApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="view-heading")
        yield DocText(id="doc-text")
        yield Footer()

    def on_mount(self) -> None:
        self.held = held_revisions.held(self.lb.store, self.meeting, self.doc_id)
        self.blobs = BlobStore(self.lb.store, sweep=False)
        self._start()
        self._show()
        self.query_one(DocText).focus()

    def _start(self) -> None:
        raise NotImplementedError

    def _show(self) -> None:
        raise NotImplementedError

    def action_back(self) -> None:
        self.app.pop_screen()
