"""The wire: sync request and response frames, their codec, and hard size limits.

Owns every byte layout that crosses a link: the versioned request body, the
length-prefixed MessagePack response frames, and the canonical encoding of an
event that the hash chain covers. Decoding untrusted bytes raises only
`ProtocolError`, with a sentence a user can read. Compression of event
payloads lives in `protocol/compress.py`; this module only carries their bytes.

A response is a sequence of frames, each `varint(len) || msgpack(frame)`.
Frames are tagged array-like structs, so a caption line costs a few bytes of
framing. See docs/protocol.md.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated, TypeVar

import msgspec

from lowband.protocol.model import Blob, Key, Kind, Name, Seq, Sig, SubId, Submission, Text

VERSION = 1
MAX_FRAME = 1 << 20  # one response frame, compressed
MAX_REQUEST = 1 << 21  # one request body
MAX_EVENT = 64 * 1024  # one canonical event
MAX_BATCH_RAW = 1 << 20  # the decompressed payload of one batch
MAX_BATCH_EVENTS = 4096
MAX_WANTS = 256
BLOCK_EVENTS = 256  # closed history is served in blocks of this many events, by URL
MAX_SUBS = 64
MODE_NAMES = ("offline", "text", "voice", "voice+", "full")  # the order of modes/ladder.py's Mode
MODES = len(MODE_NAMES)
MAX_MODE_S = 7 * 24 * 3600  # one report covers at most a week of one mode
DOC_ID_BYTES = 8  # a revision named by the first 8 bytes of its SHA-256 (blobs' short id)
MAX_DOCS_HELD = 256
MAX_INLINE = 64 * 1024  # the largest inline limit a request may ask for

CONTENT_TYPE = "application/x-lowband"

T = TypeVar("T")


# msgspec raises UnicodeDecodeError, not DecodeError, for a string that is not UTF-8.
DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError)


class ProtocolError(Exception):
    """Bytes from a peer that do not follow the protocol; the message is one plain sentence."""


class Codec:
    """How an event or batch payload is encoded (see protocol/compress.py)."""

    RAW = 0
    PPMD_HISTORY = 2  # 1 was the same with a 4-byte check; it is refused as unknown


class Frame(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Base of the response frames; the tag is the first array element."""


class Hello(Frame, frozen=True, tag=1):
    """First frame of every response: who answers, and its clock."""

    version: int
    node: Name
    now_ms: Seq


class AckState:
    CUSTODY = 1  # the answering node holds it durably and will forward it
    RECEIVED = 2  # the origin holds it; its outcome follows as an event
    REFUSED = 3  # not taken: see reason; sending it again will not help
    DEFERRED = 4  # not taken now (rate limit, full disk): keep it queued and send it later


class Ack(Frame, frozen=True, tag=2):
    sub_id: SubId
    state: Annotated[int, msgspec.Meta(ge=1, le=4)]
    node: Name
    reason: Text = ""


class StreamRef(Frame, frozen=True, tag=3):
    """Announces the origin-assigned number of a stream the response uses."""

    no: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)]
    name: Name


class EventFrame(Frame, frozen=True, tag=4):
    """The stream's next event (its seq is the follower's cursor + 1; the chain checks it).

    `dt` is its timestamp minus the previous event's; `data` is its body under `codec`.
    """

    no: int
    dt: Seq
    kind: Kind
    codec: int
    data: Annotated[bytes, msgspec.Meta(max_length=MAX_FRAME)]


class Batch(Frame, frozen=True, tag=5):
    """Events `first .. first+count-1` of one stream, encoded together (catch-up)."""

    no: int
    first: Seq
    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH_EVENTS)]
    codec: int
    data: Annotated[bytes, msgspec.Meta(max_length=MAX_FRAME)]


class CheckpointFrame(Frame, frozen=True, tag=6):
    """The origin's signature over a stream's head; `ts` is ms since the meeting's epoch."""

    no: int
    seq: Seq
    ts: Seq
    sig: Sig


class KeepAlive(Frame, frozen=True, tag=7):
    pass


