"""The "relay" column of scripts/bench_docs.py: lowband's transfer through a real relay process.

Owns one testbed for the whole benchmark run (an origin and a relay as real processes on
127.0.0.1, the link emulator on the `loopback` profile between a delegate and the relay, and
the delegate's store), started on first use and stopped at exit, and the measurement of one
revision pair on it. Must not: be imported by lowband, or listen anywhere but 127.0.0.1.

Per pair: every revision (bases, then new) is published to the origin as revisions of a
document of its own under the agenda item "bench", so the relay prefetches the newest one
while idle, as it would for the current item; the delegate syncs the docs stream and fetches
the bases through the relay; then the new revision is published and reaches the delegate:

  inline (`inline_limit` > 0, the default 4096 of a delegate's client): one sync exchange
          (POST /v1/sync) through the emulator, the delegate naming the newest revision of
          this document it holds. If the relay sends the new revision inside it (a DocForm
          frame, its form at most the limit), bytes are that frame plus what the request's
          two inline fields (held revisions, limit) add; the exchange's other frames (the docs
          event, checkpoints) are paid by the docs stream either way. Otherwise the revision
          is fetched by HTTP as below, and the request's inline fields are added to its bytes.
  HTTP    (`inline_limit` 0, or a form over the limit): what the emulator carried both ways
          for the one GET: the request (have= list included), response head and encoded form.
  encode  HTTP: request to response head, the relay's encoding for this held set; inline: 0
          (the relay prepared the form before sending the frame);
  decode  the delegate's decode and SHA-256 check;  exact: the result is the published file.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from lowband.documents import index as documents
from lowband.documents import publish
from lowband.documents.inline import InlineDocs
from lowband.documents.transfer import Fetch
from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.http import make_client
from lowband.linkem import LinkEmulatorThread
from lowband.node.home import Home
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.model import DocRevision
from lowband.protocol.receiver import InlineDoc
from lowband.protocol.wire import DocForm, encode_frame, encode_request
from lowband.storage.blobs import BlobStore, short_id
from lowband.storage.store import Store

M = "bench"
ITEM = "bench"
Result = tuple[int, float, float, bool]


@dataclass
class Bed:
    tmp: Path
    origin: Relay
    relay: Relay
    link: LinkEmulatorThread
    origin_store: Store
    delegate: Store

    @classmethod
    def start(cls) -> Bed:
        tmp = Path(tempfile.mkdtemp(prefix="lowband-bench-docs-relay-"))
        origin = Relay(tmp / "origin", "--origin", name="origin", log=tmp / "origin.log")
        cli(
            tmp / "origin", "meeting", "create", "--id", M, "--title", "Benchmark", "--kind",
            "virtual", "--remote-rights", "observe", "--start", "2026-01-01T00:00:00Z", "--end",
            "2026-01-02T00:00:00Z", "--languages", "en",
        )  # fmt: skip
        relay = Relay(tmp / "relay", "--parent", origin.url, name="relay", log=tmp / "relay.log")
        link = LinkEmulatorThread("127.0.0.1", 0, "127.0.0.1", relay.port)
        link.start()
        wait_for(lambda: stream_state(tmp / "relay", M, "notice")[0] >= 1, what="relay mirror")
        delegate = Store(tmp / "delegate" / "store.sqlite")
        origin_store = Store(tmp / "origin" / "store.sqlite")
        info = origin_store.meeting(M)
        assert info is not None
        delegate.add_meeting(info, f"http://127.0.0.1:{link.port}")
        return cls(tmp, origin, relay, link, origin_store, delegate)

    def stop(self) -> None:
        self.delegate.close()
        self.origin_store.close()
        self.link.stop()
        self.relay.stop()
        self.origin.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.link.port}"

    def publish(self, path: Path, doc_id: str) -> DocRevision:
        key = Home(self.tmp / "origin").key()
        doc, _ = asyncio.run(
            publish.publish(
                self.origin_store, key, self.origin.url, M, path, doc_id=doc_id, agenda_item=ITEM
            )
        )
        if doc is None:  # the same bytes as the revision before: it is that revision again
            doc = documents.revisions(documents.entries(self.origin_store, M), doc_id)[-1].doc
        return doc

    def relay_holds(self, sha: str) -> bool:
        with Store(self.tmp / "relay" / "store.sqlite") as store:
            return BlobStore(store).has(sha)


_bed: Bed | None = None


def bed() -> Bed:
    global _bed
    if _bed is None:
        _bed = Bed.start()
        atexit.register(_bed.stop)
    return _bed


class BenchInline(InlineDocs):
    """The delegate's inline documents, naming only this pair's document as held (as a
    delegate that holds just it would), and counting what arrives inline."""

    def __init__(self, store: Store, meeting: str, doc_id: str) -> None:
        super().__init__(store, meeting)
        self.doc_id = doc_id
        self.frame_bytes = 0
        self.decode_s = 0.0

    def held(self) -> list[bytes]:
        revs = documents.revisions(documents.entries(self.store, self.meeting), self.doc_id)
        blobs = BlobStore(self.store, sweep=False)
        held = [e.sha for e in reversed(revs) if blobs.has(e.sha)]
        return [bytes.fromhex(short_id(held[0]))] if held else []

    def receive(self, e: InlineDoc, peer: str) -> str:
        started = time.perf_counter()
        refusal = super().receive(e, peer)
        self.decode_s += time.perf_counter() - started
        self.frame_bytes += len(encode_frame(DocForm(e.target, e.base, e.data)))
        return refusal


@dataclass
class BenchNode(Node):
    """The delegate's node, counting the bytes the inline fields add to its requests."""

    field_bytes: int = 0

    def request(self, live: bool, with_events: bool = True, checkpoint_every: int = 45) -> Any:
        req = super().request(live, with_events, checkpoint_every)
        plain = msgspec.structs.replace(req, docs_held=[], inline_limit=0)
        self.field_bytes += len(encode_request(req)) - len(encode_request(plain))
        return req


