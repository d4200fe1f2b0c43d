"""Relay admission: tokens, barred keys, rate limits, quotas and a full disk."""

from __future__ import annotations

from pathlib import Path

import msgspec
from conftest import MEETING, World, now_ms
from nacl.signing import SigningKey

from lowband.delegate.outbox import submit
from lowband.protocol.crypto import check_auth, sign_auth
from lowband.protocol.model import SubKind, SubmissionText
from lowband.protocol.wire import AckState, encode_body
from lowband.relay import custody
from lowband.relay.limits import Bucket, Limits
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def test_bucket_refills_at_its_rate() -> None:
    b = Bucket(rate=0.5, burst=2)
    assert b.take(0) == 0 and b.take(0) == 0
    assert b.take(0) == 2.0  # empty: one token every two seconds
    assert b.take(1.0) == 1.0
    assert b.take(2.0) == 0


def test_tokens_expire_and_bind_their_meeting_and_their_audience() -> None:
    key = SigningKey.generate()
    auth = sign_auth(key, "pp26", "d1", 1_000_000, "nairobi")
    assert check_auth("pp26", "d1", auth, 1_000_000) == ""
    assert "expired" in check_auth("pp26", "d1", auth, auth.expires_ms + 1)
    assert "does not verify" in check_auth("other", "d1", auth, 1_000_000)
    # The audience is signed: a relay cannot relabel a token made out to another.
    relabelled = msgspec.structs.replace(auth, audience="dakar")
    assert "does not verify" in check_auth("pp26", "d1", relabelled, 1_000_000)


def test_admission_bars_keys_and_strangers() -> None:
    barred, stranger, relay = (bytes([i]) * 32 for i in (1, 2, 3))
    limits = Limits(barred={barred}, relays={relay})
    assert "barred" in limits.admit(barred, on_roster=True)
    assert "not on this meeting's roster" in limits.admit(stranger, on_roster=False)
    assert limits.admit(relay, on_roster=False) == ""


def test_a_burst_is_deferred_not_lost(world: World, tmp_path: Path) -> None:
    relay = Store(tmp_path / "relay.sqlite")
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    relay.add_meeting(info, "http://127.0.0.1:9")
    for entry in world.origin_store.roster(MEETING):
        relay.apply_roster(MEETING, entry)
    limits = Limits(per_key_per_min=6)
    states = []
    for i in range(14):
        sub = submit(
            relay,
            world.delegate_key,
            MEETING,
            SubKind.CHAT,
            encode_body(SubmissionText(f"message {i}")),
        )
        states.append(custody.take(relay, sub, "nairobi", "d1", 1_000_000, limits, "10.0.0.1"))
    assert [a.state for a in states].count(AckState.CUSTODY) == 10  # the burst
    deferred = [a for a in states if a.state == AckState.DEFERRED]
    assert len(deferred) == 4 and "Too many submissions" in deferred[0].reason
    assert queues.custody_held_by(relay, MEETING, bytes(world.delegate_key.verify_key)) == 10
    relay.close()


def test_full_disk_defers_and_keeps_serving(world: World, tmp_path: Path) -> None:
    relay = Store(tmp_path / "relay.sqlite")
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    relay.add_meeting(info, "http://127.0.0.1:9")
    for entry in world.origin_store.roster(MEETING):
        relay.apply_roster(MEETING, entry)
    pages = relay.one("PRAGMA page_count")
    assert pages is not None
    relay.db.execute(f"PRAGMA max_page_count={pages[0]}")  # the disk is now full
    big = encode_body(SubmissionText("x" * 12000))
    acks = [
        custody.take(relay, submit_unstored(world, big), "nairobi", "d1", now_ms())
        for _ in range(3)
    ]
    assert all(a.state == AckState.DEFERRED for a in acks)
    assert "cannot store anything more" in acks[0].reason
    assert relay.meeting(MEETING) == info  # still readable, still consistent
    assert relay.q("SELECT COUNT(*) FROM custody") == [(0,)]
    relay.close()


def submit_unstored(world: World, body: bytes):  # type: ignore[no-untyped-def]
    """A signed submission made on another device (not queued in this store)."""
    import os

    from lowband.protocol.crypto import sign_submission
    from lowband.protocol.model import Submission

    sub = Submission(os.urandom(16), MEETING, bytes(32), SubKind.CHAT, body, now_ms(), bytes(64))
    return sign_submission(world.delegate_key, sub)
