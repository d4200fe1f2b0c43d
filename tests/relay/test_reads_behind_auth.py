"""Behind --require-auth every read of meeting content needs a roster key's token: closed
history, the meeting's description, the directory of meetings; metrics stay on the machine,
and health says when the node is degraded."""

from __future__ import annotations

import httpx
import pytest
from conftest import MEETING, World, now_ms
from exchange_support import publish_captions
from nacl.signing import SigningKey

from lowband.protocol import compress
from lowband.protocol.crypto import request_token
from lowband.protocol.wire import AUTH_HEADER, history_path
from lowband.relay.app import Settings, create_app
from lowband.relay.limits import Limits

RELAY = "http://relay.test"


def relay_client(world: World, child: SigningKey, address: str = "10.1.2.3") -> httpx.AsyncClient:
    settings = Settings(
        name="origin",
        origin_key=world.origin_key,
        require_auth=True,
        limits=Limits(relays={bytes(child.verify_key)}),
    )
    app = create_app(world.origin_store, settings)
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url=RELAY)


def token(key: SigningKey, meeting: str = MEETING, audience: str = "origin") -> dict[str, str]:
    return {AUTH_HEADER: request_token(key, meeting, "d1", now_ms(), audience)}


async def test_closed_history_needs_a_roster_token_and_is_not_for_shared_caches(
    world: World,
) -> None:
    publish_captions(world, 300)  # block 0 of the transcript is closed
    no = world.origin_store.stream_no(MEETING, "transcript/en")
    assert no is not None
    block = history_path(MEETING, no, 0)
    stranger = SigningKey.generate()
    async with relay_client(world, SigningKey.generate()) as client:
        bare = await client.get(block)
        assert bare.status_code == 401 and "history only to signed requests" in bare.text
        assert (await client.get(block, headers=token(stranger))).status_code == 403
        other = await client.get(block, headers=token(world.delegate_key, "another"))
        assert other.status_code == 403
        ok = await client.get(block, headers=token(world.delegate_key))
        assert ok.status_code == 200 and len(ok.content) > 100  # 256 events, compressed
        assert ok.headers["cache-control"].startswith("private")


async def test_the_meeting_and_the_directory_need_tokens_too(world: World) -> None:
    child = SigningKey.generate()
    async with relay_client(world, child) as client:
        assert (await client.get(f"/v1/meetings/{MEETING}")).status_code == 401
        one = await client.get(f"/v1/meetings/{MEETING}", headers=token(world.delegate_key))
        assert one.status_code == 200
        assert (await client.get("/v1/meetings")).status_code == 401
        # A delegate may read its meeting, but only a child relay lists every meeting here.
        assert (
            await client.get("/v1/meetings", headers=token(world.delegate_key, ""))
        ).status_code == 403
        assert (await client.get("/v1/meetings", headers=token(child, ""))).status_code == 200


async def test_metrics_are_served_only_to_this_machine(world: World) -> None:
    async with relay_client(world, SigningKey.generate()) as client:
        far = await client.get("/metrics")
        assert far.status_code == 403 and "only to this machine" in far.text
    async with relay_client(world, SigningKey.generate(), "127.0.0.1") as client:
        near = await client.get("/metrics")
        assert near.status_code == 200 and "lowband_" in near.text


async def test_health_says_when_the_node_is_degraded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with relay_client(world, SigningKey.generate()) as client:
        assert (await client.get("/v1/health")).status_code == 200
        # As after QUARANTINE_MAX crafted payloads (decoded for real in tests/protocol).
        monkeypatch.setattr(compress._quarantine, "held", compress.QUARANTINE_MAX)
        sick = await client.get("/v1/health")
    assert sick.status_code == 503 and "degraded" in sick.text and "another relay" in sick.text


async def test_a_token_made_out_to_another_relay_is_refused(world: World) -> None:
    """One relay cannot replay a delegate's token to another: each takes only its own."""
    publish_captions(world, 300)
    no = world.origin_store.stream_no(MEETING, "transcript/en")
    assert no is not None
    block = history_path(MEETING, no, 0)
    async with relay_client(world, SigningKey.generate()) as client:
        replayed = await client.get(block, headers=token(world.delegate_key, audience="nairobi"))
        assert replayed.status_code == 403 and "is for nairobi, not origin" in replayed.text
        assert replayed.headers["x-lowband-relay"] == "origin"  # the audience to use instead
        unnamed = await client.get(block, headers=token(world.delegate_key, audience=""))
        assert unnamed.status_code == 403
        # A first contact, which learns the relay's name, may come without one.
        first = await client.get(
            f"/v1/meetings/{MEETING}", headers=token(world.delegate_key, audience="")
        )
        assert first.status_code == 200 and first.headers["x-lowband-relay"] == "origin"
