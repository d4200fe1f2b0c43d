"""Documents for publishers and delegates, as library calls the CLI and the TUI share.

Owns publishing a file as the next revision of a document (an Office file is normalised
first; the origin stores and verifies the blob before its docs event exists), getting
revisions through the meeting's relay into the documents folder (deltas against the
revisions held, resumed across breaks, verified before any file appears, paced by the rule of
documents/pacing.py), and the diff between two held revisions. Only revisions whose docs event an
origin-signed checkpoint covers are fetched: a relay could forge an unverified event, and
with it the SHA-256 the content is checked against.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from nacl.signing import SigningKey

from lowband import http
from lowband.documents import diff as text
from lowband.documents import index as documents
from lowband.documents.office.normalise import OfficeError, looks_like_office, normalise
from lowband.documents.pacing import Pacer
from lowband.documents.transfer import Fetch, Fetched, Progress, signer, upload
from lowband.http import make_client
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import DocRevision, Kind, Publish, SubKind, Submission
from lowband.protocol.submissions import needs_sending
from lowband.protocol.wire import encode_body
from lowband.storage import submissions as queues
from lowband.storage.blobs import MAX_BLOB, BlobStore, short_id, write_atomic
from lowband.storage.store import Store

MAX_TITLE = 300


@dataclass
class Got:
    """One revision in the documents folder; `fetched` is None when it was already held."""

    entry: documents.Entry
    path: Path
    fetched: Fetched | None


def default_doc_id(path: Path) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in path.stem)
    return cleaned.lstrip("._-")[:64] or "document"


def prepare(path: Path) -> bytes:
    """The bytes lowband publishes for a file: Office files normalised, others as they are."""
    if path.stat().st_size > MAX_BLOB:
        raise ValueError(f"{path} is larger than the {MAX_BLOB} bytes a document may have.")
    data = path.read_bytes()
    if looks_like_office(path.name, data):
        try:
            data = normalise(data)
        except OfficeError as exc:
            raise ValueError(f"{path} cannot be published as an Office file: {exc}") from None
    return data


async def publish(
    store: Store,
    key: SigningKey,
    origin_url: str,
    meeting: str,
    path: Path,
    *,
    doc_id: str | None = None,
    title: str | None = None,
    lang: str = "en",
    agenda_item: str | None = None,
) -> tuple[DocRevision | None, str]:
    """Publish `path` as the next revision of `doc_id` (the store must hold the meeting's docs
    stream, freshly synced). Returns the revision, or None when the content is unchanged."""
    data = prepare(path)
    doc_id = documents.check_doc_id(doc_id or default_doc_id(path))
    if title is not None and len(title) > MAX_TITLE:
        raise ValueError(f"A document title may be at most {MAX_TITLE} characters.")
    sha = hashlib.sha256(data).digest()
    held = documents.revisions(documents.entries(store, meeting), doc_id)
    last = held[-1].doc if held else None
    if last is not None and last.sha256 == sha:
        return None, f"{doc_id} is unchanged since revision {last.rev}; nothing was published."
    doc = DocRevision(
        doc_id=doc_id,
        rev=last.rev + 1 if last else 1,
        title=title if title is not None else (last.title if last else path.name),
        lang=lang,
        agenda_item=agenda_item if agenda_item is not None else (last.agenda_item if last else ""),
        media_type=documents.media_type(path.name),
        size=len(data),
        sha256=sha,
    )
    body = encode_body(Publish("docs", Kind.DOC, encode_body(doc)))
    unsigned = Submission(
        os.urandom(16),
        meeting,
        bytes(32),
        SubKind.PUBLISH,
        body,
        int(time.time() * 1000),
        bytes(64),
    )
    async with make_client() as client:
        message = await upload(client, origin_url, data, sign_submission(key, unsigned))
    return doc, message


def choose(
    all_entries: list[documents.Entry], doc_id: str | None, rev: int | None
) -> list[documents.Entry]:
    """The revisions `docs get` fetches: one (DOC, --rev) or the newest of every document."""
    if doc_id is None:
        return list(documents.latest(all_entries).values())
    revs = documents.revisions(all_entries, doc_id)
    if not revs:
        raise ValueError(f"There is no document {doc_id!r}; `lowband docs list` shows them.")
    if rev is None:
        return [revs[-1]]
    chosen = [e for e in revs if e.doc.rev == rev]
    if not chosen:
        raise ValueError(f"{doc_id} has no revision {rev}; it has 1 to {revs[-1].doc.rev}.")
    return chosen


async def get(
    store: Store,
    home_root: Path,
    meeting: str,
    *,
    doc_id: str | None = None,
    rev: int | None = None,
    rate_bps: float = 0.0,
    report: Callable[[str], None] = lambda _: None,
    key: SigningKey | None = None,
    node: str = "",
    progress: Callable[[documents.Entry, Progress], None] | None = None,
    transport: http.Transport | None = None,
) -> list[Got]:
    """Fetch the chosen revisions through the meeting's relay, current agenda item first;
    with `key`, every request carries a token signed for `node` (relays may require one);
    `progress` hears how far each transfer has got."""
    all_entries = documents.entries(store, meeting)
    wanted = documents.fetch_order(
        choose(all_entries, doc_id, rev), documents.current_item(all_entries)
    )
    url = store.parent(meeting)
    blobs = BlobStore(store)
    pending = [e for e in wanted if not e.verified and not blobs.has(e.sha)]
    for e in pending:
        report(
            f"{e.doc.doc_id} r{e.doc.rev} is not yet covered by the origin's signature;"
            " `lowband sync --once` fetches the checkpoint."
        )
    if pending and doc_id is not None:
        raise ValueError("Nothing was fetched: the revision asked for is not verified yet.")

    def hold() -> bool:
        return any(needs_sending(i.state) for i in queues.outbox(store, meeting))

    got: list[Got] = []
    async with make_client(transport) as client:
        for e in wanted:
            if e in pending:
                continue
            dest = documents.doc_path(home_root, meeting, e.doc)
            fetched = None
            if not blobs.has(e.sha):
                if not url:
                    raise ValueError(f"Meeting {meeting} has no relay to fetch documents from.")
                revs = documents.revisions(all_entries, e.doc.doc_id)
                have = [r.sha for r in reversed(revs) if r.sha != e.sha and blobs.has(r.sha)]
                fetch = Fetch(
                    client,
                    url,
                    e.doc,
                    blobs,
                    have,
                    hold=hold,
                    pacer=Pacer(rate_bps),
                    report=report,
                    token=signer(key, meeting, node) if key is not None else None,
                    progress=None if progress is None else partial(progress, e),
                )
                fetched = await fetch.run()
            if fetched is not None or not dest.exists():
                write_atomic(dest, blobs.read(e.sha))
            got.append(Got(e, dest, fetched))
    return got


def base_label(all_entries: list[documents.Entry], doc_id: str, base: str | None) -> str:
    rev = next(
        (e.doc.rev for e in documents.revisions(all_entries, doc_id) if short_id(e.sha) == base),
        None,
    )
    return "nothing held" if base is None else f"r{rev}" if rev else base


def diff(store: Store, meeting: str, doc_id: str, rev: int | None, against: int | None) -> str:
    """A unified diff of the text of two held revisions (default: the newest two held)."""
    blobs = BlobStore(store)
    held = [
        e
        for e in documents.revisions(documents.entries(store, meeting), doc_id)
        if blobs.has(e.sha)
    ]
    new = next((e for e in reversed(held) if rev is None or e.doc.rev == rev), None)
    if new is None:
        raise ValueError(f"No revision of {doc_id} is held here; `lowband docs get` fetches it.")
    old = next(
        (
            e
            for e in reversed(held)
            if (e.doc.rev == against if against is not None else e.doc.rev < new.doc.rev)
        ),
        None,
    )
    if old is None:
        raise ValueError(f"A second held revision of {doc_id} is needed to compare with.")
    try:
        return text.unified(
            blobs.read(old.sha),
            blobs.read(new.sha),
            f"{doc_id} r{old.doc.rev}",
            f"{doc_id} r{new.doc.rev}",
        )
    except text.NotText as exc:
        raise ValueError(str(exc)) from None
