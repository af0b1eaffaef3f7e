"""What `arxiv-bot digest` writes on stderr when it is not a terminal (a pipe, cron, a log
file): one line per stage with its count and seconds; `-v` adds the bot's own log lines and
`-vv` the libraries' (one per HTTP request)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

STAGE = re.compile(r"^arxiv-bot: (?P<stage>[a-zA-Z ]+): (?:(?P<count>[\d/]+) papers in )?[\d.]+ s$")
LIBRARIES = ("httpx", "httpx2", "openai", "aiohttp", "asyncio", "pylatexenc", "aiosqlite")


def stage_lines(err: str) -> dict[str, str | None]:
    found = (STAGE.match(line) for line in err.splitlines())
    return {m["stage"]: m["count"] for m in found if m}


def logged_by(err: str) -> set[str]:
    """The top-level names of the loggers that wrote a line."""
    names = re.findall(r"^\S+ \S+ (?:DEBUG|INFO|WARNING|ERROR) ([\w.]+): ", err, re.MULTILINE)
    return {name.split(".")[0] for name in names}


async def test_a_piped_digest_prints_one_line_per_stage_with_counts_and_seconds(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")

    result = await run_cli(env, tmp_path, "digest")

    assert result.code == 0, result.err
    papers = len(day_feed)
    assert stage_lines(result.err) == {
        "fetching arXiv feed": None,
        "ranking locally": str(papers),
        "scoring with the LLM": f"{papers}/{papers}",
        "enriching from the arXiv API": None,
    }
    assert "\r" not in result.err
    assert "\x1b[" not in result.err
    assert logged_by(result.err) == set()


async def test_verbose_shows_the_bots_own_lines_but_not_the_libraries(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")

    result = await run_cli(env, tmp_path, "-v", "digest")

    assert result.code == 0, result.err
    assert "bot" in logged_by(result.err)
    assert re.search(r"INFO bot\.digest\.sending: scoring \d+ papers", result.err)
    assert logged_by(result.err).isdisjoint(LIBRARIES), result.err[-2000:]
    assert "scoring with the LLM" in stage_lines(result.err)


async def test_twice_verbose_adds_the_libraries_lines(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")

    result = await run_cli(env, tmp_path, "-vv", "digest")

    assert result.code == 0, result.err
    assert "bot" in logged_by(result.err)
    assert "openai" in logged_by(result.err)
    assert re.search(r"HTTP Request: POST \S+/chat/completions", result.err)


def test_at_info_the_scheduler_and_http_libraries_log_only_warnings_unless_twice_verbose() -> None:
    from bot.__main__ import library_level

    assert library_level("INFO", 0) == "WARNING"  # `run` at ARXIV_BOT_LOG_LEVEL=INFO
    assert library_level("INFO", 1) == "WARNING"
    assert library_level("ERROR", 0) == "ERROR"
    assert library_level("INFO", 2) == "DEBUG"
