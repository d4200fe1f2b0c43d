"""The relay's HTTP face: `create_app(store, settings)` builds the Starlette app.

Owns the routes and the lifespan: which background tasks run for this node's role (at the
origin, signing checkpoints; at a relay, mirroring its parent; everywhere, noticing writes by
other processes, saving figures, pruning audio) and stopping them cleanly. The handlers are
`relay/endpoints.py`'s and `relay/blobs.py`'s; the state they share is `relay/state.py`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lowband.http import make_client
from lowband.relay import blobs, mirror, tasks
from lowband.relay.endpoints import Endpoints
from lowband.relay.state import RelayState, Settings
from lowband.storage.store import Store, StoreError

__all__ = ["Settings", "create_app"]


def create_app(store: Store, settings: Settings) -> Starlette:
    state = RelayState(store, settings)
    endpoints = Endpoints(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = [
            asyncio.create_task(tasks.watch_store(state)),
            asyncio.create_task(tasks.save_stats(state)),
        ]
        client = make_client(settings.transport, verify=settings.parent_ca or True)
        if state.origin is not None:
            running.append(asyncio.create_task(tasks.sign_loop(state)))
        if settings.parent:
            running.append(asyncio.create_task(mirror.discover(state, client)))
        if settings.retention.audio_hours > 0:
            running.append(asyncio.create_task(tasks.prune_loop(state)))
        try:
            yield
        finally:
            running += state.tasks
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await client.aclose()
            with contextlib.suppress(StoreError):
                state.metrics.save()
                state.cursors.save()

    routes = [
        Route("/v1/meetings", endpoints.meetings),
        Route("/v1/meetings/{id}", endpoints.meeting),
        Route("/v1/sync", endpoints.sync, methods=["POST"]),
        Route("/v1/history/{meeting}/{no:int}/{block:int}", endpoints.history),
        Route("/v1/health", endpoints.health),
        Route("/metrics", endpoints.metrics),
        *blobs.blob_routes(state),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"There is nothing at {request.url.path} on this relay.", 404)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.relay = state
    return app
