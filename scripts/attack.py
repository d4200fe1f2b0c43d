"""Resource attacks on a relay that is serving live followers, with its connection bounds off
("before") and on ("after"), in one run.

Starts an origin and, per row, a fresh relay as real processes on 127.0.0.1; a load process
holds N live followers on the relay (scripts/bench_relay.py's) while one attack runs beside
them and the origin gets one caption a second. Printed per attack and setting: what the attack
achieved, the relay's peak resident memory, and the followers' caption latency (p99, origin
to the last follower) while the attack runs; it begins once the followers are connected. Attacks, each from 127.0.0.1:

* header:    4 connections each streaming one header line of up to 64 MiB;
* slowloris: 2,000 connections each sending a header line every 5 s;
* flood:     5,000 connections that send nothing.

"before" is the relay with every bound lifted (`max_head_bytes` 1 TiB, `head_timeout_s` a day,
no cap per address or in all); "after" is the default bounds, with the cap per address raised
to 1,100 because the followers share 127.0.0.1 with the attacker here.

    python scripts/attack.py [--followers 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from bench_relay import http_post, measure, raise_nofile

from lowband.delegate.join import join
from lowband.delegate.outbox import submit, sync_once
from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.node.home import Home
from lowband.protocol.model import CaptionLine, Kind, Publish, SubKind
from lowband.protocol.wire import SyncRequest, Want, encode_body, encode_request
from lowband.storage.store import Store

HOST = "127.0.0.1"
SETTINGS = {
    "before": "max_head_bytes = 1099511627776\nhead_timeout_s = 86400\n"
    "connections_per_address = 0\nmax_connections = 1000000\n",
    "after": "connections_per_address = 1100\n",
}


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class Attack:
    """Runs in threads until `stop`; `result()` says what it achieved."""

    def __init__(self, port: int) -> None:
        self.port, self.stop = port, threading.Event()
        self.threads: list[threading.Thread] = []

    def connect(self) -> socket.socket | None:
        try:
            return socket.create_connection((HOST, self.port), timeout=10)
        except OSError:
            return None

    def spawn(self, target: Callable[[], None], n: int) -> None:
        for _ in range(n):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def start(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def result(self) -> str:
        raise NotImplementedError


class Header(Attack):
    def start(self) -> None:
        self.sent: list[int] = []
        self.spawn(self._one, 4)

    def _one(self) -> None:
        sock, sent = self.connect(), 0
        if sock is None:
            return
        with sock:
            try:
                sock.sendall(b"GET /v1/health HTTP/1.1\r\nhost: relay\r\nx-pad: ")
                while sent < 64 << 20 and not self.stop.is_set():
                    sock.sendall(b"a" * (1 << 20))
                    sent += 1 << 20
            except OSError:
                pass
        self.sent.append(sent)

    def result(self) -> str:
        return f"relay took {max(self.sent, default=0) >> 20} MiB of one head"


class Slowloris(Attack):
    def start(self) -> None:
        self.socks = [s for s in (self.connect() for _ in range(2000)) if s is not None]
        for s in self.socks:
            s.sendall(b"GET /v1/health HTTP/1.1\r\n")
        self.spawn(self._trickle, 1)

    def _trickle(self) -> None:
        while not self.stop.wait(5):
            for s in self.socks:
                try:
                    s.sendall(b"x-slow: 1\r\n")
                except OSError:
                    continue

    def result(self) -> str:
        alive = sum(1 for s in self.socks if _open(s))
        for s in self.socks:
            s.close()
        return f"{alive} of {len(self.socks)} slow heads still held"


class Flood(Attack):
    def start(self) -> None:
        self.socks = [s for s in (self.connect() for _ in range(5000)) if s is not None]

    def result(self) -> str:
        alive = sum(1 for s in self.socks if _open(s))
        for s in self.socks:
            s.close()
        return f"{alive} of {len(self.socks)} idle connections still held"


def _open(sock: socket.socket) -> bool:
    """The relay has neither closed the connection nor answered it."""
    sock.setblocking(False)
    try:
        sock.recv(1)  # b"": closed; bytes: answered (408, 431, 503)
    except BlockingIOError:
        return True
    except OSError:
        pass
    return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--followers", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=20, help="captions (one a second) per row")
    args = p.parse_args()
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="lowband-attack-"))
    origin = Relay(tmp / "origin", "--origin", name="origin")
    rows = []
    try:
        cli(tmp / "origin", "meeting", "create", "--id", "m", "--title", "Load", "--kind",
            "virtual", "--remote-rights", "observe", "--start", "2026-12-01T09:00:00Z",
            "--end", "2026-12-01T10:00:00Z", "--languages", "en")  # fmt: skip
        key = Home(tmp / "origin").key()
        pub = Store(tmp / "pub.sqlite")
        asyncio.run(join(pub, origin.url, "m"))

        def publish(k: int) -> None:
            line = CaptionLine("CHAIR", f"Caption {k}: the delegate of Kenya has the floor.")
            body = Publish("transcript/en", Kind.CAPTION, encode_body(line))
            submit(pub, key, "m", SubKind.PUBLISH, encode_body(body))
            asyncio.run(sync_once(pub, "m", "pub", with_events=False, url=origin.url, key=key))

        publish(-1)
        for setting, limits in SETTINGS.items():
            for attack in (None, Header, Slowloris, Flood):
                home = tmp / f"relay-{setting}-{attack.__name__ if attack else 'none'}"
                conf = tmp / f"{home.name}.toml"
                conf.write_text("[limits]\n" + limits)
                relay = Relay(home, "--parent", origin.url, "--config", str(conf), name="relay")
                try:
                    wait_for(lambda h=home: stream_state(h, "m", "transcript/en")[0] >= 1,
                             what="mirror")  # fmt: skip
                    with Store(home / "store.sqlite") as s:
                        heads = {name: head for _, name, head, _ in s.streams("m")}
                    req = SyncRequest("m", "load", [Want(n, h) for n, h in heads.items()],
                                      known_streams=len(heads), live=True, checkpoint_every=3600)  # fmt: skip
                    assert relay.proc is not None
                    running = attack(relay.port) if attack else None

                    def publish_under_attack(k: int, running: Attack | None = running) -> None:
                        if k == 0 and running is not None:
                            running.start()  # the followers are in: the attack begins
                        publish(k)

                    row = measure(relay.proc.pid, relay.port, args.followers,
                                  http_post("/v1/sync", encode_request(req)), args.seconds,
                                  publish_under_attack, tmp, tap_port=origin.port)  # fmt: skip
                    outcome = "-"
                    if running is not None:
                        running.finish()
                        outcome = running.result()
                    rows.append((setting, attack.__name__.lower() if attack else "none", outcome,
                                 peak_rss(relay.proc.pid), row["p99_ms"]))  # fmt: skip
                finally:
                    relay.stop()
        pub.close()
    finally:
        origin.stop()
    print(f"{'setting':8}{'attack':11}{'what the attack achieved':44}{'peak RSS':>10}"
          f"{'caption p99':>13}")  # fmt: skip
    for setting, attack, outcome, rss, p99 in rows:
        print(f"{setting:8}{attack:11}{outcome:44}{rss / 2**20:>8.0f}MB{p99:>11.0f}ms")


if __name__ == "__main__":
    main()
