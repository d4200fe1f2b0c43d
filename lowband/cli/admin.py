"""Commands for the secretariat and relay operators: relay, meeting, roster, id."""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from lowband.node.home import Home
from lowband.origin.append import append, create_meeting
from lowband.protocol.crypto import key_text, parse_key_text
from lowband.protocol.model import (
    AgendaItem,
    Kind,
    MeetingKind,
    Notice,
    Rights,
    RosterEntry,
    Session,
)
from lowband.protocol.wire import encode_body
from lowband.relay import config
from lowband.relay.app import Settings
from lowband.relay.guard import ConnectionLimits
from lowband.relay.limits import Limits
from lowband.relay.retention import Retention
from lowband.relay.run import bind, parse_hostport, serve

MEETING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def register(sub: Any) -> None:
    p = sub.add_parser("relay", help="run a relay, or the origin of meetings")
    p.add_argument("--config", help="a TOML file with these settings (flags override it)")
    p.add_argument("--listen", help="HOST:PORT to serve on, e.g. 127.0.0.1:8700")
    role = p.add_mutually_exclusive_group()
    role.add_argument("--origin", action="store_true", help="be the origin: sign and sequence")
    role.add_argument("--parent", help="URL of the relay (or origin) to mirror")
    p.add_argument("--name", help="this node's name, shown to delegates (default: relay-PORT)")
    p.add_argument(
        "--require-auth",
        action="store_true",
        help="serve only requests signed by roster keys or --allow-relay keys",
    )
    p.add_argument(
        "--allow-relay",
        action="append",
        default=[],
        metavar="KEY",
        help="a child relay's public key (lowband id show on that relay)",
    )
    p.add_argument("--bar", action="append", default=[], metavar="KEY", help="refuse this key")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--parent-ca", help="trust this CA bundle (or pinned certificate) for --parent")
    p.add_argument(
        "--audio-hours",
        type=float,
        metavar="HOURS",
        help="prune audio older than this, except what children still need (default: keep all)",
    )
    p.set_defaults(run=relay)

    p = sub.add_parser("meeting", help="create a meeting at the origin")
    msub = p.add_subparsers(dest="action", required=True)
    c = msub.add_parser("create", help="create a meeting in this (origin) home")
    c.add_argument("--id", required=True)
    c.add_argument("--title", required=True)
    c.add_argument("--kind", required=True, choices=[k.value for k in MeetingKind])
    c.add_argument("--remote-rights", required=True, choices=["observe", "speak", "decide"])
    c.add_argument("--start", required=True, help="ISO 8601, e.g. 2026-12-01T09:00:00Z")
    c.add_argument("--end", required=True)
    c.add_argument("--languages", required=True, help="comma-separated, e.g. en,fr,zh")
    c.add_argument("--venue-tz", default="UTC", help="the venue's IANA time zone")
    c.add_argument("--agenda", action="append", default=[], metavar="NUMBER:TITLE")
    c.set_defaults(run=meeting_create)

    p = sub.add_parser("roster", help="manage a meeting's roster at the origin")
    rsub = p.add_subparsers(dest="action", required=True)
    a = rsub.add_parser("add", help="add (or update) a delegate's key")
    a.add_argument("--meeting", required=True)
    a.add_argument("--key", required=True, help="the delegate's public key (lowband id show)")
    a.add_argument("--name", required=True)
    a.add_argument("--member-state", required=True)
    a.add_argument("--rights", required=True, choices=[r.value for r in Rights])
    a.set_defaults(run=roster_add)

    p = sub.add_parser("id", help="this home's key pair")
    isub = p.add_subparsers(dest="action", required=True)
    isub.add_parser("init", help="create the key pair (once)").set_defaults(run=id_init)
    isub.add_parser("show", help="print the public key").set_defaults(run=id_show)


