"""Participation statistics and the relay's live metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from conftest import MEETING, World, now_ms
from nacl.signing import SigningKey

from lowband.delegate import submit
from lowband.model import ChairAction, ChairVerb, Rights, SubKind, SubmissionText
from lowband.relay.app import Settings, create_app
from lowband.stats import meeting_stats, render
from lowband.store import Store
from lowband.wire import SyncRequest, Want, encode_body, encode_request


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
