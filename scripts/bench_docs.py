"""Benchmark lowband's document deltas against zstd --patch-from, xdelta3, bsdiff and rdiff.

Owns: running every method on every revision pair of the corpus (scripts/docs_corpus.py) in
one run, checking that each one rebuilds the new revision exactly, and printing per-pair rows
and summary tables (bench_docs_report.py). Must not: be imported by lowband, or fetch anything.

    python scripts/bench_docs.py [--cache DIR] [--level 19] [--kind text|office] [--json FILE]
                                 [--inline-limit 4096] [--decode-runs 5]

Methods (bytes are what crosses the link for one revision):
  lowband    lowband.documents.delta.delta.encode_delta for text; for Office files the normalised file's
             office delta (lowband.documents.office.delta), the receiver holding every earlier
             revision. Payload plus lowband's delta header, base ids as on the wire ("lowband
             codec").
  relay      lowband through a relay process, protocol included (bench_docs_relay.py): a form
             of at most --inline-limit bytes (default 4096, a delegate client's) inside the
             sync exchange, the DocForm frame and the request's inline fields counted; a
             larger one (or all, with --inline-limit 0) by HTTP GET, heads counted.
  zstd-pf    zstd -19 --patch-from=<previous revision> (CLI, its own frame header and checksum).
  xdelta3    xdelta3 -9 -e -s <previous>.   bsdiff   bsdiff <previous> <new>.
  rdiff      librsync: the signature the receiver sends (recommended block size, minimum safe
             strength) plus the delta;  rdiff+z: the same with the delta zstd -19 compressed.
  zstd-19    the whole new file, zstd -19.
Byte tools work on the files as authored (for Office files, the raw zips); zstd-pf-norm is
zstd --patch-from between the normalised zips, to show what normalising alone gives.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_docs_report import Result, Row, print_row, print_summaries

from lowband.documents.delta.delta import decode_delta, encode_delta
from lowband.documents.office.delta import apply_office_delta, office_delta
from lowband.documents.office.normalise import normalise, unpack
from lowband.storage.blobs import short_id

DEFAULT_CACHE = Path.home() / ".cache" / "lowband-bench" / "docs"
TOOLS = ("zstd", "xdelta3", "bsdiff", "bspatch", "rdiff")
Cmd = list[str | Path]


def ensure_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        script = Path(__file__).with_name("install_bench_tools.sh")
        print(f"missing {' '.join(missing)}: running {script}", flush=True)
        subprocess.run(["bash", str(script)], check=True)


def run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def timed(commands: list[Cmd]) -> float:
    start = time.perf_counter()
    for cmd in commands:
        run(*cmd)
    return time.perf_counter() - start


def cli_method(tmp: Path, new: Path, encode: list[Cmd], decode: list[Cmd]) -> Result:
    """(wire bytes, encode s, decode s, exact) of a CLI tool; files named in the commands:
    'sig' and 'delta' are counted as wire bytes, 'out' must equal new."""
    for name in ("sig", "delta", "out"):
        (tmp / name).unlink(missing_ok=True)
    enc, dec = timed(encode), timed(decode)
    wire = sum((tmp / n).stat().st_size for n in ("sig", "delta") if (tmp / n).exists())
    return wire, enc, dec, (tmp / "out").read_bytes() == new.read_bytes()


def byte_tools(tmp: Path, prev: Path, new: Path, level: int) -> dict[str, Result]:
    sig, delta, out = tmp / "sig", tmp / "delta", tmp / "out"
    zl = f"-{level}"
    r: dict[str, Result] = {}
    r["zstd-pf"] = cli_method(
        tmp, new,
        [["zstd", "-q", "-f", zl, f"--patch-from={prev}", new, "-o", delta]],
        [["zstd", "-q", "-f", "-d", f"--patch-from={prev}", delta, "-o", out]],
    )  # fmt: skip
    r["xdelta3"] = cli_method(
        tmp, new, [["xdelta3", "-9", "-f", "-e", "-s", prev, new, delta]],
        [["xdelta3", "-f", "-d", "-s", prev, delta, out]],
    )  # fmt: skip
    r["bsdiff"] = cli_method(
        tmp, new, [["bsdiff", prev, new, delta]], [["bspatch", prev, out, delta]]
    )
    rdiff_enc: list[Cmd] = [
        ["rdiff", "-f", "-S", "-1", "signature", prev, sig],
        ["rdiff", "-f", "delta", sig, new, tmp / "rd"],
    ]
    r["rdiff"] = cli_method(
        tmp, new, [*rdiff_enc, ["cp", tmp / "rd", delta]],
        [["rdiff", "-f", "patch", prev, delta, out]],
    )  # fmt: skip
    r["rdiff+z"] = cli_method(
        tmp, new, [*rdiff_enc, ["zstd", "-q", "-f", zl, tmp / "rd", "-o", delta]],
        [["zstd", "-q", "-f", "-d", delta, "-o", tmp / "rd2"], ["rdiff", "-f", "patch", prev, tmp / "rd2", out]],
    )  # fmt: skip
    r["zstd-19"] = cli_method(
        tmp, new, [["zstd", "-q", "-f", zl, new, "-o", delta]],
        [["zstd", "-q", "-f", "-d", delta, "-o", out]],
    )  # fmt: skip
    return r


def relay_transfer(pair: dict[str, Any], cache: Path, inline_limit: int) -> Result | None:
    """Lowband through a relay, protocol included (scripts/bench_docs_relay.py).

    Publishes every revision in pair["bases"] and pair["new"] to an origin process, has a
    delegate that holds the bases receive the new one through a relay process (inside the
    sync exchange when its form fits `inline_limit`, else by HTTP), and returns (bytes on the
    wire, protocol included; request to response head; decode s; exact)."""
    from bench_docs_relay import transfer

    return transfer(pair, cache, inline_limit)


def lowband_codec(
    kind: str, new: bytes, bases: list[bytes], level: int, runs: int
) -> tuple[Any, ...]:
    """(wire bytes, encode s, decode s (the median of `runs` decodes), exact, method, base
    index, published size, content size: the decompressed members for an Office file)."""
    office = kind == "office"
    if office:
        new, bases = normalise(new), [normalise(b) for b in bases]
    held = {short_id(hashlib.sha256(b).hexdigest()): b for b in bases}  # ids as on the wire
    t0 = time.perf_counter()
    delta = office_delta(new, held, level) if office else encode_delta(new, held, level)
    t1 = time.perf_counter()
    decode = apply_office_delta if office else decode_delta
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        got = decode(
            delta.data, held, max_size=len(new), expected_sha256=hashlib.sha256(new).digest()
        )
        times.append(time.perf_counter() - start)
    base = -1 if delta.base_id is None else list(held).index(delta.base_id)
    content = sum(len(c) for _, c in unpack(new)) if office else len(new)
    exact = got == new
    return (
        len(delta.data),
        t1 - t0,
        statistics.median(times),
        exact,
        delta.method.name.lower(),
        base,
        len(new),
        content,
    )


def bench_pair(
    pair: dict[str, Any], cache: Path, tmp: Path, level: int, inline_limit: int, runs: int
) -> Row:
    new_p, prev_p = cache / pair["new"], cache / pair["prev"]
    new, bases = new_p.read_bytes(), [(cache / b).read_bytes() for b in pair["bases"]]
    *lb, method, base, published, content = lowband_codec(pair["kind"], new, bases, level, runs)
    results = {"lowband": tuple(lb), **byte_tools(tmp, prev_p, new_p, level)}
    relay = relay_transfer(pair, cache, inline_limit)
    if relay is not None:
        results["relay"] = relay
    if pair["kind"] == "office":
        (tmp / "pn").write_bytes(normalise(prev_p.read_bytes()))
        (tmp / "nn").write_bytes(normalise(new))
        results["zstd-pf-norm"] = byte_tools(tmp, tmp / "pn", tmp / "nn", level)["zstd-pf"]
    return Row(
        pair["id"], pair["kind"], len(new), published, content, method, base, len(bases), results
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--level", type=int, default=19)
    parser.add_argument("--kind", choices=("text", "office"))
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument(
        "--inline-limit",
        type=int,
        default=4096,
        help="largest form sent inside the sync exchange (0: every revision by HTTP GET)",
    )
    parser.add_argument(
        "--decode-runs", type=int, default=5, help="decodes per pair; lowband's time is the median"
    )
    args = parser.parse_args()
    ensure_tools()
    manifest = json.loads((args.cache / "manifest.json").read_text())
    pairs = [p for p in manifest["pairs"] if args.kind in (None, p["kind"])]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for pair in pairs:
            rows.append(
                bench_pair(
                    pair, args.cache, Path(tmp), args.level, args.inline_limit, args.decode_runs
                )
            )
            print_row(rows[-1], header=len(rows) == 1)
    bad = [(r.pair, m) for r in rows for m, res in r.results.items() if not res[3]]
    print_summaries(rows)
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in rows], indent=1) + "\n")
    if bad:
        sys.exit(f"methods that did not rebuild the revision exactly: {bad}")


if __name__ == "__main__":
    main()
