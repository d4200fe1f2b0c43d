"""A meeting's documents as its `docs` stream describes them, and where a delegate keeps them.

Owns reading DocRevision events from a store (which revisions exist, which are covered by an
origin-signed checkpoint, which is the next revision number of a document), the rule for the
current agenda item, the order documents are fetched in, and the documents folder.

Current agenda item: the `agenda_item` of the newest docs event that names one. The
secretariat publishes a document under the item being discussed, so the newest such event
follows the meeting along its agenda without a separate signal.

Documents folder: `<home>/documents/<meeting>/<doc>-r<rev>.<ext>`, beside the node's store,
so that several delegates (or a delegate and a test) on one machine never share one; every
revision fetched stays there. Must not: write to the store or reach the network.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from lowband.protocol.model import DocRevision, Kind
from lowband.protocol.wire import ProtocolError, decode_body, decode_canonical
from lowband.storage.store import Store

DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_DOC_EVENTS = 100_000
EXTENSIONS = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/pdf": ".pdf",
}


@dataclass(frozen=True)
class Entry:
    """One revision as the docs stream announced it."""

    seq: int
    verified: bool  # covered by an origin-signed checkpoint this node has checked
    doc: DocRevision

    @property
    def sha(self) -> str:
        return self.doc.sha256.hex()


def check_doc_id(doc_id: str) -> str:
    if not DOC_ID.match(doc_id):
        raise ValueError(
            f"{doc_id!r} is not a document id (letters, digits, '.', '_' and '-', at most 64)."
        )
    return doc_id


def entries(store: Store, meeting: str) -> list[Entry]:
    """Every revision of the meeting's docs stream, oldest first (undecodable events skipped)."""
    no = store.stream_no(meeting, "docs")
    if no is None:
        return []
    verified = next((v for n, _, _, v in store.streams(meeting) if n == no), 0)
    out = []
    for seq, _, kind, data in store.events(meeting, no, 0, MAX_DOC_EVENTS):
        if kind != Kind.DOC:
            continue
        try:
            doc = decode_body(decode_canonical(data)[2], DocRevision)
        except ProtocolError:
            continue
        out.append(Entry(seq, seq <= verified, doc))
    return out


def revisions(all_entries: list[Entry], doc_id: str) -> list[Entry]:
    """The revisions of one document, by revision number."""
    return sorted((e for e in all_entries if e.doc.doc_id == doc_id), key=lambda e: e.doc.rev)


def latest(all_entries: list[Entry], *, verified_only: bool = False) -> dict[str, Entry]:
    """The newest revision of each document."""
    out: dict[str, Entry] = {}
    for e in all_entries:
        if verified_only and not e.verified:
            continue
        if e.doc.doc_id not in out or e.doc.rev > out[e.doc.doc_id].doc.rev:
            out[e.doc.doc_id] = e
    return out


def next_rev(all_entries: list[Entry], doc_id: str) -> int:
    return max((e.doc.rev for e in all_entries if e.doc.doc_id == doc_id), default=0) + 1


def current_item(all_entries: list[Entry]) -> str:
    """The current agenda item: that of the newest docs event naming one ("" if none does)."""
    return next((e.doc.agenda_item for e in reversed(all_entries) if e.doc.agenda_item), "")


def fetch_order(wanted: list[Entry], item: str) -> list[Entry]:
    """The current agenda item's documents first, then the newest announced first."""
    return sorted(wanted, key=lambda e: (e.doc.agenda_item != item or not item, -e.seq))


def find(store: Store, sha_hex: str) -> tuple[str, DocRevision] | None:
    """(meeting, revision) of a docs event naming this SHA-256, in any meeting here."""
    for info in store.meetings():
        for e in entries(store, info.id):
            if e.sha == sha_hex:
                return info.id, e.doc
    return None


def extension(media_type: str) -> str:
    return EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ".bin"


def media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    known = next((t for t, ext in EXTENSIONS.items() if ext == suffix), None)
    return known or mimetypes.guess_type(name)[0] or "application/octet-stream"


def folder(home_root: Path, meeting: str) -> Path:
    if not DOC_ID.match(meeting):
        raise ValueError(f"{meeting!r} is not a meeting id that can name a folder.")
    return home_root / "documents" / meeting


def doc_path(home_root: Path, meeting: str, doc: DocRevision) -> Path:
    """Where revision `doc.rev` of a document is written for the delegate to open."""
    return (
        folder(home_root, meeting)
        / f"{check_doc_id(doc.doc_id)}-r{doc.rev}{extension(doc.media_type)}"
    )
