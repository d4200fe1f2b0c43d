"""The blob endpoint as an operator sees it: document bytes in the metrics and statistics, and
the cache of encoded forms held under its size cap by dropping the least recently used."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from blob_support import ORIGIN, now_ms, publish, text_doc
from conftest import notice
from docx_support import make_docx, paragraphs

from lowband.documents.forms import encode_form
from lowband.documents.office.delta import TAG
from lowband.documents.office.normalise import normalise
from lowband.documents.transfer import Fetch
from lowband.origin.append import create_meeting
from lowband.relay.app import Settings, create_app
from lowband.relay.state import RelayState
from lowband.relay.stats import meeting_stats
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

if TYPE_CHECKING:
    from conftest import World, notice

MEETING = "pp26"


@pytest.fixture
async def served(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, RelayState]]:
    settings = Settings(name="origin", origin_key=world.origin_key)
    app = create_app(world.origin_store, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c, app.state.relay


async def test_document_bytes_are_counted_in_metrics_and_stats(
    world: World, served: tuple[httpx.AsyncClient, RelayState], tmp_path: Path
) -> None:
    client, relay = served
    doc = await publish(world, client, text_doc(), 1)
    with Store(tmp_path / "delegate.sqlite") as store:
        got = await Fetch(client, ORIGIN, doc, BlobStore(store), []).run()
    text = (await client.get("/metrics")).text
    assert f"lowband_document_bytes_served_total {float(got.form)}" in text
    relay.metrics.save()
    rows = {(s, i): v for s, i, v in meeting_stats(world.origin_store, MEETING)}
    assert rows[("bytes served", "document files")] == got.form


async def test_the_forms_cache_keeps_to_its_cap_dropping_the_least_recently_used(
    world: World,
) -> None:
    texts = [text_doc(300, seed=s) for s in (1, 2, 3)]
    room = len(encode_form(texts[0], {}).data) * 5 // 2  # room for two and a half forms
    settings = Settings(name="origin", origin_key=world.origin_key, forms_cache_bytes=room)
    app = create_app(world.origin_store, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as client:
        docs = [await publish(world, client, text, s) for s, text in enumerate(texts, 1)]
        blobs = BlobStore(world.origin_store)
        for doc in docs:
            assert (await client.get(f"/v1/blobs/{doc.sha256.hex()}")).status_code == 200
            time.sleep(0.002)  # last uses a few milliseconds apart, so their order is plain
        held = [d for d in docs if blobs.form(d.sha256.hex(), "") is not None]
        assert held == docs[1:]  # the first, least recently used, went
        assert not blobs.form_path(docs[0].sha256.hex(), "").exists()
        again = await client.get(f"/v1/blobs/{docs[0].sha256.hex()}")  # encoded once more
        assert again.status_code == 200 and blobs.form(docs[0].sha256.hex(), "") is not None


async def test_an_office_form_cached_by_an_older_version_is_encoded_again(
    world: World, served: tuple[httpx.AsyncClient, RelayState]
) -> None:
    client, _ = served
    doc = await publish(world, client, normalise(make_docx(paragraphs(200))), 1)
    sha = doc.sha256.hex()
    first = await client.get(f"/v1/blobs/{sha}")
    assert first.content[:1] == bytes([TAG])
    blobs = BlobStore(world.origin_store)
    stale = b"\x21" + first.content[1:]  # office form 1, as the previous release cached it
    blobs.record_form(sha, "", blobs.write_form(sha, "", stale), len(stale), "ZSTD")
    again = await client.get(f"/v1/blobs/{sha}")
    assert again.status_code == 200 and again.content == first.content


async def test_bases_come_only_from_the_targets_meeting(
    world: World, served: tuple[httpx.AsyncClient, RelayState]
) -> None:
    """What another meeting's documents look like must not show in the size of a reply."""
    client, _ = served
    create_meeting(world.origin_store, world.origin_key, "closed", notice(), now_ms())
    secret = await publish(world, client, text_doc(seed=11), 1, meeting="closed")
    public = await publish(world, client, text_doc(seed=11) + b"\none more line", 1)
    url = f"/v1/blobs/{public.sha256.hex()}"
    alone = await client.get(url)
    named = await client.get(url, params={"have": secret.sha256.hex()[:16]})
    assert alone.status_code == named.status_code == 200
    assert len(named.content) == len(alone.content)  # encoded whole: the other meeting's is no base
