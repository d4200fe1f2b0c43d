"""Boundaries that must hold mechanically: imports, help, and the README."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lowband.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def imported_by(*modules: str) -> set[str]:
    code = f"import sys, {', '.join(modules)}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


# Bottom to top: a package imports only packages on lower rows (docs/architecture.md).
LAYERS = [
    {"protocol", "http", "linkem", "data"},
    {"storage", "modes", "meeting"},
    {"node", "documents", "origin"},
    {"audio", "relay", "delegate"},
    {"client"},
    {"harness"},
    {"cli"},
    {"__main__"},
]
RANK = {name: row for row, names in enumerate(LAYERS) for name in names}
IO_LIBRARIES = ("asyncio", "httpx", "sqlite3", "sqlite_utils", "textual", "av")
ABOVE_THE_CORE = ("node", "relay", "client", "audio", "storage", "documents")


def modules_of(package: str) -> list[str]:
    """Every module of `package`, found by walking it, not from a hand-kept list."""
    pkg = importlib.import_module(package)
    found = [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")]
    return [package, *found]


def lowband_imports(path: Path) -> set[str]:
    """The lowband modules a source file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lowband":
                names |= {f"lowband.{a.name}" for a in node.names}
            elif node.module.startswith("lowband."):
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("lowband.")}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; lowband imports by absolute name")
    return names


def package_of(path: Path) -> str:
    rel = path.relative_to(ROOT / "lowband")
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("package", ["lowband.protocol", "lowband.modes"])
def test_the_sans_io_core_loads_no_io_library_and_nothing_above_it(package: str) -> None:
    modules = modules_of(package)
    assert len(modules) > 3
    loaded = imported_by(*modules)
    banned = [*IO_LIBRARIES, *(f"lowband.{p}" for p in ABOVE_THE_CORE)]
    assert [m for m in banned if m in loaded] == [], f"{package} loads these"


def test_every_package_imports_only_packages_below_it() -> None:
    upward = []
    for path in sorted((ROOT / "lowband").rglob("*.py")):
        mine = package_of(path)
        assert mine in RANK or mine == "__init__", f"{mine} has no row in LAYERS"
        for name in lowband_imports(path):
            theirs = name.split(".")[1]
            if theirs != mine and RANK.get(theirs, 99) >= RANK.get(mine, 0):
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert upward == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from lowband.client.app import make_app\n")
    assert lowband_imports(bad) == {"lowband.client.app"}
    assert RANK["client"] > RANK["node"]


def test_only_lowband_http_imports_httpx() -> None:
    importers = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "lowband").rglob("*.py")
        if re.search(r"^\s*(import|from) httpx\b", p.read_text(), re.M)
    ]
    assert importers == ["lowband/http.py"]


def test_relay_needs_neither_textual_nor_pyav() -> None:
    loaded = imported_by("lowband.relay.app")
    assert "textual" not in loaded and "av" not in loaded


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[union-attr]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in commands():
        out = subprocess.run(
            [sys.executable, "-m", "lowband", name, "--help"], capture_output=True, text=True
        )
        assert out.returncode == 0 and "usage:" in out.stdout
        assert re.search(rf"lowband( --home \S+)? {name}\b", readme), f"{name} missing from README"
