"""Commands for trying lowband out and testing it: demo and linkem."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lowband.linkem import cli as linkem_cli
from lowband.linkem.profiles import PROFILES


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="a simulated meeting followed over an emulated bad link")
    p.add_argument("--duration", type=float, default=90.0, help="seconds to run (default 90)")
    p.add_argument("--profile", default="edge", choices=sorted(PROFILES), help="link profile")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="transcript language")
    p.add_argument("--keep", action="store_true", help="keep the demo's node homes afterwards")
    p.add_argument(
        "--plain", action="store_true", help="print plain lines instead of opening the client"
    )
    p.set_defaults(run=demo)

    p = sub.add_parser("linkem", help="run the link emulator (a shaping TCP proxy)")
    linkem_cli.add_arguments(p)
    p.set_defaults(run=linkem_cli.run)


def demo(args: argparse.Namespace) -> int:
    from lowband.harness.demo import run as run_demo

    # Textual draws on stderr; without a terminal there, print the scene as lines instead.
    plain = args.plain or not (sys.stdin.isatty() and sys.stderr.isatty())
    return run_demo(args.duration, args.profile, args.lang, args.keep, plain=plain)
