"""The outbox state table: forward only, final states final."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lowband.protocol.submissions import FINAL, Input, State, advance, describe

ORDER = [State.QUEUED, State.CUSTODY, State.RECEIVED, State.ACCEPTED]


def test_happy_path() -> None:
    s = State.QUEUED
    for event, expected in [
        (Input.ACK_CUSTODY, State.CUSTODY),
        (Input.ACK_CUSTODY, State.CUSTODY),
        (Input.ACK_RECEIVED, State.RECEIVED),
        (Input.ACCEPTED, State.ACCEPTED),
        (Input.ACK_CUSTODY, State.ACCEPTED),
    ]:
        s = advance(s, event)
        assert s is expected


def test_refusal_and_rejection_are_final() -> None:
    assert advance(State.QUEUED, Input.ACK_REFUSED) is State.REJECTED
    assert advance(State.REJECTED, Input.ACCEPTED) is State.REJECTED
    assert describe(State.REJECTED, "", "not on the roster") == "rejected: not on the roster"
    assert describe(State.CUSTODY, "nairobi", "") == "in custody at nairobi"


@given(st.lists(st.sampled_from(list(Input)), max_size=12))
def test_never_moves_backward(events: list[Input]) -> None:
    s = State.QUEUED
    for e in events:
        new = advance(s, e)
        if s in FINAL:
            assert new is s
        elif new not in FINAL:
            assert ORDER.index(new) >= ORDER.index(s)
        s = new
