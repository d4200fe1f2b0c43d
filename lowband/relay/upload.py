"""The origin's half of publishing a document: `PUT /v1/blobs/{sha256}`.

Owns checking an upload before a byte of it is stored (the signed PUBLISH submission it
carries, the secretariat's right to publish, the revision number and size), storing the blob
only once it hashes to its name, and only then deciding the submission, which appends the
docs event: a docs event published this way never names a blob the origin does not hold.
A retry of a published revision is answered 200 and changes nothing. Every refusal is a 4xx
with one sentence. Must not: serve blobs (storage/blobs.py does) or run anywhere but at the origin.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from lowband.documents import index as documents
from lowband.documents.upload import SUB_HEADER
from lowband.origin.origin import Origin
from lowband.protocol.model import (
    DocRevision,
    Kind,
    Publish,
    SubKind,
    Submission,
)
from lowband.protocol.submissions import admission
from lowband.protocol.wire import AckState
from lowband.storage import submissions as queues
from lowband.storage.blobs import MAX_BLOB, SHA_HEX, BlobError, BlobStore, BlobWriter
from lowband.storage.store import Store

MAX_HEADER = 32 * 1024


def _say(status: int, sentence: str) -> Response:
    return PlainTextResponse(sentence + "\n", status)


def parse_upload(header: str, sha: str) -> tuple[Submission, DocRevision]:
    """The signed PUBLISH submission an upload carries, and the revision it announces."""
    if not header or len(header) > MAX_HEADER:
        raise ValueError(f"An upload carries its signed PUBLISH submission in {SUB_HEADER}.")
    try:
        sub = msgspec.msgpack.decode(base64.urlsafe_b64decode(header), type=Submission)
        pub = msgspec.msgpack.decode(sub.body, type=Publish)
        doc = msgspec.msgpack.decode(pub.body, type=DocRevision)
    except (ValueError, msgspec.MsgspecError):
        raise ValueError(f"{SUB_HEADER} is not a PUBLISH of a document revision.") from None
    if sub.kind is not SubKind.PUBLISH or pub.stream != "docs" or pub.kind is not Kind.DOC:
        raise ValueError(f"{SUB_HEADER} is not a PUBLISH of a document revision.")
    if doc.sha256.hex() != sha:
        raise ValueError("The revision the upload announces has a different SHA-256.")
    documents.check_doc_id(doc.doc_id)
    return sub, doc


def refusal(store: Store, sub: Submission) -> str:
    """Checked before a byte of the body is stored, so strangers cannot fill the disk."""
    entry = store.roster_entry(sub.meeting, sub.author)
    return admission(sub, store.meeting(sub.meeting) is not None, entry, publisher=True)


def conflict(store: Store, meeting: str, doc: DocRevision) -> Response | None:
    """200 for a revision already published as it is, 409 for a wrong revision number."""
    all_entries = documents.entries(store, meeting)
    same = [e for e in documents.revisions(all_entries, doc.doc_id) if e.doc.rev == doc.rev]
    if same and same[0].doc == doc:
        return _say(200, f"{doc.doc_id} revision {doc.rev} is already published.")
    expected = documents.next_rev(all_entries, doc.doc_id)
    if doc.rev != expected:
        return _say(409, f"The next revision of {doc.doc_id} is {expected}, not {doc.rev}.")
    return None


async def receive(
    blobs: BlobStore, request: Request, doc: DocRevision, sha: str
) -> Response | None:
    """Store the body as the blob `sha`; a refusal, or None once it is stored and verified."""
    writer = BlobWriter(blobs)
    try:
        async for part in request.stream():
            if writer.size + len(part) > doc.size:
                return _say(413, "The upload is larger than its revision says; none kept.")
            writer.write(part)
        writer.commit(sha)
    except BlobError as exc:
        return _say(400, str(exc))
    except ClientDisconnect:
        return _say(400, "The upload was cut short; nothing was stored.")
    finally:
        writer.discard()
    return None


async def put(
    request: Request,
    blobs: BlobStore,
    origin: Origin | None,
    name: str,
    notify: Callable[[str], None],
) -> Response:
    """Store an upload and publish it through `origin` (None at a relay: refused); `notify`
    wakes the meeting's followers once its docs event exists."""
    if origin is None:
        return _say(403, f"Documents are published at the origin; {name} is a relay.")
    store = origin.store
    sha = request.path_params["sha"]
    if not SHA_HEX.match(sha):
        return _say(400, "A blob is named by its SHA-256: 64 lowercase hex digits.")
    try:
        sub, doc = parse_upload(request.headers.get(SUB_HEADER, ""), sha)
    except ValueError as exc:
        return _say(400, str(exc))
    declared = request.headers.get("content-length", "")
    if doc.size > MAX_BLOB:
        return _say(413, f"A document may be at most {MAX_BLOB} bytes.")
    if not declared.isdigit() or int(declared) != doc.size:
        return _say(400, "The upload's Content-Length must be the size its revision gives.")
    refused = refusal(store, sub)
    if refused:
        return _say(403, refused)
    answered = conflict(store, sub.meeting, doc)
    if answered is not None:
        return answered
    if not blobs.has(sha):
        stored = await receive(blobs, request, doc, sha)
        if stored is not None:
            return stored
    ack = origin.accept(sub, int(time.time() * 1000))
    outcome = queues.applied_get(store, sub.sub_id)
    if ack.state == AckState.REFUSED or outcome is None or outcome[0] != "accepted":
        return _say(403, ack.reason or (outcome[1] if outcome else "Not published."))
    notify(sub.meeting)
    return _say(201, f"Stored {doc.size} bytes; published {doc.doc_id} revision {doc.rev}.")
