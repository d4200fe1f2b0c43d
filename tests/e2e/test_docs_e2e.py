"""Documents end to end: real origin and relay processes, the delegate's CLI, and the link
emulator between the delegate and its relay counting every byte, protocol included."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from docx_support import make_docx, paragraphs
from procs import Relay, cli, stream_state, wait_for

from lowband.documents.forms import encode_form
from lowband.documents.inline import INLINE_LIMIT, InlineDocs
from lowband.documents.office.normalise import normalise
from lowband.harness.testbed import Follower, delegate_behind_link
from lowband.http import make_client
from lowband.linkem import LinkEmulatorThread, LinkProfile, OutageKind
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.wire import DocForm, FrameReader, encode_frame
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"


@dataclass
class Net:
    tmp: Path
    origin: Relay
    relay: Relay
    link: LinkEmulatorThread
    delegate: Path

    def publish(self, path: Path, *args: str) -> str:
        return cli(
            self.tmp / "origin", "publish", "doc", "--origin", self.origin.url, "--meeting", M,
            str(path), *args,
        ).stdout  # fmt: skip

    def wire(self) -> int:
        s = self.link.stats()
        return s["bytes_down"] + s["bytes_up"]

    def verified(self, n: int) -> None:
        """Wait until the delegate holds n docs events, all covered by a checkpoint."""

        def done() -> bool:
            cli(self.delegate, "sync", "--once", "--meeting", M)
            return stream_state(self.delegate, M, "docs") == (n, n)

        wait_for(lambda: stream_state(self.tmp / "relay", M, "docs")[0] == n, what="relay docs")
        wait_for(done, what=f"{n} verified docs events at the delegate")

    def get(self, *args: str, check: bool = True) -> tuple[subprocess.CompletedProcess[str], int]:
        """`docs get --no-sync ...` and the bytes it put on the link, both ways."""
        before = self.wire()
        proc = cli(self.delegate, "docs", "get", "--meeting", M, "--no-sync", *args, check=check)
        return proc, self.wire() - before

    @property
    def link_url(self) -> str:
        return f"http://127.0.0.1:{self.link.port}"

    def document(self, name: str) -> Path:
        return self.delegate / "documents" / M / name


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with delegate_behind_link(tmp_path, M) as (origin, relay, link, delegate):
        yield Net(tmp_path, origin, relay, link, delegate)


def test_revisions_of_text_and_word_files_arrive_as_deltas_byte_identical(net: Net) -> None:
    lines = paragraphs(3000, seed=11)
    paras = paragraphs(800, seed=12)
    draft, report = net.tmp / "draft.txt", net.tmp / "report.docx"
    draft.write_text("\n".join(lines))
    report.write_bytes(make_docx(paras))
    assert "published draft revision 1" in net.publish(draft, "--agenda-item", "2")
    assert "published report revision 1" in net.publish(report, "--title", "Report of WG-1")
    net.verified(2)
    out = net.get()[0].stdout  # the newest of every document; nothing held yet
    assert "draft r1:" in out and "report r1:" in out
    assert net.document("draft-r1.txt").read_bytes() == draft.read_bytes()
    assert net.document("report-r1.docx").read_bytes() == normalise(report.read_bytes())

    lines[1500] = "The Conference resolves to invite Member States to take part remotely."
    draft.write_text("\n".join(lines))
    paras[400] = "Kenya proposed an amendment to the second paragraph, and it was agreed."
    report.write_bytes(make_docx(paras, when=(2026, 3, 2, 17, 30, 0)))  # saved again later
    assert "published draft revision 2" in net.publish(draft)
    assert "published report revision 2" in net.publish(report)
    assert "unchanged since revision 2" in net.publish(report)
    net.verified(4)

    proc, text_wire = net.get("draft")
    assert "copy against r1" in proc.stdout or "patch against r1" in proc.stdout
    assert text_wire < draft.stat().st_size // 50, (text_wire, proc.stdout)
    assert net.document("draft-r2.txt").read_bytes() == draft.read_bytes()

    proc, docx_wire = net.get("report")
    published = normalise(report.read_bytes())
    assert "office-" in proc.stdout and docx_wire < len(published) // 10, (docx_wire, proc.stdout)
    assert net.document("report-r2.docx").read_bytes() == published
    assert net.document("report-r1.docx").exists() and net.document("draft-r1.txt").exists()

    diff = cli(net.delegate, "docs", "diff", "--meeting", M, "report").stdout
    assert "+Kenya proposed an amendment" in diff and diff.count("\n-") == 1
    listing = cli(net.delegate, "docs", "list", "--meeting", M).stdout
    assert "current agenda item: 2" in listing and "held r1, r2" in listing


def test_a_transfer_cut_by_the_link_resumes_from_its_offset(net: Net) -> None:
    blob = net.tmp / "annex.bin"
    blob.write_bytes(os.urandom(400_000))  # incompressible: sent stored, 400,001 bytes
    net.publish(blob)
    net.verified(1)
    net.link.set_profile(LinkProfile(down_kbps=800, up_kbps=800, name="slow"))
    partial = net.delegate / "blobs" / "partial"
    log = net.tmp / "get.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lowband", "--home", str(net.delegate), "docs", "get",
             "--meeting", M, "--no-sync", "annex"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(
                lambda: any(p.stat().st_size > 50_000 for p in partial.glob("*")),
                what="part of the blob at the delegate",
            )
            net.link.begin_outage(OutageKind.HARD)  # every connection reset
            wait_for(lambda: net.link.stats()["open_connections"] == 0, what="the reset")
            net.link.end_outage()
            assert proc.wait(120) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert "The link broke at byte" in text and "resuming" in text
    assert "annex r1: 400001 bytes received for 400000 (stored" in text  # none received twice
    assert net.document("annex-r1.bin").read_bytes() == blob.read_bytes()
    assert not any(partial.glob("*"))


def test_a_corrupted_blob_from_a_malicious_relay_is_refused_and_nothing_written(net: Net) -> None:
    draft = net.tmp / "draft.txt"
    real = "\n".join(paragraphs(2000, seed=5)).encode()
    draft.write_bytes(real)
    net.publish(draft)
    net.verified(1)
    sha = hashlib.sha256(real).hexdigest()
    net.relay.kill()
    # The relay's operator serves other bytes for this revision, consistently: a valid form of
    # altered content with its own ETag, cached as the form for receivers holding nothing.
    with Store(net.tmp / "relay" / "store.sqlite") as store:
        blobs = BlobStore(store)
        blobs.put(real, sha)
        forged = encode_form(real.replace(b"a", b"o", 40), {})
        etag = blobs.write_form(sha, "", forged.data)
        blobs.record_form(sha, "", etag, len(forged.data), forged.method.name)
        blobs.set_choice(sha, "", "")
    net.relay.start()
    proc, _ = net.get("draft", check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "does not match its SHA-256. Nothing was written." in proc.stderr
    assert not net.document("draft-r1.txt").exists()
    with Store(net.delegate / "store.sqlite") as store:
        assert not BlobStore(store).has(sha)
    assert not any((net.delegate / "blobs" / "partial").glob("*"))


def test_a_relay_prefetches_the_current_item_and_answers_bad_requests_in_a_sentence(
    net: Net,
) -> None:
    other, current = net.tmp / "other.txt", net.tmp / "current.txt"
    other.write_text("Information document, on no agenda item.\n" * 50)
    current.write_text("Draft resolution on remote participation.\n" * 50)
    net.publish(other)
    net.publish(current, "--agenda-item", "2")
    sha = hashlib.sha256(current.read_bytes()).hexdigest()

    def held(digest: str) -> bool:
        with Store(net.tmp / "relay" / "store.sqlite") as store:
            return BlobStore(store).has(digest)

    wait_for(lambda: held(sha), timeout=60, what="the relay's prefetch of item 2's document")
    assert not held(hashlib.sha256(other.read_bytes()).hexdigest())

    base = net.relay.url + "/v1/blobs/"
    cases = [
        (base + "0" * 64, 404, "names no one document revision"),
        (base + sha + "?have=not-a-hash", 400, "have= lists at most 16 held revisions"),
        (base + sha + "?offset=" + "9" * 30, 400, "offset= must be a whole number of bytes"),
        (base + sha + "?offset=1000000", 416, "past the end"),
    ]
    with httpx.Client(trust_env=False) as client:
        for url, status, words in cases:
            resp = client.get(url)
            assert resp.status_code == status and words in resp.text, (url, resp.text)
            assert resp.text.count("\n") == 1 and "Traceback" not in resp.text
        resp = client.put(base + sha, content=b"x")
        assert resp.status_code == 403 and "published at the origin" in resp.text


def _document_bytes_served(relay: Relay) -> float:
    """What the relay's blob endpoint served, from its /metrics."""
    with httpx.Client(trust_env=False) as client:
        text = client.get(relay.url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("lowband_document_bytes_served_"))
    return float(line.split()[-1])


