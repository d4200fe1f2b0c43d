"""Publishing a file as the next revision of a document, for the secretariat.

Owns choosing the revision (the next number, the title and agenda item carried over, nothing
published when the content is unchanged), the bytes published (an Office file normalised
first, so that its revisions delta well), and the signed PUBLISH that travels with the upload.
The origin stores and verifies the blob before its docs event exists (`relay/upload.py`).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from nacl.signing import SigningKey

from lowband.documents import index as documents
from lowband.documents.office.form import OfficeError
from lowband.documents.office.normalise import looks_like_office, normalise
from lowband.documents.upload import upload
from lowband.http import make_client
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import DocRevision, Kind, Publish, SubKind, Submission
from lowband.protocol.wire import encode_body
from lowband.storage import meta
from lowband.storage.blobs import MAX_BLOB
from lowband.storage.store import Store

MAX_TITLE = 300


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
    async with make_client(verify=meta.relay_ca(store, meeting) or True) as client:
        message = await upload(client, origin_url, data, sign_submission(key, unsigned))
    return doc, message
