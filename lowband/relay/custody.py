"""Taking custody of submissions at a relay, and answering questions about them.

A relay checks a submission's signature and the roster before it stores
anything (strangers cannot fill its disk), applies its rate limits and quota,
commits it, and only then acknowledges: from that moment the duty to forward
it is the relay's. A submission seen before is acknowledged again, never
stored twice. When the disk is full the submission is deferred: the client
keeps it queued, and the relay keeps serving what it has.
"""

from __future__ import annotations

from lowband.protocol.model import Submission
from lowband.protocol.submissions import Custody, admission
from lowband.protocol.wire import Ack, AckState, encode_body
from lowband.relay.limits import Limits
from lowband.storage import submissions as queues
from lowband.storage.store import Store, StoreError


def take(
    store: Store,
    sub: Submission,
    node: str,
    from_node: str,
    now_ms: int,
    limits: Limits | None = None,
    address: str = "",
) -> Ack:
    author = store.roster_entry(sub.meeting, sub.author)
    if author is None and _roster_unsettled(store, sub.meeting):
        # A roster entry acts only once verified: one that just arrived may be this author's.
        why = "This relay has roster changes it has not verified yet; it takes this shortly."
        return Ack(sub.sub_id, AckState.DEFERRED, node, why)
    refused = admission(sub, store.meeting(sub.meeting) is not None, author)
    if refused:
        return Ack(sub.sub_id, AckState.REFUSED, node, refused)
    if queues.custody_get(store, sub.sub_id) is None:
        if limits is not None:
            held = queues.custody_held_by(store, sub.meeting, sub.author)
            why = limits.submission(sub.author, address, held, now_ms / 1000)
            if why:
                return Ack(sub.sub_id, AckState.DEFERRED, node, why)
        try:
            with store.tx():
                queues.custody_add(store, sub, encode_body(sub), from_node, now_ms)
        except StoreError:
            # A full disk: keep serving what is stored, take nothing new, lose nothing.
            why = "This relay cannot store anything more just now; it stays queued on your side."
            return Ack(sub.sub_id, AckState.DEFERRED, node, why)
    return status(store, sub.sub_id, node) or Ack(sub.sub_id, AckState.CUSTODY, node)


def _roster_unsettled(store: Store, meeting: str) -> bool:
    """The roster stream holds events no checkpoint covers yet."""
    no = store.stream_no(meeting, "roster")
    if no is None:
        return False
    known = store.stream_state(meeting, no)
    return known is not None and store.head(meeting, no)[0] > known[1]


def status(store: Store, sub_id: bytes, node: str) -> Ack | None:
    """What this relay knows of a submission it took: held, received upstream, or refused."""
    held = queues.custody_get(store, sub_id)
    if held is None:
        return None
    state, upstream = held
    if state is Custody.RECEIVED:
        return Ack(sub_id, AckState.RECEIVED, upstream or node)
    if state is Custody.REFUSED:
        return Ack(sub_id, AckState.REFUSED, node, upstream)
    return Ack(sub_id, AckState.CUSTODY, node)