class End(Frame, frozen=True, tag=8):
    """The server closes the exchange on purpose; `reason` is a plain sentence."""

    reason: Text


class HistoryRef(Frame, frozen=True, tag=9):
    """Blocks `first..last` of a stream are closed: fetch them by URL (any HTTP cache can serve
    them), apply them, then read on. See `history_path`."""

    no: int
    first: Seq
    last: Seq


class AnchorFrame(Frame, frozen=True, tag=10):
    """An audio stream starts at `seq` here, its older events pruned: event `seq` had chain
    hash `hash` and timestamp `ts` (ms since the meeting's epoch); `cp_ts` and `sig` are the
    origin's checkpoint over that hash, as in CheckpointFrame. Sent instead of events the
    follower can no longer have; the follower verifies it and reads on from `seq`."""

    no: int
    seq: Seq
    ts: Seq
    hash: Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
    cp_ts: Seq
    sig: Sig


DocId = Annotated[bytes, msgspec.Meta(min_length=DOC_ID_BYTES, max_length=DOC_ID_BYTES)]


class DocForm(Frame, frozen=True, tag=11):
    """A document revision carried inside the exchange: `target` names it, `data` is its
    encoded form (documents/forms.py) against the held revision `base` (empty: a whole-file form).
    Sent only after the docs event that announces `target`, to a follower that asked for
    inline documents; the follower checks the result against that event's SHA-256."""

    target: DocId
    base: Annotated[bytes, msgspec.Meta(max_length=DOC_ID_BYTES)]
    data: Annotated[bytes, msgspec.Meta(max_length=MAX_INLINE)]


ResponseFrame = (
    Hello
    | Ack
    | StreamRef
    | EventFrame
    | Batch
    | CheckpointFrame
    | KeepAlive
    | End
    | HistoryRef
    | AnchorFrame
    | DocForm
)


def history_path(meeting: str, no: int, block: int) -> str:
    """Where block `block` (events block*B+1 .. (block+1)*B) of a stream is served."""
    return f"/v1/history/{meeting}/{no}/{block}"