def relay_settings(args: argparse.Namespace) -> argparse.Namespace:
    """The command line over the configuration file: a flag given wins."""
    if args.config:
        conf = config.load(args.config)
        for name in ("listen", "parent", "parent_ca", "name", "tls_cert", "tls_key", "home"):
            if getattr(args, name) is None:
                setattr(args, name, getattr(conf, name))
        args.origin = args.origin or conf.origin
        args.require_auth = args.require_auth or conf.require_auth
        args.allow_relay = args.allow_relay + conf.allow_relay
        args.bar = args.bar + conf.bar
        args.limits = conf.limits
        args.retention = conf.retention
        args.documents = conf.documents
    else:
        args.limits = config.LimitsConfig()
        args.retention = config.RetentionConfig()
        args.documents = config.DocumentsConfig()
    if args.audio_hours is not None:
        if args.audio_hours < 0:
            raise ValueError("--audio-hours must be 0 (keep all audio) or more.")
        args.retention.audio_hours = args.audio_hours
    if not args.listen:
        raise ValueError("Say where to listen: --listen HOST:PORT, or listen in --config.")
    if bool(args.origin) == bool(args.parent):
        raise ValueError("A relay is either the origin (--origin) or has a --parent URL.")
    return args


def relay(args: argparse.Namespace) -> int:
    args = relay_settings(args)
    home = Home.locate(args.home)
    host, port = parse_hostport(args.listen)
    sock = bind(host, port)
    name = args.name or f"relay-{sock.getsockname()[1]}"
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("Give both --tls-cert and --tls-key, or neither.")
    key = home.key_or_new()
    limits = Limits(
        per_key_per_min=args.limits.per_key_per_min,
        per_address_per_min=args.limits.per_address_per_min,
        custody_per_key=args.limits.custody_per_key,
        barred={parse_key_text(k) for k in args.bar},
        relays={parse_key_text(k) for k in args.allow_relay},
    )
    settings = Settings(
        name=name,
        origin_key=key if args.origin else None,
        parent=args.parent,
        key=key,
        require_auth=args.require_auth,
        limits=limits,
        parent_ca=args.parent_ca,
        retention=Retention(
            args.retention.audio_hours,
            args.retention.child_hours,
            args.retention.prune_every_s,
        ),
        forms_cache_bytes=int(args.documents.forms_cache_mb * 1_000_000),
    )
    store = home.store()
    role = "origin" if args.origin else f"relay under {args.parent}"
    scheme = "https" if args.tls_cert else "http"
    print(
        f"lowband {role} {name} listening on {scheme}://{host}:{sock.getsockname()[1]}", flush=True
    )
    connections = ConnectionLimits(
        max_head_bytes=args.limits.max_head_bytes,
        head_timeout_s=args.limits.head_timeout_s,
        per_address=args.limits.connections_per_address,
        max_connections=args.limits.max_connections,
    )
    serve(store, settings, sock, args.tls_cert, args.tls_key, connections)
    return 0


def meeting_create(args: argparse.Namespace) -> int:
    if not MEETING_ID.match(args.id):
        raise ValueError(f"{args.id!r} is not a meeting id (letters, digits, . _ -).")
    home = Home.locate(args.home)
    agenda = []
    for item in args.agenda:
        number, _, title = item.partition(":")
        agenda.append(AgendaItem(number.strip(), title.strip()))
    notice = Notice(
        title=args.title,
        kind=MeetingKind(args.kind),
        remote_rights=Rights(args.remote_rights),
        sessions=[Session(_iso(args.start), _iso(args.end))],
        languages=[x.strip() for x in args.languages.split(",") if x.strip()],
        venue_tz=args.venue_tz,
        agenda=agenda,
    )
    with home.store() as store:
        info = create_meeting(store, home.key_or_new(), args.id, notice, int(time.time() * 1000))
    print(f"Created meeting {info.id}. Origin key: {key_text(info.origin_key)}")
    return 0


def _iso(text: str) -> str:
    from datetime import datetime

    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-01T09:00:00Z."
        ) from None
    return text


def roster_add(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    entry = RosterEntry(parse_key_text(args.key), args.name, args.member_state, Rights(args.rights))
    with home.store() as store:
        info = store.meeting(args.meeting)
        if info is None or store.parent(args.meeting):
            raise ValueError(f"Meeting {args.meeting} is not originated in this home.")
        with store.tx():
            append(store, info, "roster", Kind.ROSTER, encode_body(entry), int(time.time() * 1000))
    print(f"{args.name} ({args.member_state}) may now {args.rights} in {args.meeting}.")
    return 0


def id_init(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    existed = home.key_path.exists()
    key = home.key_or_new()
    print(
        ("Key already exists: " if existed else "Created key: ") + key_text(bytes(key.verify_key))
    )
    return 0


def id_show(args: argparse.Namespace) -> int:
    print(key_text(bytes(Home.locate(args.home).key().verify_key)))
    return 0
