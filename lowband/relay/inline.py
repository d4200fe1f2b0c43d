"""Document forms carried inside the sync exchange: what a node has ready for its followers.

Owns the relay's side of inline documents (DocForm frames, docs/protocol.md): which revisions
a pull of the docs stream announced that are still the newest of their document, and the
encoded DocForm frame of each revision for each set of held earlier revisions, prepared once
on a task of its own (through the blob endpoint's cache of forms, relay/blobs.py, fetching the
revision from the parent first when needed) and then handed to every follower with the same
held set as the same bytes. A pull only looks up what is ready (`serve.Inline.LATER`
otherwise); when a form is ready, the followers parked on the meeting are woken.

Must not: encode, read files or wait inside `frame` or `targets`, which run in the fan-out's
pass over every follower.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from lowband.documents import index as documents
from lowband.documents.transfer import TransferError
from lowband.protocol.model import DocRevision
from lowband.protocol.serve import Inline
from lowband.protocol.wire import MAX_INLINE, DocForm, encode_frame
from lowband.storage.blobs import BlobError, short_id
from lowband.storage.store import StoreError

if TYPE_CHECKING:
    from lowband.relay.blobs import BlobService

READY_CAP = 2048  # prepared (target, bases) results kept; the oldest are dropped first

Key = tuple[str, tuple[str, ...]]  # target, the earlier revisions the follower holds


class InlineForms:
    def __init__(self, service: BlobService, wake: Callable[[str], None]) -> None:
        self.service = service
        self.wake = wake
        # target -> (meeting, revision, earlier revisions newest first as (sha, 8-byte id))
        self._revs: dict[str, tuple[str, DocRevision, list[tuple[str, bytes]]]] = {}
        self._ready: OrderedDict[Key, tuple[bytes, int] | None] = OrderedDict()
        self._jobs: dict[Key, asyncio.Task[None]] = {}

    def targets(self, meeting: str, after: int, upto: int) -> list[str]:
        """Revisions announced by docs events after..upto that no later revision supersedes."""
        entries = self.service.entries(meeting)
        out = []
        for e in documents.latest(entries).values():
            if after < e.seq <= upto:
                revs = reversed(documents.revisions(entries, e.doc.doc_id))
                earlier = [(r.sha, bytes.fromhex(short_id(r.sha))) for r in revs if r.seq < e.seq]
                self._revs[e.sha] = (meeting, e.doc, earlier)
                out.append(e.sha)
        return out

    def frame(self, target: str, held: frozenset[bytes], limit: int) -> bytes | Inline:
        """The DocForm frame of target for a follower holding `held`, if ready and at most
        `limit` bytes of form; starts preparing it otherwise."""
        rev = self._revs.get(target)
        if rev is None:
            return Inline.NEVER
        meeting, doc, earlier = rev
        key = (target, tuple(sha for sha, short in earlier if short in held))
        if key not in self._ready:
            if key not in self._jobs:
                task = asyncio.get_running_loop().create_task(self._prepare(meeting, doc, key))
                self._jobs[key] = task
            return Inline.LATER
        ready = self._ready[key]
        if ready is None or ready[1] > limit:
            return Inline.NEVER
        return ready[0]

    async def _prepare(self, meeting: str, doc: DocRevision, key: Key) -> None:
        target, bases = key
        service = self.service
        result: tuple[bytes, int] | None = None
        try:
            if not service.blobs.has(target) and service.parent:
                await service.fetch_from_parent(meeting, doc)
            _, size, path, base = await service.form(target, list(bases))
            if size <= MAX_INLINE:
                data = await asyncio.to_thread(path.read_bytes)
                base_id = bytes.fromhex(short_id(base)) if base else b""
                frame = DocForm(bytes.fromhex(short_id(target)), base_id, data)
                result = (encode_frame(frame), len(data))
        except (TransferError, BlobError, StoreError, OSError):
            result = None  # the follower fetches it by HTTP, which reports why
        finally:
            self._jobs.pop(key, None)
        self._ready[key] = result
        if len(self._ready) > READY_CAP:
            self._ready.popitem(last=False)
        self.wake(meeting)
