"""The document viewer: the text of one held revision, offline too.

Owns reading a revision's text in a worker (plain text as it is; Word, PowerPoint, Excel and
OpenDocument files as the text of their paragraphs) and showing it wrapped, with one sentence
instead when the file has no text to show (a PDF, say: it is in the documents folder). `o`
steps to an older held revision, round to the newest again. Reads the store only.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import Static

from lowband.client.screens.held_doc import HeldDocScreen
from lowband.client.views import held_revisions
from lowband.client.views.held_revisions import Held, NotHeld
from lowband.client.widgets.doc_text import DocText
from lowband.documents import index as documents
from lowband.documents.diff import NotText


class DocViewScreen(HeldDocScreen):
    BINDINGS = [
        Binding("o", "older", "Older revision"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, meeting: str, doc_id: str) -> None:
        super().__init__(meeting, doc_id)
        self.at = -1

    def _start(self) -> None:
        self.at = len(self.held) - 1

    def _show(self) -> None:
        view = self.query_one(DocText)
        if not self.held:
            view.show_sentence(f"No revision of {self.doc_id} is held here; g fetches it.")
            return
        h = self.held[self.at]
        self.title = f"{self.doc_id} r{h.rev}: {h.title}"
        others = "o: older revision" if len(self.held) > 1 else "the only revision held"
        self.query_one("#view-heading", Static).update(
            Text(
                f"{self.doc_id} r{h.rev} of {', '.join(f'r{x.rev}' for x in self.held)} · {others}"
            )
        )
        view.show_sentence("Reading…")
        self._load(h)

    @work(thread=True, exclusive=True, group="doc-text")
    def _load(self, h: Held) -> None:
        try:
            lines = held_revisions.lines(self.blobs, self.doc_id, h)
        except (NotText, NotHeld) as exc:
            self.app.call_from_thread(self._sentence, h, str(exc))
            return
        self.app.call_from_thread(self._lines, h, lines)

    def _sentence(self, h: Held, words: str) -> None:
        if self.held and self.held[self.at] == h:
            self.query_one(DocText).show_sentence(f"{words} The file is in {self._path(h)}.")

    def _lines(self, h: Held, lines: list[str]) -> None:
        if self.held and self.held[self.at] == h:
            self.query_one(DocText).show_lines(lines, f"the whole text is in {self._path(h)}.")

    def _path(self, h: Held) -> str:
        revs = documents.revisions(documents.entries(self.lb.store, self.meeting), self.doc_id)
        doc = next(e.doc for e in revs if e.doc.rev == h.rev)
        return str(documents.doc_path(self.lb.config.home.root, self.meeting, doc))

    def action_older(self) -> None:
        if len(self.held) > 1:
            self.at = (self.at - 1) % len(self.held)
            self._show()
