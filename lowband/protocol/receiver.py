"""The receiving side of one exchange, sans-IO: frames in, effects out.

Owns what a follower (a delegate's client or a relay mirroring its parent)
believes about each stream of one meeting: its head, chain hash, the history
that decodes the next frame, what is verified against the origin's
checkpoints, and which hashes still wait for one. It checks that events come
gapless and in order, extends the hash chain, and verifies checkpoints with
the origin's key. A checkpoint that does not match the chain means a relay
altered or forged something: the unverified tail is refused. A document form
carried inline (DocForm) is passed on as it came, only after the docs stream
is known: the node decodes it and checks it against the docs event.

It performs no I/O: the driver applies the returned effects to the store in
one transaction, commits, and only then reads the next bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lowband.protocol.compress import History, unpack_batch, unpack_body
from lowband.protocol.crypto import chain_genesis, chain_next, verify_checkpoint
from lowband.protocol.model import Anchor, Checkpoint, Kind
from lowband.protocol.wire import (
    BLOCK_EVENTS,
    Ack,
    AnchorFrame,
    Batch,
    CheckpointFrame,
    DocForm,
    End,
    EventFrame,
    Hello,
    HistoryRef,
    KeepAlive,
    ProtocolError,
    ResponseFrame,
    StreamRef,
    encode_canonical,
)


@dataclass
class StreamState:
    no: int
    name: str
    head: int
    head_hash: bytes
    verified: int
    history: History
    last_ts: int = 0  # timestamp of the head event; frames carry steps from it
    unverified: dict[int, bytes] = field(default_factory=dict)  # seq -> chain hash
    pending_cp: Checkpoint | None = None  # signed past our head; checked when we get there


@dataclass(frozen=True)
class NewStream:
    no: int
    name: str


@dataclass(frozen=True)
class Append:
    no: int
    seq: int
    ts: int
    kind: Kind
    canonical: bytes
    hash: bytes
    packed: tuple[int, bytes] | None  # reusable as-is for our own followers


@dataclass(frozen=True)
class Verified:
    no: int
    checkpoint: Checkpoint


@dataclass(frozen=True)
class Anchored:
    """An audio stream restarts at a signed anchor: its events up to it are gone upstream."""

    no: int
    anchor: Anchor


@dataclass(frozen=True)
class Refused:
    """Events after `keep` failed verification and must be dropped."""

    no: int
    keep: int
    reason: str


@dataclass(frozen=True)
class AckSeen:
    sub_id: bytes
    state: int
    node: str
    reason: str


@dataclass(frozen=True)
class PeerHello:
    node: str
    now_ms: int


@dataclass(frozen=True)
class Ended:
    reason: str


@dataclass(frozen=True)
class FetchHistory:
    """Fetch blocks `first..last` of stream `no` by URL and feed them before the next frame."""

    no: int
    first: int
    last: int


@dataclass(frozen=True)
class InlineDoc:
    """A revision's encoded form sent inside the exchange: `target` and `base` are 8-byte
    ids (base empty: a whole-file form). Untrusted until decoded and checked by the node."""

    target: bytes
    base: bytes
    data: bytes


Effect = (
    NewStream
    | Append
    | Verified
    | Anchored
    | Refused
    | AckSeen
    | PeerHello
    | Ended
    | FetchHistory
    | InlineDoc
)


class Receiver:
    """Follower state for one meeting; feed it decoded frames in arrival order."""

    def __init__(
        self, meeting: str, origin_key: bytes, epoch_ms: int, streams: list[StreamState]
    ) -> None:
        self.meeting = meeting
        self.origin_key = origin_key
        self.epoch_ms = epoch_ms
        self.streams = {s.no: s for s in streams}
        self.broken = ""  # set once a forgery is found; rebuild from the store to go on

    def by_name(self, name: str) -> StreamState | None:
        return next((s for s in self.streams.values() if s.name == name), None)

    def on_frame(self, frame: ResponseFrame) -> list[Effect]:
        if self.broken:
            raise ProtocolError(self.broken)
        match frame:
            case EventFrame(no=no, dt=dt, kind=kind, codec=codec, data=data):
                s = self._stream(no)
                body = unpack_body(codec, data, s.history.bytes())
                effects = self._append(s, s.head + 1, s.last_ts + dt, kind, body, (codec, data))
                return effects + self._recheck(s)
            case Batch(no=no, first=first, count=count, codec=codec, data=data):
                s = self._stream(no)
                if first + count - 1 <= s.head:
                    return []  # already held: resumption overlap is harmless
                if first != s.head + 1:
                    raise ProtocolError(
                        f"Stream {s.name} jumped from {s.head} to {first}: events are missing."
                    )
                effects = []
                for i, (dt, number, body) in enumerate(
                    unpack_batch(codec, data, s.history.bytes(), count)
                ):
                    try:
                        kind = Kind(number)
                    except ValueError:
                        raise ProtocolError(f"Event kind {number} is unknown.") from None
                    effects += self._append(s, first + i, s.last_ts + dt, kind, body, None)
                return effects + self._recheck(s)
            case CheckpointFrame(no=no, seq=seq, ts=ts, sig=sig):
                s = self._stream(no)
                return self._checkpoint(s, Checkpoint(s.name, seq, self.epoch_ms + ts, sig))
            case StreamRef(no=no, name=name):
                known = self.streams.get(no)
                if known is not None:
                    if known.name != name:
                        raise ProtocolError(f"Stream {no} was {known.name!r}, now named {name!r}.")
                    return []
                if self.by_name(name) is not None:
                    raise ProtocolError(f"Stream {name!r} was announced under two numbers.")
                genesis = chain_genesis(self.meeting, name)
                self.streams[no] = StreamState(no, name, 0, genesis, 0, History())
                return [NewStream(no, name)]
            case Ack(sub_id=sub_id, state=state, node=node, reason=reason):
                return [AckSeen(sub_id, state, node, reason)]
            case Hello(node=node, now_ms=now_ms):
                return [PeerHello(node, now_ms)]
            case End(reason=reason):
                return [Ended(reason)]
            case KeepAlive():
                return []
            case AnchorFrame(no=no, seq=seq, ts=ts, hash=h, cp_ts=cp_ts, sig=sig):
                s = self._stream(no)
                cp = Checkpoint(s.name, seq, self.epoch_ms + cp_ts, sig)
                return self._anchor(s, Anchor(seq, h, ts, cp))
            case DocForm(target=target, base=base, data=data):
                if self.by_name("docs") is None:
                    raise ProtocolError("A document arrived before the docs stream was announced.")
                if base and len(base) != len(target):
                    raise ProtocolError("A document's base is named by neither 0 nor 8 bytes.")
                return [InlineDoc(target, base, data)]
            case HistoryRef(no=no, first=first, last=last):
                s = self._stream(no)
                if first * BLOCK_EVENTS != s.head or last < first:
                    raise ProtocolError(f"History blocks {first}..{last} do not follow {s.name}.")
                return [FetchHistory(no, first, last)]
        raise ProtocolError("An unexpected frame arrived.")  # pragma: no cover - union is closed

    def _stream(self, no: int) -> StreamState:
        s = self.streams.get(no)
        if s is None:
            raise ProtocolError(f"Stream {no} was used before it was announced.")
        return s

    def _anchor(self, s: StreamState, anchor: Anchor) -> list[Effect]:
        """Start an audio stream at a signed anchor past what we hold; verify onward from it."""
        if not s.name.startswith("audio/"):
            raise ProtocolError(
                f"Stream {s.name} must start at its first event; only audio may not."
            )
        if anchor.seq <= s.head:
            return []  # we already hold past it
        if not verify_checkpoint(self.origin_key, self.meeting, anchor.checkpoint, anchor.hash):
            raise ProtocolError(f"The starting point of {s.name} is not signed by the origin.")
        s.head, s.head_hash, s.last_ts, s.verified = anchor.seq, anchor.hash, anchor.ts, anchor.seq
        s.history, s.unverified = History(), {}
        if s.pending_cp is not None and s.pending_cp.seq <= anchor.seq:
            s.pending_cp = None
        return [Anchored(s.no, anchor)]

    def _append(
        self,
        s: StreamState,
        seq: int,
        ts: int,
        kind: Kind,
        body: bytes,
        packed: tuple[int, bytes] | None,
    ) -> list[Effect]:
        canonical = encode_canonical(ts, kind, body)
        h = chain_next(s.head_hash, seq, canonical)
        s.head, s.head_hash, s.last_ts = seq, h, ts
        s.history.extend(body)
        s.unverified[seq] = h
        return [Append(s.no, seq, ts, kind, canonical, h, packed)]

    def _recheck(self, s: StreamState) -> list[Effect]:
        cp = s.pending_cp
        if cp is not None and cp.seq <= s.head:
            s.pending_cp = None
            return self._checkpoint(s, cp)
        return []

    def _checkpoint(self, s: StreamState, cp: Checkpoint) -> list[Effect]:
        if cp.seq <= s.verified:
            return []
        if cp.seq > s.head:
            if s.pending_cp is None or cp.seq >= s.pending_cp.seq:
                s.pending_cp = cp
            return []
        head = s.unverified.get(cp.seq)
        if head is not None and verify_checkpoint(self.origin_key, self.meeting, cp, head):
            s.verified = cp.seq
            s.unverified = {k: v for k, v in s.unverified.items() if k > cp.seq}
            return [Verified(s.no, cp)]
        reason = (
            f"Events {s.verified + 1}..{cp.seq} of {s.name} do not match the origin's signature;"
            " they were refused."
        )
        self.broken = reason
        return [Refused(s.no, s.verified, reason)]
