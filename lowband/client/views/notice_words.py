"""A meeting notice in plain words: the kind badge, the rights, the session times. Pure.

Owns the sentences the meetings and room screens show about a notice: what
kind of meeting it is, what this delegate may do ("you may speak; you may
not take part in decisions"), and each session's time in the delegate's own
zone with UTC and the venue's zone beside it. Must not read the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lowband.protocol.model import MeetingKind, Notice, Rights, Session, has_right

BADGES = {
    MeetingKind.PHYSICAL: "PHYSICAL · in the room only",
    MeetingKind.VIRTUAL: "VIRTUAL · everyone remote",
    MeetingKind.HYBRID: "HYBRID · in the room and remote",
}

_MAY = {
    Rights.OBSERVE: "you may follow the meeting; you may not speak or take part in decisions",
    Rights.SPEAK: "you may speak; you may not take part in decisions",
    Rights.DECIDE: "you may speak and take part in decisions",
    Rights.CHAIR: "you chair the meeting: you may speak, decide and run the speaking queue",
    Rights.SECRETARIAT: "you are the secretariat: you publish the meeting and may chair it",
}

_REMOTE = {
    Rights.OBSERVE: "Remote participants may follow; they may not speak or take part in decisions.",
    Rights.SPEAK: "Remote participants may speak; they may not take part in decisions.",
    Rights.DECIDE: "Remote participants may speak and take part in decisions.",
}


def remote_rights(notice: Notice) -> str:
    return _REMOTE.get(notice.remote_rights, f"Remote participants may {notice.remote_rights}.")


def my_rights(mine: Rights | None, notice: Notice | None) -> Rights | None:
    """What this delegate may do: the roster's rights, capped by the notice for remote delegates."""
    if mine is None or notice is None or has_right(mine, Rights.CHAIR):
        return mine
    return mine if has_right(notice.remote_rights, mine) else notice.remote_rights


def rights_sentence(mine: Rights | None, notice: Notice | None) -> str:
    effective = my_rights(mine, notice)
    if effective is None:
        return "Your key is not on the roster: you may follow, but not ask for the floor or write."
    text = _MAY[effective]
    return text[0].upper() + text[1:] + "."


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _parse(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _span(start: datetime, end: datetime, zone: tzinfo | None) -> str:
    a, b = start.astimezone(zone), end.astimezone(zone)
    day = a.strftime("%a %d %b")
    name = a.strftime("%Z") or "local"
    return f"{day} {a:%H:%M}–{b:%H:%M} {name}"


def session_times(session: Session, venue_tz: str) -> list[str]:
    """The session in the delegate's zone, then UTC, then the venue's zone."""
    try:
        start, end = _parse(session.start), _parse(session.end)
    except ValueError:
        return [f"{session.start} to {session.end} (times not readable)"]
    title = f"{session.title}: " if session.title else ""
    return [
        f"{title}{_span(start, end, None)} (your time)",
        f"  {_span(start, end, UTC)} · {_span(start, end, _zone(venue_tz))} at the venue ({venue_tz})",
    ]


def describe(notice: Notice, mine: Rights | None) -> list[str]:
    """The whole notice as lines: badge, rights, sessions, languages, agenda."""
    lines = [
        f"[{BADGES[notice.kind]}]",
        remote_rights(notice),
        rights_sentence(mine, notice),
        "",
        "Sessions:",
    ]
    for s in notice.sessions:
        lines += ["  " + t for t in session_times(s, notice.venue_tz)]
    lines += ["", "Languages: " + ", ".join(notice.languages or ["(none given)"]), "", "Agenda:"]
    lines += [f"  {a.number}. {a.title}" for a in notice.agenda] or ["  (no agenda yet)"]
    return lines