def _blob_held(home: Path, sha: str) -> bool:
    with Store(home / "store.sqlite") as store:
        return BlobStore(store).has(sha)


def test_a_delegate_following_live_gets_small_revisions_inline_and_large_ones_by_http(
    net: Net,
) -> None:
    draft, annex = net.tmp / "draft.txt", net.tmp / "annex.txt"
    lines = paragraphs(20, seed=21)
    draft.write_text("\n".join(lines))
    follower = Follower(net.delegate, M)
    follower.start()
    try:
        wait_for(lambda: stream_state(net.delegate, M, "roster")[0] >= 1, what="following")
        net.publish(draft, "--agenda-item", "3")
        wait_for(lambda: net.document("draft-r1.txt").exists(), what="r1 sent inline, written")
        assert net.document("draft-r1.txt").read_bytes() == draft.read_bytes()
        lines[7] = "The Conference invites Member States to take part remotely."
        draft.write_text("\n".join(lines))
        net.publish(draft)
        r2 = hashlib.sha256(draft.read_bytes()).hexdigest()
        wait_for(lambda: _blob_held(net.delegate, r2), what="r2 inline, as a delta against r1")
        annex.write_text("\n".join(paragraphs(2000, seed=22)))  # its form is far over 4 KiB
        net.publish(annex)
        net.verified(3)
        assert _document_bytes_served(net.relay) == 0  # no blob GET reached the relay
        assert not _blob_held(net.delegate, hashlib.sha256(annex.read_bytes()).hexdigest())
    finally:
        follower.stop()
    assert "WARNING" not in follower.log.read_text()
    proc, _ = net.get()  # r2's file (held since it came inline) and the annex by HTTP
    assert "annex r1:" in proc.stdout
    assert net.document("draft-r2.txt").read_bytes() == draft.read_bytes()
    assert net.document("annex-r1.txt").read_bytes() == annex.read_bytes()
    assert _document_bytes_served(net.relay) > 0


