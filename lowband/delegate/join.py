"""Joining a meeting through a relay: what a delegate does once, before anything else.

Owns fetching the meeting's description from the relay, checking the origin key against the
one the delegate pinned (or joined with before: a relay never swaps it), and recording the
meeting, its relay and the relay's certificate in the store.
"""

from __future__ import annotations

import time

import msgspec
from nacl.signing import SigningKey

from lowband import http
from lowband.http import LinkError, make_client
from lowband.protocol.crypto import request_token
from lowband.protocol.model import MeetingInfo
from lowband.protocol.wire import AUTH_HEADER, DECODE_ERRORS, RELAY_HEADER
from lowband.storage import meta
from lowband.storage.store import Store


def now_ms() -> int:
    return int(time.time() * 1000)


class JoinError(Exception):
    """Joining failed; the message is one plain sentence."""


async def fetch_meeting(
    url: str, meeting: str, client: http.Client, token: str | None = None
) -> tuple[MeetingInfo, str]:
    """The meeting's description from the relay at `url`, and the relay's name (the audience
    of the tokens it takes); `token` (an `x-lowband-auth` value) for a relay that serves only
    signed requests."""
    target = url.rstrip("/") + f"/v1/meetings/{meeting}"
    headers = {AUTH_HEADER: token} if token else None
    try:
        resp = await http.get(client, target, headers, shown=url)
    except LinkError as exc:
        raise JoinError(str(exc)) from None
    if resp.status_code == 404:
        raise JoinError(f"Meeting {meeting} is not known at {url}.")
    if resp.status_code in (401, 403):
        raise JoinError(f"{url} refused: {resp.text[:300].strip()}")
    if resp.status_code != 200:
        raise JoinError(f"{url} answered HTTP {resp.status_code}.")
    try:
        info = msgspec.msgpack.decode(resp.content, type=MeetingInfo)
    except DECODE_ERRORS:
        raise JoinError(f"{url} sent a meeting description that is not valid.") from None
    return info, resp.headers.get(RELAY_HEADER, "")


async def join(
    store: Store,
    url: str,
    meeting: str,
    origin_key: bytes | None = None,
    ca: str | None = None,
    key: SigningKey | None = None,
    node: str = "",
) -> MeetingInfo:
    """Join `meeting` through the relay at `url`; with `key`, the request is signed for `node`
    (a relay that requires tokens serves only roster keys)."""
    token = request_token(key, meeting, node, now_ms()) if key is not None else None
    async with make_client(verify=ca or True) as client:
        info, relay = await fetch_meeting(url, meeting, client, token)
    if origin_key is not None and info.origin_key != origin_key:
        raise JoinError("The relay names a different origin key than the one you gave; not joined.")
    known = store.meeting(meeting)
    if known is not None and known.origin_key != info.origin_key:
        raise JoinError("The relay names a different origin key than the one you joined with.")
    store.add_meeting(info, url)
    if relay:
        meta.set_relay_name(store, meeting, relay)
    if ca:
        meta.set_relay_ca(store, meeting, ca)
    return info
