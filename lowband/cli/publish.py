"""Commands for the secretariat's publishers: `publish caption`, and the session that it,
`publish doc` (cli/docs.py) and `publish audio` (cli/audio.py) share."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

from nacl.signing import SigningKey

from lowband.delegate.join import join
from lowband.delegate.outbox import submit, sync_once
from lowband.http import LinkError
from lowband.meeting import captions
from lowband.node.home import Home
from lowband.protocol import backoff
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
    origin_options(c)
    c.add_argument("--lang", default="en")
    c.add_argument("--speaker", default="FLOOR", help="speaker label until a line names one")
    c.add_argument("--realtime", action="store_true", help="replay a timed file on its own timing")
    c.set_defaults(run=caption_cmd)


def origin_options(p: argparse.ArgumentParser) -> None:
    """What every publish command names: the origin, the meeting, and how to trust the origin."""
    p.add_argument("--origin", required=True, help="the origin's URL")
    p.add_argument("--meeting", required=True)
    p.add_argument("--ca", help="CA bundle or pinned certificate for an https origin")


@contextlib.contextmanager
def publishing(args: argparse.Namespace) -> Iterator[tuple[Store, SigningKey, str]]:
    """The store (with `args.meeting` joined at `args.origin`), the key and the node name a
    publish command works with."""
    home = Home.locate(args.home)
    key = home.key_or_new()
    name = "publisher-" + bytes(key.verify_key).hex()[:8]
    with home.store() as store:
        if store.meeting(args.meeting) is None:
            asyncio.run(join(store, args.origin, args.meeting, ca=args.ca, key=key, node=name))
        yield store, key, name


class _Outbox:
    """The captioner's queue: every line is queued first, then sent with all that waits; while
    the origin is away they stay queued and go when it returns, as every node's do."""

    def __init__(self, args: argparse.Namespace, store: Store, key: SigningKey, name: str) -> None:
        self.args, self.store, self.key, self.name = args, store, key, name
        self.rng = random.Random()
        self.failures = 0
        self.retry_at = 0.0  # while the origin is away, lines only queue until then

    def queued(self) -> int:
        return sum(
            1 for i in queues.outbox(self.store, self.args.meeting) if i.state is State.QUEUED
        )

    def send(self, force: bool = False) -> bool:
        """One exchange with the origin, unless it is away and not yet due for another try
        (`force`: try now); False when it was not reached (said once)."""
        if not force and self.failures and time.monotonic() < self.retry_at:
            return False
        args = self.args
        try:
            exchange = sync_once(
                self.store,
                args.meeting,
                self.name,
                with_events=False,
                url=args.origin,
                key=self.key,
            )
            asyncio.run(exchange)
        except LinkError as exc:
            if not self.failures:
                print(f"{exc} Captions stay queued and go when it answers.", file=sys.stderr)
            self.retry_at = time.monotonic() + backoff.next_delay(self.failures, self.rng)
            self.failures += 1
            return False
        if self.failures:
            print("The origin answers again; the queued captions are sent.", file=sys.stderr)
        self.failures = 0
        return True

    def drain(self) -> None:
        """Send until nothing is queued, waiting longer each time nothing moved (the origin
        away, or deferring); Ctrl-C stops."""
        waited = 0
        while left := self.queued():
            if self.send(force=True) and self.queued() < left:
                waited = 0
                continue
            time.sleep(backoff.next_delay(waited, self.rng))
            waited += 1


def caption_cmd(args: argparse.Namespace) -> int:
    with publishing(args) as (store, key, name):
        out = _Outbox(args, store, key, name)

        def send(cue: captions.Cue) -> None:
            line = CaptionLine(cue.speaker, cue.text)
            body = Publish(f"transcript/{args.lang}", Kind.CAPTION, encode_body(line))
            submit(store, key, args.meeting, SubKind.PUBLISH, encode_body(body))
            out.send()

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
        try:
            out.drain()
        except KeyboardInterrupt:
            print(f"{out.queued()} captions are still queued; `lowband sync --once` sends them.")
            return 130
    return 0
