"""The house's rules, read from the imports: the core knows no platform, each part of `bot/`
imports only the parts below it (as `bot/__init__.py` lists them), the layout stays small enough
to read, and nothing is created at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "bot"
PLATFORM_SDKS = {"slack_bolt", "slack_sdk", "discord"}
PACKAGES = ("store", "arxiv", "config", "digest", "daily", "conversation")

CORE = frozenset({"core"})
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": CORE,
    "store": CORE,
    "work": CORE | {"store"},
    "scoring": CORE,
    "arxiv": CORE | {"store"},
    "config": CORE | {"store", "arxiv", "scoring"},
    "digest": CORE | {"store", "work", "arxiv", "config", "scoring"},
    "daily": CORE | {"store", "work", "arxiv", "config", "digest", "scoring"},
    "conversation": CORE | {"store", "work", "arxiv", "config", "digest", "scoring"},
}
"""Which parts each part may import (besides itself); `bot/__main__.py`, the composition root,
and the adapters may import any part of the core."""


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, dotted (`from bot import x` as `bot.x`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def part_of_module(dotted: str) -> str | None:
    """The part of the house a dotted module name belongs to; None outside bot/ and scoring/."""
    names = dotted.split(".")
    if names[0] == "scoring":
        return "scoring"
    if names[0] != "bot" or len(names) == 1:
        return None
    if names[1] in PACKAGES:
        return names[1]
    if (BOT / f"{names[1]}.py").is_file():
        return {"work": "work", "__main__": "main"}.get(names[1], "core")
    return None  # a name imported from `bot` itself (`from bot import __version__`)


def part_of_file(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    if rel == Path("bot/__init__"):
        return "core"
    part = part_of_module(".".join(rel.parts).removesuffix(".__init__"))
    assert part is not None, path
    return part


CORE_FILES = sorted(BOT.rglob("*.py")) + sorted((REPO / "scoring").rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_core_imports_no_platform_sdk(path: Path) -> None:
    assert imported_roots(path).isdisjoint(PLATFORM_SDKS)


@pytest.mark.parametrize(
    "path",
    [p for p in CORE_FILES if p.name != "__main__.py"],  # the composition root builds them
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_core_does_not_reach_into_adapters(path: Path) -> None:
    assert "adapters" not in imported_roots(path)


@pytest.mark.parametrize(
    "path",
    [p for p in CORE_FILES if p.name != "__main__.py"],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_each_part_imports_only_the_parts_below_it(path: Path) -> None:
    part = part_of_file(path)
    allowed = MAY_IMPORT[part] | {part}
    reached = {
        name: part_of_module(name) for name in imported_modules(path) if part_of_module(name)
    }
    wrong = sorted(name for name, target in reached.items() if target not in allowed)
    assert not wrong, f"{part} must not import {wrong}"


def test_the_layout_stays_small() -> None:
    direct = sorted(p.name for p in BOT.glob("*.py"))
    assert len(direct) <= 12, direct
    for package in PACKAGES:
        modules = list((BOT / package).glob("*.py"))
        assert len(modules) <= 21, (package, len(modules))  # twenty modules and __init__.py
    # `locale/` holds the gettext catalogs (data, no modules)
    data = {"__pycache__", "locale"}
    assert {p.name for p in BOT.iterdir() if p.is_dir() and p.name not in data} == set(PACKAGES)
    assert not list((BOT / "locale").rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_says_what_it_owns_and_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse((BOT / package / "__init__.py").read_text("utf-8")))
    assert doc is not None
    assert "may import" in doc.lower() or "must not import" in doc.lower()
    for module in (BOT / package).glob("*.py"):
        if module.name != "__init__.py" and package != "store":
            assert module.stem in doc or "*_commands.py" in doc, (package, module.name)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_module_opens_with_a_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path


def test_importing_the_cli_starts_nothing() -> None:
    code = (
        "import threading, bot.__main__, adapters.markdown; "
        "assert threading.active_count() == 1, threading.enumerate()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
