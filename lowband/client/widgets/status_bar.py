"""The status bar: the link, the mode, the data used today, the outbox and freshness.

Owns the one line at the bottom of the room and chair screens: link state
(online through which relay, or offline and why), mode, RTT, goodput, data
used today against the budget, how many submissions are still travelling,
how old the newest origin-signed checkpoint is (how stale the view may
be), and, on the room screen, the audio: channel, state, layers playing.
Words, not only colour, carry every state.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lowband.client.messages import AudioReport, LinkReport
from lowband.modes.budget import human
from lowband.modes.ladder import mode_word


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "no checkpoint yet"
    s = max(0, int(seconds))
    if s < 120:
        return f"checkpoint {s} s old"
    if s < 7200:
        return f"checkpoint {s // 60} min old"
    return f"checkpoint {s // 3600} h old"


def audio_text(audio: AudioReport) -> str:
    """The audio part: channel, state, layers playing, how far behind, where sound goes."""
    if audio.state == "off":
        return "audio off (v)"
    words = f"audio {audio.channel}: {audio.state}"
    if audio.layers and audio.state not in ("stopped", "starting"):
        words += f" {'+'.join(audio.layers)}"
    if audio.lag_s >= 2 and audio.state != "playing":
        words += f", {audio.lag_s:.0f} s behind"
    if audio.gaps:
        words += f", {audio.gaps} gaps"
    if audio.error:
        words += f" ({audio.error})"
    elif audio.output and audio.output != "the sound device":
        words += f" → {audio.output}"
    return words


def status_text(
    report: LinkReport,
    outbox: int,
    checkpoint_age_s: float | None,
    audio: AudioReport | None = None,
) -> str:
    if report.online:
        link = f"ONLINE via {report.peer}" if report.peer else "ONLINE"
    else:
        link = "OFFLINE" + (f" ({report.error})" if report.error else "")
    rtt = f"RTT {report.rtt_s * 1000:.0f} ms" if report.rtt_s is not None else "RTT –"
    goodput = f"{report.goodput_bps / 1000:.1f} kbit/s"
    budget = f" of {human(report.budget)}" if report.budget else ""
    mode = report.mode + (" (pinned)" if report.pinned else "")
    if audio is not None and audio.mode is not None:  # while listening, the audio's ladder
        mode = mode_word(audio.mode) + (" (pinned)" if audio.pinned else "")
    waiting = f"outbox {outbox}"
    return " │ ".join(
        [
            link,
            mode,
            rtt,
            goodput,
            f"{human(report.used_today)}{budget} today",
            waiting,
            _age(checkpoint_age_s),
        ]
        + ([audio_text(audio)] if audio is not None else [])
    )


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: auto; max-height: 3; background: $panel; color: $text; padding: 0 1; }
    StatusBar.-offline { background: $warning 30%; }
    """

    def show(
        self,
        report: LinkReport,
        outbox: int,
        checkpoint_age_s: float | None,
        audio: AudioReport | None = None,
    ) -> None:
        self.set_class(not report.online, "-offline")
        self.update(Text(status_text(report, outbox, checkpoint_age_s, audio)))
