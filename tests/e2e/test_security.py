"""Relay admission and TLS with real processes: signed requests, the roster, barred keys."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import httpx
import pytest

from lowband.harness.testbed import Relay, cli, stream_state, wait_for
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"


def create(home: Path) -> None:
    cli(
        home,
        "meeting",
        "create",
        "--id",
        M,
        "--title",
        "T",
        "--kind",
        "hybrid",
        "--remote-rights",
        "speak",
        "--start",
        "2026-12-01T09:00:00Z",
        "--end",
        "2026-12-01T10:00:00Z",
        "--languages",
        "en",
    )


def delegate(tmp: Path, name: str, origin_home: Path) -> tuple[Path, str]:
    home = tmp / name
    key = cli(home, "id", "init").stdout.split()[-1]
    cli(
        origin_home,
        "roster",
        "add",
        "--meeting",
        M,
        "--key",
        key,
        "--name",
        name,
        "--member-state",
        "Kenya",
        "--rights",
        "speak",
    )
    return home, key


def test_relay_serves_only_signed_roster_keys_and_bars_on_request(tmp_path: Path) -> None:
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relay = None
    try:
        create(tmp_path / "origin")
        amina, amina_key = delegate(tmp_path, "amina", tmp_path / "origin")
        relay = Relay(tmp_path / "relay", "--parent", origin.url, "--require-auth", name="nairobi")
        wait_for(lambda: stream_state(tmp_path / "relay", M, "roster") == (2, 2), what="mirror")
        cli(amina, "join", relay.url, "--meeting", M)
        assert stream_state(amina, M, "notice")[0] == 1

        stranger = tmp_path / "stranger"
        cli(stranger, "id", "init")
        proc = cli(stranger, "join", relay.url, "--meeting", M, check=False)
        assert proc.returncode == 1 and "not on this meeting's roster" in proc.stderr
        with Store(stranger / "store.sqlite") as store:
            assert store.meetings() == []  # nothing served, not even the meeting's description

        relay.stop()
        relay = Relay(
            tmp_path / "relay",
            "--parent",
            origin.url,
            "--require-auth",
            "--bar",
            amina_key,
            name="nairobi",
            port=relay.port,
        )
        proc = cli(amina, "sync", "--once", check=False)
        assert proc.returncode == 1 and "barred your key" in proc.stderr
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_hop_with_a_pinned_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    origin = Relay(
        tmp_path / "origin",
        "--origin",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        name="origin",
    )
    relay = None
    try:
        assert origin.url.startswith("https://")
        create(tmp_path / "origin")
        amina, _ = delegate(tmp_path, "amina", tmp_path / "origin")
        proc = cli(amina, "join", origin.url, "--meeting", M, check=False)
        assert proc.returncode == 1 and "certificate" in proc.stderr.lower()
        cli(amina, "join", origin.url, "--meeting", M, "--ca", str(cert))
        assert stream_state(amina, M, "roster")[0] == 2
        relay = Relay(
            tmp_path / "relay", "--parent", origin.url, "--parent-ca", str(cert), name="nairobi"
        )
        wait_for(
            lambda: stream_state(tmp_path / "relay", M, "roster") == (2, 2),
            what="relay mirrors over TLS",
        )
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()


def test_blob_gets_need_the_same_token_as_the_sync_exchange(tmp_path: Path) -> None:
    """Both hops require tokens: the relay signs to the origin as an allowed child, with tokens
    made out to the origin by name, and the delegate signs to the relay."""
    origin_home, relay_home = tmp_path / "origin", tmp_path / "relay"
    relay_key = cli(relay_home, "id", "init").stdout.split()[-1]
    origin = Relay(
        origin_home, "--origin", "--require-auth", "--allow-relay", relay_key, name="origin"
    )
    relay = None
    try:
        create(origin_home)
        amina, _ = delegate(tmp_path, "amina", origin_home)
        draft = tmp_path / "draft.txt"
        draft.write_text("The Conference resolves to invite Member States.\n" * 200)
        cli(origin_home, "publish", "doc", "--origin", origin.url, "--meeting", M, str(draft))
        sha = hashlib.sha256(draft.read_bytes()).hexdigest()
        relay = Relay(relay_home, "--parent", origin.url, "--require-auth", name="nairobi")
        wait_for(lambda: stream_state(relay_home, M, "docs")[0] == 1, what="relay docs")
        refused = httpx.get(f"{relay.url}/v1/blobs/{sha}")
        assert refused.status_code == 401
        assert refused.text == "This relay serves documents only to signed requests.\n"
        junk = {"x-lowband-auth": "bm90IGEgdG9rZW4"}
        forged = httpx.get(f"{relay.url}/v1/blobs/{sha}", headers=junk)
        assert forged.status_code == 400 and "not a lowband request token" in forged.text
        cli(amina, "join", relay.url, "--meeting", M)

        def verified() -> bool:
            cli(amina, "sync", "--once", "--meeting", M)
            return stream_state(amina, M, "docs") == (1, 1)

        wait_for(verified, what="a verified docs event at the delegate")
        out = cli(amina, "docs", "get", "--meeting", M, "--no-sync").stdout
        assert "draft r1" in out  # the relay fetched it from the origin, signing as itself
        assert (amina / "documents" / M / "draft-r1.txt").read_bytes() == draft.read_bytes()
    finally:
        if relay is not None:
            relay.stop()
        origin.stop()
