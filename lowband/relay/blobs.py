"""The blob endpoint of every relay and the origin: `GET` and `PUT /v1/blobs/{sha256}`.

Owns serving a document revision as the smallest encoded form for the revisions the receiver
says it holds (`have=`), from a cache of forms keyed by target and base, so each is encoded
once and the same bytes go to every receiver; streaming it from `offset=` with a strong ETag
(the form's SHA-256) so a broken transfer resumes; a relay's on-demand fetch from its parent
(through the same endpoint, saying what it holds), and its prefetch of the current agenda
item's documents while its uplink is idle; the same request token as the sync exchange when
the relay requires one (`x-lowband-auth`, which also names the meeting); and, at the origin
only, the upload that stores and verifies a blob before its docs event exists. Every refusal is a 4xx with one sentence.
The wire format is in docs/protocol.md; the origin's upload is in upload.py.

`blob_routes(state)` returns the routes; create_app adds them. It is the one place that sees the
relay's state: the service works from a `BlobHost`, the few things it needs. It also asks the
state's hub to tell the prefetcher whenever the store moves, which starts the prefetcher with
the first event a relay mirrors.
Must not: block the event loop on encoding or decoding (they run in worker threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nacl.signing import SigningKey
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from lowband import http
from lowband.documents import index as documents
from lowband.documents.forms import encode_form, is_current
from lowband.documents.transfer import Fetch, TransferError, signer
from lowband.http import make_client
from lowband.protocol.model import DocRevision
from lowband.protocol.wire import AUTH_HEADER
from lowband.relay import upload
from lowband.relay.inline import InlineForms
from lowband.storage import meta
from lowband.storage.blobs import BlobError, BlobStore, short_id
from lowband.storage.store import Store, StoreError

if TYPE_CHECKING:
    from lowband.relay.state import RelayState

CHUNK = 16 * 1024  # bytes per write: a reset loses at most what is in flight
MAX_OFFSET = 1 << 40
MAX_HAVE = 16
IDLE_S = 2.0  # the uplink received nothing this long: the relay's link is idle
PREFETCH_EVERY_S = 30.0
HAVE_ID = re.compile(r"^[0-9a-f]{16,64}$")  # also how a GET names its target
HAVE_RULE = (
    "have= lists at most 16 held revisions, newest first, each by 16 to 64 lowercase hex"
    " digits of its SHA-256, separated by commas."
)


@dataclass(frozen=True)
class BlobHost:
    """What the blob endpoint needs of the node that serves it, and nothing more."""

    store: Store
    name: str
    parent: str  # the parent's base URL; '' at the origin
    forms_cache_bytes: int
    key: SigningKey | None  # signs requests to the parent
    transport: http.Transport | None  # tests swap the parent's transport
    admit: Callable[[str | None, str], tuple[int, str, str | None]]  # RelayState.admit_header
    served: Callable[[int], None]  # counts document bytes sent
    last_rx: Callable[[str], float | None]  # monotonic time the meeting's uplink last received
    spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]  # stopped at shutdown
    upload: Callable[[Request, BlobStore], Awaitable[Response]]  # a PUT (the origin's half)


def blob_routes(state: RelayState) -> list[BaseRoute]:
    """The blob routes over a relay's state; the one place this module sees `RelayState`."""
    settings = state.settings

    def last_rx(meeting: str) -> float | None:
        uplink = state.uplinks.get(meeting)
        return None if uplink is None else uplink.state.last_rx

    def spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        state.tasks.append(task)  # the lifespan cancels it at shutdown
        return task

    async def put(request: Request, blobs: BlobStore) -> Response:
        return await upload.put(request, blobs, state.origin, settings.name, state.hub.notify)

    host = BlobHost(
        state.store,
        settings.name,
        (settings.parent or "").rstrip("/"),
        settings.forms_cache_bytes,
        settings.key,
        settings.transport,
        state.admit_header,
        state.metrics.document_served,
        last_rx,
        spawn,
        put,
    )
    service = BlobService(host)
    state.hub.observe(service.wake)
    state.views.forms = InlineForms(service, state.fanout.poke)
    return [Route("/v1/blobs/{sha}", service.endpoint, methods=["GET", "PUT"])]


def _say(status: int, sentence: str) -> Response:
    return PlainTextResponse(sentence + "\n", status)


