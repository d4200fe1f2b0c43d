"""The `lowband` command: argument parsing and the one place errors become sentences.

Owns the command tree and exit codes; each command (in `cli/admin.py`, `cli/delegate.py`,
`cli/docs.py` and the rest) is a thin function over the library. Known failures print one
plain sentence on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lowband.cli import admin, audio, client, delegate, docs, publish, stats, tools
from lowband.delegate.join import JoinError
from lowband.http import LinkError
from lowband.meeting.captions import CaptionFormatError
from lowband.node.home import KeyFileError
from lowband.protocol.wire import ProtocolError
from lowband.relay.run import BindError
from lowband.storage.store import StoreError

EXPECTED = (
    StoreError,
    KeyFileError,
    JoinError,
    LinkError,
    CaptionFormatError,
    BindError,
    ProtocolError,
    ValueError,
    OSError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lowband",
        description="Take part in a meeting over a slow, unstable, metered link.",
    )
    parser.add_argument(
        "--home",
        help="directory holding this node's key and store "
        "(default: $LOWBAND_HOME or the user data directory)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    admin.register(sub)
    delegate.register(sub)
    publish.register(sub)
    docs.register(sub)  # after publish: it adds `publish doc`
    audio.register(sub)  # after publish: it adds `publish audio`
    tools.register(sub)
    client.register(sub)
    stats.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help()
            return 0
        args.run = client.tui  # `lowband` alone opens the client
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except EXPECTED as exc:
        print(f"lowband: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
