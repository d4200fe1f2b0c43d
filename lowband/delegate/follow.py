"""Following a meeting in plain text: sync in the background, print from the store.

Owns the loop behind `lowband follow` and `lowband sync`: an `Uplink` keeps
the store current while the printer reads only the store, so what is already
held shows at once, offline too, and nothing waits on the network. The link's
state is written to the store for `lowband status`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nacl.signing import SigningKey

from lowband.documents.inline import INLINE_LIMIT, InlineDocs
from lowband.http import make_client
from lowband.meeting.render import clock, line
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.model import Kind
from lowband.protocol.wire import decode_canonical
from lowband.storage import meta
from lowband.storage.store import Store


class Printer:
    """Prints each new event of the followed streams once, in order per stream."""

    def __init__(
        self,
        store: Store,
        meeting: str,
        prefixes: list[str],
        out: Callable[[str], None],
        verified_only: bool = False,
    ) -> None:
        self.store = store
        self.meeting = meeting
        self.prefixes = prefixes
        self.out = out
        self.verified_only = verified_only
        self.printed: dict[int, int] = {}
        info = store.meeting(meeting)
        self.epoch = info.epoch_ms if info else 0

    def flush(self) -> int:
        shown = 0
        for no, name, head, verified in self.store.streams(self.meeting):
            if not any(name.startswith(p) for p in self.prefixes):
                continue
            upto = verified if self.verified_only else head
            after = self.printed.get(no, 0)
            for seq, ts, kind, data in self.store.events(self.meeting, no, after, upto - after):
                text = line(name, seq, Kind(kind), decode_canonical(data)[2], clock(self.epoch, ts))
                if text:
                    self.out(text)
                    shown += 1
                self.printed[no] = seq
        return shown


def record_link(store: Store, meeting: str, uplink: Uplink) -> None:
    s = uplink.state
    record = meta.LinkRecord(s.online, s.last_error, time.time(), uplink.node.peer, s.rtt_s)
    meta.set_link_record(store, meeting, record)


async def follow(
    store: Store,
    meeting: str,
    node_name: str,
    lang: str,
    out: Callable[[str], None],
    verified_only: bool = False,
    stop: asyncio.Event | None = None,
    key: SigningKey | None = None,
) -> None:
    """Print what is stored, then keep syncing and printing until `stop` is set."""
    node = Node(
        store,
        meeting,
        Role.CLIENT,
        node_name,
        lang,
        key=key,
        inline_limit=INLINE_LIMIT,
        inline=InlineDocs(store, meeting, store.path.parent),
    )
    printer = Printer(store, meeting, node.wants(), out, verified_only)
    printer.flush()
    parent = store.parent(meeting)
    if not parent:
        out(f"Meeting {meeting} has no relay to sync from; showing what is stored.")
        return
    wake = asyncio.Event()
    async with make_client(verify=meta.relay_ca(store, meeting) or True) as client:
        uplink = Uplink(node, parent, client, on_change=wake.set)
        task = asyncio.create_task(uplink.run())
        online: bool | None = None
        try:
            while stop is None or not stop.is_set():
                wake.clear()
                printer.flush()
                if uplink.state.online != online:
                    online = uplink.state.online
                    record_link(store, meeting, uplink)
                    if not online and uplink.state.last_error:
                        out(f"Offline: {uplink.state.last_error} Showing stored lines; retrying.")
                    elif online:
                        out(f"Online through {node.peer or parent}.")
                for reason in node.refused:
                    out(f"WARNING: {reason}")
                node.refused.clear()
                try:
                    await asyncio.wait_for(wake.wait(), 1.0)
                except TimeoutError:
                    pass
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            record_link(store, meeting, uplink)
