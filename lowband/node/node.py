"""A node's side of an exchange with its parent, over its store.

Owns the glue between the sans-IO receiver and the store: it builds the
request from the store (cursors in priority order, queued submissions, custody
questions), rebuilds the receiver's state from the store, and applies each
batch of effects in one transaction, committed before more bytes are read
(STYLE rule 6). A delegate's client and a relay's mirror differ only in what
they want and which queue they forward (`Role`).

A client that asks for inline documents (`inline_limit`) hands them to an `InlineSink`
(`documents/inline.py`) after the batch that carried their docs events is committed; the
node itself knows nothing of documents.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Protocol

from nacl.signing import SigningKey

from lowband.modes.modetime import ModeTime
from lowband.protocol import submissions as outbox
from lowband.protocol.compress import History
from lowband.protocol.crypto import sign_auth
from lowband.protocol.model import (
    ChatMessage,
    FloorChange,
    Intervention,
    Kind,
    Receipt,
    RosterEntry,
    Submission,
)
from lowband.protocol.receiver import (
    AckSeen,
    Anchored,
    Append,
    Effect,
    InlineDoc,
    NewStream,
    PeerHello,
    Receiver,
    Refused,
    StreamState,
    Verified,
)
from lowband.protocol.wire import (
    AckState,
    Auth,
    ProtocolError,
    SyncRequest,
    Want,
    decode_body,
    decode_canonical,
)
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.store import Store

_OUTCOME_KINDS: dict[Kind, type[FloorChange | Intervention | ChatMessage]] = {
    Kind.FLOOR: FloorChange,
    Kind.INTERVENTION: Intervention,
    Kind.CHAT: ChatMessage,
}


RELAY_STREAMS = [
    "notice",
    "roster",
    "floor",
    "receipts",
    "transcript/",
    "interventions",
    "docs",
    "chat/",
]


LASTING = frozenset({"roster", "floor", "interventions", "receipts"})


class InlineSink(Protocol):
    """Takes document revisions sent inside the exchange (`documents/inline.py`)."""

    def held(self) -> list[bytes]:
        """The revisions held, as the request names them (`docs_held`)."""
        ...

    def receive(self, doc: InlineDoc, peer: str) -> str:
        """Store one revision sent by `peer`; '' or the sentence refusing it."""
        ...

    def after_commit(self) -> None:
        """A batch was committed: act on what a checkpoint now covers."""
        ...


class Role(enum.Enum):
    CLIENT = "client"
    RELAY = "relay"


def priority(name: str, lang: str) -> tuple[int, str]:
    """DESIGN section 4: acks, notice/roster/floor, own transcript, ..., chat history."""
    order = [
        ("notice", 0),
        ("roster", 0),
        ("floor", 0),
        ("receipts", 0),
        (f"transcript/{lang}", 1),
        ("interventions", 2),
        ("audio/", 3),
        ("docs", 4),
        ("transcript/", 7),
        ("chat/", 8),
    ]
    rank = next((r for p, r in order if name == p or (p.endswith("/") and name.startswith(p))), 9)
    return rank, name


@dataclass
class Node:
    store: Store
    meeting: str
    role: Role
    name: str
    lang: str = "en"
    peer: str = ""  # the parent's node name, from its Hello
    refused: list[str] = field(default_factory=list)
    audio: set[str] = field(default_factory=set)  # audio streams wanted (a relay: its children's)
    key: SigningKey | None = None  # signs a short-lived token in each request when set
    modes: ModeTime | None = None  # a delegate's client: time in each mode, for the relay
    inline_limit: int = 0  # the largest document form taken inside the exchange (0: none)
    inline: InlineSink | None = None  # where revisions sent inside the exchange go

    def wants(self) -> list[str]:
        """Stream name prefixes this node follows. Audio only as asked: a relay pulls from its
        parent only the layers its children want."""
        if self.role is Role.RELAY:
            return [*RELAY_STREAMS, *sorted(self.audio)]
        return [
            *sorted(self.audio),
            "notice",
            "roster",
            "floor",
            "receipts",
            f"transcript/{self.lang}",
            "interventions",
            "docs",
            "chat/",
        ]

    def request(
        self, live: bool, with_events: bool = True, checkpoint_every: int = 45
    ) -> SyncRequest:
        prefixes = self.wants() if with_events else []
        known = self.store.streams(self.meeting)
        followed = [
            (name, head, verified)
            for _, name, head, verified in known
            if with_events and any(name.startswith(p) for p in prefixes)
        ]
        followed.sort(key=lambda s: priority(s[0], self.lang))
        return SyncRequest(
            meeting=self.meeting,
            node=self.name,
            wants=[Want(n, head, verified) for n, head, verified in followed],
            prefixes=prefixes,
            known_streams=_contiguous({no for no, *_ in known}),
            subs=self._sending(),
            ask=self.asks(),
            live=live,
            checkpoint_every=checkpoint_every,
            history=True,
            auth=self._auth(),
            mode_s=self.modes.take() if self.modes is not None else [],
            docs_held=self.inline.held()
            if with_events and self.inline_limit and self.inline
            else [],
            inline_limit=self.inline_limit if with_events else 0,
        )

    def undelivered(self, req: SyncRequest) -> None:
        """The relay did not take `req`: what it reported goes in a later request."""
        if self.modes is not None and req.mode_s:
            self.modes.restore(req.mode_s)

    def _auth(self) -> Auth | None:
        if self.key is None:
            return None
        return sign_auth(
            self.key, self.meeting, self.name, int(time.time() * 1000), self.audience()
        )

    def audience(self) -> str:
        """The parent's name: a relay that requires tokens takes only those made out to it."""
        return self.peer or meta.relay_name(self.store, self.meeting)

    def learn_relay(self, name: str) -> bool:
        """The parent said its name (refusing a token made out to another); True when that is
        news, so that a request made out to it now may be taken."""
        if not name or name == self.audience():
            return False
        with self.store.tx():
            meta.set_relay_name(self.store, self.meeting, name)
        self.peer = name
        return True

    def pending(self) -> list[Submission]:
        if self.role is Role.RELAY:
            held = queues.custody_held(self.store, self.meeting, 64)
            return [decode_body(b, Submission) for b in held]  # checked before custody
        subs: list[Submission] = []
        now = int(time.time() * 1000)
        for item in queues.outbox(self.store, self.meeting):
            if len(subs) == 64:
                break
            resend = outbox.needs_resending(item.state, item.updated_ms, now)
            if not resend and not outbox.needs_sending(item.state):
                continue
            sub, why = outbox.stored(item.data)
            if sub is None or why:  # a poison item: rejected here; it never holds up the rest
                self._reject_here(item.sub_id, why)
            else:
                subs.append(sub)
        return subs

    def _sending(self) -> list[Submission]:
        """What the next request carries; a copy sent again waits RESEND_AFTER_MS once more."""
        subs = self.pending()
        if self.role is Role.CLIENT and subs:
            items = [queues.outbox_get(self.store, sub.sub_id) for sub in subs]
            again = [
                i.sub_id for i in items if i is not None and i.state is not outbox.State.QUEUED
            ]
            if again:
                now = int(time.time() * 1000)
                with self.store.tx():
                    for sub_id in again:
                        queues.outbox_touch(self.store, sub_id, now)
        return subs

    def _reject_here(self, sub_id: bytes, why: str) -> None:
        item = queues.outbox_get(self.store, sub_id)
        if item is not None:
            new = outbox.advance(item.state, outbox.Input.UNSENDABLE)
            with self.store.tx():
                queues.outbox_set(self.store, sub_id, new, "", why, int(time.time() * 1000))

    def asks(self) -> list[bytes]:
        if self.role is Role.RELAY:
            return []
        return [
            i.sub_id
            for i in queues.outbox(self.store, self.meeting)
            if outbox.needs_asking(i.state)
        ][:256]

    def receiver(self) -> Receiver:
        info = self.store.meeting(self.meeting)
        if info is None:
            raise ProtocolError(f"Meeting {self.meeting} is not in the store; join it first.")
        states = []
        for no, name, head, verified in self.store.streams(self.meeting):
            _, head_hash = self.store.head(self.meeting, no)
            unverified = self.store.hashes_after(self.meeting, no, verified)
            history = History(self.store.history(self.meeting, no, head + 1))
            last_ts = self.store.ts_of(self.meeting, no, head)
            states.append(
                StreamState(no, name, head, head_hash, verified, history, last_ts, unverified)
            )
        return Receiver(self.meeting, info.origin_key, info.epoch_ms, states)

    def apply(self, effects: list[Effect], now_ms: int) -> None:
        """Apply one batch of effects atomically."""
        if not effects:
            return
        # What came from the parent can be fetched again: no fsync per chunk (see Store.tx).
        with self.store.tx(durable=False):
            for e in effects:
                if not isinstance(e, InlineDoc):
                    self._apply_one(e, now_ms)
        if self.inline is not None:  # after the commit: their docs events are in the store now
            for e in effects:
                if isinstance(e, InlineDoc):
                    refusal = self.inline.receive(e, self.peer or "the relay")
                    if refusal:
                        self.refused.append(refusal)
            self.inline.after_commit()

    def _apply_one(self, e: Effect, now_ms: int) -> None:
        m = self.meeting
        match e:
            case NewStream(no=no, name=name):
                self.store.ensure_stream(m, name, no)
            case Append(no=no, seq=seq, ts=ts, kind=kind, canonical=data, hash=h, packed=packed):
                self.store.insert_event(m, no, seq, ts, kind, data, h, now_ms, packed)
            case Verified(no=no, checkpoint=cp):
                known = self.store.stream_state(m, no)
                self.store.set_verified(m, no, cp.seq)
                self.store.put_checkpoint(m, no, cp)
                if known is not None and cp.seq > known[1] and _lasting(known[0]):
                    self._take_effect(no, known[1], cp.seq, now_ms)
            case Anchored(no=no, anchor=anchor):
                self.store.set_anchor(m, no, anchor)
            case Refused(no=no, keep=keep, reason=reason):
                self.store.truncate_after(m, no, keep)
                meta.set_alert(self.store, m, f"{reason} (from {self.peer or 'the relay'})")
                self.refused.append(reason)
            case AckSeen(sub_id=sub_id, state=state, node=node, reason=reason):
                self._on_ack(sub_id, state, node, reason, now_ms)
            case PeerHello(node=node):
                if node and node != self.audience():
                    meta.set_relay_name(self.store, m, node)
                self.peer = node

    def _take_effect(self, no: int, after: int, upto: int, now_ms: int) -> None:
        """Roster changes and submission outcomes act only once a checkpoint covers them: an
        unverified event, which a relay could have forged, changes nothing that lasts."""
        for _, _, kind, data in self.store.events(self.meeting, no, after, upto - after):
            self._on_event(Kind(kind), decode_canonical(data)[2], now_ms)

    def _on_event(self, kind: Kind, body: bytes, now_ms: int) -> None:
        if kind is Kind.ROSTER:
            self.store.apply_roster(self.meeting, decode_body(body, RosterEntry))
        elif self.role is Role.CLIENT and kind in _OUTCOME_KINDS:
            sub_id = decode_body(body, _OUTCOME_KINDS[kind]).sub_id
            self._outcome(sub_id, outbox.Input.ACCEPTED, "", now_ms)
        elif self.role is Role.CLIENT and kind is Kind.RECEIPT:
            receipt = decode_body(body, Receipt)
            self._outcome(receipt.sub_id, outbox.Input.REJECTED, receipt.reason, now_ms)

    def _outcome(self, sub_id: bytes, event: outbox.Input, reason: str, now_ms: int) -> None:
        item = queues.outbox_get(self.store, sub_id)
        if item is not None:
            new = outbox.advance(item.state, event)
            if new is not item.state:
                queues.outbox_set(self.store, sub_id, new, "", reason, now_ms)

    def _on_ack(self, sub_id: bytes, state: int, node: str, reason: str, now_ms: int) -> None:
        if self.role is Role.RELAY:
            if state == AckState.DEFERRED:
                return  # still held here; the forwarder tries again later
            if state == AckState.RECEIVED:
                queues.custody_set(self.store, sub_id, outbox.Custody.RECEIVED, node)
            elif state == AckState.CUSTODY:
                queues.custody_set(self.store, sub_id, outbox.Custody.FORWARDED, node)
            else:
                queues.custody_set(self.store, sub_id, outbox.Custody.REFUSED, reason)
            return
        event = {
            AckState.CUSTODY: outbox.Input.ACK_CUSTODY,
            AckState.RECEIVED: outbox.Input.ACK_RECEIVED,
            AckState.REFUSED: outbox.Input.ACK_REFUSED,
            AckState.DEFERRED: outbox.Input.ACK_DEFERRED,
        }[state]
        item = queues.outbox_get(self.store, sub_id)
        if item is not None:
            new = outbox.advance(item.state, event)
            if new is not item.state or node != item.node or reason != item.reason:
                queues.outbox_set(self.store, sub_id, new, node, reason, now_ms)


def _lasting(stream: str) -> bool:
    """Streams whose events change lasting state: the roster, and submission outcomes."""
    return stream in LASTING or stream.startswith("chat/")


def _contiguous(held: set[int]) -> int:
    """The n such that streams 1..n are all held: what a request claims to know. The parent
    announces every followed stream above it, so a stream numbered below one already held (an
    audio layer this node takes up after the captions began) is still announced; streams held
    above n are announced again, which the receiver takes as a no-op."""
    n = 0
    while n + 1 in held:
        n += 1
    return n
