"""`python -m lowband.linkem`: the link emulator without the `lowband` command.

Owns only the parser for this entry point; everything else is `cli`.
"""

from __future__ import annotations

import argparse
import sys

from lowband.linkem.cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lowband.linkem",
        description="Forward a TCP port through an emulated slow, unstable link.",
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
