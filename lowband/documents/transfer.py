"""Moving a document blob over HTTP to a receiver: the resumable, verified fetch.

Owns the client side of `GET /v1/blobs/{sha256}` (docs/protocol.md) for delegates and for
relays fetching from their parent (the upload is `documents/upload.py`). A fetch names the
revisions the receiver holds (`have=`), appends what arrives to a partial file as it arrives, resumes after
any break from that file's length (`offset=`, with `If-Range:` the form's ETag), checks the
whole form against its ETag, decodes it against the held revisions, and stores the result
only if it matches the SHA-256 the docs event announced. Otherwise nothing is kept: the
partial file is dropped and no blob or document file appears. It tells its caller how far it
has got through `progress` (bytes of the form held, of how many, and whether it is holding for
submissions). Must not: decide what to fetch (documents/index.py, documents/fetch.py) or
touch the documents folder.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from lowband import http
from lowband.documents.delta.delta import DeltaError, read_header
from lowband.documents.forms import decode_form, max_form_size
from lowband.documents.office.delta import is_office_form, read_form
from lowband.documents.pacing import HOLD_MAX_S, HOLD_POLL_S, Pacer
from lowband.http import LinkError
from lowband.protocol import backoff
from lowband.protocol.crypto import request_token
from lowband.protocol.model import DocRevision
from lowband.protocol.wire import AUTH_HEADER
from lowband.storage.blobs import FORM_TAG, BlobError, BlobStore, form_tag, short_id

MAX_HAVE = 16
# Headers httpx adds that a blob request does without: forms are compressed already, HTTP/1.1
# keeps connections alive by default, and the relay needs neither Accept nor User-Agent.
SPARE_HEADERS = ("accept", "accept-encoding", "connection", "user-agent")
MAX_ATTEMPTS = 8
ERROR_LIMIT = 2000
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class TransferError(ValueError):
    """A blob transfer that failed or was refused; the message is one plain sentence."""


class _Retry(Exception):
    """A break worth retrying (the link, or a 5xx from a relay that may recover)."""


@dataclass(frozen=True)
class Progress:
    """How far one fetch has got: bytes of the encoded form held of `total` (0: not known yet),
    and whether it is holding because submissions go first."""

    done: int
    total: int
    holding: bool = False


@dataclass
class Fetched:
    """What one fetch did, for the user and the benchmark."""

    size: int = 0  # bytes of the revision
    form: int = 0  # bytes of the encoded form
    received: int = 0  # form bytes received by this call, over every attempt
    method: str = ""
    base: str | None = None  # short id of the held revision the sender chose
    resumed: list[int] = field(default_factory=list)  # offsets resumed from
    first_byte_s: float | None = None  # request to response head: the sender's encode time
    decode_s: float = 0.0


def signer(key: SigningKey, meeting: str, node: str, audience: str = "") -> Callable[[], str]:
    """The `x-lowband-auth` value for each blob request: the sync exchange's token, signed
    afresh, with the meeting and node name it covers."""

    def token() -> str:
        return request_token(key, meeting, node, int(time.time() * 1000), audience)

    return token


def blob_url(base_url: str, sha_hex: str) -> str:
    return f"{base_url.rstrip('/')}/v1/blobs/{sha_hex}"


def _describe(form: bytes) -> tuple[str, str | None]:
    try:
        if is_office_form(form):
            base, _, inner = read_form(form)
            return "office-" + read_header(inner)[0].name.lower(), base
        method, base, _ = read_header(form)
    except DeltaError:
        return "?", None
    return method.name.lower(), base


class Fetch:
    """One revision fetched from `base_url` into `blobs`, resuming across breaks."""

    def __init__(
        self,
        client: http.Client,
        base_url: str,
        doc: DocRevision,
        blobs: BlobStore,
        have: list[str],
        *,
        hold: Callable[[], bool] | None = None,
        pacer: Pacer | None = None,
        report: Callable[[str], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
        rng: random.Random | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token: Callable[[], str] | None = None,
    ) -> None:
        self.client, self.doc, self.blobs = client, doc, blobs
        self.target = doc.sha256.hex()
        self.url = blob_url(base_url, short_id(self.target))  # every byte of the head costs
        self.bases: dict[str, bytes] = {}  # oldest first, as the codec wants them
        for h in reversed([h for h in have if h != self.target and blobs.has(h)][:MAX_HAVE]):
            try:
                self.bases[short_id(h)] = blobs.read(h)
            except BlobError:
                continue  # damaged: forgotten by read(), and not offered
        self.have = ",".join(reversed(self.bases))  # newest first on the wire
        self.hold, self.pacer = hold, pacer
        self.report = report or (lambda _: None)
        self.progress = progress or (lambda _: None)
        self.rng = rng or random.Random()
        self.max_attempts, self.sleep = max_attempts, sleep
        self.token = token  # a fresh request token per request, for relays that require one
        self.result = Fetched(size=doc.size)
        self._held_at = 0.0
        self.held = 0.0  # seconds this fetch has held for submissions

    async def run(self) -> Fetched:
        if self.blobs.has(self.target):
            return self.result
        attempt = 0
        while not self._complete():
            offset = self._offset()
            try:
                await self._request(offset)
            except (LinkError, _Retry) as exc:
                attempt += 1
                reason = exc.cause if isinstance(exc, LinkError) else str(exc)
                if attempt >= self.max_attempts:
                    raise TransferError(
                        f"The transfer of {self.doc.doc_id} r{self.doc.rev} broke {attempt} times"
                        f" ({reason}); run it again to resume from byte {self._offset()}."
                    ) from None
                self.report(f"The link broke at byte {self._offset()} ({reason}); resuming.")
                await self.sleep(backoff.next_delay(attempt - 1, self.rng))
        return await self._finish()

    def _offset(self) -> int:
        part = self.blobs.partial(self.target)
        return part.held if part else 0

    def _tell(self, holding: bool = False) -> None:
        part = self.blobs.partial(self.target)
        self.progress(Progress(self._offset(), part.total if part else 0, holding))

    def _complete(self) -> bool:
        part = self.blobs.partial(self.target)
        return part is not None and part.complete

    async def _request(self, offset: int) -> None:
        await self._wait_hold(force=True)
        part = self.blobs.partial(self.target)
        params = {"have": self.have} if self.have else {}
        headers = {AUTH_HEADER: self.token()} if self.token else {}
        if part is not None and offset > 0:
            params["offset"] = str(offset)
            headers["if-range"] = f'"{part.etag}"'
            self.result.resumed.append(offset)
        started = time.monotonic()
        async with http.stream(
            self.client,
            "GET",
            self.url,
            params=params,
            headers=headers,
            drop_headers=SPARE_HEADERS,  # on a 9.6 kbit/s link every header costs
        ) as resp:
            if self.result.first_byte_s is None:
                self.result.first_byte_s = time.monotonic() - started
            if resp.status_code >= 500:
                raise _Retry(await http.body_text(resp, ERROR_LIMIT) or f"HTTP {resp.status_code}")
            if resp.status_code not in (200, 206):
                text = await http.body_text(resp, ERROR_LIMIT)
                raise TransferError(text or f"The relay answered HTTP {resp.status_code}.")
            await self._receive(resp, offset if resp.status_code == 206 else 0)

    async def _receive(self, resp: http.Response, offset: int) -> None:
        etag = resp.headers.get("etag", "").strip('"')
        length = resp.headers.get("content-length", "")
        if not FORM_TAG.match(etag) or not length.isdigit():
            raise TransferError("The relay sent a blob without a valid ETag and length.")
        if offset == 0:
            total = int(length)
            if total > max_form_size(self.doc.size):
                raise TransferError("The relay offered more bytes than this revision can need.")
            path = self.blobs.start_partial(self.target, etag, total).path
        else:
            part = self.blobs.partial(self.target)
            rng = CONTENT_RANGE.match(resp.headers.get("content-range", ""))
            if part is None or rng is None or etag != part.etag:
                self.blobs.drop_partial(self.target)
                raise _Retry("the relay answered a resumed request inconsistently")
            path, total = part.path, part.total
            if (int(rng[1]), int(rng[3])) != (offset, total) or offset + int(length) != total:
                self.blobs.drop_partial(self.target)
                raise _Retry("the relay resumed at a different offset")
        self._tell()
        with open(path, "ab") as f:
            async for chunk in resp.aiter_raw():
                await self._wait_hold()
                if self.pacer is not None:
                    await self.sleep(self.pacer.delay(time.monotonic(), len(chunk)))
                if f.tell() + len(chunk) > total:
                    f.close()
                    self.blobs.drop_partial(self.target)
                    raise TransferError("The relay sent more bytes than it announced; none kept.")
                f.write(chunk)
                f.flush()
                self.result.received += len(chunk)
                self.progress(Progress(f.tell(), total))

    async def _wait_hold(self, force: bool = False) -> None:
        if self.hold is None:
            return
        now = time.monotonic()
        if not force and now - self._held_at < HOLD_POLL_S / 2:
            return
        self._held_at = now
        while self.held < HOLD_MAX_S and self.hold():
            self._tell(holding=True)
            await self.sleep(HOLD_POLL_S)
            self.held += HOLD_POLL_S
            if self.held >= HOLD_MAX_S:
                self.report("Submissions are still waiting to be sent; fetching anyway.")

    async def _finish(self) -> Fetched:
        part = self.blobs.partial(self.target)
        assert part is not None
        form = part.path.read_bytes()
        self.blobs.drop_partial(self.target)
        if form_tag(form) != part.etag:
            raise TransferError("The relay sent a blob that does not match its ETag; none kept.")
        self.result.form = len(form)
        self.result.method, self.result.base = _describe(form)
        started = time.perf_counter()
        try:
            data = await asyncio.to_thread(
                decode_form,
                form,
                self.bases,
                max_size=self.doc.size,
                expected_sha256=self.doc.sha256,
            )
        except DeltaError as exc:
            raise TransferError(
                f"Refused {self.doc.doc_id} r{self.doc.rev} from the relay: {exc} Nothing was"
                " written."
            ) from None
        self.result.decode_s = time.perf_counter() - started
        try:
            self.blobs.put(data, self.target)
        except BlobError as exc:
            raise TransferError(str(exc)) from None
        return self.result
