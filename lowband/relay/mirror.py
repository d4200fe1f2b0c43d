"""A relay mirrors its parent: one uplink per meeting, and only the audio its children follow.

Owns discovering the parent's meetings (never letting a parent swap a meeting's origin key),
keeping one `Uplink` per meeting, and telling each uplink which audio layers the open
exchanges follow, so that a relay pulls from its parent exactly those.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import msgspec

from lowband import http
from lowband.http import LinkError
from lowband.node.node import Node, Role
from lowband.node.uplink import Uplink
from lowband.protocol.crypto import request_token
from lowband.protocol.model import MeetingInfo
from lowband.protocol.wire import AUTH_HEADER, DECODE_ERRORS, RELAY_HEADER, SyncRequest
from lowband.relay.state import RelayState, now_ms
from lowband.storage import meta

DISCOVER_S = 30.0
AUDIO_GRACE_S = 30.0


def audio_wanted(req: SyncRequest) -> set[str]:
    """The audio streams (channel and layer) a follower asks for."""
    named = [w.stream for w in req.wants] + list(req.prefixes)
    return {n for n in named if n.startswith("audio/") and n.count("/") >= 2}


def follow_audio(state: RelayState, meeting: str) -> None:
    """Pull from the parent exactly the audio layers that open exchanges follow."""
    uplink = state.uplinks.get(meeting)
    if uplink is None:
        return
    wanted = {s for s, n in state.audio_interest.get(meeting, Counter()).items() if n > 0}
    if wanted != uplink.node.audio:
        uplink.node.audio = wanted
        uplink.restart()


async def discover(state: RelayState, client: http.Client) -> None:
    """Learn the parent's meetings and keep one uplink per meeting."""
    assert state.settings.parent
    parent = state.settings.parent.rstrip("/")
    for info in state.store.meetings():
        start_uplink(state, client, info)
    while True:
        try:
            key, name = state.settings.key, state.settings.name
            token = {AUTH_HEADER: request_token(key, "", name, now_ms())} if key else None
            resp = await http.get(client, parent + "/v1/meetings", token)
            if resp.status_code == 200:
                for info in msgspec.msgpack.decode(resp.content, type=list[MeetingInfo]):
                    known = state.store.meeting(info.id)
                    if known is not None and known.origin_key != info.origin_key:
                        continue  # never let a parent swap a meeting's origin key
                    state.store.add_meeting(info, parent)
                    if resp.headers.get(RELAY_HEADER):
                        meta.set_relay_name(state.store, info.id, resp.headers[RELAY_HEADER])
                    start_uplink(state, client, info)
        except (LinkError, *DECODE_ERRORS):
            pass  # offline or a confused parent: try again later
        await asyncio.sleep(DISCOVER_S)


def start_uplink(state: RelayState, client: http.Client, info: MeetingInfo) -> None:
    if info.id in state.uplinks:
        return
    node = Node(state.store, info.id, Role.RELAY, state.settings.name, key=state.settings.key)
    node.audio = {s for s, n in state.audio_interest.get(info.id, Counter()).items() if n > 0}
    uplink = Uplink(
        node,
        state.settings.parent or "",
        client,
        checkpoint_every=1,
        on_change=lambda: state.hub.notify(info.id),
    )
    state.uplinks[info.id] = uplink
    state.tasks.append(asyncio.get_running_loop().create_task(_run(uplink)))


async def _run(uplink: Uplink) -> None:
    with contextlib.suppress(LinkError):
        await uplink.run()
