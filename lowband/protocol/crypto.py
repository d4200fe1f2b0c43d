"""Signatures and hashes: the per-stream hash chain, signed checkpoints, signed submissions,
request tokens, and public keys as people write them.

Owns every signature and hash lowband relies on. It knows nothing of the store, the network
or files (a node's key file is `node/home.py`'s).
Signed messages are domain-separated so that a signature for one purpose can
never be replayed as another.
"""

from __future__ import annotations

import hashlib

import msgspec
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from lowband.protocol.model import Checkpoint, Submission
from lowband.protocol.wire import Auth, BlobAuth, encode_blob_auth

_CHAIN = b"lowband/chain/1\x00"
_CHECKPOINT = b"lowband/checkpoint/1\x00"
_SUBMISSION = b"lowband/submission/1\x00"
_AUTH = b"lowband/auth/1\x00"
_AUTH_FOR = b"lowband/auth/2\x00"  # a token that names its audience
AUTH_LIFETIME_MS = 10 * 60 * 1000


def chain_genesis(meeting: str, stream: str) -> bytes:
    """h[0]: binds a chain to its meeting and stream, so events cannot move between them."""
    return hashlib.sha256(_CHAIN + meeting.encode() + b"\x00" + stream.encode()).digest()


def chain_next(prev: bytes, seq: int, canonical: bytes) -> bytes:
    """h[n] = H(h[n-1] || n || canonical event n)."""
    return hashlib.sha256(prev + seq.to_bytes(8, "big") + canonical).digest()


def checkpoint_message(meeting: str, stream: str, seq: int, head: bytes, ts_ms: int) -> bytes:
    return _CHECKPOINT + msgspec.msgpack.encode([meeting, stream, seq, head, ts_ms])


def sign_checkpoint(
    key: SigningKey, meeting: str, stream: str, seq: int, head: bytes, ts_ms: int
) -> Checkpoint:
    sig = key.sign(checkpoint_message(meeting, stream, seq, head, ts_ms)).signature
    return Checkpoint(stream=stream, seq=seq, ts_ms=ts_ms, sig=sig)


def verify_checkpoint(origin_key: bytes, meeting: str, cp: Checkpoint, head: bytes) -> bool:
    """True when the origin signed `head` as the hash of `cp.stream` at `cp.seq`."""
    msg = checkpoint_message(meeting, cp.stream, cp.seq, head, cp.ts_ms)
    return _verify(origin_key, msg, cp.sig)


def submission_message(sub: Submission) -> bytes:
    fields = [sub.sub_id, sub.meeting, sub.author, str(sub.kind), sub.body, sub.created_ms]
    return _SUBMISSION + msgspec.msgpack.encode(fields)


def sign_submission(key: SigningKey, sub: Submission) -> Submission:
    """Return `sub` with its author and signature filled in from `key`."""
    unsigned = msgspec.structs.replace(sub, author=bytes(key.verify_key), sig=bytes(64))
    sig = key.sign(submission_message(unsigned)).signature
    return msgspec.structs.replace(unsigned, sig=sig)


def verify_submission(sub: Submission) -> bool:
    return _verify(sub.author, submission_message(sub), sub.sig)


def auth_message(meeting: str, node: str, expires_ms: int, audience: str = "") -> bytes:
    """What a token signs; with an audience (the relay it is for) under its own domain, so a
    token for one relay is no token for another."""
    if audience:
        return _AUTH_FOR + msgspec.msgpack.encode([meeting, node, expires_ms, audience])
    return _AUTH + msgspec.msgpack.encode([meeting, node, expires_ms])


def sign_auth(key: SigningKey, meeting: str, node: str, now_ms: int, audience: str = "") -> Auth:
    """A request token valid for AUTH_LIFETIME_MS, for the relay named `audience`."""
    expires = now_ms + AUTH_LIFETIME_MS
    sig = key.sign(auth_message(meeting, node, expires, audience)).signature
    return Auth(bytes(key.verify_key), expires, sig, audience)


def request_token(key: SigningKey, meeting: str, node: str, now_ms: int, audience: str = "") -> str:
    """The `x-lowband-auth` header of a plain GET (a document, a history block, a meeting's
    description): the sync exchange's token, with the meeting and node name it signs."""
    return encode_blob_auth(
        BlobAuth(meeting, node, sign_auth(key, meeting, node, now_ms, audience))
    )


def check_auth(meeting: str, node: str, auth: Auth, now_ms: int) -> str:
    """'' when the token is good, else the reason in one sentence. Whether its audience is
    this relay is the relay's to check (`relay/state.py`)."""
    if auth.expires_ms < now_ms:
        return "The request's token has expired; check this device's clock."
    if auth.expires_ms > now_ms + 2 * AUTH_LIFETIME_MS:
        return "The request's token is valid for too long; check this device's clock."
    message = auth_message(meeting, node, auth.expires_ms, auth.audience)
    if not _verify(auth.key, message, auth.sig):
        return "The request's token does not verify."
    return ""


def _verify(public: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        VerifyKey(public).verify(msg, sig)
    except (BadSignatureError, ValueError):
        return False
    return True


def key_text(public: bytes) -> str:
    """How a public key is written for people: 64 hex digits."""
    return public.hex()


def parse_key_text(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{text!r} is not a public key (64 hex digits).")
    return raw
