"""The room screen: the live transcript, the floor, interventions, chat, documents, status.

Owns what a delegate does during a meeting. On mount it paints the last
screenful of the transcript from the store (offline too) and loads older
lines only when the user scrolls back or searches; new lines, floor changes
and submission states arrive as `StoreChanged` from the sync thread (and a
once-a-second look at the store catches other processes). Every action is on
a key: r/w/p for the floor, i/c to write, / n N to search, l for language,
a for the agenda item, 1-4 for the tabs, d for the documents screen (fetch,
read, compare), v to listen (b pause, m pin a mode, k the channel).
Submissions go through the sync
thread, which queues them durably at once, online or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from lowband.client.messages import AudioChanged, LinkChanged, StoreChanged
from lowband.client.screens.documents import DocumentsScreen
from lowband.client.views.notice_words import BADGES, rights_sentence
from lowband.client.views.room_data import RoomReader, Shown
from lowband.client.widgets.compose_bar import ComposeBar
from lowband.client.widgets.floor_panel import FloorPanel
from lowband.client.widgets.item_list import ItemList
from lowband.client.widgets.status_bar import StatusBar
from lowband.client.widgets.transcript import TranscriptView
from lowband.modes.budget import human
from lowband.protocol.model import CaptionLine, SubKind, SubmissionText
from lowband.protocol.wire import ProtocolError, decode_body, decode_canonical, encode_body
from lowband.storage.store import Store

if TYPE_CHECKING:
    from lowband.client.app import LowbandApp

FIRST_PAINT_EVENTS = 200  # comfortably more than a screenful, however tall the terminal


class RoomScreen(Screen[None]):
    CSS_PATH = "room.tcss"
    BINDINGS = [
        Binding("r", "floor('request')", "Ask floor"),
        Binding("w", "floor('withdraw')", "Withdraw"),
        Binding("p", "floor('point_of_order')", "Point of order"),
        Binding("i", "write('intervention')", "Intervene"),
        Binding("c", "write('chat')", "Chat"),
        Binding("slash", "search", "Search"),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N", "match(-1)", "Previous match", show=False),
        Binding("l", "language", "Language"),
        Binding("d", "documents", "Documents"),
        Binding("a", "agenda", "Agenda item", show=False),
        Binding("f", "follow", "Follow", show=False),
        Binding("1", "tab('tab-interventions')", "Interventions", show=False),
        Binding("2", "tab('tab-chat')", "Chat tab", show=False),
        Binding("3", "tab('tab-docs')", "Documents", show=False),
        Binding("4", "tab('tab-mine')", "My items", show=False),
        Binding("v", "listen", "Listen"),
        Binding("b", "pause_audio", "Pause audio", show=False),
        Binding("m", "pin_mode", "Mode", show=False),
        Binding("k", "channel", "Audio channel", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, meeting: str) -> None:
        super().__init__()
        self.meeting = meeting
        self.lang = "en"
        self.channel = "floor"  # the audio channel: the floor or an interpreter's language
        self.agenda_index = -1
        self.matches: list[int] = []
        self.match_at = -1
        self.query_text = ""
        self._version = -1
        self._mine_count = 0
        self._heads: tuple[object, ...] = ()

    @property
    def lb(self) -> LowbandApp:
        return cast("LowbandApp", self.app)  # screens run only inside LowbandApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="room-notice")
        with Horizontal(id="room-body"):
            with Vertical(id="left"):
                yield Static(id="transcript-title")
                yield TranscriptView(id="transcript")
                yield Input(placeholder="Search the transcript, then Enter", id="search")
            with Vertical(id="right"):
                yield FloorPanel(id="floor")
                with TabbedContent(id="tabs"):
                    with TabPane("Interventions", id="tab-interventions"):
                        yield ItemList("No interventions yet (i: write one).", id="interventions")
                    with TabPane("Chat", id="tab-chat"):
                        yield ItemList("No side discussion yet (c: write).", id="chat")
                    with TabPane("Docs", id="tab-docs"):
                        yield DataTable(id="docs", cursor_type="row", zebra_stripes=True)
                    with TabPane("Mine", id="tab-mine"):
                        yield ItemList(
                            "Nothing sent yet. r, w, p, i and c queue here, online or not.",
                            id="mine",
                        )
        yield ComposeBar(id="compose")
        yield StatusBar(id="status")
        yield Footer()

    # --- painting ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.reader = RoomReader(self.lb.store, self.meeting, self.lb.my_key)
        self.title = self.reader.title
        langs = self.reader.languages()
        self.lang = self.lb.config.lang if self.lb.config.lang in langs else langs[0]
        self.query_one("#docs", DataTable).add_columns(
            "doc", "rev", "title", "lang", "item", "size"
        )
        self._paint_notice()
        self._load_transcript()
        self.reload(first=True)
        self.set_interval(1.0, self._tick)
        self.query_one(TranscriptView).focus()

    def _paint_notice(self) -> None:
        notice = self.reader.notice()
        me = self.reader.me()
        badge = f"[{BADGES[notice.kind]}]" if notice else "[notice pending]"
        item = self._agenda_item()
        agenda = f" │ Item {item[0]}: {item[1]}" if item else ""
        self.sub_title = f"{self.meeting} · {badge}"
        words = rights_sentence(me.rights if me else None, notice)
        self.query_one("#room-notice", Static).update(Text(f"{badge} {words}{agenda}"))

    def _agenda_item(self) -> tuple[str, str] | None:
        notice = self.reader.notice()
        if notice is None or not notice.agenda or self.agenda_index < 0:
            return None
        a = notice.agenda[self.agenda_index % len(notice.agenda)]
        return a.number, a.title

    def _load_transcript(self) -> None:
        got, verified, older = self.reader.transcript_tail(self.lang, FIRST_PAINT_EVENTS)
        self.query_one(TranscriptView).reset(got.lines, verified, older)
        self._paint_title()

    def _paint_title(self) -> None:
        view = self.query_one(TranscriptView)
        follow = "following" if view.following else "paused: End or f to follow"
        unverified = max(0, view.newest_seq - view.verified)
        waiting = f" · {unverified} not yet verified (~)" if unverified else ""
        self.query_one("#transcript-title", Static).update(
            Text(f"Transcript [{self.lang}] · {follow}{waiting}")
        )

    def reload(self, first: bool = False) -> None:
        """Read what is new in the store and show it."""
        self._version = self.lb.store.data_version()
        view = self.query_one(TranscriptView)
        got, verified = self.reader.transcript_new(self.lang)
        if got.lines or verified != view.verified:
            view.append(got.lines, verified)
        for seq, fix in got.corrections.items():
            if not view.correct(seq, fix.text, fix.speaker, fix.final):
                self.reader._pending.setdefault(self.lang, {})[seq] = fix
        changed = self.reader.refresh()
        heads = (self.reader.stream("notice"), self.reader.stream("roster"))
        if heads != self._heads:
            self._heads = heads
            self._paint_notice()
        if "floor" in changed or first:
            self.query_one(FloorPanel).show(self.reader.floor, self.lb.my_key)
        if "interventions" in changed:
            self.query_one("#interventions", ItemList).show(
                [_item(s) for s in self.reader.interventions]
            )
        if "chat" in changed:
            self.query_one("#chat", ItemList).show(
                [_item(s, f"#{topic} ") for topic, s in self.reader.chat]
            )
        if "docs" in changed:
            table = self.query_one("#docs", DataTable)
            table.clear()
            for d in sorted(self.reader.docs.values(), key=lambda d: d.doc_id):
                table.add_row(d.doc_id, str(d.rev), d.title, d.lang, d.agenda_item, human(d.size))
        self._paint_mine()
        self._paint_title()
        self._paint_status()

    def _paint_mine(self) -> None:
        items = self.reader.mine()
        self.query_one("#mine", ItemList).show(
            [f"{i.text}\n  → {i.state}" for i in reversed(items)], follow=False
        )
        self._mine_count = sum(1 for i in items if not i.final)

    def _paint_status(self) -> None:
        newest = self.reader.newest_checkpoint_ms()
        age = None if newest is None else self.lb.config.clock() - newest / 1000
        self.query_one(StatusBar).show(self.lb.link, self._mine_count, age, self.lb.audio)

    def _tick(self) -> None:
        if self.lb.store.data_version() != self._version:
            self.reload()
        else:
            self._paint_status()

    def on_store_changed(self, message: StoreChanged) -> None:
        self.reload()

    def on_link_changed(self, message: LinkChanged) -> None:
        self._paint_status()

    def on_audio_changed(self, message: AudioChanged) -> None:
        self._paint_status()

    def on_transcript_view_need_older(self, message: TranscriptView.NeedOlder) -> None:
        lines, older = self.reader.transcript_before(self.lang, message.before)
        self.query_one(TranscriptView).prepend(lines, older)

    def on_transcript_view_follow_changed(self, message: TranscriptView.FollowChanged) -> None:
        self._paint_title()

    # --- actions -------------------------------------------------------------------

    def _submit(self, kind: SubKind, body: bytes, what: str) -> None:
        if self.lb.syncer is None:
            self.notify("Not syncing this meeting; nothing was queued.", severity="warning")
            return
        self.lb.syncer.submit(kind, body)
        self.notify(f"Queued your {what}; it is sent when the link allows.")

    def action_floor(self, action: str) -> None:
        kind, what = {
            "request": (SubKind.FLOOR_REQUEST, "request for the floor"),
            "withdraw": (SubKind.FLOOR_WITHDRAW, "withdrawal"),
            "point_of_order": (SubKind.POINT_OF_ORDER, "point of order"),
        }[action]
        self._submit(kind, b"", what)

    def action_write(self, what: str) -> None:
        item = self._agenda_item()
        if what == "intervention":
            label = f"Intervention on item {item[0]}:" if item else "Intervention:"
        else:
            label = f"Chat #{self._topic()} (start with #topic to change):"
        self.query_one(ComposeBar).open(what, label)

    def _topic(self) -> str:
        item = self._agenda_item()
        return f"item-{item[0].lower()}" if item else "general"

    def on_compose_bar_sent(self, message: ComposeBar.Sent) -> None:
        item = self._agenda_item()
        if message.what == "intervention":
            body = SubmissionText(message.text, item[0] if item else "")
            self._submit(SubKind.INTERVENTION, encode_body(body), "intervention")
        else:
            topic, text = self._topic(), message.text
            if text.startswith("#") and " " in text:
                topic, text = text[1:].split(" ", 1)
            self._submit(SubKind.CHAT, encode_body(SubmissionText(text, topic)), "chat message")
        self.query_one(TranscriptView).focus()

    def action_language(self) -> None:
        langs = self.reader.languages()
        self.lang = (
            langs[(langs.index(self.lang) + 1) % len(langs)] if self.lang in langs else langs[0]
        )
        self.lb.config.lang = self.lang
        if self.lb.syncer is not None:
            self.lb.syncer.set_lang(self.lang)
        self.matches, self.match_at = [], -1
        self._load_transcript()
        self.notify(f"Transcript in {self.lang}.")

    # --- audio ---------------------------------------------------------------------

    def action_listen(self) -> None:
        if self.lb.listening is not None:
            self.lb.stop_listening()
            self.notify("Stopped listening.")
        else:
            self.lb.start_listening(self.meeting, self.channel)
            self.notify(f"Listening to the {self._channel_words()}; b pauses, m pins a mode.")
        self._paint_status()

    def action_pause_audio(self) -> None:
        listening = self.lb.listening
        if listening is None:
            self.notify("Not listening: press v to listen.")
        elif listening.paused:
            listening.resume()
            self.notify("Playing on from where you paused, faster until live.")
        else:
            listening.pause()
            self.notify("Paused; b plays on from here.")

    def action_pin_mode(self) -> None:
        self.notify(self.lb.cycle_pin())
        self._paint_status()

    def action_channel(self) -> None:
        channels = ["floor", *self.reader.languages()]
        at = channels.index(self.channel) if self.channel in channels else -1
        self.channel = channels[(at + 1) % len(channels)]
        if self.lb.listening is not None:
            self.lb.start_listening(self.meeting, self.channel)
        self.notify(f"Audio channel: the {self._channel_words()}.")
        self._paint_status()

    def _channel_words(self) -> str:
        return "floor" if self.channel == "floor" else f"interpretation into {self.channel}"

    def action_agenda(self) -> None:
        self.agenda_index += 1
        self._paint_notice()

    def action_follow(self) -> None:
        self.query_one(TranscriptView).action_follow()

    def action_documents(self) -> None:
        self.app.push_screen(DocumentsScreen(self.meeting))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        if self.query_one("#search", Input).has_class("-open"):
            self._close_search()
            return
        self.lb.show_meetings()

    # --- search --------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-open")
        box.focus()

    def _close_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("-open")
        self.query_one(TranscriptView).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search":
            return
        event.stop()
        self.query_text = event.value.strip()
        self._close_search()
        if self.query_text:
            self._find(self.lang, self.query_text)

    @work(thread=True, exclusive=True, group="search")
    def _find(self, lang: str, text: str) -> None:
        """Scan the whole stored transcript in this worker's own store connection."""
        needle = text.casefold()
        found: dict[int, bool] = {}
        worker = get_current_worker()
        with Store(self.lb.config.home.store_path) as store:
            no = store.stream_no(self.meeting, f"transcript/{lang}")
            after = 0
            while no is not None and not worker.is_cancelled:
                rows = store.events(self.meeting, no, after, 5_000)
                if not rows:
                    break
                for seq, _, _, data in rows:
                    try:
                        c = decode_body(decode_canonical(data)[2], CaptionLine)
                    except ProtocolError:
                        continue
                    target = c.replaces or seq
                    found[target] = needle in f"{c.speaker}: {c.text}".casefold()
                after = rows[-1][0]
        self.app.call_from_thread(self._found, text, sorted(s for s, hit in found.items() if hit))

    def _found(self, text: str, seqs: list[int]) -> None:
        self.matches = seqs
        if not seqs:
            self.notify(f"“{text}” is not in the transcript.")
            self.query_one(TranscriptView).show_match(None, "")
            return
        self.match_at = len(seqs) - 1
        self._jump()

    def action_match(self, step: int) -> None:
        if not self.matches:
            self.notify("No search yet: press / to search.")
            return
        self.match_at = (self.match_at - step) % len(self.matches)  # n goes back in time
        self._jump()

    def _jump(self) -> None:
        seq = self.matches[self.match_at]
        view = self.query_one(TranscriptView)
        while view.line(seq) is None and view.has_older:
            lines, older = self.reader.transcript_before(self.lang, view.oldest_seq)
            view.prepend(lines, older)
        view.show_match(seq, self.query_text)
        self.notify(f"Match {len(self.matches) - self.match_at} of {len(self.matches)} (n, N).")
        self._paint_title()


def _item(s: Shown, prefix: str = "") -> str:
    return f"{s.clock} {prefix}{s.who}{' (you)' if s.mine else ''}: {s.text}"
