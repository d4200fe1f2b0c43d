"""Rows and summary tables of the document-delta benchmark (scripts/bench_docs.py).

Owns: the per-pair result record, the per-pair row format, the summary per method (total
bytes, ratios to zstd --patch-from and rdiff, encode time, decode MB/s) and the check against
the goals of issue 5. Must not: run any method or read the corpus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

# (wire bytes, encode seconds, decode seconds, rebuilt exactly)
Result = tuple[int, float, float, bool]
COLUMNS = ("lowband", "relay", "zstd-pf", "xdelta3", "bsdiff", "rdiff", "rdiff+z", "zstd-19")
BYTE_DELTAS = ("zstd-pf", "xdelta3", "bsdiff", "rdiff", "rdiff+z")


@dataclass
class Row:
    pair: str
    kind: str
    size: int  # the new revision as authored
    published: int  # what lowband publishes and rebuilds (the normalised zip for Office files)
    content: int  # the document's content: for Office files, its members decompressed
    method: str  # what lowband chose
    base: int  # index of the base lowband chose in the held revisions (-1: none)
    held: int  # how many earlier revisions the receiver held
    results: dict[str, Result]

    def as_json(self) -> dict[str, object]:
        return asdict(self)

    def base_label(self) -> str:
        if self.base < 0:
            return "-"
        return "prev" if self.base == self.held - 1 else f"prev-{self.held - 1 - self.base}"


def cell(row: Row, method: str) -> str:
    res = row.results.get(method)
    return "-" if res is None else f"{res[0]}{'' if res[3] else '!'}"


def print_row(row: Row, header: bool = False) -> None:
    if header:
        names = " ".join(f"{c:>8}" for c in COLUMNS)
        print(f"{'pair':44} {'size':>8} {'chose':>13} {names}")
    name = row.pair if len(row.pair) <= 44 else "…" + row.pair[-43:]
    chose = f"{row.method}/{row.base_label()}"
    cells = " ".join(f"{cell(row, c):>8}" for c in COLUMNS)
    print(f"{name:44} {row.size:>8} {chose:>13} {cells}", flush=True)


def output_bytes(row: Row, method: str) -> int:
    return row.published if method == "lowband" else row.size


def summary(rows: list[Row], title: str) -> None:
    methods = [m for m in (*COLUMNS, "zstd-pf-norm") if any(m in r.results for r in rows)]
    total = {m: sum(r.results[m][0] for r in rows if m in r.results) for m in methods}
    print(f"\n{title}: {len(rows)} pairs, {sum(r.size for r in rows)} bytes of new revisions")
    print(
        f"{'method':14} {'total bytes':>12} {'/zstd-pf':>9} {'/rdiff':>8} {'encode s':>9} {'decode MB/s':>12}"
    )
    for m in methods:
        enc = sum(r.results[m][1] for r in rows if m in r.results)
        dec = sum(r.results[m][2] for r in rows if m in r.results)
        out = sum(output_bytes(r, m) for r in rows if m in r.results)
        label = "lowband codec" if m == "lowband" else m
        print(
            f"{label:14} {total[m]:>12} {total[m] / total['zstd-pf']:>9.3f} "
            f"{total[m] / total['rdiff']:>8.3f} {enc:>9.2f} {out / dec / 1e6:>12.1f}"
        )
    if "relay" not in methods:
        print(f"{'relay':14} {'(lowband through a relay: to be added by the core engineer)':>40}")


def print_summaries(rows: list[Row]) -> None:
    for kind in ("text", "office"):
        if any(r.kind == kind for r in rows):
            summary([r for r in rows if r.kind == kind], f"{kind} documents")
    summary(rows, "all documents")
    lb = sum(r.results["lowband"][0] for r in rows)
    pf = sum(r.results["zstd-pf"][0] for r in rows)
    rd = sum(r.results["rdiff"][0] for r in rows)
    rdz = sum(r.results["rdiff+z"][0] for r in rows)
    dec_out = sum(r.published for r in rows)
    dec_s = sum(r.results["lowband"][2] for r in rows)
    chosen = Counter(r.method for r in rows)
    older = [r.pair for r in rows if r.base >= 0 and r.base != r.held - 1]
    print("\nGoals (issue 5), lowband codec:")
    print(f"  bytes vs zstd --patch-from: {lb} / {pf} = {lb / pf:.3f} (goal < 1)")
    print(f"  bytes vs rdiff: {lb / rd:.3f}, vs rdiff+zstd: {lb / rdz:.3f} (goal about 0.33)")
    office = [r for r in rows if r.kind == "office"]
    if office:
        best_byte = [min(r.results[m][0] for m in BYTE_DELTAS) for r in office]
        ratios = [b / r.results["lowband"][0] for b, r in zip(best_byte, office, strict=True)]
        total_ratio = sum(best_byte) / sum(r.results["lowband"][0] for r in office)
        print(
            f"  Office: best byte delta / lowband: total {total_ratio:.1f}x, "
            f"median {sorted(ratios)[len(ratios) // 2]:.1f}x, worst pair {min(ratios):.1f}x "
            f"(goal >= 10x)"
        )
    for kind in ("text", "office"):
        sel = [r for r in rows if r.kind == kind]
        if sel:
            out = sum(r.published for r in sel) / 1e6
            content = sum(r.content for r in sel) / 1e6
            secs = sum(r.results["lowband"][2] for r in sel)
            print(
                f"  decode {kind}: {out / secs:.1f} MB/s of published file, "
                f"{content / secs:.1f} MB/s of content (goal >= 50)"
            )
    print(f"  decode: {dec_out / dec_s / 1e6:.1f} MB/s of published file over all pairs")
    print(f"  methods chosen: {dict(chosen)}; base older than the previous revision: {len(older)}")
    for name in older:
        print(f"    {name}")
