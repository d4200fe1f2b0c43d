"""A scrolling, wrapped view of a document's text, or of the diff between two revisions.

Owns showing lines a worker produced: plain text as it is, a unified diff with its added and
removed lines marked by their `+` and `-` (and coloured where colour is on), and a sentence in
place of the text when there is none to show. Keys scroll it (arrows, Page Up/Down, Home, End).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

MAX_LINES = 20_000  # more than a screenful for a long time; the file itself holds the rest


class DocText(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    DocText { height: 1fr; padding: 0 1; }
    DocText > Static { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text("Reading…"))

    def show_sentence(self, words: str) -> None:
        self.query_one(Static).update(Text(words))

    def show_lines(self, lines: list[str], rest: str) -> None:
        text = Text("\n".join(lines[:MAX_LINES]))
        if len(lines) > MAX_LINES:
            text.append(f"\n… {len(lines) - MAX_LINES} more lines; {rest}", style="italic")
        self.query_one(Static).update(text)
        self.scroll_home(animate=False)

    def show_diff(self, diff: str) -> None:
        text = Text()
        for line in diff.splitlines()[:MAX_LINES]:
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("@@"):
                style = "bold reverse"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            else:
                style = ""
            text.append(line + "\n", style=style)
        self.query_one(Static).update(text)
        self.scroll_home(animate=False)
