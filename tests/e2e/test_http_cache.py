"""Closed history through a real nginx caching proxy: the second catch-up comes from its cache."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.origin.append import append
from lowband.protocol.model import CaptionLine, Kind
from lowband.protocol.wire import encode_body
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
worker_processes 1;
daemon off;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format cache '$request_uri $upstream_cache_status $status';
    access_log {d}/access.log cache;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    proxy_cache_path {d}/cache keys_zone=history:1m;
    server {{
        listen 127.0.0.1:{port};
        location /v1/history/ {{
            proxy_pass http://127.0.0.1:{relay};
            proxy_cache history;
            proxy_cache_valid 200 365d;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{relay};
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/v1/health", trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_second_catch_up_is_served_by_nginx_and_verifies(tmp_path: Path) -> None:
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed; scripts/install_test_tools.sh installs it")
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relay = nginx = None
    try:
        cli(
            tmp_path / "origin",
            "meeting",
            "create",
            "--id",
            M,
            "--title",
            "T",
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
        with Store(tmp_path / "origin" / "store.sqlite") as store:
            info = store.meeting(M)
            assert info is not None
            with store.tx():
                for i in range(600):
                    body = encode_body(CaptionLine("CHAIR", f"Line {i} on remote participation."))
                    append(
                        store, info, "transcript/en", Kind.CAPTION, body, int(time.time() * 1000)
                    )
        relay = Relay(tmp_path / "relay", "--parent", origin.url, name="nairobi")
        wait_for(
            lambda: stream_state(tmp_path / "relay", M, "transcript/en") == (600, 600),
            timeout=60,
            what="relay mirror",
        )
        d, port = tmp_path / "nginx", free_port()
        d.mkdir()
        (d / "nginx.conf").write_text(CONF.format(d=d, port=port, relay=relay.port))
        nginx = subprocess.Popen(
            [NGINX, "-c", str(d / "nginx.conf"), "-p", str(d)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        front = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: (
                subprocess.run(
                    ["curl", "-sf", front + "/v1/health"], capture_output=True
                ).returncode
                == 0
            ),
            what="nginx",
        )
        for name in ("first", "second"):
            cli(tmp_path / name, "join", front, "--meeting", M)
            wait_for(
                lambda n=name: (
                    (
                        cli(tmp_path / n, "sync", "--once"),
                        stream_state(tmp_path / n, M, "transcript/en"),
                    )[1]
                    == (600, 600)
                ),
                timeout=60,
                what=f"{name} caught up and verified",
            )
        log = (d / "access.log").read_text().splitlines()
        history = [line.split() for line in log if line.startswith("/v1/history/")]
        assert [status for _, status, _ in history] == ["MISS", "MISS", "HIT", "HIT"]
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if relay is not None:
            relay.stop()
        origin.stop()
