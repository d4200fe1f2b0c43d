"""The relay's HTTP face: `create_app(store, settings)` builds the Starlette app.

Owns the endpoints (meeting directory, the sync exchange, health) and the
background work of a node's role: at the origin, signing checkpoints and
noticing writes by other processes (`lowband roster add`); at a relay,
mirroring each meeting from its parent and forwarding custody upward. The
exchange itself is planned by `protocol/serve.py`; this module only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import msgspec
from nacl.signing import SigningKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lowband import http
from lowband.http import LinkError, make_client
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.origin.origin import Origin
from lowband.protocol.checkpoints import TICK_MS
from lowband.protocol.crypto import check_auth
from lowband.protocol.model import MeetingInfo, Submission
from lowband.protocol.serve import Follower
from lowband.protocol.wire import (
    CONTENT_TYPE,
    DECODE_ERRORS,
    MAX_REQUEST,
    VERSION,
    Ack,
    AckState,
    Auth,
    Hello,
    ProtocolError,
    SyncRequest,
    decode_request,
    encode_frame,
)
from lowband.relay import blobs, custody
from lowband.relay.exchange import Exchange, ExchangeResponse
from lowband.relay.fanout import Fanout
from lowband.relay.hub import Hub
from lowband.relay.limits import Limits
from lowband.relay.metrics import Metrics
from lowband.relay.retention import Cursors, Retention, follower_id, prune
from lowband.relay.source import Views
from lowband.storage.store import Store, StoreError

DISCOVER_S = 30.0
AUDIO_GRACE_S = 30.0
STATS_SAVE_S = 30.0
ACK_OUTCOMES = {
    AckState.CUSTODY: "custody",
    AckState.RECEIVED: "received",
    AckState.REFUSED: "refused",
    AckState.DEFERRED: "deferred",
}


@dataclass
class Settings:
    name: str
    origin_key: SigningKey | None = None  # set on the origin
    parent: str | None = None  # set on a relay
    transport: http.Transport | None = None  # tests swap the parent's transport
    key: SigningKey | None = None  # a relay's own key: signs its requests to its parent
    require_auth: bool = False  # serve only requests signed by roster keys or child relays
    limits: Limits = field(default_factory=Limits)
    parent_ca: str | None = None  # CA bundle (or pinned certificate) for an https parent
    retention: Retention = field(default_factory=Retention)  # how long audio is kept
    forms_cache_bytes: int = 1 << 30  # encoded document forms kept, least recently used dropped


@dataclass
class RelayState:
    store: Store
    settings: Settings
    hub: Hub = field(default_factory=Hub)
    uplinks: dict[str, Uplink] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    audio_interest: dict[str, Counter[str]] = field(default_factory=dict)
    origin: Origin | None = None

    def __post_init__(self) -> None:
        self.views = Views(self.store)
        self.fanout = Fanout(self.hub, self.views)
        self.metrics = Metrics(self.store)
        self.cursors = Cursors(self.store)
        if self.settings.origin_key is not None:
            self.origin = Origin(self.store, self.settings.origin_key, self.settings.name)

    def admit(self, meeting: str, node: str, auth: Auth | None) -> str:
        """'' when a request (sync or blob) with this token may be served, else why not."""
        if auth is None:
            if self.settings.require_auth:
                return (
                    "This relay serves only signed requests; run `lowband id init` and join again."
                )
            return ""
        why = check_auth(auth.key, meeting, node, auth.expires_ms, auth.sig, now_ms())
        if why:
            return why
        on_roster = self.store.roster_entry(meeting, auth.key) is not None
        return self.settings.limits.admit(auth.key, on_roster or not self.settings.require_auth)


def now_ms() -> int:
    return int(time.time() * 1000)


def create_app(store: Store, settings: Settings) -> Starlette:
    state = RelayState(store, settings)

    async def meetings(request: Request) -> Response:
        return _msgpack(store.meetings())

    async def meeting(request: Request) -> Response:
        info = store.meeting(request.path_params["id"])
        if info is None:
            return PlainTextResponse(f"Meeting {request.path_params['id']} is not known here.", 404)
        return _msgpack(info)

    async def history(request: Request) -> Response:
        meeting, no, block = (request.path_params[k] for k in ("meeting", "no", "block"))
        if store.meeting(meeting) is None:
            return PlainTextResponse(f"Meeting {meeting} is not known here.", 404)
        body = state.views.get(meeting, state.hub.generation(meeting)).block(no, block)
        if body is None:
            return PlainTextResponse(f"Block {block} of stream {no} is not closed yet.", 404)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
        state.metrics.history_served(len(body))
        return Response(body, media_type=CONTENT_TYPE, headers=headers)

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4")

    async def health(request: Request) -> Response:
        return PlainTextResponse(f"lowband relay {settings.name} ok\n")

    async def sync(request: Request) -> Response:
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
        if store.meeting(req.meeting) is None:
            return PlainTextResponse(f"Meeting {req.meeting} is not known at {settings.name}.", 404)
        try:
            refused = _admission(state, req)
            if refused:
                return PlainTextResponse(refused, 403 if req.auth else 401)
            address = request.client.host if request.client else ""
            state.cursors.seen(req, now_ms())
            if req.mode_s:
                state.metrics.mode_time(req.meeting, follower_id(req), req.mode_s, now_ms())
            acks = _take(state, req.subs, req.ask, req.node, address)
        except StoreError as exc:
            return PlainTextResponse(str(exc), 503)
        head = encode_frame(Hello(VERSION, settings.name, now_ms())) + b"".join(
            map(encode_frame, acks)
        )
        follower = Follower(req, asyncio.get_running_loop().time())
        on_close = _track(state, req, follower)
        return ExchangeResponse(
            state.fanout, Exchange(req.meeting, req.live, follower), head, on_close
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_watch_store(state)), asyncio.create_task(_save_stats(state))]
        client = make_client(settings.transport, verify=settings.parent_ca or True)
        if state.origin is not None:
            tasks.append(asyncio.create_task(_sign_loop(state)))
        if settings.parent:
            tasks.append(asyncio.create_task(_discover(state, client)))
        if settings.retention.audio_hours > 0:
            tasks.append(asyncio.create_task(_prune_loop(state)))
        try:
            yield
        finally:
            tasks += state.tasks
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.aclose()
            with contextlib.suppress(StoreError):
                state.metrics.save()
                state.cursors.save()

    routes = [
        Route("/v1/meetings", meetings),
        Route("/v1/meetings/{id}", meeting),
        Route("/v1/sync", sync, methods=["POST"]),
        Route("/v1/history/{meeting}/{no:int}/{block:int}", history),
        Route("/v1/health", health),
        Route("/metrics", metrics),
        *blobs.blob_routes(state),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"There is nothing at {request.url.path} on this relay.", 404)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.relay = state
    return app


def _msgpack(obj: object) -> Response:
    return Response(msgspec.msgpack.encode(obj), media_type=CONTENT_TYPE)


def _admission(state: RelayState, req: SyncRequest) -> str:
    """'' when the request may be served, else the sentence that says why not."""
    return state.admit(req.meeting, req.node, req.auth)


def _take(
    state: RelayState, subs: list[Submission], asks: list[bytes], from_node: str, address: str
) -> list[Ack]:
    acks: list[Ack] = []
    name = state.settings.name
    for sub in subs:
        if state.origin is not None:
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
        ack = custody.status(state.store, sub_id, name)
        if ack is not None:
            acks.append(ack)
    if subs and state.origin is not None:
        state.hub.notify(subs[0].meeting)
    return acks


def audio_wanted(req: SyncRequest) -> set[str]:
    """The audio streams (channel and layer) a follower asks for."""
    named = [w.stream for w in req.wants] + list(req.prefixes)
    return {n for n in named if n.startswith("audio/") and n.count("/") >= 2}


def _follow_audio(state: RelayState, meeting: str) -> None:
    """Pull from the parent exactly the audio layers that open exchanges follow."""
    uplink = state.uplinks.get(meeting)
    if uplink is None:
        return
    wanted = {s for s, n in state.audio_interest.get(meeting, Counter()).items() if n > 0}
    if wanted != uplink.node.audio:
        uplink.node.audio = wanted
        uplink.restart()


def _track(state: RelayState, req: SyncRequest, follower: Follower) -> Callable[[], None]:
    """Count an exchange that opens and follow the audio it wants; returns what to do at its end."""
    loop = asyncio.get_running_loop()
    audio = audio_wanted(req) if req.live else set()
    interest = state.audio_interest.setdefault(req.meeting, Counter())
    interest.update(audio)
    if audio:
        _follow_audio(state, req.meeting)
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
            loop.call_later(AUDIO_GRACE_S, _follow_audio, state, req.meeting)

    return closed


async def _save_stats(state: RelayState) -> None:
    while True:
        await asyncio.sleep(STATS_SAVE_S)
        with contextlib.suppress(StoreError):
            state.metrics.save()


async def _prune_loop(state: RelayState) -> None:
    """Drop old audio now and then (relay/retention.py); followers then see the anchors."""
    while True:
        await asyncio.sleep(state.settings.retention.every_s)
        for info in state.store.meetings():
            with contextlib.suppress(StoreError):  # a busy store: the next round prunes
                if prune(state.store, info.id, state.settings.retention, state.cursors, now_ms()):
                    state.hub.notify(info.id)


async def _watch_store(state: RelayState) -> None:
    """Other processes write this store too (the CLI at the origin): wake followers then."""
    seen = state.store.data_version()
    while True:
        await asyncio.sleep(0.25)
        version = state.store.data_version()
        if version != seen:
            seen = version
            state.hub.notify_all()
            for info in state.store.meetings():
                state.hub.notify(info.id)


async def _sign_loop(state: RelayState) -> None:
    assert state.origin is not None
    while True:
        await asyncio.sleep(TICK_MS / 1000)
        try:
            if state.origin.sign_due(now_ms()):
                for info in state.store.meetings():
                    state.hub.notify(info.id)
        except StoreError:
            continue  # a busy store: the next tick signs


async def _discover(state: RelayState, client: http.Client) -> None:
    """Learn the parent's meetings and keep one uplink per meeting."""
    assert state.settings.parent
    parent = state.settings.parent.rstrip("/")
    for info in state.store.meetings():
        _start_uplink(state, client, info)
    while True:
        try:
            resp = await http.get(client, parent + "/v1/meetings")
            if resp.status_code == 200:
                for info in msgspec.msgpack.decode(resp.content, type=list[MeetingInfo]):
                    known = state.store.meeting(info.id)
                    if known is not None and known.origin_key != info.origin_key:
                        continue  # never let a parent swap a meeting's origin key
                    state.store.add_meeting(info, parent)
                    _start_uplink(state, client, info)
        except (LinkError, *DECODE_ERRORS):
            pass  # offline or a confused parent: try again later
        await asyncio.sleep(DISCOVER_S)


def _start_uplink(state: RelayState, client: http.Client, info: MeetingInfo) -> None:
    if info.id in state.uplinks:
        return
    node = Node(state.store, info.id, Role.RELAY, state.settings.name, key=state.settings.key)
    node.audio = {s for s, n in state.audio_interest.get(info.id, Counter()).items() if n > 0}
    uplink = Uplink(
        node,
        state.settings.parent or "",
        client,
        checkpoint_every=1,
        on_change=lambda: state.hub.notify(info.id),
    )
    state.uplinks[info.id] = uplink
    state.tasks.append(asyncio.get_running_loop().create_task(_run_uplink(uplink)))


async def _run_uplink(uplink: Uplink) -> None:
    with contextlib.suppress(LinkError):
        await uplink.run()
