"""Participation statistics and the relay's live metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import MEETING, World, now_ms
from nacl.signing import SigningKey

from lowband.delegate.outbox import submit
from lowband.http import LinkError
from lowband.modes.ladder import Mode
from lowband.modes.modetime import ModeTime
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.crypto import sign_auth
from lowband.protocol.model import ChairAction, ChairVerb, Rights, SubKind, SubmissionText
from lowband.protocol.wire import SyncRequest, Want, encode_body, encode_request
from lowband.relay.app import Settings, create_app
from lowband.relay.stats import meeting_stats, render
from lowband.storage.store import Store


def table(rows: list[tuple[str, str, object]]) -> dict[tuple[str, str], object]:
    return {(s, i): v for s, i, v in rows}


def test_stats_count_participants_submissions_and_floor_waits(world: World, tmp_path: Path) -> None:
    outbox = Store(tmp_path / "outbox.sqlite")
    chair = SigningKey.generate()
    world.add_delegate(chair, Rights.CHAIR, "Chair")
    request = submit(outbox, world.delegate_key, MEETING, SubKind.FLOOR_REQUEST, b"")
    world.origin.accept(request, now_ms())
    say = submit(
        outbox,
        world.delegate_key,
        MEETING,
        SubKind.INTERVENTION,
        encode_body(SubmissionText("Kenya supports the text.")),
    )
    world.origin.accept(say, now_ms())
    grant = submit(
        outbox,
        chair,
        MEETING,
        SubKind.CHAIR,
        encode_body(ChairAction(ChairVerb.GRANT, ref=request.sub_id)),
    )
    world.origin.accept(grant, now_ms() + 5000)
    again = submit(outbox, world.delegate_key, MEETING, SubKind.FLOOR_WITHDRAW, b"")
    world.origin.accept(again, now_ms())  # not in the queue any more: rejected
    stats = table(meeting_stats(world.origin_store, MEETING))
    assert stats[("remote participants", "Kenya")] == 1
    assert stats[("submissions", "intervention")] == 1
    assert stats[("submissions", "rejected by the origin")] == 1
    assert stats[("floor", "remote: granted")] == 1
    assert stats[("decided at the origin", "accepted")] == 3
    assert stats[("decided at the origin", "rejected")] == 1
    doc = json.loads(render(meeting_stats(world.origin_store, MEETING), "json"))
    assert doc["floor"]["in the room: granted"] == 0
    csv = render(meeting_stats(world.origin_store, MEETING), "csv").splitlines()
    assert csv[0] == "section,item,value" and "submissions,intervention,1" in csv
    outbox.close()


async def test_metrics_count_exchanges_and_bytes(world: World) -> None:
    app = create_app(world.origin_store, Settings(name="origin", origin_key=world.origin_key))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
        req = SyncRequest(MEETING, "d1", [Want("notice", 0), Want("roster", 0)])
        resp = await client.post("/v1/sync", content=encode_request(req))
        assert resp.status_code == 200
        text = (await client.get("/metrics")).text
    assert 'lowband_exchanges_total{live="false"} 1.0' in text
    served = [ln for ln in text.splitlines() if ln.startswith("lowband_bytes_served_total")]
    assert served and float(served[0].split()[-1]) > 100


async def test_time_in_each_mode_reported_by_clients_is_summed_per_member(world: World) -> None:
    app = create_app(world.origin_store, Settings(name="origin", origin_key=world.origin_key))
    amina = sign_auth(world.delegate_key, MEETING, "d1", now_ms())
    reports = [
        SyncRequest(MEETING, "d1", [], auth=amina, mode_s=[60, 600, 1800, 0, 0]),
        SyncRequest(MEETING, "d1", [], auth=amina, mode_s=[0, 0, 1800]),
        SyncRequest(MEETING, "laptop", [], mode_s=[0, 3600]),  # no token: named by its node
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as c:
        for req in reports:
            assert (await c.post("/v1/sync", content=encode_request(req))).status_code == 200
        text = (await c.get("/metrics")).text
    assert 'lowband_mode_seconds_total{mode="voice"} 3600.0' in text
    app.state.relay.metrics.save()
    rows = meeting_stats(world.origin_store, MEETING)
    stats = table(rows)
    assert stats[("hours in each mode", "voice")] == 1.0
    assert stats[("hours in each mode", "text")] == round(4200 / 3600, 2)
    assert stats[("hours in each mode", "full")] == 0
    by_member = {i: v for s, i, v in rows if s == "hours in each mode by member"}
    assert [v for i, v in by_member.items() if i.startswith("Amina (Kenya)")] == [0.02, 0.17, 1.0]
    assert any(i.startswith("laptop ") and i.endswith(" text") for i in by_member)
    doc = json.loads(render(rows, "json"))
    assert doc["hours in each mode"]["voice"] == 1.0
    assert "hours in each mode,offline,0.02" in render(rows, "csv").splitlines()


async def test_mode_seconds_go_again_when_a_request_was_not_delivered(
    client_store: Store,
) -> None:
    modes = ModeTime()
    node = Node(client_store, MEETING, Role.CLIENT, "d1", modes=modes)
    modes.add(Mode.OFFLINE, 90.5)
    modes.add(Mode.VOICE, 30)

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="The store is busy.")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(LinkError, match="busy"):
            await Uplink(node, "http://relay", client).exchange(live=False)
    assert node.request(live=False).mode_s == [90, 0, 30, 0, 0]  # kept, fractions too
    modes.add(Mode.OFFLINE, 0.5)
    assert modes.take() == [1, 0, 0, 0, 0]
