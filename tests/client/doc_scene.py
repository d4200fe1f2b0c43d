"""A delegate's home with documents: two held revisions of a text, one not fetched, a PDF.

Added to the home `room_scene.fill` made, the way a fetch leaves it: docs events as the origin
writes them, covered by a checkpoint, and the held revisions' verified blobs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lowband.protocol.model import Checkpoint, DocRevision, Kind
from lowband.protocol.wire import encode_body
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

from .room_scene import MEETING, T0, append

DRAFT_R1 = "\n".join(f"Paragraph {i} of the draft resolution." for i in range(1, 41)) + "\n"
DRAFT_R2 = DRAFT_R1.replace("Paragraph 20 of", "Paragraph 20, as Kenya amended it, of")
DRAFT_R3 = DRAFT_R2 + "Paragraph 41, added at the second reading.\n"


def revision(doc_id: str, rev: int, data: bytes, item: str, media: str) -> DocRevision:
    return DocRevision(
        doc_id, rev, f"{doc_id} title", "en", item, media, len(data), hashlib.sha256(data).digest()
    )


def add_documents(home: Path) -> dict[str, bytes]:
    """The documents; returns the bytes of every revision by `doc-rN`."""
    texts = {
        "draft-r1": DRAFT_R1.encode(),
        "draft-r2": DRAFT_R2.encode(),
        "draft-r3": DRAFT_R3.encode(),
        "annex-r1": b"Annex: list of participants.\n" * 40,
    }
    with Store(home / "store.sqlite") as store:
        info = store.meeting(MEETING)
        assert info is not None
        blobs = BlobStore(store)
        with store.tx():
            for name, item in (("draft-r1", "2"), ("draft-r2", "2"), ("draft-r3", "2")):
                doc = revision("draft", int(name[-1]), texts[name], item, "text/plain")
                append(store, info, "docs", Kind.DOC, encode_body(doc), T0 + 200_000)
            annex = revision("annex", 1, texts["annex-r1"], "1", "text/plain")
            append(store, info, "docs", Kind.DOC, encode_body(annex), T0 + 201_000)
            no = store.stream_no(MEETING, "docs")
            assert no is not None
            head = store.head(MEETING, no)[0]
            store.set_verified(MEETING, no, head)
            store.put_checkpoint(MEETING, no, Checkpoint("docs", head, T0 + 202_000, bytes(64)))
        for name in ("draft-r1", "draft-r2", "draft-r3"):
            blobs.put(texts[name], hashlib.sha256(texts[name]).hexdigest())
    return texts
