"""Caption input for publishers: plain lines, WebVTT or SRT, into timed caption lines.

Owns parsing (with bounds: a cue of more than MAX_TEXT characters or a file
of more than MAX_CUES cues is refused with one sentence) and the CART habit
of marking a change of speaker with a label such as `KENYA:` or `>> CHAIR:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lowband.protocol.model import MAX_TEXT

MAX_CUES = 100_000
_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")
_SPEAKER = re.compile(r"^(?:>>\s*)?([A-Z][A-Z0-9 .'()/-]{0,39}):\s+(.*)$")


class CaptionFormatError(Exception):
    """Caption input that cannot be read; the message is one plain sentence."""


@dataclass(frozen=True)
class Cue:
    start_s: float | None  # None for plain lines: send at once
    speaker: str
    text: str


def _seconds(stamp: str) -> float:
    m = _TIME.fullmatch(stamp.strip())
    if not m:
        raise CaptionFormatError(f"{stamp.strip()!r} is not a cue time such as 00:01:02.500.")
    h, mi, s, ms = m.groups()
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000


def split_speaker(text: str, current: str) -> tuple[str, str]:
    m = _SPEAKER.match(text.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m else (current, text.strip())


def parse(text: str, speaker: str = "FLOOR") -> list[Cue]:
    """Cues from WebVTT, SRT or plain lines (one caption a line)."""
    if "-->" in text:
        return _parse_timed(text, speaker)
    cues = []
    for line in text.splitlines():
        if line.strip():
            speaker, said = split_speaker(line, speaker)
            cues.append(_cue(None, speaker, said))
    return _bounded(cues)


def _parse_timed(text: str, speaker: str) -> list[Cue]:
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None:
            continue  # the WEBVTT header, NOTE blocks, styles
        start = _seconds(lines[timing].split("-->")[0])
        body = " ".join(re.sub(r"<[^>]*>", "", ln).strip() for ln in lines[timing + 1 :])
        if body:
            speaker, said = split_speaker(body, speaker)
            cues.append(_cue(start, speaker, said))
    return _bounded(cues)


def _cue(start: float | None, speaker: str, text: str) -> Cue:
    if len(text) > MAX_TEXT:
        raise CaptionFormatError(f"A caption of {len(text)} characters exceeds {MAX_TEXT}.")
    return Cue(start, speaker, text)


def _bounded(cues: list[Cue]) -> list[Cue]:
    if len(cues) > MAX_CUES:
        raise CaptionFormatError(f"The file holds {len(cues)} cues; the limit is {MAX_CUES}.")
    return cues