class _TamperInline(httpx.AsyncBaseTransport):
    """A man in the middle of the sync exchange that swaps every inline document for a valid
    form of other content, leaving every other frame as it was."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.swapped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self.inner.handle_async_request(request)
        if request.url.path != "/v1/sync":
            return resp
        return httpx.Response(resp.status_code, headers=resp.headers, stream=_Swap(resp, self))

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Swap(httpx.AsyncByteStream):
    def __init__(self, resp: httpx.Response, tamper: _TamperInline) -> None:
        self.resp, self.tamper = resp, tamper

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = FrameReader()
        async for chunk in self.resp.stream:  # type: ignore[union-attr]
            out = b""
            for frame in reader.feed(chunk):
                if isinstance(frame, DocForm):
                    forged = encode_form(b"Forged by the middle.\n" * 20, {})
                    frame = DocForm(frame.target, b"", forged.data)
                    self.tamper.swapped += 1
                out += encode_frame(frame)
            yield out

    async def aclose(self) -> None:
        await self.resp.aclose()


def test_a_tampered_inline_document_is_refused_and_still_arrives_by_http(net: Net) -> None:
    draft = net.tmp / "draft.txt"
    draft.write_text("\n".join(paragraphs(20, seed=23)))
    net.publish(draft)
    wait_for(lambda: stream_state(net.tmp / "relay", M, "docs")[0] == 1, what="relay docs")
    tamper = _TamperInline()

    async def follow_until_refused() -> tuple[Node, InlineDocs]:
        with Store(net.delegate / "store.sqlite") as store:
            docs = InlineDocs(store, M, net.delegate)
            node = Node(store, M, Role.CLIENT, "delegate", inline_limit=INLINE_LIMIT, inline=docs)
            async with make_client(tamper) as client:
                task = asyncio.create_task(Uplink(node, net.link_url, client).run())
                try:
                    for _ in range(600):
                        if node.refused:
                            break
                        await asyncio.sleep(0.05)
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        return node, docs

    node, docs = asyncio.run(follow_until_refused())
    assert tamper.swapped == 1 and docs.received == 0
    assert len(node.refused) == 1 and "does not match its SHA-256" in node.refused[0]
    assert not net.document("draft-r1.txt").exists()
    assert not _blob_held(net.delegate, hashlib.sha256(draft.read_bytes()).hexdigest())
    net.verified(1)
    proc, _ = net.get("draft")
    assert net.document("draft-r1.txt").read_bytes() == draft.read_bytes()
