"""Blobs: the store on disk, the endpoint (through httpx's ASGI transport), the resumable
verified fetch, text diffs and pacing. End-to-end runs with real processes are in
tests/e2e/test_docs_e2e.py."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from blob_support import MEETING, ORIGIN, publish, publish_sub, revision, text_doc
from docx_support import make_docx, paragraphs
from nacl.signing import SigningKey

from lowband.documents import diff as text
from lowband.documents import index as documents
from lowband.documents.forms import decode_form, encode_form
from lowband.documents.office.normalise import normalise
from lowband.documents.pacing import HOLD_MAX_S, Pacer, spare_bps
from lowband.documents.transfer import Fetch, Progress, TransferError
from lowband.documents.upload import SUB_HEADER
from lowband.protocol.model import Rights
from lowband.protocol.wire import encode_body
from lowband.relay.app import Settings, create_app
from lowband.storage.blobs import BlobStore, form_tag, short_id
from lowband.storage.store import Store

if TYPE_CHECKING:
    from conftest import World  # the `world` fixture of tests/conftest.py


@pytest.fixture
async def origin(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world.origin_store, Settings(name="origin", origin_key=world.origin_key))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        yield client


@pytest.fixture
def blobs(tmp_path: Path, world: World) -> Iterator[BlobStore]:
    """A delegate's blobs, in a home of its own (the origin's store is in tmp_path)."""
    with Store(tmp_path / "delegate" / "store.sqlite") as store:
        yield BlobStore(store)


# --- forms, text, pacing (pure) ---------------------------------------------------------


def test_office_forms_are_member_deltas_and_rebuild_the_published_file() -> None:
    paras = paragraphs(600)
    old = normalise(make_docx(paras))
    paras[300] = "The Conference resolves to instruct the Secretary-General, as amended."
    new = normalise(make_docx(paras, when=(2026, 3, 2, 10, 0, 0)))
    form = encode_form(new, {short_id("a" * 64): old})
    assert form.data[0] == 0x22 and len(form.data) < len(new) // 20
    got = decode_form(
        form.data, {"a" * 16: old}, max_size=len(new), expected_sha256=hashlib.sha256(new).digest()
    )
    assert got == new


def test_diff_of_office_files_is_of_their_paragraph_text() -> None:
    paras = paragraphs(50)
    old = make_docx(paras)
    paras[10] = "Kenya & Brazil <agree>."
    diff = text.unified(old, make_docx(paras), "r1", "r2")
    assert "+Kenya & Brazil <agree>." in diff and diff.count("\n+") == 2  # +++ header, one line
    with pytest.raises(text.NotText):
        text.lines(b"\x00\x01binary")


def test_the_pacer_holds_document_bytes_to_the_rate_it_is_given() -> None:
    pacer = Pacer(rate_bps=80_000, burst=10_000)  # 10 kB/s
    assert pacer.delay(0.0, 10_000) == 0.0
    assert pacer.delay(0.0, 5_000) == pytest.approx(0.5)
    assert pacer.delay(0.5, 5_000) == pytest.approx(0.5)
    assert Pacer().delay(0.0, 1 << 30) == 0.0
    assert spare_bps(40_000, 1_500) == 38_500 and spare_bps(10_000, 19_000) == 1_000


def test_the_current_agenda_item_comes_first() -> None:
    def entry(seq: int, doc_id: str, item: str) -> documents.Entry:
        return documents.Entry(seq, True, revision(b"x", doc_id, 1, item))

    es = [entry(1, "a", "1"), entry(2, "b", "2"), entry(3, "c", ""), entry(4, "d", "2")]
    assert documents.current_item(es) == "2"
    assert [e.doc.doc_id for e in documents.fetch_order(es, "2")] == ["d", "b", "c", "a"]


# --- the endpoint ---------------------------------------------------------------------


async def test_publish_then_fetch_whole_then_as_a_delta(
    world: World, origin: httpx.AsyncClient, blobs: BlobStore
) -> None:
    v1 = text_doc()
    v2 = v1.replace(b"\n", b"\nA new paragraph of the draft.\n", 1)
    d1 = await publish(world, origin, v1, 1)
    d2 = await publish(world, origin, v2, 2)
    assert [e.doc.rev for e in documents.entries(world.origin_store, MEETING)] == [1, 2]
    first = await Fetch(origin, ORIGIN, d1, blobs, []).run()
    assert first.method == "zstd" and first.received == first.form < len(v1) // 2
    second = await Fetch(origin, ORIGIN, d2, blobs, [d1.sha256.hex()]).run()
    assert second.method == "copy" and second.base == short_id(d1.sha256.hex())
    assert second.received < 200 and blobs.read(d2.sha256.hex()) == v2


async def test_a_cut_transfer_resumes_from_its_offset(
    world: World, origin: httpx.AsyncClient, blobs: BlobStore
) -> None:
    data = os.urandom(100_000)  # stored: the form is the file plus one byte
    doc = await publish(world, origin, data, 1)
    cut = CutTransport(origin._transport, at=40_000)
    heard: list[Progress] = []
    async with httpx.AsyncClient(transport=cut, base_url=ORIGIN) as client:
        fetch = Fetch(client, ORIGIN, doc, blobs, [], sleep=no_sleep, progress=heard.append)
        got = await fetch.run()
    assert got.resumed == [40_000] and got.received == got.form == len(data) + 1
    total = len(data) + 1
    assert heard[0] == Progress(0, total) and heard[-1] == Progress(total, total)
    assert Progress(40_000, total) in heard  # the resumed request starts where the break left
    assert [p.done for p in heard] == sorted(p.done for p in heard)
    assert blobs.read(doc.sha256.hex()) == data and blobs.partial(doc.sha256.hex()) is None
    assert cut.requests[1].url.params["offset"] == "40000"
    assert cut.requests[1].headers["if-range"].strip('"') == cut.etag


async def test_a_forged_form_from_a_malicious_relay_is_refused_and_nothing_kept(
    world: World, origin: httpx.AsyncClient, blobs: BlobStore
) -> None:
    real = text_doc()
    doc = await publish(world, origin, real, 1)
    forged = encode_form(real.replace(b"e", b"a", 3), {}).data  # a valid form of other bytes

    def lie(request: httpx.Request) -> httpx.Response:
        etag = form_tag(forged)  # consistent with what it sends
        headers = {"etag": f'"{etag}"', "content-length": str(len(forged))}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(forged))

    async with httpx.AsyncClient(transport=httpx.MockTransport(lie)) as client:
        with pytest.raises(TransferError, match="does not match its SHA-256. Nothing was written"):
            await Fetch(client, "http://evil.test", doc, blobs, []).run()
    sha = doc.sha256.hex()
    assert not blobs.has(sha) and blobs.partial(sha) is None
    assert not blobs.root.exists() or not any(blobs.root.glob("??/*"))


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/v1/blobs/" + "ab" * 32, 404, "names no one document revision"),
        ("/v1/blobs/" + "ab" * 8, 404, "names no one document revision"),
        ("/v1/blobs/ABC", 400, "16 to 64 lowercase hex digits"),
        ("/v1/blobs/{sha}?have=xyz", 400, "have= lists at most 16 held revisions"),
        ("/v1/blobs/{sha}?have=" + ",".join(["0" * 16] * 17), 400, "at most 16"),
        ("/v1/blobs/{sha}?offset=99999999999999999999", 400, "offset= must be a whole number"),
        ("/v1/blobs/{sha}?offset=-1", 400, "offset= must be a whole number"),
        ("/v1/blobs/{sha}?offset=5000000", 416, "past the end of the"),
    ],
)
async def test_bad_requests_get_one_sentence(
    world: World, origin: httpx.AsyncClient, path: str, status: int, words: str
) -> None:
    doc = await publish(world, origin, text_doc(200), 1)
    resp = await origin.get(path.format(sha=doc.sha256.hex()))
    assert resp.status_code == status and words in resp.text
    assert resp.text.count("\n") == 1 and resp.text.rstrip().endswith(".")


async def test_uploads_are_checked_before_anything_is_stored(
    world: World, origin: httpx.AsyncClient
) -> None:
    data = text_doc(300)
    doc = revision(data, "draft", 1)
    url = f"/v1/blobs/{doc.sha256.hex()}"
    stranger = SigningKey.generate()
    delegate = world.delegate_key  # on the roster, but without secretariat rights
    for key, words in ((stranger, "Only the secretariat"), (delegate, "Only the secretariat")):
        header = base64.urlsafe_b64encode(encode_body(publish_sub(key, doc))).decode()
        resp = await origin.put(url, content=data, headers={SUB_HEADER: header})
        assert resp.status_code == 403 and words in resp.text
    header = base64.urlsafe_b64encode(encode_body(publish_sub(world.origin_key, doc))).decode()
    resp = await origin.put(url, content=data[:-1] + b"!", headers={SUB_HEADER: header})
    assert resp.status_code == 400 and "does not match its SHA-256" in resp.text
    resp = await origin.put(url, content=data, headers={})
    assert resp.status_code == 400 and SUB_HEADER in resp.text
    blobs = BlobStore(world.origin_store)
    assert not blobs.has(doc.sha256.hex()) and documents.entries(world.origin_store, MEETING) == []
    resp = await origin.put(url, content=data, headers={SUB_HEADER: header})
    assert resp.status_code == 201 and blobs.has(doc.sha256.hex())
    again = await origin.put(url, content=data, headers={SUB_HEADER: header})
    assert again.status_code == 200 and "already published" in again.text
    skip = revision(data + b".", "draft", 3)
    header = base64.urlsafe_b64encode(encode_body(publish_sub(world.origin_key, skip))).decode()
    resp = await origin.put(
        f"/v1/blobs/{skip.sha256.hex()}", content=data + b".", headers={SUB_HEADER: header}
    )
    assert resp.status_code == 409 and "The next revision of draft is 2, not 3." in resp.text


async def test_a_relay_does_not_take_uploads(world: World, tmp_path: Path) -> None:
    with Store(tmp_path / "relay.sqlite") as store:
        app = create_app(store, Settings(name="nairobi", parent="http://127.0.0.1:9"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            resp = await client.put("http://relay.test/v1/blobs/" + "ab" * 32, content=b"x")
        assert resp.status_code == 403 and "published at the origin" in resp.text


async def test_a_held_fetch_waits_for_the_outbox(
    world: World, origin: httpx.AsyncClient, blobs: BlobStore
) -> None:
    doc = await publish(world, origin, text_doc(100), 1)
    world.add_delegate(SigningKey.generate(), Rights.SPEAK, "Other")
    checks = iter([True, True, False])
    slept: list[float] = []

    async def record(s: float) -> None:
        slept.append(s)

    heard: list[Progress] = []
    await Fetch(
        origin,
        ORIGIN,
        doc,
        blobs,
        [],
        hold=lambda: next(checks, False),
        sleep=record,
        progress=heard.append,
    ).run()
    assert slept[:2] == [0.5, 0.5] and blobs.has(doc.sha256.hex())
    assert heard[:2] == [Progress(0, 0, holding=True)] * 2 and not heard[-1].holding


async def test_a_submission_nobody_sends_holds_a_fetch_only_so_long(
    world: World, origin: httpx.AsyncClient, blobs: BlobStore
) -> None:
    doc = await publish(world, origin, text_doc(100), 1)
    slept: list[float] = []
    said: list[str] = []

    async def record(s: float) -> None:
        slept.append(s)

    fetch = Fetch(
        origin, ORIGIN, doc, blobs, [], hold=lambda: True, sleep=record, report=said.append
    )
    await fetch.run()
    assert sum(slept) == HOLD_MAX_S and blobs.has(doc.sha256.hex())
    assert said == ["Submissions are still waiting to be sent; fetching anyway."]


# --- helpers ----------------------------------------------------------------------------


async def no_sleep(_: float) -> None:
    return None


class CutStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, at: int) -> None:
        self.inner, self.at = inner, at

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            if sent + len(chunk) >= self.at:
                yield chunk[: self.at - sent]
                raise httpx.ReadError("connection reset by the emulated link")
            sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CutTransport(httpx.AsyncBaseTransport):
    """Breaks the first response after `at` bytes of body, as a reset link would."""

    def __init__(self, inner: httpx.AsyncBaseTransport, at: int) -> None:
        self.inner, self.at = inner, at
        self.requests: list[httpx.Request] = []
        self.etag = ""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        resp = await self.inner.handle_async_request(request)
        if len(self.requests) > 1:
            return resp
        self.etag = resp.headers["etag"].strip('"')
        assert isinstance(resp.stream, httpx.AsyncByteStream)
        return httpx.Response(
            resp.status_code, headers=resp.headers, stream=CutStream(resp.stream, self.at)
        )
