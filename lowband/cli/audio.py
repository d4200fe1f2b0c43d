"""Audio commands: `publish audio` (the secretariat) and `listen` (a delegate)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from lowband.audio.layers import BUNDLE_MS, layer_by_name
from lowband.audio.listen import Listener
from lowband.audio.playback import NoDeviceError, Sink, open_sink
from lowband.audio.publish import Publisher, PublishError, pcm48_chunks
from lowband.cli.publish import origin_options, publishing
from lowband.delegate.outbox import sync_once
from lowband.modes.budget import parse_size
from lowband.modes.ladder import mode_by_word
from lowband.node import usage
from lowband.node.home import Home
from lowband.storage import meta

LAYERS = ["auto", "nb6", "wb16", "fb28"]
MODES = ["auto", "text", "voice", "voice+", "full"]


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: Any) -> None:
    psub = _subcommands(sub.choices["publish"])
    a = psub.add_parser("audio", help="publish audio as three Opus layers (a file, or raw PCM)")
    a.add_argument("file", help="a file PyAV opens (WAV, Ogg, MP3, ...), or - for raw s16le PCM")
    origin_options(a)
    a.add_argument("--channel", default="floor", help="floor, or an interpreter's language")
    a.add_argument("--realtime", action="store_true", help="pace the bundles at real time")
    a.add_argument("--raw-rate", type=int, default=16_000, help="Hz of raw PCM on stdin")
    a.add_argument("--raw-channels", type=int, default=1, choices=[1, 2])
    a.set_defaults(run=publish_audio_cmd)

    p = sub.add_parser("listen", help="listen to the floor or an interpreter; keeps syncing")
    p.add_argument("--meeting", required=True)
    p.add_argument("--channel", default="floor", help="floor, or an interpreter's language")
    p.add_argument(
        "--layer", default="auto", choices=LAYERS, help="auto follows the link (default)"
    )
    p.add_argument("--out", help="FILE.wav, FILE.ogg, or - for raw PCM (default: the device)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--catch-up", type=float, default=1.25, choices=[1.25, 1.5])
    p.add_argument("--lang", default="en", help="caption language kept in sync alongside")
    p.add_argument(
        "--mode", default="auto", choices=MODES, help="pin a mode instead of following the link"
    )
    p.add_argument(
        "--budget", help="daily data budget, e.g. 20MB (0: none); the ladder keeps to it"
    )
    p.set_defaults(run=listen_cmd)


def _err(message: str) -> int:
    print(f"lowband: {message}", file=sys.stderr)
    return 1


def publish_audio_cmd(args: argparse.Namespace) -> int:
    with publishing(args) as (store, key, name):
        if store.roster_entry(args.meeting, bytes(key.verify_key)) is None:
            asyncio.run(sync_once(store, args.meeting, name, url=args.origin))  # the roster
        try:
            publisher = Publisher(store, key, args.meeting, args.origin, args.channel)
            chunks = pcm48_chunks(args.file, args.raw_rate, args.raw_channels)
            stats = asyncio.run(publisher.run(chunks, args.realtime))
        except PublishError as exc:
            return _err(str(exc))
        except KeyboardInterrupt:
            print(f"Stopped; {len(publisher.queue)} bundles were not sent.", file=sys.stderr)
            return 130
    windows = stats.bundles // 3
    rates = ", ".join(
        f"{s.rsplit('/', 1)[1]} {8 * b / max(1, windows * BUNDLE_MS):.1f} kbit/s"
        for s, b in sorted(stats.payload.items())
    )
    print(
        f"Published {windows * BUNDLE_MS / 1000:.1f} s on audio/{args.channel}: "
        f"{stats.sent} bundles in {stats.exchanges} exchanges ({rates})."
    )
    if stats.refused:
        return _err(f"The origin refused {stats.refused} bundles: {stats.last_error}")
    return 0


def listen_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    name = "listener-" + bytes(home.key_or_new().verify_key).hex()[:8]
    layer = None if args.layer == "auto" else layer_by_name(args.layer).id
    with home.store() as store:
        info, parent = store.meeting(args.meeting), store.parent(args.meeting)
        if info is None or not parent:
            return _err(f"Meeting {args.meeting} is not joined here; run `lowband join URL`.")
        if args.budget:
            with store.tx():
                meta.set_daily_budget(store, parse_size(args.budget) or None)
        try:
            sink: Sink = open_sink(args.out)
        except NoDeviceError as exc:
            return _err(str(exc))

        def note(text: str) -> None:
            print(text, file=sys.stderr, flush=True)

        listener = Listener(
            store,
            args.meeting,
            parent,
            name=name,
            channel=args.channel,
            layer=layer,
            lang=args.lang,
            sink=sink,
            catch_up=args.catch_up,
            note=note,
            account=lambda n: usage.count(store, n),
        )
        usage.limit_ladder(store, listener.choice.ladder)
        if args.mode != "auto":
            listener.choice.ladder.pin(mode_by_word(args.mode), time.monotonic())
        note(f"Listening to audio/{args.channel} of {args.meeting} through {parent}.")
        try:
            asyncio.run(listener.run(args.duration))
        except KeyboardInterrupt:
            pass
        finally:
            sink.close()
        note(listener.log.summary(info.epoch_ms))
    return 0
