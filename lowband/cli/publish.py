"""Commands for the secretariat's publishers: `publish caption`, and the session that it,
`publish doc` (cli/docs.py) and `publish audio` (cli/audio.py) share."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from nacl.signing import SigningKey

from lowband.delegate.join import join
from lowband.delegate.outbox import submit, sync_once
from lowband.meeting import captions
from lowband.node.home import Home
from lowband.protocol.model import CaptionLine, Kind, Publish, SubKind
from lowband.protocol.submissions import State
from lowband.protocol.wire import encode_body
from lowband.storage import submissions as queues
from lowband.storage.store import Store


def register(sub: Any) -> None:
    p = sub.add_parser("publish", help="publish to a meeting at its origin")
    psub = p.add_subparsers(dest="what", required=True)
    c = psub.add_parser("caption", help="publish caption lines (stdin, or a WebVTT/SRT file)")
    c.add_argument("file", nargs="?", default="-", help="FILE or - for stdin (default)")
    c.add_argument("--origin", required=True, help="the origin's URL")
    c.add_argument("--meeting", required=True)
    c.add_argument("--lang", default="en")
    c.add_argument("--speaker", default="FLOOR", help="speaker label until a line names one")
    c.add_argument("--realtime", action="store_true", help="replay a timed file on its own timing")
    c.set_defaults(run=caption_cmd)


@contextlib.contextmanager
def publishing(args: argparse.Namespace) -> Iterator[tuple[Store, SigningKey, str]]:
    """The store (with `args.meeting` joined at `args.origin`), the key and the node name a
    publish command works with."""
    home = Home.locate(args.home)
    key = home.key_or_new()
    name = "publisher-" + bytes(key.verify_key).hex()[:8]
    with home.store() as store:
        if store.meeting(args.meeting) is None:
            asyncio.run(join(store, args.origin, args.meeting, key=key, node=name))
        yield store, key, name


def caption_cmd(args: argparse.Namespace) -> int:
    with publishing(args) as (store, key, name):

        def send(cue: captions.Cue) -> None:
            line = CaptionLine(cue.speaker, cue.text)
            body = Publish(f"transcript/{args.lang}", Kind.CAPTION, encode_body(line))
            submit(store, key, args.meeting, SubKind.PUBLISH, encode_body(body))
            asyncio.run(sync_once(store, args.meeting, name, with_events=False, url=args.origin))

        if args.file == "-" and not args.realtime:
            speaker = args.speaker
            for raw in sys.stdin:
                if raw.strip():
                    speaker, text = captions.split_speaker(raw, speaker)
                    send(captions.Cue(None, speaker, text))
        else:
            source = (
                sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
            )
            cues = captions.parse(source, args.speaker)
            started = time.monotonic()
            for cue in cues:
                if args.realtime and cue.start_s is not None:
                    time.sleep(max(0.0, cue.start_s - (time.monotonic() - started)))
                send(cue)
        left = [i for i in queues.outbox(store, args.meeting) if i.state is State.QUEUED]
        if left:
            print(f"{len(left)} captions are still queued; `lowband sync --once` sends them.")
    return 0
