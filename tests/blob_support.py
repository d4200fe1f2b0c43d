"""Publishing documents at an origin in tests: a text document, its DocRevision, the signed
PUBLISH, and the upload through an HTTP client."""

from __future__ import annotations

import hashlib
import os
import time

import httpx
from conftest import World
from docx_support import paragraphs
from nacl.signing import SigningKey

from lowband.documents.upload import upload
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import DocRevision, Kind, Publish, SubKind, Submission
from lowband.protocol.wire import encode_body

ORIGIN = "http://origin.test"
MEETING = "pp26"  # the meeting the `world` fixture creates


def now_ms() -> int:
    return int(time.time() * 1000)


def text_doc(n: int = 4000, seed: int = 3) -> bytes:
    return "\n".join(paragraphs(n, seed)).encode()


def revision(data: bytes, doc_id: str, rev: int, item: str = "1") -> DocRevision:
    return DocRevision(
        doc_id, rev, f"{doc_id} title", "en", item, "text/plain", len(data),
        hashlib.sha256(data).digest(),
    )  # fmt: skip


def publish_sub(key: SigningKey, doc: DocRevision, meeting: str = MEETING) -> Submission:
    body = encode_body(Publish("docs", Kind.DOC, encode_body(doc)))
    unsigned = Submission(
        os.urandom(16), meeting, bytes(32), SubKind.PUBLISH, body, now_ms(), bytes(64)
    )
    return sign_submission(key, unsigned)


async def publish(
    world: World, client: httpx.AsyncClient, data: bytes, rev: int, meeting: str = MEETING
) -> DocRevision:
    doc = revision(data, "draft", rev)
    await upload(client, ORIGIN, data, publish_sub(world.origin_key, doc, meeting))
    return doc
