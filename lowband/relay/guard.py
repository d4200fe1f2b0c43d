"""Bounds on connections, before any request reaches the app: a relay is on the open internet.

Owns uvicorn's HTTP protocol (httptools) with four limits added where the bytes arrive: a
request head (request line and headers) of at most `max_head_bytes`, answered `431` and closed
beyond it; a head that must be complete within `head_timeout_s` of the connection opening or
of the previous response ending (a slowloris is closed, however slowly it trickles); at most
`per_address` open connections from one address (`0`: no cap, for a relay behind a proxy that
limits for it); and, through uvicorn's `limit_concurrency`, at most `max_connections` in all.
Live followers are untouched: once a request's head is complete, none of this applies to it.
Must not: look at a request's meaning (the app does that).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class ConnectionLimits:
    max_head_bytes: int = 16 * 1024
    head_timeout_s: float = 10.0
    per_address: int = 512
    max_connections: int = 10_000


def _answer(status: bytes, sentence: str) -> bytes:
    body = sentence.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with `limits`; each server gets a class of its own
    (and its own count of connections per address)."""
    open_from: Counter[str] = Counter()

    class GuardedHttpTools(HttpToolsProtocol):
        _address = ""
        _in_head = True
        _head_bytes = 0
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._address = self.client[0] if self.client else ""
            open_from[self._address] += 1
            if limits.per_address and open_from[self._address] > limits.per_address:
                transport.write(
                    _answer(b"503 Service Unavailable", "Too many connections from your address.")
                )
                transport.close()
                return
            self._start_head()

        def connection_lost(self, exc: Exception | None) -> None:
            open_from[self._address] -= 1
            if open_from[self._address] <= 0:
                del open_from[self._address]
            self._stop_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._in_head:
                super().data_received(data)
                return
            self._head_bytes += len(data)
            super().data_received(data)  # may complete the head, and start the body
            if self._in_head and self._head_bytes > limits.max_head_bytes:
                self._refuse(
                    b"431 Request Header Fields Too Large", "The request's head is too large."
                )

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._in_head:  # the next request on a kept-alive connection
                self._start_head()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._stop_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)  # its head is in already
            super().on_response_complete()
            if not pipelined and not self.transport.is_closing():
                self._start_head()  # the next head has its own deadline

        def _start_head(self) -> None:
            self._in_head, self._head_bytes = True, 0
            self._stop_timer()
            self._head_timer = self.loop.call_later(limits.head_timeout_s, self._head_expired)

        def _stop_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            if self._in_head and not self.transport.is_closing():
                self._refuse(b"408 Request Timeout", "The request's head came too slowly.")

        def _refuse(self, status: bytes, sentence: str) -> None:
            self._stop_timer()
            self.transport.write(_answer(status, sentence))
            self.transport.close()

    return GuardedHttpTools


def uvicorn_options(limits: ConnectionLimits) -> dict[str, Any]:
    """The `uvicorn.Config` keywords that put `limits` in force."""
    return {"http": guarded_protocol(limits), "limit_concurrency": limits.max_connections}
