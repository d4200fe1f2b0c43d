"""What a delegate (or a publisher) does, as library calls the CLI and the TUI share.

Owns joining a meeting through a relay, queuing signed submissions in the
outbox (at once, online or not), and one-shot exchanges. Long-running
following lives in `delegate/follow.py`.
"""

from __future__ import annotations

import os
import time

import msgspec
from nacl.signing import SigningKey

from lowband import http
from lowband.http import LinkError, make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import MeetingInfo, SubKind, Submission
from lowband.protocol.wire import DECODE_ERRORS, encode_body
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.store import Store


class JoinError(Exception):
    """Joining failed; the message is one plain sentence."""


def now_ms() -> int:
    return int(time.time() * 1000)


async def fetch_meeting(url: str, meeting: str, client: http.Client) -> MeetingInfo:
    target = url.rstrip("/") + f"/v1/meetings/{meeting}"
    try:
        resp = await http.get(client, target, shown=url)
    except LinkError as exc:
        raise JoinError(str(exc)) from None
    if resp.status_code == 404:
        raise JoinError(f"Meeting {meeting} is not known at {url}.")
    if resp.status_code != 200:
        raise JoinError(f"{url} answered HTTP {resp.status_code}.")
    try:
        return msgspec.msgpack.decode(resp.content, type=MeetingInfo)
    except DECODE_ERRORS:
        raise JoinError(f"{url} sent a meeting description that is not valid.") from None


async def join(
    store: Store, url: str, meeting: str, origin_key: bytes | None = None, ca: str | None = None
) -> MeetingInfo:
    async with make_client(verify=ca or True) as client:
        info = await fetch_meeting(url, meeting, client)
    if origin_key is not None and info.origin_key != origin_key:
        raise JoinError("The relay names a different origin key than the one you gave; not joined.")
    known = store.meeting(meeting)
    if known is not None and known.origin_key != info.origin_key:
        raise JoinError("The relay names a different origin key than the one you joined with.")
    store.add_meeting(info, url)
    if ca:
        meta.set_relay_ca(store, meeting, ca)
    return info


def submit(store: Store, key: SigningKey, meeting: str, kind: SubKind, body: bytes) -> Submission:
    """Sign and queue a submission; it is durable before this returns."""
    unsigned = Submission(os.urandom(16), meeting, bytes(32), kind, body, now_ms(), bytes(64))
    sub = sign_submission(key, unsigned)
    with store.tx():
        queues.outbox_add(store, sub, encode_body(sub), now_ms())
    return sub


async def sync_once(
    store: Store,
    meeting: str,
    node_name: str,
    lang: str = "en",
    with_events: bool = True,
    url: str | None = None,
    key: SigningKey | None = None,
) -> Node:
    """One exchange with `url` (default: the meeting's relay): send what is queued, fetch what is new."""
    parent = url or store.parent(meeting)
    if not parent:
        raise JoinError(
            f"Meeting {meeting} has no relay; run `lowband join URL --meeting {meeting}`."
        )
    node = Node(store, meeting, Role.CLIENT, node_name, lang, key=key)
    async with make_client(verify=meta.relay_ca(store, meeting) or True) as client:
        await Uplink(node, parent, client).exchange(live=False, with_events=with_events)
    return node


__all__ = ["JoinError", "LinkError", "join", "submit", "sync_once", "fetch_meeting"]
