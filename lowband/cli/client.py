"""Commands that open the terminal client: tui (also `lowband` alone) and chair."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lowband.node.home import Home


def register(sub: Any) -> None:
    p = sub.add_parser("tui", help="open the terminal client (also: lowband with no command)")
    p.add_argument("--meeting", help="open this meeting's room at once")
    _common(p)
    p.set_defaults(run=tui)

    p = sub.add_parser("chair", help="the chair's console: run the speaking queue")
    p.add_argument("--meeting", required=True)
    _common(p)
    p.set_defaults(run=chair)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", default="en", help="transcript language (default en)")
    p.add_argument("--high-contrast", action="store_true", help="white and yellow on black")
    p.add_argument("--budget", help="daily data budget, e.g. 20MB (0: no budget)")
    p.add_argument(
        "--catch-up", type=float, default=1.25, choices=[1.25, 1.5], help="audio after a pause"
    )


def tui(args: argparse.Namespace) -> int:
    return _run(args, getattr(args, "meeting", None), chair=False)


def chair(args: argparse.Namespace) -> int:
    return _run(args, args.meeting, chair=True)


def _run(args: argparse.Namespace, meeting: str | None, chair: bool) -> int:
    from lowband.client import make_app
    from lowband.modes.budget import parse_size
    from lowband.storage.meta import set_daily_budget

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise ValueError(
            "The client needs a terminal; for plain lines use `lowband follow --plain`."
        )
    home = Home.locate(args.home)
    lang = getattr(args, "lang", "en")
    if getattr(args, "budget", None):
        limit = parse_size(args.budget)
        with home.store() as store, store.tx():
            set_daily_budget(store, limit or None)
    if meeting:
        with home.store() as store:
            if store.meeting(meeting) is None:
                raise ValueError(
                    f"You have not joined meeting {meeting}; run `lowband join URL --meeting {meeting}`."
                )
    app = make_app(
        home,
        meeting,
        lang=lang,
        chair=chair,
        high_contrast=getattr(args, "high_contrast", False),
        catch_up=getattr(args, "catch_up", 1.25),
    )
    app.run()
    return 0
