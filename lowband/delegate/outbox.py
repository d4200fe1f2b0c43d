"""A delegate's submissions: queued in the outbox at once, sent by one exchange when asked.

Owns signing and queuing a submission (durable before it returns, online or not) and the
one-shot exchange that `lowband sync --once` and the command-line tools run: send what is
queued, fetch what is new. Long-running following is `delegate/follow.py`'s.
"""

from __future__ import annotations

import os

from nacl.signing import SigningKey

from lowband.delegate.join import JoinError, now_ms
from lowband.http import make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.crypto import sign_submission
from lowband.protocol.model import SubKind, Submission
from lowband.protocol.submissions import unsendable
from lowband.protocol.wire import encode_body
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def submit(store: Store, key: SigningKey, meeting: str, kind: SubKind, body: bytes) -> Submission:
    """Sign and queue a submission; it is durable before this returns. One over a limit is
    refused here (ValueError, naming the limit) and never enters the outbox."""
    unsigned = Submission(os.urandom(16), meeting, bytes(32), kind, body, now_ms(), bytes(64))
    why = unsendable(unsigned)
    if why:
        raise ValueError(f"{why} Nothing was queued.")
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
