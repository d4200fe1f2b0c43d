"""The text of document revisions, as lines, and the diff between two held revisions, for
`lowband docs diff` and the client's diff view.

Owns turning a revision into lines a person compares: UTF-8 text as it is; for Office files
the text of their paragraphs (Word: the `w:t` runs of each `w:p` of word/document.xml;
PowerPoint: the `a:t` runs of each `a:p`, slide by slide; Excel: the shared strings;
OpenDocument: each `text:p` and `text:h` of content.xml). Markup is read with bounded regular
expressions, never an XML parser that expands entities. Only `between` reads the store (the
two revisions' blobs); the rest is pure.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable

from lowband.documents import index as documents
from lowband.documents.office.form import OfficeError
from lowband.documents.office.normalise import unpack
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

MAX_TEXT_TOTAL = 64 * 1024 * 1024  # uncompressed bytes of an Office file read for its text
TAGS = re.compile(rb"<[^>]{0,4096}>")
WORD_RUN = re.compile(rb"<w:t(?:\s[^>]{0,4096})?>([^<]*)</w:t>")
DRAWING_RUN = re.compile(rb"<a:t(?:\s[^>]{0,4096})?>([^<]*)</a:t>")
SHARED_STRING = re.compile(rb"<t(?:\s[^>]{0,4096})?>([^<]*)</t>")
ODF_PARAGRAPH = re.compile(rb"</text:(?:p|h)>")
SLIDE = re.compile(r"^ppt/slides/slide(\d+)\.xml$")


class NotText(ValueError):
    """A revision that has no text lowband can show; the message is one plain sentence."""


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", errors="replace"))


def _paragraphs(xml: bytes, end: bytes, run: re.Pattern[bytes]) -> list[str]:
    return [
        text
        for piece in xml.split(end)
        if (text := "".join(_unescape(r) for r in run.findall(piece)))
    ]


def office_lines(members: Iterable[tuple[str, bytes]]) -> list[str]:
    files = dict(members)
    if "word/document.xml" in files:
        return _paragraphs(files["word/document.xml"], b"</w:p>", WORD_RUN)
    slides = sorted((int(m[1]), n) for n in files if (m := SLIDE.match(n)))
    if slides:
        out: list[str] = []
        for number, name in slides:
            out += [f"--- slide {number}", *_paragraphs(files[name], b"</a:p>", DRAWING_RUN)]
        return out
    if "xl/sharedStrings.xml" in files:
        return [_unescape(s) for s in SHARED_STRING.findall(files["xl/sharedStrings.xml"])]
    if "content.xml" in files:
        pieces = ODF_PARAGRAPH.split(files["content.xml"])
        return [t for p in pieces if (t := _unescape(TAGS.sub(b"", p)).strip())]
    raise NotText("The Office file has no text part lowband knows how to read.")


def lines(data: bytes) -> list[str]:
    """The revision's text as lines; NotText for binary files."""
    if data[:4] == b"PK\x03\x04":
        try:
            return office_lines(unpack(data, max_total=MAX_TEXT_TOTAL))
        except OfficeError as exc:
            raise NotText(
                f"The file is a zip that cannot be read as an Office file: {exc}"
            ) from None
    if b"\0" in data:
        raise NotText("The document is not text, so it has no line-by-line diff.")
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise NotText("The document is not UTF-8 text, so it has no line-by-line diff.") from None


def unified(old: bytes, new: bytes, old_label: str, new_label: str) -> str:
    """A unified diff of two revisions' text ("" when their text is the same)."""
    diff = difflib.unified_diff(lines(old), lines(new), old_label, new_label, lineterm="")
    return "\n".join(diff)


def between(store: Store, meeting: str, doc_id: str, rev: int | None, against: int | None) -> str:
    """A unified diff of the text of two held revisions (default: the newest two held)."""
    blobs = BlobStore(store)
    held = [
        e
        for e in documents.revisions(documents.entries(store, meeting), doc_id)
        if blobs.has(e.sha)
    ]
    new = next((e for e in reversed(held) if rev is None or e.doc.rev == rev), None)
    if new is None:
        raise ValueError(f"No revision of {doc_id} is held here; `lowband docs get` fetches it.")
    old = next(
        (
            e
            for e in reversed(held)
            if (e.doc.rev == against if against is not None else e.doc.rev < new.doc.rev)
        ),
        None,
    )
    if old is None:
        raise ValueError(f"A second held revision of {doc_id} is needed to compare with.")
    try:
        return unified(
            blobs.read(old.sha),
            blobs.read(new.sha),
            f"{doc_id} r{old.doc.rev}",
            f"{doc_id} r{new.doc.rev}",
        )
    except NotText as exc:
        raise ValueError(str(exc)) from None
