"""The words the documents screen uses for a document's state, size, rate and time left.

Owns turning a `DocRow` into the short label of its table row, the plain sentence beside its
progress bar, and the progress line (bytes done of total, rate, time left). Words carry every
state, so the screen reads the same without colour. Pure: no store, no network.
"""

from __future__ import annotations

from lowband.client.doc_fetcher import Live
from lowband.client.views.doc_rows import DocRow, DocState
from lowband.modes.budget import human


def revs(held: tuple[int, ...]) -> str:
    return ", ".join(f"r{r}" for r in held)


def percent(done: int, total: int) -> int:
    return done * 100 // total if total else 0


def label(row: DocRow) -> str:
    """The state column of the documents table."""
    live, part, s = row.live, row.partial, row.state
    if s is DocState.VERIFIED:
        return f"verified: {revs(row.held)}"
    if s is DocState.FETCHING and live is not None:
        return f"fetching {percent(live.done, live.total)}%"
    if s is DocState.HOLDING:
        return "waiting: submissions first"
    if s is DocState.PARTIAL and part is not None:
        return f"partly fetched {percent(*part)}%"
    if s in (DocState.UNSIGNED, DocState.NOT_FETCHED) and row.held:
        return f"{s.value} ({revs(row.held)} held)"
    return str(s.value)


def sentence(row: DocRow) -> str:
    """One plain sentence on where the document stands and what a key does about it."""
    d, live, s = row.newest.doc, row.live, row.state
    if s is DocState.VERIFIED:
        return (
            f"Verified against its SHA-256; held here: {revs(row.held)}. v reads it,"
            " d compares two revisions."
        )
    if s is DocState.QUEUED:
        return "Queued: it is fetched after the documents ahead of it."
    if s is DocState.HOLDING:
        return "Waiting: your queued submissions are sent first."
    if s is DocState.FETCHING:
        note = f" {live.sentence}" if live is not None and live.sentence else ""
        return f"Fetching r{d.rev} through the relay.{note}"
    if s is DocState.FAILED and live is not None:
        return f"{live.sentence} g tries again."
    if s is DocState.PARTIAL and row.partial is not None:
        done, total = row.partial
        return f"Partly fetched ({human(done)} of {human(total)}); g resumes from there."
    if s is DocState.UNSIGNED:
        return f"r{d.rev} is not yet covered by the origin's signature; g can fetch it once it is."
    return "Not fetched yet: g fetches it in what captions and the floor leave of the link."


def duration(seconds: float) -> str:
    s = round(seconds)
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


def progress_line(live: Live) -> str:
    """Bytes done of total, the rate and the time left, of a transfer under way."""
    if live.total == 0:
        return "Asking the relay for it…"
    rate = f"{human(live.rate)}/s" if live.rate > 0 else "stalled"
    left = f"about {duration(live.seconds_left)} left" if live.seconds_left is not None else ""
    return " · ".join(p for p in (f"{human(live.done)} of {human(live.total)}", rate, left) if p)
