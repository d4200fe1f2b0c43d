"""App-wide messages: what the sync, document and audio threads tell the screens.

Each can pile up while the UI is busy, so each replaces an older one of its
kind still waiting in the queue (`can_replace`). The app hands each to the
screen on top; they do not bubble back up.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from lowband.modes.ladder import Mode


@dataclass(frozen=True)
class LinkReport:
    """The link as the sync thread sees it; the status bar's figures."""

    online: bool = False
    error: str = ""
    peer: str = ""
    rtt_s: float | None = None
    goodput_bps: float = 0.0
    mode: str = "offline"
    pinned: bool = False
    used_today: int = 0
    budget: int | None = None


@dataclass
class StoreChanged(Message, bubble=False):
    """The sync thread committed events, acks or a submission: re-read the store."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


@dataclass
class LinkChanged(Message, bubble=False):
    report: LinkReport

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LinkChanged)


@dataclass(frozen=True)
class AudioReport:
    """What the audio thread is doing; the status bar's audio part."""

    channel: str = "floor"
    state: str = "off"  # off, starting, waiting for audio, playing, paused, catching up...
    mode: Mode | None = None  # the listener's ladder
    pinned: bool = False
    layers: tuple[str, ...] = ()
    lag_s: float = 0.0
    gaps: int = 0
    output: str = ""
    error: str = ""


@dataclass
class AudioChanged(Message, bubble=False):
    report: AudioReport
    sender: object = None  # the audio thread that sent it: a stopped one's word is stale

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AudioChanged)


@dataclass
class DocsChanged(Message, bubble=False):
    """A document transfer moved on, finished or failed: re-read the fetcher's snapshot."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DocsChanged)
