"""A real relay process holds its bounds on connections: an oversized head, a head trickled in
slowly, and too many connections from one address are each refused in one sentence, over plain
HTTP and over TLS."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_security import self_signed

from lowband.harness.testbed import Relay

pytestmark = pytest.mark.e2e


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    conf = tmp_path / "relay.toml"
    conf.write_text(
        "[limits]\nmax_head_bytes = 4096\nhead_timeout_s = 1.5\nconnections_per_address = 4\n"
    )
    node = Relay(tmp_path / "origin", "--origin", "--config", str(conf), name="origin")
    yield node
    node.stop()


def connect(relay: Relay) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=30)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the relay sends until it closes the connection."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def test_a_head_over_the_bound_is_refused_and_the_relay_keeps_serving(relay: Relay) -> None:
    with connect(relay) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\nx-pad: ")
        try:
            for _ in range(64):  # 4 MiB, far past the bound; the relay stops reading long before
                sock.sendall(b"a" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = answer(sock)
    assert got.startswith(b"HTTP/1.1 431") and got.endswith(b"The request's head is too large.")
    with connect(relay) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n")
        assert answer(sock).startswith(b"HTTP/1.1 200")


def test_a_head_trickled_in_slowly_is_cut_off(relay: Relay) -> None:
    with connect(relay) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
        sock.settimeout(0.4)
        got = b""
        for _ in range(100):  # a header line every 0.4 s, as a slowloris sends them
            try:
                sock.sendall(b"x-slow: 1\r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            got += chunk
            if not chunk:
                break
    assert got.startswith(b"HTTP/1.1 408") and got.endswith(b"The request's head came too slowly.")


def test_connections_from_one_address_are_capped(relay: Relay) -> None:
    held = [connect(relay) for _ in range(4)]
    try:
        with connect(relay) as extra:
            got = answer(extra)
        assert got.startswith(b"HTTP/1.1 503") and b"Too many connections" in got
    finally:
        for sock in held:
            sock.close()
    for _ in range(50):  # the relay notices the closed ones as it reads them
        with connect(relay) as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n")
            got = answer(sock)
        if got.startswith(b"HTTP/1.1 200"):
            break
    assert got.startswith(b"HTTP/1.1 200")


def test_the_bounds_hold_over_tls_too(tmp_path: Path) -> None:
    """The same protocol class serves HTTPS: an oversized head and a slow one are refused there."""
    cert, key = self_signed(tmp_path)
    conf = tmp_path / "tls.toml"
    conf.write_text("[limits]\nmax_head_bytes = 4096\nhead_timeout_s = 1.5\n")
    node = Relay(tmp_path / "tls", "--origin", "--config", str(conf), "--tls-cert", str(cert),
                 "--tls-key", str(key), name="origin")  # fmt: skip
    context = ssl.create_default_context(cafile=str(cert))
    try:
        with context.wrap_socket(connect(node), server_hostname="127.0.0.1") as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\nx-pad: " + b"a" * 8192)
            got = answer(sock)
        assert got.startswith(b"HTTP/1.1 431")
        with context.wrap_socket(connect(node), server_hostname="127.0.0.1") as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\n")  # and nothing more
            got = answer(sock)
        assert got.startswith(b"HTTP/1.1 408")
    finally:
        node.stop()
