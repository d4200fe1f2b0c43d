"""Uploading a blob to the origin, which stores and verifies it before it publishes it.

Owns the publisher's side of `PUT /v1/blobs/{sha256}` (docs/protocol.md): the body, and the
signed PUBLISH of its DocRevision in the `x-lowband-submission` header. The origin's side is
`relay/upload.py`.
"""

from __future__ import annotations

import base64
import hashlib

from lowband import http
from lowband.documents.transfer import ERROR_LIMIT, TransferError, blob_url
from lowband.http import LinkError
from lowband.protocol.model import Submission
from lowband.protocol.wire import encode_body

SUB_HEADER = "x-lowband-submission"


async def upload(client: http.Client, origin_url: str, data: bytes, sub: Submission) -> str:
    """Store a blob at the origin and publish it with `sub` (a signed PUBLISH of its
    DocRevision); returns the origin's sentence. The docs event exists only after the origin
    has stored and verified the blob."""
    url = blob_url(origin_url, hashlib.sha256(data).hexdigest())
    header = base64.urlsafe_b64encode(encode_body(sub)).decode()
    try:
        resp = await http.put(client, url, data, {SUB_HEADER: header}, shown=origin_url)
    except LinkError as exc:
        raise TransferError(str(exc)) from None
    text = resp.text[:ERROR_LIMIT].strip()
    if resp.status_code not in (200, 201):
        raise TransferError(text or f"The origin answered HTTP {resp.status_code}.")
    return text
