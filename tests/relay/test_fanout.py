"""The relay's fan-out: catch-up on a task per exchange, the live edge in one pass to the parked.

No sockets and no HTTP: each exchange writes to a `Wire`, an ASGI send that records what it is
given and can be stalled the way uvicorn's send waits while a connection's write buffer is
full. The origin's store is served directly (as `tests/exchange_support.py` does), and the
hub is told the meeting moved after each append, as the relay's writers do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from conftest import MEETING, World
from exchange_support import publish_captions
from starlette.types import Message

from lowband.protocol.compress import unpack_batch, unpack_body
from lowband.protocol.model import CaptionLine
from lowband.protocol.serve import Follower
from lowband.protocol.wire import (
    VERSION,
    Batch,
    End,
    EventFrame,
    FrameReader,
    Hello,
    SyncRequest,
    Want,
    decode_body,
    decode_canonical,
    encode_frame,
)
from lowband.relay.exchange import Exchange, ExchangeResponse
from lowband.relay.fanout import Fanout
from lowband.relay.hub import Hub
from lowband.relay.source import Views

CAPTIONS = "transcript/en"
HEAD = encode_frame(Hello(VERSION, "relay", 0))
TURNS = 200  # loop turns a condition may take to come true: bounded, never wall-clock


class Wire:
    """One connection's ASGI send. `given` is every message handed to it; `written` only those
    whose send completed. `stall()` makes sends wait, as a full TCP write buffer does, until
    `drain()`."""

    def __init__(self) -> None:
        self._writable = asyncio.Event()
        self._writable.set()
        self.given: list[Message] = []
        self.written: list[Message] = []

    async def send(self, message: Message) -> None:
        self.given.append(message)
        await self._writable.wait()
        self.written.append(message)

    def stall(self) -> None:
        self._writable.clear()

    def drain(self) -> None:
        self._writable.set()

    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.written if m["type"] == "http.response.body"]

    def data(self) -> bytes:
        """What reached the follower after the head."""
        bodies = self.bodies()
        assert bodies and bodies[0] == HEAD
        return b"".join(bodies[1:])


@dataclass
class Relay:
    world: World
    hub: Hub
    views: Views
    fanout: Fanout
    published: int = 0
    opened: list[Exchange] = field(default_factory=list)

    def publish(self, n: int = 1, notify: bool = True) -> None:
        """Append `n` captions at the origin and, unless told not to, tell the hub."""
        publish_captions(self.world, n, start=self.published)
        self.published += n
        if notify:
            self.hub.notify(MEETING)

    def captions_no(self) -> int:
        no = self.world.origin_store.stream_no(MEETING, CAPTIONS)
        assert no is not None
        return no

    def request(self, cursor: int | None = None, live: bool = True, budget: int = 0) -> SyncRequest:
        """A request for the captions alone, from `cursor` (default: the head, caught up)."""
        at = self.published if cursor is None else cursor
        return SyncRequest(
            MEETING,
            "follower",
            [Want(CAPTIONS, at, at)],
            known_streams=self.captions_no(),
            live=live,
            budget=budget,
        )

    def exchange(self, req: SyncRequest, wire: Wire) -> Exchange:
        ex = Exchange(req.meeting, req.live, Follower(req, asyncio.get_running_loop().time()))
        ex.send = wire.send
        self.opened.append(ex)
        return ex

    def follow(self, req: SyncRequest, wire: Wire) -> Exchange:
        ex = self.exchange(req, wire)
        self.fanout.open(ex, HEAD)
        return ex


@pytest.fixture
async def relay(world: World) -> AsyncIterator[Relay]:
    hub = Hub()
    views = Views(world.origin_store)
    r = Relay(world, hub, views, Fanout(hub, views))
    r.publish(notify=False)  # the captions stream exists before anyone follows it
    yield r
    tasks = [ex.task for ex in r.opened if ex.task is not None]
    for ex in r.opened:
        r.fanout.close(ex)
    for task in tasks:
        task.cancel()  # close() does this; here, in case it did not
    await asyncio.gather(*tasks, return_exceptions=True)


async def until(cond: Callable[[], bool], what: str) -> None:
    """Let the loop run until `cond()` holds, for at most TURNS turns."""
    for _ in range(TURNS):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def turns(n: int = 20) -> None:
    """Let the loop run `n` turns, so that whatever is going to happen next has happened."""
    for _ in range(n):
        await asyncio.sleep(0)


def parked(ex: Exchange) -> bool:
    """An opened exchange that has caught up has no task of its own: it waits in the fan-out."""
    return ex.task is None


def decode(world: World, data: bytes, cursor: int) -> tuple[list[type], list[tuple[int, bytes]]]:
    """The frame types of a response, and the (seq, body) of each caption event it carries,
    decoded as a receiver would: an event's seq is implied by the cursor it follows."""
    store = world.origin_store
    kinds: list[type] = []
    events: list[tuple[int, bytes]] = []
    for frame in FrameReader().feed(data):
        kinds.append(type(frame))
        if isinstance(frame, EventFrame):
            cursor += 1
            body = unpack_body(frame.codec, frame.data, store.history(MEETING, frame.no, cursor))
            events.append((cursor, body))
        elif isinstance(frame, Batch):
            assert frame.first == cursor + 1, "a batch must start right after the cursor"
            history = store.history(MEETING, frame.no, frame.first)
            items = unpack_batch(frame.codec, frame.data, history, frame.count)
            events += [(frame.first + i, b) for i, (_, _, b) in enumerate(items)]
            cursor += frame.count
    return kinds, events


