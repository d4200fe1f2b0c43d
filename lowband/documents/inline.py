"""Document revisions a delegate takes inside the live exchange, with no fetch of their own.

Owns the client's half of inline documents: how big a form is worth taking inside the exchange
(`inline_budget`: half a second of the link), the revisions named as held in each request,
and what happens to a form that arrives. It is decoded against the held revision it names
after the batch that carried its docs event is committed, checked against that event's
SHA-256 and stored as a blob, or refused with one sentence, leaving the revision to
`docs get`. Its file appears in the documents folder, as `docs get` writes it, only once an
origin-signed checkpoint covers the docs event. The relay's half is `relay/inline.py`.
"""

from __future__ import annotations

from pathlib import Path

from lowband.documents import index as documents
from lowband.documents.delta.delta import DeltaError
from lowband.documents.forms import decode_form
from lowband.protocol.receiver import InlineDoc
from lowband.protocol.wire import MAX_DOCS_HELD
from lowband.storage.blobs import BlobError, BlobStore, short_id, write_atomic
from lowband.storage.store import Store

INLINE_LIMIT = 4096  # a delegate's client takes forms this small inside the exchange
INLINE_UNMEASURED = 1024  # until the link's rate is known


def inline_budget(link_bps: float | None) -> int:
    """The largest document form worth taking inside the live exchange: what the link carries
    in half a second (a form ahead of a caption delays it that long), 512 to INLINE_LIMIT
    bytes; INLINE_UNMEASURED before the link was measured. On hf's 9.6 kbit/s that is 600."""
    if link_bps is None:
        return INLINE_UNMEASURED
    return int(min(INLINE_LIMIT, max(512, link_bps / 8 * 0.5)))


class InlineDocs:
    """The `InlineSink` of a delegate's node: revisions into the blob store, and their files
    into `root`'s documents folder once verified (no folder when `root` is None)."""

    def __init__(self, store: Store, meeting: str, root: Path | None = None) -> None:
        self.store, self.meeting, self.root = store, meeting, root
        self.received = 0  # revisions that arrived inline and were stored
        self._unwritten: dict[str, int] = {}  # sha -> docs seq, until a checkpoint covers it

    def held(self) -> list[bytes]:
        """The newest held revision of each document, newest first: the bases a relay may
        encode an inline form against."""
        blobs = BlobStore(self.store, sweep=False)
        newest: dict[str, bytes] = {}
        for e in reversed(documents.entries(self.store, self.meeting)):
            if e.doc.doc_id not in newest and blobs.has(e.sha):
                newest[e.doc.doc_id] = bytes.fromhex(short_id(e.sha))
        return list(newest.values())[:MAX_DOCS_HELD]

    def receive(self, e: InlineDoc, peer: str) -> str:
        """Decode, check and store a revision sent inline; '' or the sentence refusing it."""
        target = e.target.hex()
        entry = next(
            (x for x in documents.entries(self.store, self.meeting) if x.sha.startswith(target)),
            None,
        )
        if entry is None:
            return f"The relay sent document {target} inline, which no docs event names."
        name = f"{entry.doc.doc_id} r{entry.doc.rev}"
        blobs = BlobStore(self.store, sweep=False)
        if blobs.has(entry.sha):
            return ""
        bases: dict[str, bytes] = {}
        try:
            if e.base:
                base = blobs.resolve(e.base.hex())
                if base is None:
                    raise DeltaError(f"it is encoded against {e.base.hex()}, which is not held.")
                bases[short_id(base)] = blobs.read(base)
            data = decode_form(
                e.data, bases, max_size=entry.doc.size, expected_sha256=entry.doc.sha256
            )
            blobs.put(data, entry.sha)
        except (DeltaError, BlobError) as exc:
            return f"Refused {name} sent inline by {peer}: {exc} `lowband docs get` fetches it."
        self.received += 1
        self._unwritten[entry.sha] = entry.seq
        return ""

    def after_commit(self) -> None:
        """Write inline revisions whose docs event a checkpoint now covers to the folder."""
        if not self._unwritten:
            return
        for e in documents.entries(self.store, self.meeting):
            if e.sha in self._unwritten and e.verified:
                del self._unwritten[e.sha]
                if self.root is not None:
                    dest = documents.doc_path(self.root, self.meeting, e.doc)
                    if not dest.exists():
                        write_atomic(dest, BlobStore(self.store, sweep=False).read(e.sha))
