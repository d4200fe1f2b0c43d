"""`lowband linkem`: run the link emulator from a shell.

Owns the command's arguments, turning them into a `LinkProfile` and two
addresses, the periodic byte-count report and the exit codes (0 on Ctrl-C,
2 with one sentence on stderr for bad input). Must not shape or proxy
anything itself; that is `LinkEmulator`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from lowband.linkem.profiles import PROFILES, LinkProfile, OutageKind, OutageSchedule, get_profile
from lowband.linkem.proxy import LinkEmulator

Address = tuple[str, int]


class UsageError(Exception):
    """Bad input, already phrased as one sentence for the user."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--listen", required=True, metavar="HOST:PORT", help="where to listen (port 0: any)")
    add("--target", required=True, metavar="HOST:PORT", help="where to forward to")
    add("--profile", required=True, metavar="NAME", help=", ".join(PROFILES))
    add("--down-kbps", type=float, metavar="X", help="target-to-client rate")
    add("--up-kbps", type=float, metavar="X", help="client-to-target rate")
    add("--rtt-ms", type=float, metavar="X", help="round-trip time")
    add("--jitter-ms", type=float, metavar="X", help="largest change of each one-way delay")
    add("--reset-rate", type=float, metavar="P", help="share of connections reset (0 to 1)")
    add("--outage-every", type=float, metavar="S", help="seconds between outages (0: none)")
    add("--outage-for", metavar="S|MIN-MAX", help="outage duration in seconds")
    add("--outage-schedule", choices=[s.value for s in OutageSchedule], help="when outages start")
    add("--outage-kind", choices=[k.value for k in OutageKind], help="what outages do")
    add("--seed", type=int, default=0, metavar="N", help="seed for jitter, outages and resets")
    add("--stats-every", type=float, default=10.0, metavar="S", help="report interval (0: at exit)")
    add("--stats-file", type=Path, metavar="PATH", help="also write the counters here as JSON")


def parse_address(text: str, option: str) -> Address:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (sep and host and port.isdigit() and int(port) <= 65535):
        raise UsageError(
            f"{option} must look like HOST:PORT, such as 127.0.0.1:8000, not {text!r}."
        )
    return host, int(port)


def parse_duration(text: str) -> tuple[float, float]:
    try:
        lo, _, hi = text.partition("-")
        return (float(lo), float(hi or lo))
    except ValueError:
        pass
    raise UsageError(f"--outage-for must be seconds or MIN-MAX, such as 5-60, not {text!r}.")


_OVERRIDES = ("down_kbps", "up_kbps", "rtt_ms", "jitter_ms", "reset_rate", "outage_kind")


def build_profile(args: argparse.Namespace) -> LinkProfile:
    """The named profile with the command line's overrides applied and validated."""
    try:
        profile = get_profile(args.profile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    changes: dict[str, Any] = {
        f: getattr(args, f) for f in _OVERRIDES if getattr(args, f) is not None
    }
    if args.outage_for is not None:
        changes["outage_for_s"] = parse_duration(args.outage_for)
    schedule = args.outage_schedule or profile.outage_schedule
    if args.outage_every is not None:
        changes["outage_every_s"] = args.outage_every or None
        schedule = (schedule or OutageSchedule.PERIODIC) if args.outage_every else None
    changes["outage_schedule"] = schedule
    try:
        return profile.with_overrides(**changes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def report(emulator: LinkEmulator, stats_file: Path | None) -> None:
    """Print the counters on one line and, if asked, replace the JSON stats file."""
    s = emulator.stats()
    print(
        f"linkem: down {s['bytes_down']} B, up {s['bytes_up']} B, "
        f"{s['connections']} connections, {s['resets']} resets, {s['outages']} outages",
        flush=True,
    )
    if stats_file is not None:
        temporary = stats_file.with_name(stats_file.name + ".tmp")
        try:
            temporary.write_text(json.dumps(s, sort_keys=True) + "\n")
            os.replace(temporary, stats_file)
        except OSError as exc:
            print(f"Cannot write {stats_file}: {exc.strerror or exc}.", file=sys.stderr)


async def serve(
    args: argparse.Namespace, profile: LinkProfile, listen: Address, target: Address
) -> None:
    """Run the emulator, reporting every `--stats-every` seconds and once at the end."""
    (host, port), (target_host, target_port) = listen, target
    emulator = LinkEmulator(host, port, target_host, target_port, profile, args.seed)
    try:
        await emulator.start()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise UsageError(f"Cannot listen on {args.listen}: {reason}.") from None
    task = asyncio.current_task()
    if task is not None:  # SIGTERM too; and SIGINT even where a shell ignored it (`cmd &`)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):  # not the main thread
                asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    interval = args.stats_every if args.stats_every > 0 else None
    try:
        print(f"linkem: listening on {host}:{emulator.port}, forwarding to", end=" ")
        print(f"{target_host}:{target_port} through profile {profile.name}", flush=True)
        while True:
            await asyncio.sleep(interval or 3600.0)
            if interval:
                report(emulator, args.stats_file)
    finally:
        await emulator.stop()
        report(emulator, args.stats_file)


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C or SIGTERM (exit 0); bad input prints one sentence (exit 2)."""
    try:
        profile = build_profile(args)
        listen = parse_address(args.listen, "--listen")
        target = parse_address(args.target, "--target")
        asyncio.run(serve(args, profile, listen, target))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0
