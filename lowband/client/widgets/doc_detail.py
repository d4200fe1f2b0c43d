"""The panel under the documents table: the highlighted document, its state, its progress bar.

Owns showing one `DocRow`: what the document is (title, id, revision, agenda item, type, size,
and the file once it is held), one plain sentence on its state, and while bytes travel or a
break left some behind, a progress bar with the bytes done of total, the rate and the time left.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from lowband.client.views.doc_rows import DocRow, DocState
from lowband.client.views.doc_words import progress_line, sentence
from lowband.modes.budget import human

MOVING = (DocState.FETCHING, DocState.HOLDING)


def bar_of(row: DocRow) -> tuple[int, int] | None:
    """(done, total) for the bar: the live transfer's, else what a break left behind."""
    if row.state in MOVING and row.live is not None and row.live.total:
        return row.live.done, row.live.total
    if row.state is not DocState.VERIFIED and row.partial is not None:
        return row.partial
    return None


class DocDetail(Vertical):
    DEFAULT_CSS = """
    DocDetail { height: auto; padding: 0 1; border-top: solid $primary; }
    DocDetail > Static { width: 1fr; }
    DocDetail #doc-state { text-style: bold; }
    DocDetail ProgressBar { display: none; }
    DocDetail.-bar ProgressBar { display: block; }
    DocDetail Bar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="doc-about")
        yield Static(id="doc-state")
        yield ProgressBar(show_eta=False, id="doc-bar")
        yield Static(id="doc-rate")

    def show(self, row: DocRow | None, path: Path | None) -> None:
        about, state, rate = self.query_one("#doc-about", Static), "", ""
        if row is None:
            about.update(Text("No documents announced for this meeting yet."))
        else:
            d = row.newest.doc
            lines = [
                d.title,
                f"{d.doc_id} · newest r{d.rev} · agenda item {d.agenda_item or '-'} · {d.lang}"
                f" · {d.media_type} · {human(d.size)}",
            ]
            if path is not None and path.exists():
                lines.append(f"File: {path}")
            about.update(Text("\n".join(lines)))
            state = sentence(row)
            if row.state in MOVING and row.live is not None:
                rate = progress_line(row.live)
        self.query_one("#doc-state", Static).update(Text(state))
        self.query_one("#doc-rate", Static).update(Text(rate))
        bar = None if row is None else bar_of(row)
        self.set_class(bar is not None, "-bar")
        if bar is not None:
            self.query_one(ProgressBar).update(total=bar[1], progress=bar[0])
