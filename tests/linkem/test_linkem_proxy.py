"""The link emulator proxy on real loopback sockets: bytes, order, outages, resets.

Never asserts wall-clock timing: rates are checked in test_linkem_shaping.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from lowband.linkem import PROFILES, LinkEmulator, LinkEmulatorThread, LinkProfile

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LOOPBACK = PROFILES["loopback"]
SLOW = LinkProfile(down_kbps=8, up_kbps=8, name="slow")  # 1,000 B/s each way
GUARD_S = 10.0  # a hung test fails instead of hanging; never a timing assertion


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.write_eof()


def source(nbytes: int) -> Handler:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(pattern(nbytes))
        await writer.drain()
        writer.write_eof()
        await reader.read()

    return send


async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.read(65536):
        pass


def pattern(nbytes: int) -> bytes:
    """Bytes whose order is visible: any reordering or loss changes them."""
    return b"".join(i.to_bytes(4, "big") for i in range(nbytes // 4 + 1))[:nbytes]


@contextlib.asynccontextmanager
async def target(handler: Handler) -> AsyncIterator[int]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def client(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def read_until_error(reader: asyncio.StreamReader) -> tuple[bytes, BaseException | None]:
    got = bytearray()
    try:
        while data := await asyncio.wait_for(reader.read(65536), GUARD_S):
            got += data
    except ConnectionError as exc:
        return bytes(got), exc
    return bytes(got), None


async def round_trip(port: int, data: bytes) -> bytes:
    async with client(port) as (reader, writer):
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        return await asyncio.wait_for(reader.read(), GUARD_S)


@pytest.mark.parametrize(
    "profile",
    [LOOPBACK, LinkProfile(down_kbps=2000, up_kbps=1000, rtt_ms=40, jitter_ms=30, name="jittery")],
    ids=lambda p: p.name,
)
async def test_bytes_pass_intact_in_order_and_are_counted(profile: LinkProfile) -> None:
    data = pattern(30_000)
    async with target(echo) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port, profile) as em:
        assert em.port != 0
        results = await asyncio.gather(*(round_trip(em.port, data) for _ in range(3)))
        assert results == [data] * 3
        stats = em.stats()
    assert stats["bytes_up"] == stats["bytes_down"] == 3 * len(data)
    assert (stats["connections"], stats["resets"], stats["outages"]) == (3, 0, 0)


async def test_silent_outage_stalls_then_delivers_everything() -> None:
    data = pattern(20_000)
    async with target(echo) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port) as em:
        async with client(em.port) as (reader, writer):
            writer.write(b"hello")
            assert await asyncio.wait_for(reader.readexactly(5), GUARD_S) == b"hello"
            em.begin_outage("silent")
            writer.write(data)
            late = asyncio.create_task(round_trip(em.port, data))  # a new connection waits too
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.readexactly(1), 0.3)
            assert em.stats()["bytes_up"] == 5 and not late.done()
            em.end_outage()
            assert await asyncio.wait_for(reader.readexactly(len(data)), GUARD_S) == data
            assert await late == data
        stats = em.stats()
    assert (stats["outages"], stats["resets"]) == (1, 0)


async def test_hard_outage_resets_and_refuses_until_it_ends() -> None:
    async with target(echo) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port) as em:
        async with client(em.port) as (reader, writer):
            writer.write(b"hello")
            assert await asyncio.wait_for(reader.readexactly(5), GUARD_S) == b"hello"
            em.begin_outage("hard")
            _, error = await read_until_error(reader)
            assert isinstance(error, ConnectionResetError)
        with pytest.raises(ConnectionResetError):  # at connect or at the first read
            async with client(em.port) as (reader, _):
                _, error = await read_until_error(reader)
                raise error or AssertionError("not reset")
        em.end_outage()
        assert await round_trip(em.port, b"again") == b"again"
        stats = em.stats()
    assert (stats["outages"], stats["resets"], stats["connections"]) == (1, 2, 3)


async def test_reset_rate_one_resets_mid_transfer() -> None:
    doomed = SLOW.with_overrides(reset_rate=1.0, reset_horizon_s=0.3)
    async with (
        target(source(50_000)) as port,
        LinkEmulator("127.0.0.1", 0, "127.0.0.1", port, doomed, seed=4) as em,
        client(em.port) as (reader, _),
    ):
        got, error = await read_until_error(reader)
        assert isinstance(error, ConnectionResetError)
        assert len(got) < 50_000 and got == pattern(50_000)[: len(got)]
        assert em.stats()["resets"] == 1


async def test_slow_link_pushes_back_on_the_sender() -> None:
    profile = SLOW.with_overrides(queue_bytes=4096)
    sent = 0
    async with target(sink) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port, profile) as em:
        async with client(em.port) as (_, writer):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

            async def pump() -> None:
                nonlocal sent
                while sent < 8 << 20:
                    writer.write(bytes(16384))
                    await writer.drain()
                    sent += 16384

            task = asyncio.create_task(pump())
            await asyncio.sleep(1.0)
            assert not task.done()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            writer.transport.abort()
    # Client buffers (64 KiB transport, small kernel buffer) + proxy buffers + ~1 s of link.
    assert sent < 256 << 10


async def test_set_profile_changes_the_rate_at_once() -> None:
    data = pattern(30_000)  # 30 s at 1,000 B/s
    async with (
        target(source(len(data))) as port,
        LinkEmulator("127.0.0.1", 0, "127.0.0.1", port, SLOW) as em,
        client(em.port) as (reader, _),
    ):
        await asyncio.sleep(0.2)  # the first 1,400-byte piece is being serialised
        em.set_profile(LOOPBACK)
        assert await asyncio.wait_for(reader.read(), GUARD_S) == data
        assert em.profile is LOOPBACK


async def test_scheduled_outages_follow_the_profile() -> None:
    profile = LOOPBACK.with_overrides(
        outage_every_s=0.2, outage_for_s=(0.05, 0.05), outage_schedule="periodic"
    )
    async with target(echo) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port, profile) as em:
        await asyncio.sleep(0.5)
        assert em.stats()["outages"] >= 1
        assert await round_trip(em.port, b"through") == b"through"


async def test_unreachable_target_resets_the_client() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed_port = placeholder.getsockname()[1]  # bound, not listening: refuses
        async with LinkEmulator("127.0.0.1", 0, "127.0.0.1", closed_port) as em:
            with pytest.raises(ConnectionResetError):
                async with client(em.port) as (reader, _):
                    _, error = await read_until_error(reader)
                    raise error or AssertionError("not reset")


async def test_stop_resets_open_connections() -> None:
    async with target(echo) as port:
        async with LinkEmulator("127.0.0.1", 0, "127.0.0.1", port) as em, client(em.port) as pair:
            assert await round_trip(em.port, b"x") == b"x"
            pair[1].write(b"hello")
            assert await asyncio.wait_for(pair[0].readexactly(5), GUARD_S) == b"hello"
            await em.stop()
            _, error = await read_until_error(pair[0])
            assert isinstance(error, ConnectionResetError)
            assert em.stats()["open_connections"] == 0


async def test_a_client_reset_reaches_the_target() -> None:
    seen: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def watch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ready")
        try:
            await reader.read()
            seen.set_result(None)
        except ConnectionError as exc:
            seen.set_result(exc)

    async with target(watch) as port, LinkEmulator("127.0.0.1", 0, "127.0.0.1", port) as em:
        async with client(em.port) as (reader, writer):
            assert await asyncio.wait_for(reader.readexactly(5), GUARD_S) == b"ready"
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        assert isinstance(await asyncio.wait_for(seen, GUARD_S), ConnectionResetError)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def threaded_echo() -> Iterator[int]:
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()
        thread.join()


def test_thread_runs_the_emulator_for_synchronous_code(threaded_echo: int) -> None:
    data = os.urandom(10_000)
    with LinkEmulatorThread("127.0.0.1", 0, "127.0.0.1", threaded_echo) as link:
        link.set_profile(PROFILES["vsat"].with_overrides(up_kbps=256, rtt_ms=20, jitter_ms=10))
        with socket.create_connection(("127.0.0.1", link.port), timeout=GUARD_S) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            got = b"".join(iter(lambda: sock.recv(65536), b""))
        assert got == data
        for _ in range(int(GUARD_S / 0.01)):  # let the proxy finish closing
            if link.stats()["open_connections"] == 0:
                break
            time.sleep(0.01)
        link.begin_outage("hard")
        with pytest.raises(ConnectionResetError):  # at connect or at the first read
            with socket.create_connection(("127.0.0.1", link.port), timeout=GUARD_S) as sock:
                sock.recv(1)
        link.end_outage()
        stats = link.stats()
    assert (stats["bytes_up"], stats["bytes_down"], stats["resets"]) == (10_000, 10_000, 1)


def test_thread_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            LinkEmulatorThread("127.0.0.1", taken.getsockname()[1], "127.0.0.1", 9).start()
