"""Commands for delegates: join, follow, floor, say, chat, status, sync."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from lowband.delegate.follow import follow as follow_loop
from lowband.delegate.join import JoinError, join
from lowband.delegate.outbox import submit, sync_once
from lowband.http import LinkError
from lowband.node.home import Home
from lowband.protocol.crypto import parse_key_text
from lowband.protocol.model import SubKind, SubmissionText
from lowband.protocol.submissions import describe
from lowband.protocol.wire import encode_body
from lowband.storage import meta
from lowband.storage import submissions as queues
from lowband.storage.store import Store

# The origin signs every 30 s and a relay passes a heartbeat at least every 90 s to a delegate.
STALE_S = 180


def register(sub: Any) -> None:
    p = sub.add_parser("join", help="join a meeting through a relay")
    p.add_argument("url", help="the relay's URL, e.g. http://127.0.0.1:8701")
    p.add_argument("--meeting", required=True)
    p.add_argument("--origin-key", help="pin the origin's public key (64 hex digits)")
    p.add_argument("--ca", help="trust this CA bundle (or pinned certificate) for an https relay")
    p.set_defaults(run=join_cmd)

    p = sub.add_parser("follow", help="print the meeting as it happens; keeps syncing")
    p.add_argument("--meeting", required=True)
    p.add_argument("--lang", default="en", help="transcript language (default en)")
    p.add_argument("--plain", action="store_true", help="plain lines only (screen readers)")
    p.add_argument(
        "--verified-only",
        action="store_true",
        help="print a line only once the origin's signature covers it",
    )
    p.set_defaults(run=follow_cmd)

    p = sub.add_parser("floor", help="ask for the floor, withdraw, or raise a point of order")
    p.add_argument("action", choices=["request", "withdraw", "point-of-order"])
    p.add_argument("--meeting", required=True)
    p.add_argument(
        "--wait", type=float, default=5.0, help="seconds to try sending now (0: queue only)"
    )
    p.set_defaults(run=floor_cmd)

    p = sub.add_parser("say", help="send a written intervention")
    p.add_argument("text", nargs="?")
    p.add_argument("--file", type=Path)
    p.add_argument("--meeting", required=True)
    p.add_argument("--agenda-item", default="")
    p.add_argument("--wait", type=float, default=5.0)
    p.set_defaults(run=say_cmd)

    p = sub.add_parser("chat", help="write in a side discussion")
    p.add_argument("text")
    p.add_argument("--meeting", required=True)
    p.add_argument("--topic", default="general")
    p.add_argument("--wait", type=float, default=5.0)
    p.set_defaults(run=chat_cmd)

    p = sub.add_parser("status", help="link, cursors, unverified events and the outbox")
    p.add_argument("--meeting")
    p.set_defaults(run=status_cmd)

    p = sub.add_parser("sync", help="sync with the relay: forever, or --once")
    p.add_argument("--meeting")
    p.add_argument("--once", action="store_true")
    p.set_defaults(run=sync_cmd)


def _name(home: Home) -> str:
    return "delegate-" + bytes(home.key_or_new().verify_key).hex()[:8]


def join_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    key = home.key_or_new()
    pinned = parse_key_text(args.origin_key) if args.origin_key else None
    with home.store() as store:
        info = asyncio.run(
            join(store, args.url, args.meeting, pinned, args.ca, key=key, node=_name(home))
        )
        print(f"Joined {info.title} ({info.id}) through {args.url}.")
        try:
            asyncio.run(sync_once(store, args.meeting, _name(home), key=key))
        except LinkError as exc:
            print(f"Could not fetch the meeting yet ({exc}); `lowband sync` will retry.")
        entry = store.roster_entry(args.meeting, bytes(key.verify_key))
        if entry is None:
            print("Your key is not on the roster yet: you can follow, but not submit.")
        else:
            print(
                f"You are on the roster as {entry.name} ({entry.member_state}), rights: {entry.rights}."
            )
    return 0


def follow_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    with home.store() as store:
        _require(store, args.meeting)
        try:
            asyncio.run(
                follow_loop(
                    store,
                    args.meeting,
                    _name(home),
                    args.lang,
                    lambda s: print(s, flush=True),
                    args.verified_only,
                    key=home.key_or_new(),
                )
            )
        except KeyboardInterrupt:
            pass
    return 0


def _queue(args: argparse.Namespace, kind: SubKind, body: bytes) -> int:
    home = Home.locate(args.home)
    with home.store() as store:
        _require(store, args.meeting)
        sub = submit(store, home.key(), args.meeting, kind, body)
        print(f"Queued {kind} as {sub.sub_id.hex()}.")
        if args.wait > 0:
            try:
                asyncio.run(
                    asyncio.wait_for(
                        sync_once(
                            store, args.meeting, _name(home), with_events=False, key=home.key()
                        ),
                        args.wait,
                    )
                )
            except (LinkError, TimeoutError) as exc:
                print(f"Not sent yet ({exc or 'no answer in time'}); it stays queued.")
        item = queues.outbox_get(store, sub.sub_id)
        assert item is not None
        print(f"State: {describe(item.state, item.node, item.reason)}.")
    return 0


def floor_cmd(args: argparse.Namespace) -> int:
    kind = {
        "request": SubKind.FLOOR_REQUEST,
        "withdraw": SubKind.FLOOR_WITHDRAW,
        "point-of-order": SubKind.POINT_OF_ORDER,
    }[args.action]
    return _queue(args, kind, b"")


def say_cmd(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.file is None):
        raise ValueError("Give the intervention as TEXT or with --file, not both.")
    text = args.text if args.text is not None else args.file.read_text(encoding="utf-8")
    return _queue(args, SubKind.INTERVENTION, encode_body(SubmissionText(text, args.agenda_item)))


def chat_cmd(args: argparse.Namespace) -> int:
    return _queue(args, SubKind.CHAT, encode_body(SubmissionText(args.text, args.topic)))


def _require(store: Store, meeting: str) -> None:
    if store.meeting(meeting) is None:
        raise JoinError(
            f"You have not joined meeting {meeting}; run `lowband join URL --meeting {meeting}`."
        )


def status_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    with home.store() as store:
        for info in store.meetings():
            if args.meeting and info.id != args.meeting:
                continue
            parent = store.parent(info.id) or "(this node is its origin)"
            print(f"Meeting {info.id}: {info.title}; syncs from {parent}")
            link = meta.link_record(store, info.id)
            if link is not None:
                age = time.time() - link.at
                state = "online" if link.online else f"offline ({link.error})"
                print(f"  link: {state}, as of {age:.0f} s ago")
            alert = meta.alert(store, info.id)
            if alert:
                print(f"  WARNING: {alert}")
            newest = 0
            for no, name, head, verified in store.streams(info.id):
                cp = store.checkpoint(info.id, no, name)
                newest = max(newest, cp.ts_ms if cp else 0)
                cp_age = (
                    f", newest checkpoint {time.time() - cp.ts_ms / 1000:.0f} s old" if cp else ""
                )
                print(f"  {name}: {head} events, {head - verified} unverified{cp_age}")
            stale = time.time() - newest / 1000
            if link is not None and link.online and newest and stale > STALE_S:
                print(
                    f"  WARNING: the origin's newest signature reached you {stale:.0f} s ago "
                    "although the link is up: the relay may be withholding events."
                )
            for item in queues.outbox(store, info.id):
                print(
                    f"  outbox {item.sub_id.hex()[:12]} {item.kind}: "
                    f"{describe(item.state, item.node, item.reason)}"
                )
    return 0


def sync_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    with home.store() as store:
        meetings = [m.id for m in store.meetings() if store.parent(m.id)]
        if args.meeting:
            _require(store, args.meeting)
            meetings = [args.meeting]
        if args.once:
            for m in meetings:
                node = asyncio.run(sync_once(store, m, _name(home), key=home.key_or_new()))
                print(f"{m}: in sync with {node.peer or store.parent(m)}.")
            return 0

        async def forever() -> None:
            await asyncio.gather(
                *(
                    follow_loop(store, m, _name(home), "en", lambda s: None, key=home.key_or_new())
                    for m in meetings
                )
            )

        try:
            asyncio.run(forever())
        except KeyboardInterrupt:
            pass
    return 0
