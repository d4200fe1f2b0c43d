"""Running a relay (or the origin) as a process: bind, serve with uvicorn, stop cleanly.

Owns the socket and the uvicorn server; the app itself comes from `app.py`.
Binding happens here, before anything starts, so a port in use is one clear
sentence rather than a log of tracebacks.
"""

from __future__ import annotations

import errno
import gc
import os
import socket
import ssl

import uvicorn

from lowband.relay.app import Settings, create_app
from lowband.relay.guard import ConnectionLimits, uvicorn_options
from lowband.storage.store import Store


class BindError(Exception):
    """The listening address cannot be used; the message is one plain sentence."""


def parse_hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8700).")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(f"Port {port} on {host} is already in use.") from None
        raise BindError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    store: Store,
    settings: Settings,
    sock: socket.socket,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    connections: ConnectionLimits | None = None,
) -> None:
    for path in (tls_cert, tls_key):
        if path is not None and not os.access(path, os.R_OK):
            raise BindError(f"Cannot read {path}.")
    app = create_app(store, settings)
    # Everything loaded so far lives as long as the process: keep it out of every collection,
    # so a full collection walks only what followers and events brought (a pause each follower
    # would feel).
    gc.freeze()
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        # Every byte of a response head is paid on a 9.6 kbit/s link: no Server or Date header.
        server_header=False,
        date_header=False,
        **uvicorn_options(connections or ConnectionLimits()),
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except ssl.SSLError as exc:
        raise BindError(f"The TLS certificate or key cannot be used: {exc.reason}.") from None
