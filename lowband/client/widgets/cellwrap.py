"""Word wrapping by terminal cells, fast enough for 10,000 transcript lines. Pure.

Owns one job: cut a string into rows that fit a width in cells, at spaces
for alphabetic scripts and between characters for Chinese, Japanese and
Korean (which have no spaces), and inside a word only when the word alone
is wider than a row. Arabic and other scripts keep their characters in
logical order; the terminal shapes them. Must not style or render.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

# Whitespace runs, single wide East Asian characters (each a break opportunity), other words.
_TOKEN = re.compile(
    r"\s+|[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
    r"|[^\s\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]+"
)


def wrap_spans(text: str, width: int, rest_width: int | None = None) -> list[tuple[int, int]]:
    """(start, end) character ranges of `text`'s rows; rows after the first fit `rest_width`."""
    width = max(1, width)
    rest = max(1, rest_width if rest_width is not None else width)
    if len(text) <= width and text.isascii():
        return [(0, len(text))]
    rows: list[tuple[int, int]] = []
    start, used, limit = 0, 0, width
    for m in _TOKEN.finditer(text):
        tok = m.group()
        tw = len(tok) if tok.isascii() else cell_len(tok)
        if used + tw <= limit:
            used += tw
            continue
        if tok[0].isspace():  # a row ends at a space; the space is dropped
            rows.append((start, m.start()))
            start, used, limit = m.end(), 0, rest
            continue
        if used > 0:  # the word goes to the next row
            rows.append((start, m.start()))
            start, used, limit = m.start(), 0, rest
            if tw <= limit:
                used = tw
                continue
        for i, ch in enumerate(tok, start=m.start()):  # a word wider than a row: cut it
            cw = 1 if ch.isascii() else cell_len(ch)
            if used + cw > limit and used > 0:
                rows.append((start, i))
                start, used, limit = i, 0, rest
            used += cw
    rows.append((start, len(text)))
    return rows
