"""Encoded forms of a document revision: what a blob endpoint sends for a given set of bases.

Owns the choice between an office delta (lowband.documents.office.delta, for normalised Office
zips) and a plain delta (lowband.documents.delta.delta, for everything else, and for any zip that turns
out not to be normalised), the bound on a form's size, and the decoder that dispatches on the
form's first byte. Bases are keyed by their short id (the first 16 hex digits of their
SHA-256), which is also the base id a delta's header names. Must not: do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from lowband.documents.delta.delta import Delta, decode_delta, encode_delta
from lowband.documents.office.delta import TAG, apply_office_delta, is_office_form, office_delta
from lowband.documents.office.form import OfficeError

FORM_SLACK = 1024  # a form is never larger than the revision plus this (a stored delta is +1)


def max_form_size(size: int) -> int:
    """The largest encoded form a receiver accepts for a revision of `size` bytes."""
    return size + FORM_SLACK


def encode_form(target: bytes, bases: Mapping[str, bytes], level: int = 19) -> Delta:
    """The smallest form the codecs find; bases are listed oldest first (ties go to later)."""
    if target[:4] == b"PK\x03\x04":
        try:
            form = office_delta(target, bases, level)
        except OfficeError:
            pass  # not a normalised Office file: a plain byte delta is still correct
        else:
            if len(form.data) <= max_form_size(len(target)):
                return form
    return encode_delta(target, bases, level)


def is_current(head: bytes) -> bool:
    """False for a form (given by its first byte at least) that this version no longer writes:
    an office form of another version, which a cache must encode again."""
    return not is_office_form(head) or head[0] == TAG


def decode_form(
    data: bytes, bases: Mapping[str, bytes], *, max_size: int, expected_sha256: bytes
) -> bytes:
    """Rebuild the revision; raises DeltaError unless it fits max_size and has the hash."""
    if is_office_form(data):
        return apply_office_delta(data, bases, max_size=max_size, expected_sha256=expected_sha256)
    return decode_delta(data, bases, max_size=max_size, expected_sha256=expected_sha256)
