"""Commands for documents: `docs list|get|diff` for delegates, `publish doc` for the secretariat.

Thin over `documents/` (fetch, diff, publish). `publish doc` joins the `publish` command that
`cli/publish.py` registers.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from lowband.cli.publish import origin_options, publishing
from lowband.delegate.join import JoinError
from lowband.delegate.outbox import sync_once
from lowband.documents import diff, fetch, publish
from lowband.documents import index as documents
from lowband.http import LinkError
from lowband.node.home import Home
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store


def register(sub: Any) -> None:
    p = sub.add_parser("docs", help="the meeting's documents: list, get, diff")
    dsub = p.add_subparsers(dest="action", required=True)
    a = dsub.add_parser("list", help="documents and revisions known here (no network)")
    a.add_argument("doc", nargs="?", help="one document's revisions")
    a.add_argument("--meeting", required=True)
    a.set_defaults(run=list_cmd)
    a = dsub.add_parser("get", help="fetch revisions into <home>/documents/<meeting>/")
    a.add_argument("doc", nargs="?", help="one document (default: the newest of every one)")
    a.add_argument("--meeting", required=True)
    a.add_argument("--rev", type=int, help="this revision (default: the newest)")
    a.add_argument("--max-kbps", type=float, default=0.0, help="cap document bytes (0: no cap)")
    a.add_argument("--no-sync", action="store_true", help="use the stored list; do not sync first")
    a.set_defaults(run=get_cmd)
    a = dsub.add_parser("diff", help="the text changes between two held revisions")
    a.add_argument("doc")
    a.add_argument("--meeting", required=True)
    a.add_argument("--rev", type=int, help="the newer revision (default: the newest held)")
    a.add_argument("--from", dest="against", type=int, help="the older (default: the one before)")
    a.set_defaults(run=diff_cmd)

    publish = next(a for a in sub.choices["publish"]._actions if a.dest == "what")
    d = publish.add_parser("doc", help="publish a file as the next revision of a document")
    d.add_argument("file", type=Path)
    origin_options(d)
    d.add_argument("--doc-id", help="the document's id (default: from the file name)")
    d.add_argument("--title", help="default: the previous revision's, or the file name")
    d.add_argument("--lang", default="en")
    d.add_argument("--agenda-item", help="default: the previous revision's")
    d.set_defaults(run=publish_cmd)


def _require(store: Store, meeting: str) -> None:
    if store.meeting(meeting) is None:
        raise JoinError(
            f"You have not joined meeting {meeting}; run `lowband join URL --meeting {meeting}`."
        )


def _name(home: Home) -> str:
    return "delegate-" + bytes(home.key_or_new().verify_key).hex()[:8]


def list_cmd(args: argparse.Namespace) -> int:
    with Home.locate(args.home).store() as store:
        _require(store, args.meeting)
        all_entries = documents.entries(store, args.meeting)
        blobs = BlobStore(store)
        item = documents.current_item(all_entries)
        print(f"Documents of {args.meeting}; current agenda item: {item or '(none named)'}")
        for doc_id, last in sorted(documents.latest(all_entries).items()):
            if args.doc and doc_id != args.doc:
                continue
            revs = documents.revisions(all_entries, doc_id)
            held = [f"r{e.doc.rev}" for e in revs if blobs.has(e.sha)]
            d = last.doc
            mark = "*" if item and d.agenda_item == item else " "
            state = f"held {', '.join(held)}" if held else "not fetched"
            wait = "" if last.verified else "; awaiting the origin's signature"
            print(f"{mark} {doc_id} r{d.rev}: {d.title} ({d.lang}, item {d.agenda_item or '-'},")
            print(f"    {d.size} bytes, {d.media_type}); {state}{wait}")
    return 0


def get_cmd(args: argparse.Namespace) -> int:
    home = Home.locate(args.home)
    with home.store() as store:
        _require(store, args.meeting)
        key = home.key_or_new()
        if not args.no_sync:
            try:
                asyncio.run(sync_once(store, args.meeting, _name(home), key=key))
            except LinkError as exc:
                print(f"Could not sync ({exc}); using the stored list.")
        got = asyncio.run(
            fetch.get(
                store,
                home.root,
                args.meeting,
                doc_id=args.doc,
                rev=args.rev,
                rate_bps=args.max_kbps * 1000,
                report=lambda s: print(s, flush=True),
                key=key,
                node=_name(home),
            )
        )
        all_entries = documents.entries(store, args.meeting)
        for g in got:
            d, f = g.entry.doc, g.fetched
            if f is None:
                print(f"{d.doc_id} r{d.rev}: already held; {g.path}")
                continue
            base = fetch.base_label(all_entries, d.doc_id, f.base)
            print(
                f"{d.doc_id} r{d.rev}: {f.received} bytes received for {d.size}"
                f" ({f.method} against {base}); {g.path}"
            )
    return 0


def diff_cmd(args: argparse.Namespace) -> int:
    with Home.locate(args.home).store() as store:
        _require(store, args.meeting)
        out = diff.between(store, args.meeting, args.doc, args.rev, args.against)
        print(out or f"The text of {args.doc} is the same in both revisions.")
    return 0


def publish_cmd(args: argparse.Namespace) -> int:
    with publishing(args) as (store, key, name):
        asyncio.run(sync_once(store, args.meeting, name, url=args.origin, key=key))
        doc, message = asyncio.run(
            publish.publish(
                store,
                key,
                args.origin,
                args.meeting,
                args.file,
                doc_id=args.doc_id,
                title=args.title,
                lang=args.lang,
                agenda_item=args.agenda_item,
            )
        )
        print(message)
        if doc is not None:
            print(f"{doc.doc_id} revision {doc.rev}: {doc.size} bytes, SHA-256 {doc.sha256.hex()}")
    return 0
