"""The "relay" column of scripts/bench_docs.py: lowband's transfer through a real relay process.

Owns one testbed for the whole benchmark run (an origin and a relay as real processes on
127.0.0.1, the link emulator on the `loopback` profile between a delegate and the relay, and
the delegate's store), started on first use and stopped at exit, and the measurement of one
revision pair on it. Must not: be imported by lowband, or listen anywhere but 127.0.0.1.

Per pair: every revision (bases, then new) is published to the origin as revisions of a
document of its own under the agenda item "bench", so the relay prefetches the newest one
while idle, as it would for the current item; the delegate fetches the bases through the
relay; then the new revision is fetched with the bases held. Reported:
  bytes   what the emulator carried both ways for that one fetch: the HTTP request (have=
          list included), response head and encoded form, so protocol included;
  encode  request to response head: the relay's encoding for this receiver's held set;
  decode  the delegate's decode and SHA-256 check;  exact: the result is the published file.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lowband import docsync, documents
from lowband.blobs import BlobStore
from lowband.home import Home
from lowband.linkem import LinkEmulatorThread
from lowband.model import DocRevision
from lowband.store import Store
from lowband.sync.session import make_client
from lowband.testbed import Relay, cli, stream_state, wait_for
from lowband.transfer import Fetch

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
            docsync.publish(
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


async def _fetch(b: Bed, doc: DocRevision, have: list[str]) -> Fetch:
    blobs = BlobStore(b.delegate)
    async with make_client() as client:
        fetch = Fetch(client, b.url, doc, blobs, have)
        await fetch.run()
    return fetch


def transfer(pair: dict[str, Any], cache: Path) -> Result:
    b = bed()
    doc_id = "p" + hashlib.sha256(pair["id"].encode()).hexdigest()[:16]
    ext = Path(pair["new"]).suffix if pair["kind"] == "office" else ".txt"
    revs: list[DocRevision] = []
    for i, name in enumerate([*pair["bases"], pair["new"]]):
        path = b.tmp / f"{doc_id}-{i}{ext}"
        shutil.copyfile(cache / name, path)
        revs.append(b.publish(path, doc_id))
    *bases, new = revs
    count = len(documents.entries(b.origin_store, M))
    wait_for(lambda: stream_state(b.tmp / "relay", M, "docs")[0] >= count, what="relay docs")
    have: list[str] = []
    for base in bases:  # the receiver holds every earlier revision, fetched as it would be
        asyncio.run(_fetch(b, base, have))
        have.insert(0, base.sha256.hex())
    target = new.sha256.hex()
    blobs = BlobStore(b.delegate)
    if blobs.has(target):  # held from another pair (same bytes): fetch it for real again
        blobs.forget(target)
    wait_for(lambda: b.relay_holds(target), timeout=300, what="the relay's prefetch")
    before = b.link.stats()
    fetch = asyncio.run(_fetch(b, new, [h for h in have if h != target]))
    after = b.link.stats()
    wire = sum(after[k] - before[k] for k in ("bytes_down", "bytes_up"))
    path = b.tmp / f"{doc_id}-{len(bases)}{ext}"
    exact = blobs.read(target) == docsync.prepare(path)
    return wire, fetch.result.first_byte_s or 0.0, fetch.result.decode_s, exact
