"""What the documents screen shows of each document: its newest revision and its sync state.

Owns reading the docs stream, the held blobs and any partial download from the store (reads
only, on the UI thread), joining them with the fetcher's live transfers, and the rule that
picks one state per document: verified (the newest revision is held, checked against its
SHA-256), else the live transfer's stage (queued, holding, fetching, failed), else partly
fetched (a break left a partial file that `g` resumes), else awaiting the origin's signature,
else not fetched. The current agenda item's documents come first. Must not: write or reach the
network.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lowband.client.doc_fetcher import Live, Stage
from lowband.documents import index as documents
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store


class DocState(Enum):
    NOT_FETCHED = "not fetched"
    UNSIGNED = "awaiting signature"
    QUEUED = "queued"
    HOLDING = "waiting"
    FETCHING = "fetching"
    PARTIAL = "partly fetched"
    FAILED = "failed"
    VERIFIED = "verified"


LIVE_STATES = {
    Stage.QUEUED: DocState.QUEUED,
    Stage.HOLDING: DocState.HOLDING,
    Stage.FETCHING: DocState.FETCHING,
    Stage.FAILED: DocState.FAILED,
}


@dataclass(frozen=True)
class DocRow:
    newest: documents.Entry
    held: tuple[int, ...]  # revisions held here, each verified when it arrived
    current: bool  # of the current agenda item
    state: DocState
    live: Live | None
    partial: tuple[int, int] | None  # (bytes, of how many) of the newest's download so far

    @property
    def doc_id(self) -> str:
        return self.newest.doc.doc_id


def state_of(
    newest_held: bool, signed: bool, live: Live | None, partial: tuple[int, int] | None
) -> DocState:
    if newest_held:
        return DocState.VERIFIED
    if live is not None:
        return LIVE_STATES[live.stage]
    if partial is not None:
        return DocState.PARTIAL
    return DocState.NOT_FETCHED if signed else DocState.UNSIGNED


def read_rows(store: Store, meeting: str, live: dict[str, Live]) -> list[DocRow]:
    """One row a document, the current agenda item's first, then by id."""
    all_entries = documents.entries(store, meeting)
    item = documents.current_item(all_entries)
    blobs = BlobStore(store, sweep=False)
    rows = []
    for doc_id, newest in documents.latest(all_entries).items():
        held = tuple(
            e.doc.rev for e in documents.revisions(all_entries, doc_id) if blobs.has(e.sha)
        )
        partial = _partial(blobs, newest.sha)
        now = live.get(doc_id)
        state = state_of(newest.doc.rev in held, newest.verified, now, partial)
        current = bool(item) and newest.doc.agenda_item == item
        rows.append(DocRow(newest, held, current, state, now, partial))
    return sorted(rows, key=lambda r: (not r.current, r.doc_id))


def _partial(blobs: BlobStore, sha: str) -> tuple[int, int] | None:
    part = blobs.partial(sha)
    return (part.held, part.total) if part else None
