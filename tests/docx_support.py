"""A small but real-shaped Word file built with zipfile, for the document tests."""

from __future__ import annotations

import io
import random
import zipfile
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def paragraphs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = [
        "".join(rng.choice("etaoinshrdlu") for _ in range(rng.randint(2, 9))) for _ in range(900)
    ]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 30))) for _ in range(n)]


def make_docx(
    paras: list[str], when: tuple[int, int, int, int, int, int] = (2026, 3, 1, 9, 0, 0)
) -> bytes:
    """A .docx the way a word processor saves one: its own member order and timestamps."""
    runs = "".join(
        f'<w:p><w:r><w:rPr><w:lang w:val="en-GB"/></w:rPr><w:t xml:space="preserve">{escape(p)}'
        "</w:t></w:r></w:p>"
        for p in paras
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{W}"><w:body>{runs}<w:sectPr/></w:body></w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in (
            ("word/document.xml", document),
            ("_rels/.rels", RELS),
            ("[Content_Types].xml", CONTENT_TYPES),
        ):
            zf.writestr(zipfile.ZipInfo(name, when), text, zipfile.ZIP_DEFLATED)
    return out.getvalue()