def origin_events(relay: Relay, first: int, last: int) -> list[tuple[int, bytes]]:
    """(seq, body) of caption events `first..last` as the origin holds them."""
    rows = relay.world.origin_store.events(
        MEETING, relay.captions_no(), first - 1, last - first + 1
    )
    assert [row[0] for row in rows] == list(range(first, last + 1)), "not at the origin"
    return [(seq, decode_canonical(canonical)[2]) for seq, _, _, canonical in rows]


async def test_the_live_edge_goes_to_every_parked_follower_in_one_pass(relay: Relay) -> None:
    wires = [Wire() for _ in range(3)]
    exchanges = [relay.follow(relay.request(), w) for w in wires]
    await until(lambda: all(map(parked, exchanges)), "the caught-up followers park")
    assert [w.bodies() for w in wires] == [[HEAD]] * 3  # caught up: nothing but the head

    relay.publish()
    assert [len(w.written) for w in wires] == [1, 1, 1]  # the hub's observer never writes itself
    await until(lambda: all(len(w.written) == 2 for w in wires), "every follower gets event 2")

    live = [w.written[1] for w in wires]
    assert all(m["more_body"] for m in live)  # a live exchange stays open
    kinds, events = decode(relay.world, wires[0].data(), 1)
    assert kinds == [EventFrame]
    assert events == origin_events(relay, 2, 2)
    assert decode_body(events[0][1], CaptionLine).text.startswith("Line 1:")
    # Encoded once, sent many times: the followers at one cursor get one and the same bytes.
    assert all(m["body"] is live[0]["body"] for m in live)
    assert all(map(parked, exchanges))  # written straight to the connections, with no task


async def test_moves_in_one_loop_turn_are_served_by_one_pass(relay: Relay) -> None:
    wires = [Wire() for _ in range(2)]
    exchanges = [relay.follow(relay.request(), w) for w in wires]
    await until(lambda: all(map(parked, exchanges)), "the caught-up followers park")

    relay.publish()
    relay.publish(2)
    await until(lambda: all(len(w.written) > 1 for w in wires), "the followers are written")
    await turns()
    for w in wires:
        assert len(w.given) == 2  # the head, then one write for three events
        kinds, events = decode(relay.world, w.data(), 1)
        assert kinds == [Batch]
        assert events == origin_events(relay, 2, 4)


