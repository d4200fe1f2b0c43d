"""The diff view: what changed in a document's text between two held revisions, offline too.

Owns choosing the pair (by default the newest two held; `o` moves the older side further back,
`n` the newer side forward, each round again) and showing their unified diff, computed in a
worker from the verified blobs: removed lines start with `-`, added ones with `+`. Reads the
store only.
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
from lowband.documents.diff import NotText


class DocDiffScreen(HeldDocScreen):
    BINDINGS = [
        Binding("o", "older", "Older side"),
        Binding("n", "newer", "Newer side"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, meeting: str, doc_id: str) -> None:
        super().__init__(meeting, doc_id)
        self.old = self.new = 0

    def _start(self) -> None:
        self.new, self.old = len(self.held) - 1, len(self.held) - 2
        self.title = f"{self.doc_id}: changes"

    @property
    def pair(self) -> tuple[Held, Held] | None:
        return (self.held[self.old], self.held[self.new]) if self.old >= 0 else None

    def _show(self) -> None:
        view = self.query_one(DocText)
        pair = self.pair
        if pair is None:
            view.show_sentence(f"Comparing needs two held revisions of {self.doc_id}.")
            return
        old, new = pair
        held = ", ".join(f"r{h.rev}" for h in self.held)
        self.query_one("#view-heading", Static).update(
            Text(
                f"Changes in {self.doc_id} from r{old.rev} to r{new.rev} (held: {held})"
                " · - removed, + added · o: older side, n: newer side"
            )
        )
        view.show_sentence("Comparing…")
        self._compare(old, new)

    @work(thread=True, exclusive=True, group="doc-diff")
    def _compare(self, old: Held, new: Held) -> None:
        try:
            diff = held_revisions.diff(self.blobs, self.doc_id, old, new)
        except (NotText, NotHeld) as exc:
            self.app.call_from_thread(self._done, (old, new), "", str(exc))
            return
        self.app.call_from_thread(self._done, (old, new), diff, "")

    def _done(self, pair: tuple[Held, Held], diff: str, problem: str) -> None:
        if pair != self.pair:
            return  # the user chose another pair meanwhile
        view = self.query_one(DocText)
        if problem:
            view.show_sentence(problem)
        elif not diff:
            view.show_sentence("The text is the same in both revisions.")
        else:
            view.show_diff(diff)

    def action_older(self) -> None:
        if self.pair is not None:
            self.old = (self.old - 1) % self.new
            self._show()

    def action_newer(self) -> None:
        if self.pair is not None:
            self.new = self.new + 1 if self.new + 1 < len(self.held) else self.old + 1
            self._show()
