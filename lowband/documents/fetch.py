"""Getting document revisions into a delegate's documents folder, as `docs get` and the
client's documents screen do.

Owns which revisions are fetched (one, or the newest of each document, the current agenda
item's first), through the meeting's relay, as deltas against the revisions held, resumed
across breaks, verified before any file appears, paced by the rule of `documents/pacing.py`
and held while submissions wait to be sent. Only revisions whose docs event an origin-signed
checkpoint covers are fetched: a relay could forge an unverified event, and with it the
SHA-256 the content is checked against. The transfer itself is `documents/transfer.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from nacl.signing import SigningKey

from lowband import http
from lowband.documents import index as documents
from lowband.documents.pacing import Pacer
from lowband.documents.transfer import Fetch, Fetched, Progress, signer
from lowband.http import make_client
from lowband.protocol.submissions import needs_sending
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.blobs import BlobStore, short_id, write_atomic
from lowband.storage.store import Store


@dataclass
class Got:
    """One revision in the documents folder; `fetched` is None when it was already held."""

    entry: documents.Entry
    path: Path
    fetched: Fetched | None


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
                    token=signer(key, meeting, node, meta.relay_name(store, meeting))
                    if key is not None
                    else None,
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
