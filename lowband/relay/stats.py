"""Participation statistics for one meeting, from any node's store (a relay or the origin).

Owns what Resolution 167 asks regional offices to report: distinct remote participants by
member state, submissions by kind and outcome, floor waiting times remote against in-room,
bytes served by stream class and of document files, the catch-up served by URL, and the time
in each mode that delegates' clients report in their sync requests. Reads only the store: the
events every node holds, its own custody and applied queues, and the running totals the relay
keeps (relay/metrics.py).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from statistics import mean

from lowband.protocol.model import ChatMessage, FloorAction, FloorChange, Intervention, Kind
from lowband.protocol.wire import MODE_NAMES, decode_body, decode_canonical
from lowband.storage import meta
from lowband.storage.store import Store

Row = tuple[str, str, float | int | str]


def _events(store: Store, meeting: str, prefix: str) -> list[tuple[int, Kind, bytes]]:
    out = []
    for no, name, head, _ in store.streams(meeting):
        if name == prefix or name.startswith(prefix + "/"):
            for _, ts, kind, data in store.events(meeting, no, 0, head):
                out.append((ts, Kind(kind), decode_canonical(data)[2]))
    return out


def meeting_stats(store: Store, meeting: str) -> list[Row]:
    rows: list[Row] = []
    remote: dict[str, set[bytes]] = defaultdict(set)
    kinds: Counter[str] = Counter()
    requests: dict[bytes, tuple[int, bool]] = {}
    waits: dict[bool, list[float]] = {True: [], False: []}
    for ts, _, body in _events(store, meeting, "floor"):
        f = decode_body(body, FloorChange)
        if f.action in (FloorAction.REQUEST, FloorAction.POINT_OF_ORDER):
            requests[f.sub_id] = (ts, f.remote)
            if f.remote:
                remote[f.member_state].add(f.key)
        if f.action is FloorAction.GRANT and f.ref in requests:
            asked, is_remote = requests.pop(f.ref)
            waits[is_remote].append((ts - asked) / 1000)
        kinds[f"floor {f.action}"] += 1
    for _, _, body in _events(store, meeting, "interventions"):
        i = decode_body(body, Intervention)
        remote[i.member_state].add(i.key)
        kinds["intervention"] += 1
    for _, _, body in _events(store, meeting, "chat"):
        c = decode_body(body, ChatMessage)
        entry = store.roster_entry(meeting, c.key)
        remote[entry.member_state if entry else "?"].add(c.key)
        kinds["chat message"] += 1
    kinds["rejected by the origin"] = len(_events(store, meeting, "receipts"))
    roster = Counter(e.member_state for e in store.roster(meeting))
    for state in sorted(set(roster) | set(remote)):
        rows.append(("remote participants", state or "(none)", len(remote.get(state, ()))))
        rows.append(("on the roster", state or "(none)", roster.get(state, 0)))
    rows += [("submissions", k, v) for k, v in sorted(kinds.items())]
    for (state,), n in Counter(
        (r[0],) for r in store.q("SELECT state FROM custody WHERE meeting=?", (meeting,))
    ).items():
        rows.append(("custody at this relay", state, n))
    for outcome, n in store.q(
        "SELECT outcome, COUNT(*) FROM applied WHERE meeting=? GROUP BY outcome", (meeting,)
    ):
        rows.append(("decided at the origin", outcome, n))
    for is_remote, label in ((True, "remote"), (False, "in the room")):
        w = waits[is_remote]
        rows.append(("floor", f"{label}: granted", len(w)))
        rows.append(("floor", f"{label}: mean wait s", round(mean(w), 1) if w else 0))
        rows.append(("floor", f"{label}: longest wait s", round(max(w), 1) if w else 0))
        rows.append(
            (
                "floor",
                f"{label}: still waiting",
                sum(1 for _, r in requests.values() if r is is_remote),
            )
        )
    served = meta.served_totals(store)
    for key, n in sorted(served.items()):
        section, item = key.split("/", 1)
        rows.append(
            (
                {
                    "bytes": "bytes served",
                    "history": "catch-up by URL",
                    "submissions": "answered here",
                }.get(section, section),
                item,
                n,
            )
        )
    return rows + _mode_rows(store, meeting)


def _mode_rows(store: Store, meeting: str) -> list[Row]:
    """Hours in each mode that delegates' clients reported through this relay: in all, then
    per member (roster name, or the node's name without a token) and day."""
    totals: Counter[str] = Counter()
    rows: list[Row] = []
    order = {m: i for i, m in enumerate(MODE_NAMES)}
    for member, day, mode, seconds in sorted(
        store.q("SELECT member, day, mode, seconds FROM mode_time WHERE meeting=?", (meeting,)),
        key=lambda r: (r[0], r[1], order.get(r[2], len(order))),
    ):
        totals[mode] += seconds
        rows.append(
            (
                "hours in each mode by member",
                f"{_who(store, meeting, member)} {day} {mode}",
                round(seconds / 3600, 2),
            )
        )
    head: list[Row] = [("hours in each mode", m, round(totals[m] / 3600, 2)) for m in MODE_NAMES]
    return head + rows


def _who(store: Store, meeting: str, member: str) -> str:
    if member.startswith("node:"):
        return member.removeprefix("node:")
    entry = store.roster_entry(meeting, bytes.fromhex(member))
    return f"{entry.name} ({entry.member_state})" if entry else member[:16]


def render(rows: list[Row], fmt: str) -> str:
    if fmt == "json":
        out: dict[str, dict[str, float | int | str]] = defaultdict(dict)
        for section, item, value in rows:
            out[section][item] = value
        return json.dumps(out, indent=2, ensure_ascii=False)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["section", "item", "value"])
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    width = max((len(s) + len(i) for s, i, _ in rows), default=0) + 3
    return "\n".join(f"{s}: {i}".ljust(width) + f" {v}" for s, i, v in rows)
