"""The one HTTP client: every request lowband makes to a relay goes through this module.

Owns the client's settings (timeouts, a CA bundle or pinned certificate, no proxy settings
taken from the environment), the one error a broken request becomes (`LinkError`, whose
message is one plain sentence; `Stalled` when the link went silent), and the few typed calls
lowband makes: a whole `GET`, a streamed request (the sync exchange, a ranged blob fetch),
and a `PUT`. It is the only module that imports httpx; tests swap the transport
(`httpx.ASGITransport`, `httpx.MockTransport`) through `make_client`.

Must not: know what the bytes mean, or retry; callers pace retries with
`protocol/backoff.py`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping

import httpx

Transport = httpx.AsyncBaseTransport
Client = httpx.AsyncClient
Response = httpx.Response

STALL_S = 45.0  # the parent sends a keep-alive every 20 s; this long silent means stalled
CONNECT_S = 15.0
ERROR_BODY_LIMIT = 2000


class LinkError(Exception):
    """The exchange broke; the message is one plain sentence. `cause` is the bare reason
    (such as "peer closed connection") for a caller that words its own sentence."""

    def __init__(self, sentence: str, cause: str = "") -> None:
        super().__init__(sentence)
        self.cause = cause or sentence


class Stalled(LinkError):
    """No byte arrived for `STALL_S`."""


def make_client(transport: Transport | None = None, verify: str | bool = True) -> Client:
    """The one HTTP client; `verify` is True (system CAs) or a CA bundle or pinned certificate."""
    timeout = httpx.Timeout(connect=CONNECT_S, read=STALL_S, write=STALL_S, pool=CONNECT_S)
    context: ssl.SSLContext | bool = _ssl_context(verify) if isinstance(verify, str) else verify
    return httpx.AsyncClient(timeout=timeout, transport=transport, trust_env=False, verify=context)


def _ssl_context(cafile: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError):
        raise LinkError(f"{cafile} is not a readable certificate bundle.") from None


@contextlib.contextmanager
def _sentences(url: str) -> Iterator[None]:
    """httpx's errors, raised anywhere inside the block, as a `LinkError` naming `url`."""
    try:
        yield
    except httpx.TimeoutException:
        cause = f"no data for {STALL_S:.0f} s"
        raise Stalled(f"No data from {url} for {STALL_S:.0f} s; the link stalled.", cause) from None
    except httpx.HTTPError as exc:
        cause = str(exc) or type(exc).__name__
        raise LinkError(f"Could not reach {url}: {cause}.", cause) from None


async def get(
    client: Client, url: str, headers: Mapping[str, str] | None = None, shown: str = ""
) -> Response:
    """A whole `GET`; the caller reads `status_code` and `content`. A broken link is told as
    "Could not reach `shown`" (the relay's address a user knows; `url` by default)."""
    with _sentences(shown or url):
        return await client.get(url, headers=headers)


async def put(
    client: Client, url: str, data: bytes, headers: Mapping[str, str], shown: str = ""
) -> Response:
    with _sentences(shown or url):
        return await client.put(url, content=data, headers=headers)


@contextlib.asynccontextmanager
async def stream(
    client: Client,
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    drop_headers: Iterable[str] = (),
) -> AsyncIterator[Response]:
    """A streamed request; errors while the caller reads the body become `LinkError` too.
    `drop_headers` leaves out httpx's default headers that a slow link should not pay for."""
    with _sentences(url):
        request = client.build_request(method, url, content=content, params=params, headers=headers)
        for name in drop_headers:
            request.headers.pop(name, None)
        resp = await client.send(request, stream=True)
        try:
            yield resp
        finally:
            await resp.aclose()


async def body_text(resp: Response, limit: int = ERROR_BODY_LIMIT) -> str:
    """The start of a streamed response's body, as the one sentence a relay answers with."""
    raw = b""
    async for chunk in resp.aiter_bytes():  # also when a test's transport read it already
        raw += chunk
        if len(raw) > limit:
            break
    return raw[:limit].decode(errors="replace").strip()