async def test_a_stalled_follower_holds_up_nobody_and_loses_nothing(relay: Relay) -> None:
    slow, fast = Wire(), Wire()
    slow_ex, fast_ex = relay.follow(relay.request(), slow), relay.follow(relay.request(), fast)
    await until(lambda: parked(slow_ex) and parked(fast_ex), "both followers park")

    slow.stall()
    relay.publish()
    await until(lambda: len(fast.written) == 2, "the fast follower gets event 2")
    assert len(slow.given) == 2 and len(slow.written) == 1  # event 2 waits on the full buffer
    assert not parked(slow_ex)  # it finishes that write on a task of its own

    relay.publish()
    await until(lambda: len(fast.written) == 3, "the fast follower gets event 3")
    await turns()
    assert len(slow.given) == 2 and len(slow.written) == 1  # still waiting, nothing more queued

    slow.drain()
    await until(lambda: parked(slow_ex), "the slow follower catches up and parks again")
    assert slow.data() == fast.data()  # the same bytes, none lost, none twice
    kinds, events = decode(relay.world, slow.data(), 1)
    assert kinds == [EventFrame, EventFrame]
    assert events == origin_events(relay, 2, 3)

    relay.publish()  # parked again, both are served by the same pass
    await until(lambda: len(slow.written) == len(fast.written) == 4, "both get event 4")
    assert slow.bodies()[-1] is fast.bodies()[-1]
    assert parked(slow_ex) and parked(fast_ex)
    assert decode(relay.world, slow.data(), 1)[1] == origin_events(relay, 2, 4)


async def test_a_follower_behind_catches_up_first_then_parks_for_the_live_edge(
    relay: Relay,
) -> None:
    relay.publish(39)  # 40 captions at the origin
    ahead, behind = Wire(), Wire()
    ahead_ex = relay.follow(relay.request(), ahead)
    await until(lambda: parked(ahead_ex), "the caught-up follower parks")
    behind.stall()  # its connection takes nothing yet: the catch-up task waits on the head
    behind_ex = relay.follow(relay.request(cursor=0), behind)
    await turns()
    assert (
        behind.given == [{"type": "http.response.body", "body": HEAD, "more_body": True}]
        and not behind.written
    )

    relay.publish(2)  # the live edge moves while the follower is still behind
    await until(lambda: len(ahead.written) == 2, "the parked follower gets events 41-42")
    await turns()
    assert len(behind.given) == 1  # not parked: the live pass passes it by

    behind.drain()
    await until(lambda: parked(behind_ex), "the follower behind catches up and parks")
    kinds, events = decode(relay.world, behind.data(), 0)
    assert set(kinds) == {Batch}  # catch-up comes in batches
    assert events == origin_events(relay, 1, 42)

    relay.publish()
    await until(lambda: behind.data().endswith(ahead.bodies()[-1]), "the live edge reaches it")
    kinds, events = decode(relay.world, behind.data(), 0)
    assert kinds[-1] is EventFrame and set(kinds[:-1]) == {Batch}
    assert events == origin_events(relay, 1, 43)  # catch-up, then live: in order, each once
    assert parked(behind_ex)


async def test_a_closed_exchange_is_not_written_again(relay: Relay) -> None:
    gone, stays = Wire(), Wire()
    gone_ex, stays_ex = relay.follow(relay.request(), gone), relay.follow(relay.request(), stays)
    await until(lambda: parked(gone_ex) and parked(stays_ex), "both followers park")

    relay.fanout.close(gone_ex)
    relay.publish()
    await until(lambda: len(stays.written) == 2, "the one still here gets event 2")
    await turns()
    assert gone.given == gone.written and gone.bodies() == [HEAD]


