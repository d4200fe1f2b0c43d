"""The revisions of one document held here, for the viewer and the diff view.

Owns listing them from the store (reads only, on the UI thread) and reading one's text in a
worker thread: its bytes from the blob file, checked against its SHA-256, then its lines (the
text of an Office file's paragraphs, as `lowband docs diff` compares them). Must not: write or
reach the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from lowband.documents import diff as text
from lowband.documents import index as documents
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store


@dataclass(frozen=True)
class Held:
    rev: int
    sha: str
    title: str


class NotHeld(ValueError):
    """A revision that is no longer readable here; the message is one plain sentence."""


def held(store: Store, meeting: str, doc_id: str) -> list[Held]:
    """The held revisions of `doc_id`, oldest first."""
    blobs = BlobStore(store, sweep=False)
    return [
        Held(e.doc.rev, e.sha, e.doc.title)
        for e in documents.revisions(documents.entries(store, meeting), doc_id)
        if blobs.has(e.sha)
    ]


def read(blobs: BlobStore, doc_id: str, h: Held) -> bytes:
    """The revision's bytes (no store access: a worker thread may call it)."""
    data = blobs.load(h.sha)
    if data is None:
        raise NotHeld(f"{doc_id} r{h.rev} is missing or damaged here; g fetches it again.")
    return data


def lines(blobs: BlobStore, doc_id: str, h: Held) -> list[str]:
    """The revision's text as lines; NotHeld or text.NotText (one sentence) if it has none."""
    return text.lines(read(blobs, doc_id, h))


def diff(blobs: BlobStore, doc_id: str, old: Held, new: Held) -> str:
    """A unified diff of two revisions' text ("" when their text is the same)."""
    return text.unified(
        read(blobs, doc_id, old),
        read(blobs, doc_id, new),
        f"{doc_id} r{old.rev}",
        f"{doc_id} r{new.rev}",
    )
