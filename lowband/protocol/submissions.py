"""The outbox state machine: every transition of a submission lives in this table.

A submission moves only forward: queued locally, in custody at a named relay,
received by the origin, then accepted or rejected (with a reason). Inputs are
acknowledgements from the parent and outcome events from the origin. Pure: the
store keeps the state, this module decides the next one.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    QUEUED = "queued"
    CUSTODY = "custody"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Input(enum.StrEnum):
    ACK_CUSTODY = "ack_custody"
    ACK_RECEIVED = "ack_received"
    ACK_REFUSED = "ack_refused"
    ACK_DEFERRED = "ack_deferred"  # the relay will take it later: it stays queued
    ACCEPTED = "accepted"
    REJECTED = "rejected"


_S, _I = State, Input

# Rule: everything that changes an outbox state is in this table. Missing pairs keep the state.
TRANSITIONS: dict[tuple[State, Input], State] = {
    (_S.QUEUED, _I.ACK_CUSTODY): _S.CUSTODY,
    (_S.QUEUED, _I.ACK_RECEIVED): _S.RECEIVED,
    (_S.QUEUED, _I.ACK_REFUSED): _S.REJECTED,
    (_S.CUSTODY, _I.ACK_CUSTODY): _S.CUSTODY,
    (_S.CUSTODY, _I.ACK_RECEIVED): _S.RECEIVED,
    (_S.CUSTODY, _I.ACK_REFUSED): _S.REJECTED,
    **{(s, _I.ACCEPTED): _S.ACCEPTED for s in (_S.QUEUED, _S.CUSTODY, _S.RECEIVED)},
    **{(s, _I.REJECTED): _S.REJECTED for s in (_S.QUEUED, _S.CUSTODY, _S.RECEIVED)},
}

FINAL = frozenset({State.ACCEPTED, State.REJECTED})


def advance(state: State, event: Input) -> State:
    """The state after `event`; unknown pairs (late or repeated inputs) change nothing."""
    return TRANSITIONS.get((state, event), state)


def needs_sending(state: State) -> bool:
    """Only queued submissions travel; once a node holds one, it is that node's duty."""
    return state is State.QUEUED


def needs_asking(state: State) -> bool:
    """Submissions a relay holds, whose fate the client may ask about."""
    return state is State.CUSTODY


def describe(state: State, node: str, reason: str) -> str:
    """The state in the words the client shows."""
    match state:
        case State.QUEUED:
            if reason:
                return f"queued here; the relay asked to wait ({reason})"
            return "queued here; sent when the link allows"
        case State.CUSTODY:
            return f"in custody at {node}" if node else "in custody at the relay"
        case State.RECEIVED:
            return "received by the origin"
        case State.ACCEPTED:
            return "accepted"
        case State.REJECTED:
            return f"rejected: {reason}" if reason else "rejected"
