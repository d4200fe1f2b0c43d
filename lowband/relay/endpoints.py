"""The relay's endpoints: the meeting directory, the sync exchange, closed history blocks,
health and metrics.

Owns reading and bounding each request, the admission check, taking submissions (custody at a
relay, the decision at the origin) before the exchange's first byte, and the bookkeeping of an
open exchange (metrics, the audio it follows). The exchange itself is planned by
`protocol/serve.py` and written by `relay/fanout.py`; documents are `relay/blobs.py`'s.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from lowband.protocol import compress
from lowband.protocol.model import Rights, Submission, has_right
from lowband.protocol.serve import Follower
from lowband.protocol.wire import (
    AUTH_HEADER,
    CONTENT_TYPE,
    MAX_REQUEST,
    RELAY_HEADER,
    VERSION,
    Ack,
    AckState,
    Hello,
    ProtocolError,
    SyncRequest,
    decode_request,
    encode_frame,
)
from lowband.relay import custody
from lowband.relay.exchange import Exchange, ExchangeResponse
from lowband.relay.mirror import AUDIO_GRACE_S, audio_wanted, follow_audio
from lowband.relay.retention import follower_id
from lowband.relay.state import RelayState, now_ms
from lowband.storage import submissions as queues
from lowband.storage.store import StoreError

ACK_OUTCOMES = {
    AckState.CUSTODY: "custody",
    AckState.RECEIVED: "received",
    AckState.REFUSED: "refused",
    AckState.DEFERRED: "deferred",
}


class Endpoints:
    """The request handlers of one relay, over its state."""

    def __init__(self, state: RelayState) -> None:
        self.state = state
        self.store = state.store

    def _refusal(
        self, request: Request, meeting: str, what: str, first_contact: bool = False
    ) -> Response | None:
        """None when the request's token lets it read `meeting` ('' for the directory of
        meetings, which only child relays may list), else the answer that refuses it."""
        header = request.headers.get(AUTH_HEADER)
        status, why, named = self.state.admit_header(header, what, first_contact)
        if status:
            return self._say(why, status)
        if named is not None and named != meeting:
            return self._say(f"The request's token is for meeting {named!r}.", 403)
        return None

    def _say(self, sentence: str, status: int) -> Response:
        """A refusal that names this relay, so a node holding a token for another learns the
        audience its next token must carry."""
        return PlainTextResponse(sentence, status, headers={RELAY_HEADER: self.state.settings.name})

    async def meetings(self, request: Request) -> Response:
        refused = self._refusal(request, "", "its list of meetings", first_contact=True)
        return refused or _msgpack(self.store.meetings(), self.state.settings.name)

    async def meeting(self, request: Request) -> Response:
        meeting = request.path_params["id"]
        refused = self._refusal(request, meeting, "meetings", first_contact=True)
        if refused is not None:
            return refused
        info = self.store.meeting(meeting)
        if info is None:
            return PlainTextResponse(f"Meeting {meeting} is not known here.", 404)
        return _msgpack(info, self.state.settings.name)

    async def history(self, request: Request) -> Response:
        meeting, no, block = (request.path_params[k] for k in ("meeting", "no", "block"))
        refused = self._refusal(request, meeting, "history")
        if refused is not None:
            return refused
        if self.store.meeting(meeting) is None:
            return PlainTextResponse(f"Meeting {meeting} is not known here.", 404)
        body = self.state.views.get(meeting, self.state.hub.generation(meeting)).block(no, block)
        if body is None:
            return PlainTextResponse(f"Block {block} of stream {no} is not closed yet.", 404)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        # Behind --require-auth a shared cache must not hand blocks to anyone: private.
        scope = "private" if self.state.settings.require_auth else "public"
        headers = {"Cache-Control": f"{scope}, max-age=31536000, immutable", "ETag": etag}
        self.state.metrics.history_served(len(body))
        return Response(body, media_type=CONTENT_TYPE, headers=headers)

    async def metrics(self, request: Request) -> Response:
        if not _loopback(request):
            return PlainTextResponse("Metrics are served only to this machine (127.0.0.1).", 403)
        return Response(self.state.metrics.exposition(), media_type="text/plain; version=0.0.4")

    async def health(self, request: Request) -> Response:
        why = compress.degraded()
        if why:
            return PlainTextResponse(
                f"lowband relay {self.state.settings.name} degraded: {why}\n", 503
            )
        return PlainTextResponse(f"lowband relay {self.state.settings.name} ok\n")

    async def sync(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_REQUEST):
            return PlainTextResponse(f"A sync request may be at most {MAX_REQUEST} bytes.", 413)
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > MAX_REQUEST:
                return PlainTextResponse(f"A sync request may be at most {MAX_REQUEST} bytes.", 413)
        try:
            req = decode_request(bytes(body))
        except ProtocolError as exc:
            return PlainTextResponse(str(exc), 400)
        if self.store.meeting(req.meeting) is None:
            return PlainTextResponse(
                f"Meeting {req.meeting} is not known at {self.state.settings.name}.", 404
            )
        try:
            refused = self.state.admit(req.meeting, req.node, req.auth)
            if refused:
                return self._say(refused, 403 if req.auth else 401)
            address = request.client.host if request.client else ""
            self.state.cursors.seen(req, now_ms())
            if req.mode_s:
                self.state.metrics.mode_time(req.meeting, follower_id(req), req.mode_s, now_ms())
            relayed = req.auth is not None and req.auth.key in self.state.settings.limits.relays
            acks = _take(self.state, req.subs, req.ask, req.node, address, relayed)
        except StoreError as exc:
            return PlainTextResponse(str(exc), 503)
        head = encode_frame(Hello(VERSION, self.state.settings.name, now_ms())) + b"".join(
            map(encode_frame, acks)
        )
        follower = Follower(req, asyncio.get_running_loop().time())
        on_close = _track(self.state, req, follower)
        return ExchangeResponse(
            self.state.fanout, Exchange(req.meeting, req.live, follower), head, on_close
        )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host in ("127.0.0.1", "::1", "localhost")


def _msgpack(obj: object, relay: str) -> Response:
    """A directory answer, naming the relay (the audience of the tokens it takes)."""
    headers = {RELAY_HEADER: relay}
    return Response(msgspec.msgpack.encode(obj), media_type=CONTENT_TYPE, headers=headers)


def _take(
    state: RelayState,
    subs: list[Submission],
    asks: list[bytes],
    from_node: str,
    address: str,
    relayed: bool,
) -> list[Ack]:
    """Custody at a relay, the decision at the origin; `relayed`: a child relay forwards these
    under its own limits."""
    acks: list[Ack] = []
    name = state.settings.name
    for sub in subs:
        if state.origin is not None:
            why = "" if relayed else _direct_limit(state, sub)
            if why:
                acks.append(Ack(sub.sub_id, AckState.DEFERRED, name, why))
            else:
                acks.append(state.origin.accept(sub, now_ms()))
        else:
            acks.append(
                custody.take(
                    state.store, sub, name, from_node, now_ms(), state.settings.limits, address
                )
            )
            uplink = state.uplinks.get(sub.meeting)
            if uplink is not None:
                uplink.kick()
    for ack in acks:
        state.metrics.answered(ACK_OUTCOMES[ack.state])
    for sub_id in asks:
        known = custody.status(state.store, sub_id, name)
        if known is not None:
            acks.append(known)
    if subs and state.origin is not None:
        state.hub.notify(subs[0].meeting)
    return acks


def _direct_limit(state: RelayState, sub: Submission) -> str:
    """A roster key that reaches the origin itself is held to the rate a relay holds it to; the
    chair and the secretariat (the queue, captions, audio) are not, nor is a repeat of a
    submission already decided."""
    entry = state.store.roster_entry(sub.meeting, sub.author)
    if entry is None or has_right(entry.rights, Rights.CHAIR):
        return ""
    if queues.applied_get(state.store, sub.sub_id) is not None:
        return ""
    return state.settings.limits.direct(sub.author, now_ms() / 1000)


def _track(state: RelayState, req: SyncRequest, follower: Follower) -> Callable[[], None]:
    """Count an exchange that opens and follow the audio it wants; returns what to do at its end."""
    loop = asyncio.get_running_loop()
    audio = audio_wanted(req) if req.live else set()
    interest = state.audio_interest.setdefault(req.meeting, Counter())
    interest.update(audio)
    if audio:
        follow_audio(state, req.meeting)
    live = state.metrics.followers.labels(req.meeting)
    state.metrics.exchanges.labels(str(req.live).lower()).inc()
    if req.live:
        live.inc()

    def closed() -> None:
        state.metrics.served(follower.sent_by)
        if req.live:
            live.dec()
        interest.subtract(audio)
        if audio:
            # A follower that steps down reconnects at once; give it a moment before dropping.
            loop.call_later(AUDIO_GRACE_S, follow_audio, state, req.meeting)

    return closed
