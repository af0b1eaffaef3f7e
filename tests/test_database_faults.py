"""A database the bot cannot use is one line naming ARXIV_BOT_DB and a non-zero exit, from every
command: a corrupt file, another kind of file, a folder where the file should be."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI


def _corrupt(folder: Path) -> Path:
    db = folder / "corrupt.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2000)
    return db


def _text(folder: Path) -> Path:
    db = folder / "notes.sqlite3"
    db.write_text("these are my notes, not a database\n" * 100)
    return db


def _folder(folder: Path) -> Path:
    db = folder / "a-folder.sqlite3"
    db.mkdir()
    return db


@pytest.mark.parametrize("make", [_corrupt, _text, _folder], ids=["corrupt", "text", "folder"])
@pytest.mark.parametrize("command", [("status",), ("digest", "--day", "2025-05-02"), ("digest",)])
async def test_an_unusable_database_is_one_line_naming_arxiv_bot_db(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    tmp_path: Path,
    make: object,
    command: tuple[str, ...],
) -> None:
    db = make(tmp_path)  # type: ignore[operator]
    result = await run_cli(bot_env(arxiv, llm, db), tmp_path, *command)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"arxiv-bot: error: cannot use the database ARXIV_BOT_DB={db}")
    assert "Traceback" not in result.err
    assert "No subscribed channel" not in result.out


async def test_a_day_that_is_not_stored_is_not_called_a_holiday(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    result = await run_cli(env, tmp_path, "digest", "--day", "2025-05-02")
    assert result.code == 1
    assert "2025-05-02 is not in the store" in result.err
    assert "holiday" not in result.err
