"""The core knows no platform: bot/ and scoring/ never import a chat SDK, and nothing is
created at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLATFORM_SDKS = {"slack_bolt", "slack_sdk", "discord"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "bot").rglob("*.py")) + sorted((REPO / "scoring").rglob("*.py")),
    ids=lambda p: p.name,
)
def test_core_imports_no_platform_sdk(path: Path) -> None:
    assert imported_roots(path).isdisjoint(PLATFORM_SDKS)


@pytest.mark.parametrize("path", sorted((REPO / "scoring").rglob("*.py")), ids=lambda p: p.name)
def test_scoring_does_not_reach_into_adapters(path: Path) -> None:
    assert "adapters" not in imported_roots(path)


def test_importing_the_cli_starts_nothing() -> None:
    code = (
        "import threading, bot.__main__, adapters.markdown; "
        "assert threading.active_count() == 1, threading.enumerate()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
