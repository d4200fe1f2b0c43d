"""The documents screen: every document of the meeting with its sync state, and keys to act.

Owns the list of the meeting's documents (the current agenda item's first, marked `*`), with
each one's newest revision, size and sync state (not fetched, queued, waiting for submissions,
fetching with a progress bar, partly fetched, failed, or verified with the revisions held), and
the detail of the highlighted one. `g` queues the highlighted document for the app's fetcher
(the code path of `lowband docs get`, in a thread of its own); `v` or Enter reads its text; `d`
compares two held revisions. Offline it shows what is held. Reads the store only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from lowband.client.messages import DocsChanged, LinkChanged, StoreChanged
from lowband.client.screens.doc_diff import DocDiffScreen
from lowband.client.screens.doc_view import DocViewScreen
from lowband.client.views.doc_rows import DocRow, read_rows
from lowband.client.views.doc_words import label
from lowband.client.views.room_data import RoomReader, clean
from lowband.client.widgets.doc_detail import DocDetail
from lowband.client.widgets.status_bar import StatusBar
from lowband.documents import index as documents
from lowband.modes.budget import human

if TYPE_CHECKING:
    from lowband.client.app import LowbandApp

COLUMNS = ("", "doc", "rev", "title", "item", "size", "state")


class DocumentsScreen(Screen[None]):
    CSS_PATH = "documents.tcss"
    BINDINGS = [
        Binding("g", "get", "Get"),
        Binding("v", "view", "Read"),
        Binding("d", "diff", "Compare"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, meeting: str) -> None:
        super().__init__()
        self.meeting = meeting
        self.rows: list[DocRow] = []
        self._version = -1

    @property
    def lb(self) -> LowbandApp:
        return cast("LowbandApp", self.app)  # screens run only inside LowbandApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="docs-heading")
        yield DataTable(id="doc-table", cursor_type="row", zebra_stripes=True)
        yield DocDetail(id="doc-detail")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.reader = RoomReader(self.lb.store, self.meeting, self.lb.my_key)
        self.title = f"{self.reader.title}: documents"
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.reload()
        self.set_interval(1.0, self._tick)
        table.focus()

    # --- painting ------------------------------------------------------------------

    def reload(self) -> None:
        """Read the documents, what is held and the live transfers, and show them."""
        self._version = self.lb.store.data_version()
        self.rows = read_rows(self.lb.store, self.meeting, self.lb.doc_live(self.meeting))
        item = documents.current_item(documents.entries(self.lb.store, self.meeting))
        heading = f"Current agenda item: {item} (its documents first, marked *)" if item else ""
        self.query_one("#docs-heading", Static).update(
            Text(f"{len(self.rows)} document(s). {heading}".strip())
        )
        table = self.query_one(DataTable)
        keys = [str(k.value) for k in table.rows]
        if keys != [r.doc_id for r in self.rows]:
            chosen = self.selected()
            table.clear()
            for r in self.rows:
                table.add_row(*self._cells(r), key=r.doc_id)
            if chosen is not None and chosen.doc_id in table.rows:
                table.move_cursor(row=table.get_row_index(chosen.doc_id))
        else:
            for r in self.rows:
                for name, value in zip(COLUMNS, self._cells(r), strict=True):
                    table.update_cell(r.doc_id, name, value, update_width=True)
        self._paint_detail()
        self._paint_status()

    def _cells(self, r: DocRow) -> tuple[str, ...]:
        d = r.newest.doc
        mark = "*" if r.current else ""
        return (mark, d.doc_id, f"r{d.rev}", clean(d.title), d.agenda_item, human(d.size), label(r))

    def selected(self) -> DocRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if r.doc_id == key), None)

    def _paint_detail(self) -> None:
        row = self.selected()
        path = None
        if row is not None and row.held:
            revs = documents.revisions(documents.entries(self.lb.store, self.meeting), row.doc_id)
            doc = next(e.doc for e in revs if e.doc.rev == row.held[-1])
            path = documents.doc_path(self.lb.config.home.root, self.meeting, doc)
        self.query_one(DocDetail).show(row, path)

    def _paint_status(self) -> None:
        newest = self.reader.newest_checkpoint_ms()
        age = None if newest is None else self.lb.config.clock() - newest / 1000
        waiting = sum(1 for i in self.reader.mine() if not i.final)
        self.query_one(StatusBar).show(self.lb.link, waiting, age)

    def _tick(self) -> None:
        if self.lb.store.data_version() != self._version:
            self.reload()
        else:
            self._paint_status()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._paint_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_view()  # Enter

    def on_store_changed(self, message: StoreChanged) -> None:
        self.reload()

    def on_docs_changed(self, message: DocsChanged) -> None:
        self.reload()

    def on_link_changed(self, message: LinkChanged) -> None:
        self._paint_status()

    # --- actions -------------------------------------------------------------------

    def action_get(self) -> None:
        row = self.selected()
        if row is None:
            return
        if self.lb.fetch_document(self.meeting, row.doc_id):
            self.notify(f"Queued {row.doc_id}; it is fetched when captions and the floor allow.")
        else:
            self.notify(f"{row.doc_id} is already on its way.")

    def action_view(self) -> None:
        row = self.selected()
        if row is None or not row.held:
            self.notify("Nothing of this document is held yet: g fetches it.")
            return
        self.app.push_screen(DocViewScreen(self.meeting, row.doc_id))

    def action_diff(self) -> None:
        row = self.selected()
        if row is None or len(row.held) < 2:
            self.notify("Comparing needs two held revisions of this document.")
            return
        self.app.push_screen(DocDiffScreen(self.meeting, row.doc_id))

    def action_back(self) -> None:
        self.app.pop_screen()
