"""Resemblance of a new revision to the bases a receiver holds, to rank them before encoding.

Owns: cheap content-defined features (the distinct pieces between newlines and tags, the same
cut points copyinsert.py anchors on) and the ranking of candidate bases by how many of the new
revision's pieces each contains. Everything heavy runs in C (translate, split, set), so ranking
a handful of multi-megabyte bases costs well under a second. Must not: do I/O or compress
anything; delta.py confirms the ranking with trial matches.
"""

from __future__ import annotations

from collections.abc import Mapping

from lowband.documents.delta.copyinsert import TO_NEWLINE


def features(data: bytes) -> set[bytes]:
    """The distinct pieces of data cut after every newline and '>'."""
    return set(data.translate(TO_NEWLINE).split(b"\n"))


def containment(new_features: set[bytes], base: bytes) -> float:
    """Share of the new revision's pieces that the base also has (0 to 1)."""
    if not new_features:
        return 0.0
    return len(new_features & features(base)) / len(new_features)


def rank_bases(new: bytes, bases: Mapping[str, bytes]) -> list[str]:
    """Base ids, most resembling first; ties go to the later one in the mapping's order."""
    wanted = features(new)
    scores = {bid: containment(wanted, data) for bid, data in bases.items()}
    return sorted(reversed(list(bases)), key=lambda bid: -scores[bid])
