"""End to end with real processes on loopback: origin, regional relay, delegate CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from procs import Relay, cli, stream_state, wait_for

from lowband.protocol.compress import pack_body
from lowband.protocol.submissions import State
from lowband.protocol.wire import decode_canonical, encode_canonical
from lowband.storage import submissions as queues
from lowband.storage.store import Store

pytestmark = pytest.mark.e2e
M = "pp26"


@dataclass
class Net:
    tmp: Path
    origin: Relay
    relay: Relay
    delegate: Path

    def publish(self, lines: list[str]) -> None:
        import subprocess
        import sys

        subprocess.run(
            [
                sys.executable,
                "-m",
                "lowband",
                "--home",
                str(self.tmp / "origin"),
                "publish",
                "caption",
                "--origin",
                self.origin.url,
                "--meeting",
                M,
                "--lang",
                "en",
            ],
            input="\n".join(lines) + "\n",
            text=True,
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    origin = Relay(tmp_path / "origin", "--origin", name="origin")
    relays = [origin]
    try:
        cli(
            tmp_path / "origin",
            "meeting",
            "create",
            "--id",
            M,
            "--title",
            "Council 2026",
            "--kind",
            "hybrid",
            "--remote-rights",
            "speak",
            "--start",
            "2026-12-01T09:00:00Z",
            "--end",
            "2026-12-01T12:00:00Z",
            "--languages",
            "en,zh",
        )
        relay = Relay(tmp_path / "relay", "--parent", origin.url, name="nairobi")
        relays.append(relay)
        delegate = tmp_path / "delegate"
        key = cli(delegate, "id", "init").stdout.split()[-1]
        cli(
            tmp_path / "origin",
            "roster",
            "add",
            "--meeting",
            M,
            "--key",
            key,
            "--name",
            "Amina",
            "--member-state",
            "Kenya",
            "--rights",
            "speak",
        )
        wait_for(
            lambda: stream_state(tmp_path / "relay", M, "roster") == (2, 2), what="relay mirror"
        )
        cli(delegate, "join", relay.url, "--meeting", M)
        yield Net(tmp_path, origin, relay, delegate)
    finally:
        for r in relays:
            r.stop()


def outbox_states(home: Path) -> list[State]:
    with Store(home / "store.sqlite") as store:
        return [i.state for i in queues.outbox(store, M)]


def origin_events(net: Net, stream: str) -> list[bytes]:
    with Store(net.tmp / "origin" / "store.sqlite") as store:
        no = store.stream_no(M, stream)
        return [] if no is None else [e[3] for e in store.events(M, no, 0, 100_000)]


def test_captions_arrive_through_the_relay_in_order_and_verified(net: Net) -> None:
    lines = [f"CHAIR: Line {i} of the session on remote participation." for i in range(30)]
    net.publish(lines)

    def synced() -> bool:
        cli(net.delegate, "sync", "--once")
        return stream_state(net.delegate, M, "transcript/en") == (30, 30)

    wait_for(synced, what="30 verified captions at the delegate")
    with Store(net.delegate / "store.sqlite") as store:
        no = store.stream_no(M, "transcript/en")
        assert no is not None
        texts = [e[3] for e in store.events(M, no, 0, 100)]
    assert [t.count(b"Line %d " % i) for i, t in enumerate(texts)] == [1] * 30


def test_floor_request_while_relay_down_is_delivered_exactly_once(net: Net) -> None:
    net.relay.stop()
    out = cli(net.delegate, "floor", "request", "--meeting", M, "--wait", "1").stdout
    assert "Queued floor_request" in out and "stays queued" in out
    assert outbox_states(net.delegate) == [State.QUEUED]
    net.relay.start()  # same port, same store
    wait_for(
        lambda: cli(net.delegate, "sync", "--once", check=False).returncode == 0, what="relay back"
    )
    wait_for(lambda: len(origin_events(net, "floor")) == 1, what="floor request at the origin")
    for _ in range(3):
        cli(net.delegate, "sync", "--once")
    assert len(origin_events(net, "floor")) == 1
    wait_for(
        lambda: (
            (cli(net.delegate, "sync", "--once"), outbox_states(net.delegate))[1]
            == [State.ACCEPTED]
        ),
        what="accepted at the delegate",
    )


def test_relay_killed_after_custody_loses_nothing(net: Net) -> None:
    net.origin.stop()  # the relay can take custody but not forward
    for i in range(5):
        out = cli(net.delegate, "say", f"Intervention {i}", "--meeting", M, "--wait", "10").stdout
        assert "in custody at nairobi" in out, out
    net.relay.kill()  # SIGKILL: no chance to flush anything
    net.relay.start()
    net.origin.start()
    wait_for(
        lambda: len(origin_events(net, "interventions")) == 5, timeout=60, what="5 interventions"
    )
    texts = sorted(e for e in origin_events(net, "interventions"))
    assert len(set(texts)) == 5


def test_event_altered_by_a_relay_is_detected_and_refused(net: Net) -> None:
    net.publish(["CHAIR: Kenya has the floor."])
    wait_for(
        lambda: (
            (cli(net.delegate, "sync", "--once"), stream_state(net.delegate, M, "transcript/en"))[1]
            == (1, 1)
        ),
        what="line 1",
    )
    net.publish(["CHAIR: Brazil has the floor."])
    wait_for(
        lambda: stream_state(net.tmp / "relay", M, "transcript/en") == (2, 2), what="relay has both"
    )
    net.relay.kill()
    # The relay's operator rewrites line 2 in its store, consistently: canonical bytes and the
    # packed form it serves. Only the origin's signature can tell.
    with Store(net.tmp / "relay" / "store.sqlite") as store:
        no = store.stream_no(M, "transcript/en")
        assert no is not None
        ts, kind, body = decode_canonical(store.events(M, no, 1, 1)[0][3])
        forged = body.replace(b"Brazil", b"Panama")
        codec, packed = pack_body(forged, store.history(M, no, 2))
        store.db.execute(
            "UPDATE events SET data=?, codec=?, packed=? WHERE no=? AND seq=2",
            (encode_canonical(ts, kind, forged), codec, packed, no),
        )
    net.relay.start()
    cli(net.delegate, "sync", "--once", check=False)
    head, verified = stream_state(net.delegate, M, "transcript/en")
    assert head == verified == 1  # the altered line was refused; the good one kept
    status = cli(net.delegate, "status").stdout
    assert "do not match the origin's signature" in status


def test_submission_from_a_key_not_on_the_roster_is_refused_clearly(net: Net) -> None:
    stranger = net.tmp / "stranger"
    cli(stranger, "id", "init")
    cli(stranger, "join", net.relay.url, "--meeting", M)
    out = cli(stranger, "floor", "request", "--meeting", M).stdout
    assert "rejected: Your key is not on the roster of meeting pp26." in out


def test_bad_input_gets_one_sentence(net: Net, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "store.sqlite").write_bytes(b"this is not a database" * 100)
    proc = cli(bad, "status", check=False)
    assert (
        proc.returncode == 1
        and proc.stderr.count("\n") == 1
        and "not a lowband store" in proc.stderr
    )
    proc = cli(
        tmp_path / "x", "relay", "--listen", f"127.0.0.1:{net.relay.port}", "--origin", check=False
    )
    assert (
        proc.returncode == 1 and "already in use" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = cli(tmp_path / "y", "join", net.relay.url, "--meeting", "nosuch", check=False)
    assert proc.returncode == 1 and "not known" in proc.stderr and "Traceback" not in proc.stderr


def test_chain_of_relays_carries_both_directions(net: Net) -> None:
    national = Relay(net.tmp / "national", "--parent", net.relay.url, name="kenya-national")
    try:
        delegate = net.tmp / "delegate2"
        key = cli(delegate, "id", "init").stdout.split()[-1]
        cli(
            net.tmp / "origin",
            "roster",
            "add",
            "--meeting",
            M,
            "--key",
            key,
            "--name",
            "Wanjiru",
            "--member-state",
            "Kenya",
            "--rights",
            "speak",
        )
        wait_for(lambda: stream_state(net.tmp / "national", M, "roster") == (3, 3), what="national")
        cli(delegate, "join", national.url, "--meeting", M)
        out = cli(delegate, "say", "Through two relays.", "--meeting", M, "--wait", "10").stdout
        assert "in custody at kenya-national" in out
        net.publish(["CHAIR: Thank you, Kenya."])

        def done() -> bool:
            cli(delegate, "sync", "--once")
            return outbox_states(delegate) == [State.ACCEPTED] and stream_state(
                delegate, M, "transcript/en"
            ) == (1, 1)

        wait_for(done, timeout=60, what="accepted and captioned through two relays")
    finally:
        national.stop()


def test_oversized_and_malformed_requests_get_one_sentence(net: Net) -> None:
    import httpx

    url = net.relay.url + "/v1/sync"
    resp = httpx.post(url, content=b"\x01" + b"\x00" * (3 << 20), trust_env=False)
    assert resp.status_code == 413 and "at most" in resp.text
    resp = httpx.post(url, content=b"\x01\xff\xfe", trust_env=False)
    assert resp.status_code == 400 and resp.text.startswith("The request is malformed")
    resp = httpx.post(url, content=b"\x07", trust_env=False)
    assert resp.status_code == 400 and "version 1" in resp.text