async def _sync(b: Bed, node: Node) -> None:
    """One exchange that ends when the delegate is caught up (and any inline form sent)."""
    async with make_client() as client:
        await Uplink(node, b.url, client).exchange(live=False)


async def _fetch(b: Bed, doc: DocRevision, have: list[str]) -> Fetch:
    blobs = BlobStore(b.delegate)
    async with make_client() as client:
        fetch = Fetch(client, b.url, doc, blobs, have)
        await fetch.run()
    return fetch


def transfer(pair: dict[str, Any], cache: Path, inline_limit: int = 0) -> Result:
    b = bed()
    doc_id = "p" + hashlib.sha256(pair["id"].encode()).hexdigest()[:16]
    ext = Path(pair["new"]).suffix if pair["kind"] == "office" else ".txt"
    revs: list[DocRevision] = []
    for i, name in enumerate(pair["bases"]):
        revs.append(b.publish(_copy(b, cache / name, doc_id, i, ext), doc_id))
    _wait_docs(b)
    asyncio.run(_sync(b, Node(b.delegate, M, Role.CLIENT, "bench")))  # the docs events
    have: list[str] = []
    for base in revs:  # the receiver holds every earlier revision, fetched as it would be
        asyncio.run(_fetch(b, base, have))
        have.insert(0, base.sha256.hex())
    path = _copy(b, cache / pair["new"], doc_id, len(revs), ext)
    new = b.publish(path, doc_id)
    target = new.sha256.hex()
    blobs = BlobStore(b.delegate)
    if blobs.has(target):  # held from another pair (same bytes): fetch it for real again
        blobs.forget(target)
    _wait_docs(b)
    wait_for(lambda: b.relay_holds(target), timeout=300, what="the relay's prefetch")
    wire, first_byte, decode = 0, 0.0, 0.0
    if inline_limit:
        docs = BenchInline(b.delegate, M, doc_id)
        node = BenchNode(
            b.delegate, M, Role.CLIENT, "bench", inline_limit=inline_limit, inline=docs
        )
        asyncio.run(_sync(b, node))
        wire, decode = docs.frame_bytes + node.field_bytes, docs.decode_s
    else:
        asyncio.run(_sync(b, Node(b.delegate, M, Role.CLIENT, "bench")))
    if not blobs.has(target):  # over the limit (or no inline): by HTTP
        before = b.link.stats()
        fetch = asyncio.run(_fetch(b, new, [h for h in have if h != target]))
        after = b.link.stats()
        wire += sum(after[k] - before[k] for k in ("bytes_down", "bytes_up"))
        first_byte, decode = fetch.result.first_byte_s or 0.0, fetch.result.decode_s
    exact = blobs.read(target) == publish.prepare(path)
    return wire, first_byte, decode, exact


def _copy(b: Bed, src: Path, doc_id: str, i: int, ext: str) -> Path:
    path = b.tmp / f"{doc_id}-{i}{ext}"
    shutil.copyfile(src, path)
    return path


def _wait_docs(b: Bed) -> None:
    count = len(documents.entries(b.origin_store, M))
    wait_for(lambda: stream_state(b.tmp / "relay", M, "docs")[0] >= count, what="relay docs")
