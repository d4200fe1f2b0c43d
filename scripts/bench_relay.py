"""How many live followers one relay process holds: fan-out latency, CPU and memory per follower.

Starts an origin and a relay as real processes on 127.0.0.1, and a separate load process that
opens N live sync exchanges to the relay (plain asyncio protocols on uvloop, so the load
generator is not the bottleneck) and one to the origin itself, the tap. The origin gets one
caption a second from a publisher; the load process stamps the first bytes each follower
receives after each caption. Printed per N: fan-out latency p50/p99/max from the moment the
origin sent the caption (its tap's stamp) to the last follower of the relay, the relay's CPU
per delivery and its memory per follower, and the p99 counted from the publisher's first step
(its durable local queue and its exchange with the origin) instead. The same for a bare
Starlette StreamingResponse on uvicorn with one queue per follower (the baseline the issue
names; there the clock starts at the publish call), measured in the same run.

    python scripts/bench_relay.py --followers 100,1000,5000 [--captions 20] [--no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import uvloop

HOST = "127.0.0.1"


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident bytes) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


# --- the load process ---------------------------------------------------------------------


class Follower(asyncio.Protocol):
    """One live follower of the load process: stamps the arrival of every read."""

    def __init__(self, request: bytes, stamps: list[float], on_first: Callable[[], None]) -> None:
        self.request, self.stamps, self.on_first = request, stamps, on_first
        self.first = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self.request)

    def data_received(self, data: bytes) -> None:
        self.stamps.append(time.time())
        if self.first:
            self.first = False
            self.on_first()


async def load(port: int, n: int, request: bytes, out: Path, seconds: float, tap_port: int) -> None:
    raise_nofile()
    loop = asyncio.get_running_loop()
    stamps: list[list[float]] = [[] for _ in range(n)]
    tap: list[float] = []
    ready, counter = asyncio.Event(), [0]

    def on_first() -> None:
        counter[0] += 1
        if counter[0] == n:
            ready.set()

    transports = []
    if tap_port:  # one follower at the origin itself: when the origin sent each caption
        transport, _ = await loop.create_connection(
            lambda: Follower(request, tap, lambda: None), HOST, tap_port
        )
        transports.append(transport)
    for i in range(n):
        transport, _ = await loop.create_connection(
            lambda i=i: Follower(request, stamps[i], on_first), HOST, port
        )
        transports.append(transport)
        if i % 200 == 199:
            await asyncio.sleep(0.05)  # do not overflow the listen backlog
    await asyncio.wait_for(ready.wait(), 120)
    for s in [*stamps, tap]:
        s.clear()  # the response heads are not deliveries
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    out.write_text(json.dumps({"followers": stamps, "tap": tap}))
    for t in transports:
        t.close()


def http_post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-lowband\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


# --- the baseline: bare Starlette streaming, one queue per follower ----------------------


def baseline_app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    queues: set[asyncio.Queue[bytes]] = set()

    async def sync(request):  # type: ignore[no-untyped-def]
        await request.body()
        q: asyncio.Queue[bytes] = asyncio.Queue()
        queues.add(q)

        async def gen():  # type: ignore[no-untyped-def]
            try:
                yield b"hello"
                while True:
                    yield await q.get()
            finally:
                queues.discard(q)

        return StreamingResponse(gen())

    async def publish(request):  # type: ignore[no-untyped-def]
        data = await request.body()
        for q in queues:
            q.put_nowait(data)
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/v1/sync", sync, methods=["POST"]),
            Route("/publish", publish, methods=["POST"]),
        ]
    )


def serve_baseline(port: int) -> None:
    import uvicorn

    raise_nofile()
    uvicorn.run(
        baseline_app(),
        host=HOST,
        port=port,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        backlog=8192,
    )


# --- the driver -----------------------------------------------------------------------------


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def fanout(
    publish_times: list[float], stamps: list[list[float]], tap: list[float]
) -> tuple[list[float], list[float]]:
    """For each caption, the time until the LAST follower got bytes after the origin sent it
    (the tap's stamp; the publish call where there is no tap), and after the publish call."""
    from_origin, from_publish = [], []
    for k, t in enumerate(publish_times):
        end = publish_times[k + 1] if k + 1 < len(publish_times) else float("inf")
        arrivals = [next((x for x in s if t <= x < end), None) for s in stamps]
        got = [a for a in arrivals if a is not None]
        if got:
            sent = next((x for x in tap if t <= x < end), t)
            from_origin.append(max(got) - sent)
            from_publish.append(max(got) - t)
    return from_origin, from_publish


def run_load(
    port: int, n: int, request: bytes, seconds: float, tmp: Path, tap_port: int
) -> subprocess.Popen:  # type: ignore[type-arg]
    out = tmp / f"stamps-{port}-{n}.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--role",
            "load",
            "--port",
            str(port),
            "--followers",
            str(n),
            "--request",
            request.hex(),
            "--out",
            str(out),
            "--seconds",
            str(seconds),
            "--tap-port",
            str(tap_port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "ready" not in line:
        raise SystemExit(f"the load process failed to connect {n} followers")
    proc.out = out  # type: ignore[attr-defined]
    return proc


def measure(
    pid: int,
    port: int,
    n: int,
    request: bytes,
    captions: int,
    publish,
    tmp: Path,
    tap_port: int = 0,
) -> dict:  # type: ignore[no-untyped-def]
    _, rss0 = proc_stats(pid)
    seconds = captions * 1.0 + 3
    load_proc = run_load(port, n, request, seconds, tmp, tap_port)
    time.sleep(1.0)
    cpu1, rss1 = proc_stats(pid)
    times = []
    for k in range(captions):
        times.append(time.time())
        publish(k)
        time.sleep(max(0.0, times[-1] + 1.0 - time.time()))
    cpu2, _ = proc_stats(pid)
    load_proc.wait(seconds + 60)
    got = json.loads(load_proc.out.read_text())  # type: ignore[attr-defined]
    lat, whole = fanout(times, got["followers"], got["tap"])
    return {
        "n": n,
        "p50_ms": 1000 * percentile(lat, 0.5),
        "p99_ms": 1000 * percentile(lat, 0.99),
        "max_ms": 1000 * max(lat, default=float("nan")),
        "cpu_us_per_delivery": 1e6 * (cpu2 - cpu1) / max(1, n * captions),
        "kb_per_follower": (rss1 - rss0) / 1024 / n,
        "publish_p99_ms": 1000 * percentile(whole, 0.99),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--followers", default="100,1000")
    p.add_argument("--captions", type=int, default=15)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--role", default="main")
    p.add_argument("--port", type=int)
    p.add_argument("--request")
    p.add_argument("--out")
    p.add_argument("--seconds", type=float)
    p.add_argument("--tap-port", type=int, default=0)
    args = p.parse_args()
    if args.role == "load":
        uvloop.run(
            load(
                args.port,
                int(args.followers),
                bytes.fromhex(args.request),
                Path(args.out),
                args.seconds,
                args.tap_port,
            )
        )
        return
    if args.role == "baseline":
        serve_baseline(args.port)
        return
    bench(args)


def bench(args: argparse.Namespace) -> None:
    import httpx

    from lowband.delegate.join import join
    from lowband.delegate.outbox import submit, sync_once
    from lowband.harness.testbed import Relay, cli, stream_state, wait_for
    from lowband.node.home import Home
    from lowband.protocol.model import CaptionLine, Kind, Publish, SubKind
    from lowband.protocol.wire import SyncRequest, Want, encode_body, encode_request
    from lowband.storage.store import Store

    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="lowband-bench-relay-"))
    rows = []
    origin = Relay(tmp / "origin", "--origin", name="origin")
    relay = None
    try:
        cli(
            tmp / "origin",
            "meeting",
            "create",
            "--id",
            "m",
            "--title",
            "Load",
            "--kind",
            "virtual",
            "--remote-rights",
            "observe",
            "--start",
            "2026-12-01T09:00:00Z",
            "--end",
            "2026-12-01T10:00:00Z",
            "--languages",
            "en",
        )
        # Every follower comes from 127.0.0.1: no cap per address, room for all of them.
        conf = tmp / "relay.toml"
        conf.write_text("[limits]\nconnections_per_address = 0\nmax_connections = 20000\n")
        relay = Relay(tmp / "relay", "--parent", origin.url, "--config", str(conf), name="relay")
        wait_for(lambda: stream_state(tmp / "relay", "m", "notice")[0] == 1, what="mirror")
        key = Home(tmp / "origin").key()
        pub_store = Store(tmp / "pub.sqlite")
        asyncio.run(join(pub_store, origin.url, "m"))

        def publish(k: int) -> None:
            line = CaptionLine("CHAIR", f"Caption {k}: the delegate of Kenya has the floor.")
            body = Publish("transcript/en", Kind.CAPTION, encode_body(line))
            submit(pub_store, key, "m", SubKind.PUBLISH, encode_body(body))
            asyncio.run(sync_once(pub_store, "m", "pub", with_events=False, url=origin.url))

        publish(-1)
        wait_for(lambda: stream_state(tmp / "relay", "m", "transcript/en")[0] == 1, what="first")
        with Store(tmp / "relay" / "store.sqlite") as s:
            heads = {name: head for _, name, head, _ in s.streams("m")}
            known = len(heads)
        req = SyncRequest(
            "m",
            "load",
            [Want(n, h) for n, h in heads.items()],
            known_streams=known,
            live=True,
            checkpoint_every=3600,
        )
        request = http_post("/v1/sync", encode_request(req))
        assert relay.proc is not None
        for n in [int(x) for x in args.followers.split(",")]:
            rows.append(
                (
                    "lowband relay",
                    measure(
                        relay.proc.pid,
                        relay.port,
                        n,
                        request,
                        args.captions,
                        publish,
                        tmp,
                        tap_port=origin.port,
                    ),
                )
            )
        pub_store.close()
        if not args.no_baseline:
            port = 18000 + os.getpid() % 1000
            base = subprocess.Popen(
                [sys.executable, __file__, "--role", "baseline", "--port", str(port)]
            )
            wait_for(lambda: _up(port), what="baseline")
            client = httpx.Client(trust_env=False)
            for n in [int(x) for x in args.followers.split(",")]:
                rows.append(
                    (
                        "bare Starlette",
                        measure(
                            base.pid,
                            port,
                            n,
                            http_post("/v1/sync", b"x"),
                            args.captions,
                            lambda k: client.post(
                                f"http://{HOST}:{port}/publish", content=b"c" * 60
                            ),
                            tmp,
                        ),
                    )
                )
            base.terminate()
            base.wait(10)
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()
    print(
        f"{'server':16}{'followers':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'CPU us/delivery':>17}{'KB/follower':>13}{'p99 from publish':>18}"
    )
    for name, r in rows:
        print(
            f"{name:16}{r['n']:>10}{r['p50_ms']:>9.0f}{r['p99_ms']:>9.0f}{r['max_ms']:>9.0f}"
            f"{r['cpu_us_per_delivery']:>17.0f}{r['kb_per_follower']:>13.1f}"
            f"{r['publish_p99_ms']:>18.0f}"
        )


def _up(port: int) -> bool:
    import socket

    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
