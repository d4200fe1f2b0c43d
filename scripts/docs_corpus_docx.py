"""Edited revision chains of real Word files, for the document-delta benchmark corpus.

Owns: picking real .docx test files out of downloaded sdists and editing them the way an author
would (fix a typo, insert a sentence, add a section, rewrite a paragraph) with python-docx, each
edit saved as the next revision. Must not: fetch anything (docs_corpus.py does) or be imported
by lowband. Needs python-docx in the venv (a development dependency, not a runtime one).
"""

from __future__ import annotations

import io
import random
import tarfile
from collections.abc import Callable
from pathlib import Path

import docx
from docx.document import Document
from docx.text.paragraph import Paragraph

MAX_DOCS = 9
SENTENCES = (
    "The delegation of Kenya proposed to align this text with Resolution 167 (Rev. Bucharest, 2022).",
    "Remote participants shall have the same speaking rights as those present in the room.",
    "The secretariat will circulate a revised draft before the next session.",
    "This paragraph was agreed ad referendum pending consultation with capitals.",
)


def text_paragraphs(doc: Document) -> list[Paragraph]:
    return [p for p in doc.paragraphs if len(p.text) >= 30 and p.runs]


def fix_typo(doc: Document, rng: random.Random) -> None:
    """Swap two inner letters of one longer word, as a spelling correction does."""
    para = rng.choice(text_paragraphs(doc))
    run = max(para.runs, key=lambda r: len(r.text))
    words = [w for w in run.text.split() if len(w) >= 6 and w.isalpha()] or run.text.split()
    word = rng.choice(words)
    i = len(word) // 2
    fixed = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    run.text = run.text.replace(word, fixed, 1)


def insert_sentence(doc: Document, rng: random.Random) -> None:
    para = rng.choice(text_paragraphs(doc))
    para.add_run(" " + rng.choice(SENTENCES))


def add_section(doc: Document, rng: random.Random) -> None:
    try:
        doc.add_heading("Amendments agreed in session", level=1)
    except KeyError:  # a document without the built-in heading styles
        doc.add_paragraph("Amendments agreed in session")
    for sentence in rng.sample(SENTENCES, 2):
        doc.add_paragraph(sentence)


def rewrite_paragraph(doc: Document, rng: random.Random) -> None:
    para = rng.choice(text_paragraphs(doc))
    first, *rest = para.runs
    first.text = "Revised: " + rng.choice(SENTENCES) + " " + first.text[: len(first.text) // 2]
    for run in rest:
        run.text = ""


EDITS: tuple[tuple[str, Callable[[Document, random.Random], None]], ...] = (
    ("typo", fix_typo),
    ("sentence", insert_sentence),
    ("section", add_section),
    ("paragraph", rewrite_paragraph),
)


def candidates(sdists: list[Path]) -> list[tuple[str, bytes]]:
    """Word files in the sdists that python-docx opens and that have enough text to edit."""
    found: dict[bytes, str] = {}
    for sdist in sdists:
        with tarfile.open(sdist) as tar:
            for info in tar:
                member = tar.extractfile(info) if info.name.endswith(".docx") else None
                if member is None:
                    continue
                data = member.read()
                try:
                    usable = len(text_paragraphs(docx.Document(io.BytesIO(data)))) >= 3
                except Exception:  # test files that are deliberately odd
                    usable = False
                if usable:
                    found.setdefault(data, info.name.split("/", 1)[0] + "/" + Path(info.name).name)
    return sorted(((name, data) for data, name in found.items()), key=lambda nd: len(nd[1]))


def build_docx_pairs(cache: Path, sdists: list[Path]) -> list[dict[str, object]]:
    docs = candidates(sdists)
    if len(docs) > MAX_DOCS:
        step = (len(docs) - 1) / (MAX_DOCS - 1)
        docs = [docs[round(i * step)] for i in range(MAX_DOCS)]
    pairs: list[dict[str, object]] = []
    for name, data in docs:
        stem = name.replace("/", "__")[: -len(".docx")]
        rel = Path("office", stem + "@0-original.docx")
        (cache / rel).parent.mkdir(parents=True, exist_ok=True)
        (cache / rel).write_bytes(data)
        held = [str(rel)]
        rng = random.Random(name)
        doc = docx.Document(io.BytesIO(data))
        for n, (label, edit) in enumerate(EDITS, start=1):
            edit(doc, rng)
            out = io.BytesIO()
            doc.save(out)
            rel = Path("office", f"{stem}@{n}-{label}.docx")
            (cache / rel).write_bytes(out.getvalue())
            pairs.append(
                {
                    "id": f"{name}@{label}",
                    "kind": "office",
                    "new": str(rel),
                    "prev": held[-1],
                    "bases": list(held),
                }
            )
            held.append(str(rel))
    return pairs