class Want(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    stream: Name
    cursor: Seq  # highest seq held with none missing below it
    verified: Seq = 0  # highest seq verified against a checkpoint


class Auth(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """A short-lived token: the asking node's key signs the meeting, its name, an expiry and
    the relay it is for (its audience; '' only for a first contact, which learns the name)."""

    key: Key
    expires_ms: Seq
    sig: Sig
    audience: Name = ""


ModeSeconds = Annotated[int, msgspec.Meta(ge=0, le=MAX_MODE_S)]


class SyncRequest(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    meeting: Name
    node: Name  # who asks, for logs and statistics
    wants: Annotated[list[Want], msgspec.Meta(max_length=MAX_WANTS)]
    prefixes: Annotated[list[Name], msgspec.Meta(max_length=16)] = []  # streams not yet known
    known_streams: Annotated[int, msgspec.Meta(ge=0)] = 0  # stream numbers 1..n are known
    subs: Annotated[list[Submission], msgspec.Meta(max_length=MAX_SUBS)] = []
    ask: Annotated[list[SubId], msgspec.Meta(max_length=MAX_SUBS * 4)] = []  # custody status
    live: bool = False
    budget: Annotated[int, msgspec.Meta(ge=0)] = 0  # bytes; 0 means no limit
    checkpoint_every: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 30  # seconds
    history: bool = False  # the node fetches closed blocks by URL when told (HistoryRef)
    auth: Auth | None = None
    # Whole seconds the client spent in each mode (offline, text, voice, voice+, full) since
    # its last delivered request, for the relay's statistics.
    mode_s: Annotated[list[ModeSeconds], msgspec.Meta(max_length=MODES)] = []
    # Document revisions the node holds (first 8 bytes of each SHA-256), and the largest form
    # it takes inside this exchange (DocForm; 0: none, the default for relays and CLI tools).
    docs_held: Annotated[list[DocId], msgspec.Meta(max_length=MAX_DOCS_HELD)] = []
    inline_limit: Annotated[int, msgspec.Meta(ge=0, le=MAX_INLINE)] = 0


class BlobAuth(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """The request token of a blob GET, in the `x-lowband-auth` header (base64url): the same
    token as a sync request's `auth`, with the meeting and node name it signs."""

    meeting: Name
    node: Name
    auth: Auth


AUTH_HEADER = "x-lowband-auth"
RELAY_HEADER = "x-lowband-relay"  # a relay's name, the audience its tokens must carry
MAX_AUTH_HEADER = 1024


_request_decoder = msgspec.msgpack.Decoder(SyncRequest)
_blob_auth_decoder = msgspec.msgpack.Decoder(BlobAuth)
_frame_decoder = msgspec.msgpack.Decoder(ResponseFrame)
_encoder = msgspec.msgpack.Encoder()


def encode_request(req: SyncRequest) -> bytes:
    return bytes([VERSION]) + _encoder.encode(req)


def decode_request(data: bytes) -> SyncRequest:
    if len(data) > MAX_REQUEST:
        raise ProtocolError(f"The request is {len(data)} bytes; the limit is {MAX_REQUEST}.")
    if not data or data[0] != VERSION:
        raise ProtocolError("The request is not lowband protocol version 1.")
    try:
        return _request_decoder.decode(data[1:])
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"The request is malformed: {exc}.") from None


def encode_blob_auth(token: BlobAuth) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(token)).decode().rstrip("=")


def decode_blob_auth(text: str) -> BlobAuth:
    if len(text) > MAX_AUTH_HEADER:
        raise ProtocolError(f"The {AUTH_HEADER} header is longer than {MAX_AUTH_HEADER} bytes.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return _blob_auth_decoder.decode(raw)
    except (ValueError, *DECODE_ERRORS):
        raise ProtocolError(f"The {AUTH_HEADER} header is not a lowband request token.") from None


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_frame(frame: Frame) -> bytes:
    payload = _encoder.encode(frame)
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"A frame of {len(payload)} bytes exceeds the limit of {MAX_FRAME}.")
    return varint(len(payload)) + payload


class FrameReader:
    """Sans-IO: feed it response bytes as they arrive; it yields whole frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[ResponseFrame]:
        self._buf += data
        while True:
            header = _read_varint(self._buf)
            if header is None:
                return
            length, used = header
            if length > MAX_FRAME:
                raise ProtocolError(f"A frame announces {length} bytes; the limit is {MAX_FRAME}.")
            if len(self._buf) < used + length:
                return
            payload = bytes(self._buf[used : used + length])
            del self._buf[: used + length]
            try:
                yield _frame_decoder.decode(payload)
            except DECODE_ERRORS as exc:
                raise ProtocolError(f"A frame is malformed: {exc}.") from None

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)


def _read_varint(buf: bytearray) -> tuple[int, int] | None:
    value = 0
    for i in range(min(len(buf), 4)):
        value |= (buf[i] & 0x7F) << (7 * i)
        if not buf[i] & 0x80:
            return value, i + 1
    if len(buf) >= 4:
        raise ProtocolError("A frame length is longer than four bytes.")
    return None


# --- canonical event bytes (what the hash chain covers) -----------------------


class _Canonical(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    ts: Seq
    kind: Kind
    body: Blob


_canonical_decoder = msgspec.msgpack.Decoder(_Canonical)


def encode_canonical(ts: int, kind: Kind, body: bytes) -> bytes:
    return _encoder.encode(_Canonical(ts, kind, body))


def decode_canonical(data: bytes) -> tuple[int, Kind, bytes]:
    if len(data) > MAX_EVENT:
        raise ProtocolError(f"An event of {len(data)} bytes exceeds the limit of {MAX_EVENT}.")
    try:
        c = _canonical_decoder.decode(data)
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"An event is malformed: {exc}.") from None
    return c.ts, c.kind, c.body


def decode_body(data: bytes, kind: type[T]) -> T:
    """Decode an event or submission body into its typed struct."""
    try:
        return msgspec.msgpack.decode(data, type=kind)
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"A {kind.__name__} body is malformed: {exc}.") from None


def encode_body(body: msgspec.Struct) -> bytes:
    return _encoder.encode(body)
