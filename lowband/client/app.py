"""The app shell: configuration, themes, app-wide keys, the sync and document threads.

Owns what outlives a screen: the store the UI reads (opened on the UI
thread, read only), the signing key, the `Syncer` of the open meeting, its
`DocFetcher` and the `Listening` of its audio (each run in a thread worker,
stopped on exit, so a document keeps arriving while the delegate reads or
listens), the delegate's mode pin, the newest link and audio reports, and
routing the threads' messages to the screen on top. Screens live in
`screens/`, one a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from textual import work
from textual.app import App
from textual.binding import Binding

from lowband import http
from lowband.client.doc_fetcher import DocFetcher, Live
from lowband.client.listening import Listening
from lowband.client.messages import (
    AudioChanged,
    AudioReport,
    DocsChanged,
    LinkChanged,
    LinkReport,
    StoreChanged,
)
from lowband.client.syncer import Syncer
from lowband.client.themes import DEFAULT_THEME, HIGH_CONTRAST
from lowband.modes.ladder import Mode, mode_word
from lowband.node.home import Home
from lowband.storage.store import Store


@dataclass
class ClientConfig:
    home: Home
    meeting: str | None = None
    lang: str = "en"
    chair: bool = False
    high_contrast: bool = False
    sync: bool = True  # False: never start the sync thread (snapshots, benchmarks)
    transport: http.Transport | None = None
    clock: Callable[[], float] = time.time
    catch_up: float = 1.25  # how fast audio plays what was missed after a pause


class LowbandApp(App[None]):
    TITLE = "lowband"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "contrast", "Contrast"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, config: ClientConfig) -> None:
        super().__init__()
        self.config = config
        self.key: SigningKey = config.home.key_or_new()
        self.store: Store = config.home.store()
        self.link = LinkReport()
        self.syncer: Syncer | None = None
        self.listening: Listening | None = None
        self.audio = AudioReport()
        self.pinned: Mode | None = None  # the delegate's mode pin; None: the ladder decides
        self.fetcher: DocFetcher | None = None
        self.register_theme(HIGH_CONTRAST)
        self.theme = HIGH_CONTRAST.name if config.high_contrast else DEFAULT_THEME

    @property
    def my_key(self) -> bytes:
        return bytes(self.key.verify_key)

    @property
    def node_name(self) -> str:
        return "delegate-" + self.my_key.hex()[:8]

    def on_mount(self) -> None:
        if self.config.meeting:  # straight to the room: the meetings screen comes on Escape
            self.open_meeting(self.config.meeting, chair=self.config.chair)
        else:
            self.show_meetings()

    def show_meetings(self) -> None:
        from lowband.client.screens.meetings import MeetingsScreen

        if len(self.screen_stack) > 2:
            self.pop_screen()
        elif len(self.screen_stack) == 2:
            self.switch_screen(MeetingsScreen())
        else:
            self.push_screen(MeetingsScreen())

    def open_meeting(self, meeting: str, chair: bool = False) -> None:
        from lowband.client.screens.chair import ChairScreen
        from lowband.client.screens.room import RoomScreen

        self.start_sync(meeting, self.config.lang)
        self.push_screen(ChairScreen(meeting) if chair else RoomScreen(meeting))

    def start_sync(self, meeting: str, lang: str) -> None:
        if self.syncer is not None and self.syncer.meeting == meeting:
            return
        self.stop_sync()
        if not self.config.sync:
            return
        self.syncer = Syncer(
            self.config.home.store_path,
            self.key,
            meeting,
            self.node_name,
            lang,
            self.post_message,
            self.config.transport,
        )
        if self.pinned is not None:
            self.syncer.pin(self.pinned)
        self._run_syncer(self.syncer)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _run_syncer(self, syncer: Syncer) -> None:
        syncer.run()

    def stop_sync(self) -> None:
        self.stop_listening()
        if self.syncer is not None:
            self.syncer.stop()
            self.syncer = None

    def start_listening(self, meeting: str, channel: str) -> None:
        """Play the channel (the floor or an interpreter) in a thread of its own."""
        self.stop_listening()
        self.listening = Listening(
            self.config.home.store_path,
            self.config.home.root / "audio",
            meeting,
            channel,
            self.node_name,
            self.pinned,
            self.config.catch_up,
            self.post_message,
            self.config.transport,
        )
        self.audio = self.listening.report
        self._run_listening(self.listening)

    @work(thread=True, exclusive=True, group="audio", exit_on_error=False)
    def _run_listening(self, listening: Listening) -> None:
        listening.run()

    def stop_listening(self) -> None:
        if self.listening is not None:
            self.listening.stop()
            self.listening = None
            self.audio = AudioReport()
            if self.syncer is not None:
                self.syncer.audio_mode = None

    def cycle_pin(self) -> str:
        """Automatic, then text, voice, voice+, full, and back: the sentence to show."""
        order: list[Mode | None] = [None, Mode.TEXT, Mode.VOICE, Mode.VOICE_PLUS, Mode.FULL]
        self.pinned = order[(order.index(self.pinned) + 1) % len(order)]
        if self.syncer is not None:
            self.syncer.pin(self.pinned)
        if self.listening is not None:
            self.listening.pin(self.pinned)
        if self.pinned is None:
            return "Mode automatic: it follows the link."
        return f"Mode pinned to {mode_word(self.pinned)} (the daily budget still caps it)."

    def fetch_document(self, meeting: str, doc_id: str) -> bool:
        """Queue the newest revision of a document; False if it is on its way already."""
        if self.fetcher is None or self.fetcher.meeting != meeting:
            self.stop_fetching()
            self.fetcher = DocFetcher(
                self.config.home, meeting, self.post_message, self.config.transport
            )
            self._run_fetcher(self.fetcher)
        return self.fetcher.want(doc_id)

    def doc_live(self, meeting: str) -> dict[str, Live]:
        """The transfers of this meeting's documents under way, queued or failed."""
        if self.fetcher is None or self.fetcher.meeting != meeting:
            return {}
        return self.fetcher.snapshot()

    @work(thread=True, exclusive=True, group="docs", exit_on_error=False)
    def _run_fetcher(self, fetcher: DocFetcher) -> None:
        fetcher.run()

    def stop_fetching(self) -> None:
        if self.fetcher is not None:
            self.fetcher.stop()
            self.fetcher = None

    def on_store_changed(self, message: StoreChanged) -> None:
        if self._screen_stack:
            self.screen.post_message(StoreChanged())

    def on_audio_changed(self, message: AudioChanged) -> None:
        if message.sender is not self.listening:
            return  # a thread already stopped: its last word is stale
        self.audio = message.report
        if self.syncer is not None:  # the time in each mode is the audio's while it plays
            self.syncer.audio_mode = self.audio.mode
        if self._screen_stack:
            self.screen.post_message(AudioChanged(message.report))

    def on_docs_changed(self, message: DocsChanged) -> None:
        if self._screen_stack:
            self.screen.post_message(DocsChanged())

    def on_link_changed(self, message: LinkChanged) -> None:
        self.link = message.report
        if self._screen_stack:
            self.screen.post_message(LinkChanged(message.report))

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_contrast(self) -> None:
        high = self.theme != HIGH_CONTRAST.name
        self.theme = HIGH_CONTRAST.name if high else DEFAULT_THEME
        self.notify("High-contrast theme." if high else "Default theme.")

    def on_unmount(self) -> None:
        self.stop_fetching()
        self.stop_sync()
        self.store.close()


def make_app(
    home: Path | str | Home,
    meeting: str | None = None,
    *,
    lang: str = "en",
    chair: bool = False,
    high_contrast: bool = False,
    sync: bool = True,
    transport: http.Transport | None = None,
    clock: Callable[[], float] = time.time,
    catch_up: float = 1.25,
) -> LowbandApp:
    where = home if isinstance(home, Home) else Home(Path(home))
    config = ClientConfig(
        where, meeting, lang, chair, high_contrast, sync, transport, clock, catch_up
    )
    return LowbandApp(config)