async def test_an_exchange_closed_while_its_write_waits_gets_nothing_more(relay: Relay) -> None:
    gone, stays = Wire(), Wire()
    gone_ex, stays_ex = relay.follow(relay.request(), gone), relay.follow(relay.request(), stays)
    await until(lambda: parked(gone_ex) and parked(stays_ex), "both followers park")

    gone.stall()
    relay.publish()
    await until(lambda: gone_ex.task is not None and len(stays.written) == 2, "event 2 goes out")
    task = gone_ex.task
    assert task is not None and len(gone.given) == 2
    relay.fanout.close(gone_ex)
    await until(task.done, "closing ends the task that waits on the write")
    assert task.cancelled() and gone_ex.task is None

    gone.drain()  # the buffer empties after the follower left: the abandoned write stays unsent
    relay.publish()
    await until(lambda: len(stays.written) == 3, "the one still here gets event 3")
    await turns()
    assert gone.bodies() == [HEAD] and len(gone.given) == 2


async def test_a_disconnected_response_leaves_the_fan_out(relay: Relay) -> None:
    wire, left, closed = Wire(), asyncio.Event(), asyncio.Event()

    async def receive() -> Message:
        await left.wait()
        return {"type": "http.disconnect"}

    ex = relay.exchange(relay.request(), wire)
    response = ExchangeResponse(relay.fanout, ex, HEAD, closed.set)
    task = asyncio.get_running_loop().create_task(response({"type": "http"}, receive, wire.send))
    await until(lambda: len(wire.written) == 2 and parked(ex), "the response starts and parks")
    assert wire.written[0]["type"] == "http.response.start" and wire.bodies() == [HEAD]

    relay.publish()
    await until(lambda: len(wire.written) == 3, "the live edge reaches it")
    left.set()
    await task
    assert closed.is_set()
    given = len(wire.given)
    relay.publish()
    await turns()
    assert len(wire.given) == given


async def test_a_response_that_ends_on_the_live_edge_is_dropped(relay: Relay) -> None:
    spent, other = Wire(), Wire()
    spent_ex = relay.follow(relay.request(budget=1), spent)  # the first event spends it
    other_ex = relay.follow(relay.request(), other)
    await until(lambda: parked(spent_ex) and parked(other_ex), "both followers park")

    relay.publish()
    await until(lambda: len(spent.written) == 2, "the last write goes out")
    last = spent.written[-1]
    assert last["more_body"] is False
    kinds, events = decode(relay.world, spent.data(), 1)
    assert kinds == [EventFrame, End] and events == origin_events(relay, 2, 2)

    relay.publish()
    await until(lambda: len(other.written) == 3, "the other follower goes on")
    await turns()
    assert len(spent.given) == 2


async def test_a_one_off_exchange_ends_once_caught_up_and_never_parks(relay: Relay) -> None:
    once, live = Wire(), Wire()
    once_ex = relay.follow(relay.request(cursor=0, live=False), once)
    live_ex = relay.follow(relay.request(), live)
    await until(lambda: once_ex.task is not None and once_ex.task.done(), "the response ends")
    assert once.written[-1]["more_body"] is False
    assert decode(relay.world, once.data(), 0)[1] == origin_events(relay, 1, 1)
    await until(lambda: parked(live_ex), "the live follower parks")

    relay.publish()
    await until(lambda: len(live.written) == 2, "the live follower gets event 2")
    await turns()
    assert once.given == once.written and len(once.given) == 2


class BrokenWire(Wire):
    """A connection whose send fails (a server that raises on a reset connection): a poison
    follower."""

    broken = False

    async def send(self, message: Message) -> None:
        if self.broken:
            raise ConnectionResetError("the follower's connection was reset")
        await super().send(message)


async def test_a_follower_whose_send_fails_is_dropped_and_holds_up_nobody(relay: Relay) -> None:
    bad, good = BrokenWire(), Wire()
    exchanges = [relay.follow(relay.request(), w) for w in (bad, good)]
    await until(lambda: all(map(parked, exchanges)), "both followers park")
    bad.broken = True
    relay.publish()
    await until(lambda: len(good.written) == 2, "the good follower gets the live event")
    relay.publish()
    await until(lambda: len(good.written) == 3, "and the next, with the failed one gone")
    assert len(bad.written) == 1  # only its head
    assert exchanges[0] not in relay.fanout._parked.get(MEETING, {})