def parse_have(text: str) -> list[str]:
    items = [h for h in text.split(",") if h] if text else []
    if len(items) > MAX_HAVE or not all(HAVE_ID.match(h) for h in items):
        raise ValueError(HAVE_RULE)
    return items


def parse_offset(request: Request) -> int:
    raw = request.query_params.get("offset", "0")
    ranged = request.headers.get("range")
    if ranged is not None:
        m = re.fullmatch(r"bytes=(\d{1,13})-", ranged.strip())
        if m is None or request.query_params.get("offset") not in (None, m[1]):
            raise ValueError("Range: must be bytes=N- and agree with offset=.")
        raw = m[1]
    if not raw.isdigit() or len(raw) > 13 or int(raw) > MAX_OFFSET:
        raise ValueError(f"offset= must be a whole number of bytes, at most {MAX_OFFSET}.")
    return int(raw)


async def _chunks(
    path: Path, offset: int, end: int, count: Callable[[int], None]
) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        while offset < end:
            data = f.read(min(CHUNK, end - offset))
            if not data:
                return
            offset += len(data)
            yield data
            count(len(data))


class BlobService:
    """The endpoint's state: the node's blobs, forms being encoded, fetches from the parent."""

    def __init__(self, host: BlobHost) -> None:
        self.host = host
        self.store = host.store
        self.name = host.name
        self.blobs = BlobStore(host.store)
        self.parent = host.parent
        self.locks: dict[str, asyncio.Lock] = {}
        self.fetching = 0
        self.prefetcher: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()
        self._entries: dict[str, tuple[tuple[int, int], list[documents.Entry]]] = {}

    async def endpoint(self, request: Request) -> Response:
        self.wake("")
        try:
            if request.method == "PUT":
                return await self.host.upload(request, self.blobs)
            return await self.get(request)
        except StoreError as exc:
            return _say(503, str(exc))

    # --- the catalogue ---------------------------------------------------------

    def entries(self, meeting: str) -> list[documents.Entry]:
        no = self.store.stream_no(meeting, "docs")
        key = next(((h, v) for n, _, h, v in self.store.streams(meeting) if n == no), (0, 0))
        cached = self._entries.get(meeting)
        if cached is None or cached[0] != key:
            cached = (key, documents.entries(self.store, meeting))
            self._entries[meeting] = cached
        return cached[1]

    def find(self, prefix: str, meeting: str | None = None) -> tuple[str, DocRevision] | None:
        """The one revision whose SHA-256 starts with prefix, in `meeting` only when given
        (None if none, or several)."""
        found = {
            e.sha: (info.id, e.doc)
            for info in self.store.meetings()
            if meeting is None or info.id == meeting
            for e in self.entries(info.id)
            if e.sha.startswith(prefix)
        }
        return next(iter(found.values())) if len(found) == 1 else None

    # --- GET -------------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        name = request.path_params["sha"]
        if not HAVE_ID.match(name):
            return _say(400, "A blob is named by its SHA-256: 16 to 64 lowercase hex digits.")
        status, refused, meeting = self.host.admit(request.headers.get(AUTH_HEADER), "documents")
        if status:
            return _say(status, refused)
        try:
            have = parse_have(request.query_params.get("have", ""))
            offset = parse_offset(request)
        except ValueError as exc:
            return _say(400, str(exc))
        found = self.find(name, meeting)
        if found is None:
            return _say(404, f"{name} names no one document revision known at {self.name}.")
        sha = found[1].sha256.hex()
        if not self.blobs.has(sha):
            if not self.parent:
                return _say(404, f"The blob {sha} is not stored at {self.name}.")
            try:
                await self.fetch_from_parent(*found)
            except (TransferError, BlobError, OSError) as exc:
                return _say(503, f"{self.name} cannot fetch the blob from its parent now: {exc}")
        # Bases only from the target's meeting: the size of a reply must not tell how much one
        # meeting's documents resemble another's.
        mine = {e.sha for e in self.entries(found[0])}
        bases = [b for p in have if (b := self.blobs.resolve(p)) in mine and b != sha]
        try:
            etag, size, path, _ = await self.form(sha, bases)
        except BlobError as exc:
            return _say(503, f"{exc} Try again.")
        if offset and request.headers.get("if-range", f'"{etag}"').strip('"') != etag:
            offset = 0  # the form changed since the receiver's partial: send all of it
        if offset and offset >= size:
            return _say(416, f"offset={offset} is past the end of the {size}-byte encoded form.")
        headers = {"etag": f'"{etag}"', "content-length": str(size - offset)}
        if offset:
            headers["content-range"] = f"bytes {offset}-{size - 1}/{size}"
        body = _chunks(path, offset, size, self.host.served)
        return StreamingResponse(body, status_code=206 if offset else 200, headers=headers)

    async def form(self, target: str, bases: list[str]) -> tuple[str, int, Path, str]:
        """(etag, size, path, base) of the form of target for these held bases, newest first
        (base: the one it is encoded against, "" for none); encoded at most once per target
        and set of bases."""
        key = ",".join(sorted(short_id(b) for b in bases))
        lock = self.locks.setdefault(f"{target}/{key}", asyncio.Lock())
        async with lock:
            base = self.blobs.choice(target, key)
            if base is not None and (cached := self.blobs.form(target, base)) is not None:
                path = self.blobs.form_path(target, base)
                with path.open("rb") as f:
                    if is_current(f.read(1)):  # else cached by an older version: encode again
                        return cached[0], cached[1], path, base
            new = await asyncio.to_thread(self.blobs.load, target)
            held = {}
            for b in reversed(bases):  # oldest first: the codec breaks ties towards later ones
                data = await asyncio.to_thread(self.blobs.load, b)
                if data is not None:
                    held[short_id(b)] = data
            if new is None:
                self.blobs.forget(target)
                raise BlobError(f"The stored blob {short_id(target)} was damaged and dropped.")
            delta = await asyncio.to_thread(encode_form, new, held)
            base = next((b for b in bases if short_id(b) == delta.base_id), "")
            etag = await asyncio.to_thread(self.blobs.write_form, target, base, delta.data)
            self.blobs.record_form(target, base, etag, len(delta.data), delta.method.name)
            self.blobs.evict_forms(self.host.forms_cache_bytes, (target, base))
            self.blobs.set_choice(target, key, base)
            self.locks.pop(f"{target}/{key}", None)
            return etag, len(delta.data), self.blobs.form_path(target, base), base

    async def fetch_from_parent(self, meeting: str, doc: DocRevision) -> None:
        """Fetch one revision from the parent, offering what this relay holds; once at a time."""
        sha = doc.sha256.hex()
        async with self.locks.setdefault(sha, asyncio.Lock()):
            if self.blobs.has(sha):
                return
            revs = documents.revisions(self.entries(meeting), doc.doc_id)
            have = [e.sha for e in reversed(revs) if e.sha != sha and self.blobs.has(e.sha)]
            self.fetching += 1
            try:
                key = self.host.key
                parent = meta.relay_name(self.store, meeting)
                token = signer(key, meeting, self.name, parent) if key is not None else None
                async with make_client(self.host.transport) as client:
                    fetch = Fetch(
                        client, self.parent, doc, self.blobs, have, max_attempts=3, token=token
                    )
                    await fetch.run()
            finally:
                self.fetching -= 1

    # --- prefetch --------------------------------------------------------------

    def wake(self, meeting: str) -> None:
        """The store moved (or a blob was asked for): look for documents to prefetch."""
        if not self.parent:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.prefetcher is None or self.prefetcher.done():
            self.prefetcher = self.host.spawn(self._prefetch_loop())
        self.wakeup.set()

    def wanted(self, meeting: str) -> list[documents.Entry]:
        """The newest revision of each document of the current agenda item not held here."""
        all_entries = self.entries(meeting)
        item = documents.current_item(all_entries)
        return [
            e
            for e in documents.latest(all_entries).values()
            if item and e.doc.agenda_item == item and not self.blobs.has(e.sha)
        ]

    def idle(self, meeting: str) -> bool:
        last = self.host.last_rx(meeting)
        quiet = last is None or time.monotonic() - last >= IDLE_S
        return self.fetching == 0 and quiet

    async def _prefetch_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), PREFETCH_EVERY_S)
            self.wakeup.clear()
            for info in self.store.meetings():
                for entry in self.wanted(info.id):
                    while not self.idle(info.id):
                        await asyncio.sleep(IDLE_S / 2)
                    try:
                        await self.fetch_from_parent(info.id, entry.doc)
                    except (TransferError, BlobError, StoreError, OSError):
                        break  # the parent is away: the next wake tries again
