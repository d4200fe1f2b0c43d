"""Office deltas (form version 2): a normalised Office file sent as what changed in its members.

Owns the office form. A form is

    byte 0: TAG (0x22; the high nibble says office, the low one the form version)
    the held base's id: 1 byte n, 0 for none (a first fetch), else as lowband.documents.delta.delta writes it
    varint p, then p bytes of plan
    a lowband.documents.delta.delta delta of the new data, against the reference (base id empty)

The plan (office_plan.py) says which base members are kept and which base pieces copied, both
still deflated; the receiver inflates only the held versions of what changed (the reference),
deflates only the new units, and checks the rebuilt file's SHA-256. Must not: do I/O, or decode past its bounds (every
malformed form raises DeltaError, and only that).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lowband.documents.delta.copyinsert import OpStreamError, read_varint, write_varint
from lowband.documents.delta.delta import (
    Delta,
    DeltaError,
    decode_delta,
    encode_delta,
    read_id,
    write_id,
)
from lowband.documents.office.form import (
    Entry,
    OfficeError,
    Piece,
    deflate_pieces,
    from_pieces,
    is_big,
    whole,
)
from lowband.documents.office.normalise import MAX_MEMBERS, MAX_TOTAL
from lowband.documents.office.plan import NewMember, first_units, plan_for, read_plan, reference
from lowband.documents.office.zip import pack_entries, read_entries

OFFICE = 0x20
TAG = OFFICE | 2
MAX_PLAN = 1 << 20
MAX_NAMES = 64 * MAX_MEMBERS  # bytes of added members' names at most


def is_office_form(data: bytes) -> bool:
    return data[:1] != b"" and data[0] & 0xF0 == OFFICE


# --- the sender ------------------------------------------------------------------------------


def office_delta(new_norm: bytes, bases: Mapping[str, bytes], level: int = 19) -> Delta:
    """Encode a normalised Office file against the held normalised revision that suits best
    (the one leaving the fewest bytes of new data; on a tie the later, as callers list older
    revisions first). Held bases that are not normalised zips are skipped. Raises OfficeError
    if new_norm is not normalised, since the receiver would then rebuild different bytes."""
    new = read_entries(new_norm, max_total=MAX_TOTAL, max_members=MAX_MEMBERS)
    best: tuple[int, str | None, list[Entry]] = (1 << 62, None, [])
    for bid, data in bases.items():
        if not bid:  # an empty id is written as "no base"
            continue
        try:
            entries = read_entries(data, max_total=MAX_TOTAL, max_members=MAX_MEMBERS)
        except OfficeError:
            continue
        cost = plan_for(new, entries)[2]
        if cost <= best[0]:
            best = (cost, bid, entries)
    _, base_id, base = best
    plan, parts, _ = plan_for(new, base)
    ref = b"".join(reference(base, plan))
    inner = encode_delta(b"".join(parts), {"": ref} if ref else {}, level)
    head = bytes([TAG]) + (write_id(base_id) if base_id is not None else b"\x00")
    size = bytearray()
    write_varint(size, len(plan))
    form = head + bytes(size) + plan + inner.data
    held = {base_id: bases[base_id]} if base_id is not None else {}
    try:
        same = apply_office_delta(form, held, max_size=len(new_norm)) == new_norm
    except DeltaError:
        same = False
    if not same:
        raise OfficeError("The file is not a normalised Office document; normalise it first.")
    return Delta(inner.method, base_id, form, inner.tried)


# --- the receiver ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """An edited or added member of the new revision: base pieces and new content, in order."""

    name: str
    units: tuple[Piece | bytes, ...]

    @property
    def pieced(self) -> bool:
        size = sum(u.size if isinstance(u, Piece) else len(u) for u in self.units)
        return is_big(self.name, size)


def _drafts(
    base: Sequence[Entry], members: list[int | NewMember], data: bytes, max_size: int
) -> list[Entry | Draft]:
    """Each kept base entry, or a draft of the member; the bytes copied may not exceed max_size
    (a plan may name one piece many times)."""
    firsts = first_units(base)
    pieces = {firsts[i] + k: p for i, e in enumerate(base) for k, p in enumerate(e.pieces)}
    out: list[Entry | Draft] = []
    pos = copied = 0
    for m in members:
        if isinstance(m, int):
            out.append(base[m])
            copied += len(base[m].data)
            continue
        name = base[m.base].name if m.base is not None else data[pos : pos + m.name_len].decode()
        pos += m.name_len
        units: list[Piece | bytes] = []
        for from_base, x in m.units:
            if from_base and x not in pieces:
                raise DeltaError("The office delta copies a base member that is not in pieces.")
            units.append(pieces[x] if from_base else data[pos : pos + x])
            copied += len(pieces[x].data) if from_base else 0
            pos += 0 if from_base else x
        if copied > max_size:
            raise DeltaError("The rebuilt document is larger than allowed.")
        out.append(Draft(name, tuple(units)))
    return out


def _rebuild(drafts: list[Entry | Draft]) -> list[Entry]:
    """The entries, new pieces deflated together over threads."""
    big = [d for d in drafts if isinstance(d, Draft) and d.pieced]
    made = iter(deflate_pieces([u for d in big for u in d.units if isinstance(u, bytes)]))
    entries = []
    for d in drafts:
        if isinstance(d, Entry):
            entries.append(d)
        elif d.pieced:
            entries.append(
                from_pieces(d.name, [u if isinstance(u, Piece) else next(made) for u in d.units])
            )
        elif len(d.units) > 1 or any(isinstance(u, Piece) for u in d.units):
            raise DeltaError("The office delta splits a small member into pieces.")
        else:
            unit = d.units[0] if d.units else b""
            assert isinstance(unit, bytes)  # pieces were refused just above
            entries.append(whole(d.name, unit))
    return entries


def read_form(data: bytes) -> tuple[str | None, bytes, bytes]:
    """The base id (None for a first fetch), plan and inner delta of an office form."""
    if not is_office_form(data) or data[0] != TAG:
        raise DeltaError(
            f"The office delta is of form version {data[0] & 0x0F if data else 'none'}; "
            f"this receiver knows only version {TAG & 0x0F}."
        )
    try:
        bid, pos = read_id(data, 1) if data[1:2] != b"\x00" else (None, 2)
        plan_len, pos = read_varint(data, pos)
    except OpStreamError as exc:
        raise DeltaError(f"The office delta's header is malformed: {exc}.") from exc
    if plan_len > min(MAX_PLAN, len(data) - pos):
        raise DeltaError("The office delta's plan is cut short or too long.")
    return bid, data[pos : pos + plan_len], data[pos + plan_len :]


def apply_office_delta(
    data: bytes,
    bases: Mapping[str, bytes],
    *,
    max_size: int,
    expected_sha256: bytes | None = None,
    max_total: int = MAX_TOTAL,
) -> bytes:
    """Rebuild the normalised file; raises DeltaError for a bad delta, base or result."""
    bid, plan, inner = read_form(data)
    if bid is not None and bid not in bases:
        raise DeltaError(f"The delta needs base {bid!r}, which is not held.")
    try:
        held = bases[bid] if bid is not None else b""
        base = read_entries(held, max_total=max_total, max_members=MAX_MEMBERS) if held else []
        members = list(read_plan(plan, base))
        new = [m for m in members if isinstance(m, NewMember)]
        size = sum(m.name_len + sum(x for b, x in m.units if not b) for m in new)
        if size > max_total + MAX_NAMES:
            raise DeltaError("The office delta's members are larger than allowed.")
        ref = b"".join(reference(base, plan))
        got = decode_delta(inner, {"": ref}, max_size=size)
        if len(got) != size:
            raise DeltaError("The office delta's data does not fill its members.")
        out = pack_entries(_rebuild(_drafts(base, members, got, max_size)))
    except OpStreamError as exc:
        raise DeltaError(f"The office delta's plan is malformed: {exc}.") from exc
    except (OfficeError, UnicodeDecodeError) as exc:
        raise DeltaError(f"The office delta cannot be rebuilt: {exc}") from exc
    if len(out) > max_size:
        raise DeltaError("The rebuilt document is larger than allowed.")
    if expected_sha256 is not None and hashlib.sha256(out).digest() != expected_sha256:
        raise DeltaError("The rebuilt document does not match its SHA-256.")
    return out
