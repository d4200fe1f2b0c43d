"""The live transcript: a Line API view that paints only the rows on screen.

Owns showing caption lines: wrapping them to the width (cell-aware, for
Chinese and Arabic too), marking lines not yet covered by a checkpoint
(a `~` in the gutter and a muted italic style, so it shows without colour),
following the newest line until the user scrolls back (and again once they
return to the end), highlighting search matches, and asking for older lines
(`NeedOlder`) when the user nears the top of what is loaded. Holding
10,000 lines costs one small object each; painting costs only the visible
rows. Must not read the store: the screen feeds it lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lowband.client.widgets.cellwrap import wrap_spans

GUTTER = 2
HANG = 2


@dataclass(slots=True)
class Line:
    """One caption line as shown: its newest text (corrections applied)."""

    seq: int
    clock: str
    speaker: str
    text: str
    final: bool = True
    corrected: bool = False

    @property
    def label(self) -> str:
        return f"{self.clock} {self.speaker}: "

    @property
    def body(self) -> str:
        notes = (" (corrected)" if self.corrected else "") + ("" if self.final else " …")
        return f"{self.label}{self.text}{notes}"


@dataclass(slots=True)
class _Row:
    line: Line
    start: int
    end: int


class TranscriptView(ScrollView, can_focus=True):
    """Caption lines, newest at the bottom."""

    DEFAULT_CSS = """
    TranscriptView { height: 1fr; background: $surface; scrollbar-gutter: stable; }
    TranscriptView > .transcript--time { color: $text-muted; }
    TranscriptView > .transcript--speaker { text-style: bold; color: $accent; }
    TranscriptView > .transcript--unverified { text-style: italic; color: $text-muted; }
    TranscriptView > .transcript--match { background: $warning 50%; text-style: bold; }
    """
    COMPONENT_CLASSES = {
        "transcript--time",
        "transcript--speaker",
        "transcript--unverified",
        "transcript--match",
    }
    BINDINGS = [
        Binding("end", "follow", "Follow", show=False),
        Binding("home", "scroll_home", "Oldest", show=False),
    ]

    following: reactive[bool] = reactive(True)

    @dataclass
    class NeedOlder(Message):
        """The user nears the top of what is loaded: load lines before `before`."""

        before: int

    @dataclass
    class FollowChanged(Message):
        following: bool

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []
        self._by_seq: dict[int, Line] = {}
        self._rows: list[_Row] = []
        self._width = 0
        self.verified = 0
        self.has_older = False
        self.match_seq: int | None = None
        self.match_text = ""
        self._asked_older: int | None = None
        self._cache: LRUCache[tuple[int, int, bool, bool], Strip] = LRUCache(2048)

    # --- feeding -----------------------------------------------------------------

    def reset(self, lines: list[Line], verified: int, has_older: bool) -> None:
        self.lines = list(lines)
        self._by_seq = {ln.seq: ln for ln in self.lines}
        self.verified, self.has_older = verified, has_older
        self._asked_older = None
        self._rewrap()
        self.following = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def append(self, lines: list[Line], verified: int) -> None:
        fresh = [ln for ln in lines if ln.seq not in self._by_seq]
        for ln in fresh:
            self._by_seq[ln.seq] = ln
        self.lines += fresh
        self._rows += self._wrap(fresh)
        self.set_verified(verified)
        self._resize()
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def prepend(self, lines: list[Line], has_older: bool) -> None:
        """Older lines, loaded lazily; the view stays on what the user was reading."""
        older = [ln for ln in lines if ln.seq not in self._by_seq]
        for ln in older:
            self._by_seq[ln.seq] = ln
        self.lines = older + self.lines
        rows = self._wrap(older)
        self._rows = rows + self._rows
        self.has_older = has_older
        self._asked_older = None
        at_end = self.following
        self._resize()
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=self.scroll_y + len(rows), animate=False, immediate=True)

    def correct(self, seq: int, text: str, speaker: str, final: bool) -> bool:
        """Show a captioner's correction in place; False if `seq` is not loaded."""
        line = self._by_seq.get(seq)
        if line is None:
            return False
        line.text, line.speaker, line.final, line.corrected = text, speaker, final, True
        self._rewrap()
        return True

    def set_verified(self, verified: int) -> None:
        if verified != self.verified:
            self.verified = verified
            self.refresh()

    def line(self, seq: int) -> Line | None:
        return self._by_seq.get(seq)

    @property
    def oldest_seq(self) -> int:
        return self.lines[0].seq if self.lines else 0

    @property
    def newest_seq(self) -> int:
        return self.lines[-1].seq if self.lines else 0

    # --- search ------------------------------------------------------------------

    def show_match(self, seq: int | None, text: str) -> None:
        """Highlight line `seq` (loaded) and bring it into view; following pauses."""
        self.match_seq, self.match_text = seq, text
        self._cache.clear()
        self.refresh()
        if seq is None:
            return
        for y, row in enumerate(self._rows):
            if row.line.seq == seq:
                self.following = False
                self.scroll_to(y=max(0, y - self.size.height // 3), animate=False, immediate=True)
                break

    # --- following ---------------------------------------------------------------

    def action_follow(self) -> None:
        self.following = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(new_value) >= self.max_scroll_y:
            self.following = True
        elif new_value < old_value:
            self.following = False
        if self.has_older and new_value < max(self.size.height, 10):
            oldest = self.oldest_seq
            if self._asked_older != oldest:
                self._asked_older = oldest
                self.post_message(self.NeedOlder(oldest))

    def watch_following(self, following: bool) -> None:
        self.post_message(self.FollowChanged(following))

    # --- layout and painting -------------------------------------------------------

    def _text_width(self) -> int:
        return max(10, self.scrollable_content_region.width - GUTTER)

    def _wrap(self, lines: list[Line]) -> list[_Row]:
        width = self._text_width()
        out: list[_Row] = []
        for ln in lines:
            out += [_Row(ln, a, b) for a, b in wrap_spans(ln.body, width, width - HANG)]
        return out

    def _rewrap(self) -> None:
        self._width = self._text_width()
        self._rows = self._wrap(self.lines)
        self._cache.clear()
        self._resize()

    def _resize(self) -> None:
        self.virtual_size = Size(self._width + GUTTER, len(self._rows))
        self.refresh()

    def on_resize(self) -> None:
        if self._text_width() != self._width:
            self._rewrap()
            if self.following:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        verified = row.line.seq <= self.verified
        match = row.line.seq == self.match_seq
        key = (row.line.seq, row.start, verified, match)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._paint(row, verified, match, base)
            self._cache[key] = strip
        return strip.crop_extend(0, width, base).apply_offsets(0, index)

    def _paint(self, row: _Row, verified: bool, match: bool, base: Style) -> Strip:
        style = base
        if not verified:
            style += self.get_component_rich_style("transcript--unverified", partial=True)
        if match:
            style += self.get_component_rich_style("transcript--match", partial=True)
        gutter = "~ " if not verified and row.start == 0 else "  "
        segs = [Segment(gutter, base)]
        if row.start > 0:
            segs.append(Segment(" " * HANG, style))
        body = row.line.body
        label_end = len(row.line.label)
        start, end = row.start, row.end
        if start < label_end:
            clock_end = len(row.line.clock) + 1
            time_style = style + self.get_component_rich_style("transcript--time", partial=True)
            spk_style = style + self.get_component_rich_style("transcript--speaker", partial=True)
            if start < clock_end:
                segs.append(Segment(body[start : min(end, clock_end)], time_style))
            if end > clock_end:
                segs.append(Segment(body[max(start, clock_end) : min(end, label_end)], spk_style))
            start = min(end, label_end)
        if start < end:
            segs.append(Segment(body[start:end], style))
        return Strip(segs)
