"""`lowband stats`: participation statistics of a meeting, from this node's store."""

from __future__ import annotations

import argparse
from typing import Any

from lowband.node.home import Home
from lowband.relay.stats import meeting_stats, render


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="participation statistics of a meeting (relay or origin)")
    p.add_argument("--meeting", required=True)
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(run=stats)


def stats(args: argparse.Namespace) -> int:
    with Home.locate(args.home).store() as store:
        if store.meeting(args.meeting) is None:
            raise ValueError(f"Meeting {args.meeting} is not in this node's store.")
        print(render(meeting_stats(store, args.meeting), args.format))
    return 0
