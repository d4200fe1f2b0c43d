"""Hash chains, checkpoints and submissions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from lowband.protocol.crypto import (
    chain_genesis,
    chain_next,
    sign_checkpoint,
    sign_submission,
    verify_checkpoint,
    verify_submission,
)
from lowband.protocol.model import SubKind, Submission

KEY = SigningKey(b"k" * 32)


def head(meeting: str, stream: str, events: list[bytes]) -> bytes:
    h = chain_genesis(meeting, stream)
    for seq, e in enumerate(events, start=1):
        h = chain_next(h, seq, e)
    return h


@given(st.lists(st.binary(max_size=50), min_size=1, max_size=10), st.data())
def test_any_change_to_a_chain_breaks_its_checkpoint(
    events: list[bytes], data: st.DataObject
) -> None:
    cp = sign_checkpoint(
        KEY, "m", "transcript/en", len(events), head("m", "transcript/en", events), 1
    )
    pub = bytes(KEY.verify_key)
    assert verify_checkpoint(pub, "m", cp, head("m", "transcript/en", events))
    i = data.draw(st.integers(0, len(events) - 1))
    altered = list(events)
    altered[i] = altered[i] + b"!"
    assert not verify_checkpoint(pub, "m", cp, head("m", "transcript/en", altered))
    swapped = list(reversed(events))
    if swapped != events:
        assert not verify_checkpoint(pub, "m", cp, head("m", "transcript/en", swapped))
    assert not verify_checkpoint(pub, "m", cp, head("m", "transcript/fr", events))


def test_submission_signature_covers_every_field() -> None:
    sub = sign_submission(
        KEY, Submission(b"i" * 16, "m", bytes(32), SubKind.CHAT, b"hi", 5, bytes(64))
    )
    assert verify_submission(sub)
    import msgspec

    for change in (
        {"body": b"ho"},
        {"meeting": "n"},
        {"kind": SubKind.INTERVENTION},
        {"created_ms": 6},
    ):
        assert not verify_submission(msgspec.structs.replace(sub, **change))
    other = bytes(SigningKey(b"o" * 32).verify_key)
    assert not verify_submission(msgspec.structs.replace(sub, author=other))
