"""The plan of an office delta: which members of the held base a new revision keeps, drops,
edits or adds, and which of their pieces it copies.

Owns the plan's byte format. It walks the base's members in their order with ops (varint
n << 2 | kind): KEEP the next n members (their deflated bytes are copied, never inflated), DROP
the next n, EDIT the next member (same name) or ADD a member (then varint: its name's length),
either with n units. A unit (varint x << 1 | flag) is piece x of the base (flag 1: its deflated
bytes copied) or x bytes of new data (flag 0). Base units are numbered over the base's members
in order: one per piece of a member deflated in pieces, one for any other member. Members after
the last op are dropped. The new data is, member by member, an added member's name and then its
new units' content; the reference (what the new data is a delta against) is the content of the
base units the plan neither keeps nor copies. Must not: do I/O, or trust a number in a plan it
has not checked against the base.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from lowband.documents.delta.copyinsert import read_varint, write_varint
from lowband.documents.delta.delta import DeltaError
from lowband.documents.office.form import Entry, content_of, inflate
from lowband.documents.office.normalise import MAX_MEMBERS

KEEP, DROP, EDIT, ADD = range(4)

Unit = tuple[bool, int]  # (from the base, piece index) or (new data, its size)


@dataclass(frozen=True, slots=True)
class NewMember:
    """A member the plan edits or adds: its name's length (0 for an edit) and its units."""

    name_len: int
    base: int | None  # index of the base member it edits
    units: tuple[Unit, ...]


def first_units(base: Sequence[Entry]) -> list[int]:
    """The first unit number of each base member (and the total at the end)."""
    firsts, n = [], 0
    for e in base:
        firsts.append(n)
        n += max(1, len(e.pieces))
    return [*firsts, n]


def unit_content(e: Entry, k: int) -> bytes:
    return inflate(e.pieces[k].data, e.pieces[k].size, final=False) if e.pieces else content_of(e)


def plan_for(new: Sequence[Entry], base: Sequence[Entry]) -> tuple[bytes, list[bytes], int]:
    """The plan that builds new from base, the new data's parts, and their total size."""
    index = {e.name: i for i, e in enumerate(base)}
    firsts = first_units(base)
    by_bytes = {p.data: firsts[i] + k for i, e in enumerate(base) for k, p in enumerate(e.pieces)}
    ops: list[list[int]] = []
    plan, cursor = bytearray(), 0
    parts: list[bytes] = []

    def run(kind: int, n: int) -> None:
        if ops and ops[-1][0] == kind:
            ops[-1][1] += n
        else:
            ops.append([kind, n])

    def flush() -> None:
        for kind, n in ops:
            write_varint(plan, n << 2 | kind)
        ops.clear()

    for e in new:
        j = index.get(e.name)
        if j is not None and j >= cursor:
            if j > cursor:
                run(DROP, j - cursor)
            cursor = j + 1
            if base[j] == e:
                run(KEEP, 1)
                continue
            flush()
            units = _new_units(e, by_bytes, parts)
            write_varint(plan, len(units) << 2 | EDIT)
        else:
            flush()
            name = e.name.encode()
            parts.append(name)
            units = _new_units(e, by_bytes, parts)
            write_varint(plan, len(units) << 2 | ADD)
            write_varint(plan, len(name))
        for from_base, x in units:
            write_varint(plan, x << 1 | from_base)
    flush()
    return bytes(plan), parts, sum(map(len, parts))


def _new_units(e: Entry, by_bytes: Mapping[bytes, int], parts: list[bytes]) -> list[Unit]:
    if not e.pieces:
        parts.append(content_of(e))
        return [(False, e.size)]
    units: list[Unit] = []
    for p in e.pieces:
        if p.data in by_bytes:
            units.append((True, by_bytes[p.data]))
        else:
            parts.append(inflate(p.data, p.size, final=False))
            units.append((False, p.size))
    return units


def read_plan(plan: bytes, base: Sequence[Entry]) -> Iterator[int | NewMember]:
    """The plan's members: an int is a kept base member's index. Checks every bound."""
    firsts, pos, cursor, members = first_units(base), 0, 0, 0
    while pos < len(plan):
        op, pos = read_varint(plan, pos)
        kind, n = op & 3, op >> 2
        if kind in (KEEP, DROP) and cursor + n > len(base):
            raise DeltaError("The office delta's plan runs past the base's members.")
        if kind == KEEP:
            yield from range(cursor, cursor + n)
        if kind in (KEEP, DROP):
            cursor, members = cursor + n, members + (n if kind == KEEP else 0)
            continue
        if kind == EDIT and cursor >= len(base):
            raise DeltaError("The office delta's plan edits past the base's members.")
        name_len, pos = read_varint(plan, pos) if kind == ADD else (0, pos)
        units = []
        for _ in range(n):
            x, pos = read_varint(plan, pos)
            if x & 1 and (x >> 1) >= firsts[-1]:
                raise DeltaError("The office delta's plan names a piece the base lacks.")
            units.append((bool(x & 1), x >> 1))
        yield NewMember(name_len, cursor if kind == EDIT else None, tuple(units))
        cursor, members = cursor + (kind == EDIT), members + 1
        if members > MAX_MEMBERS:
            raise DeltaError("The office delta has too many members.")


def reference(base: Sequence[Entry], plan: bytes) -> Iterator[bytes]:
    """The content of every base unit the plan neither keeps nor copies, in base order."""
    firsts, used = first_units(base), set[int]()
    for m in read_plan(plan, base):
        if isinstance(m, int):
            used.update(range(firsts[m], firsts[m + 1]))
        else:
            used.update(x for from_base, x in m.units if from_base)
    for i, e in enumerate(base):
        for k in range(max(1, len(e.pieces))):
            if firsts[i] + k not in used:
                yield unit_content(e, k)
