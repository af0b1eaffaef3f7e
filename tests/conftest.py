"""Shared fixtures: the fake arXiv and OpenAI servers on 127.0.0.1, settings for them, and fresh
databases of both kinds (SQLite files; PostgreSQL databases on the server named by
ARXIV_BOT_TEST_PG, one per test).

Tests never see the developer's configuration: a session-wide fixture removes every
`ARXIV_BOT_*`, `OPENAI_*`, `SLACK_*` and `DISCORD_*` variable from the environment, and a bot
started in a child process gets an explicit environment, a scratch working directory and an
`--env-file` that does not exist (`child_env`, `NO_ENV_FILE`), so a `.env` in the checkout is
never read.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.__main__ import open_core
from bot.config.settings import Settings
from bot.store import PostgresURL, parse_database
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.synth import load_eval_day, rss_feed

TEST_KEY = "sk-test-never-shown-7f3a9c"
REPO = Path(__file__).resolve().parents[1]
CONFIG_PREFIXES = ("ARXIV_BOT_", "OPENAI_", "SLACK_", "DISCORD_")
# Where the tests find ../shared/ (recorded fixtures) and the PostgreSQL server the store's
# tests use (`.ci/run` starts one): not settings of the bot.
TEST_INFRASTRUCTURE = frozenset({"ARXIV_BOT_SHARED_DIR", "ARXIV_BOT_TEST_PG"})
NO_ENV_FILE = "--env-file=/nonexistent/arxiv-bot-tests/.env"


def developer_config(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """The names of variables in `environ` that would configure the bot or its SDKs."""
    return [
        name
        for name in environ
        if name.startswith(CONFIG_PREFIXES) and name not in TEST_INFRASTRUCTURE
    ]


@pytest.fixture(scope="session", autouse=True)
def _without_developer_config() -> Iterator[None]:
    """Hide the developer's bot, OpenAI, Slack and Discord variables from every test (the
    SDKs read some of them, e.g. `OPENAI_BASE_URL`, when the bot passes nothing)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in developer_config(os.environ):
            patch.delenv(name)
        yield


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The whole environment of a bot in a child process: `env`, plus what Python needs to find
    the interpreter and this checkout's `tests` package, and nothing of the developer's."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        **{k: v for k, v in os.environ.items() if k in TEST_INFRASTRUCTURE},
        **env,
    }


@pytest.fixture
async def arxiv() -> AsyncIterator[FakeArxiv]:
    """A fake rss.arxiv.org + export.arxiv.org serving nothing until a test sets a feed."""
    async with FakeArxiv() as fake:
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    """A fake OpenAI endpoint answering like the reference pipeline on 2025-05-02."""
    async with FakeOpenAI.from_labels("2025-05-02", model="gpt-4o") as fake:
        yield fake


def bot_env(arxiv: FakeArxiv, llm: FakeOpenAI, db: Path, **extra: str) -> dict[str, str]:
    """The environment variables of a bot wired to the fakes (no delays, no retries waits)."""
    env = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": llm.base_url,
        "ARXIV_BOT_MODEL": "gpt-4o",
        "ARXIV_BOT_DB": str(db),
        "ARXIV_BOT_RSS_URL": arxiv.rss_url,
        "ARXIV_BOT_API_URL": arxiv.api_url,
        "ARXIV_BOT_ARXIV_DELAY": "0",
        "ARXIV_BOT_ARXIV_URL": arxiv.base_url,
        "ARXIV_BOT_FULLTEXT_DELAY": "0",
        "ARXIV_BOT_ARXIV_TIMEOUT": "5",
        "ARXIV_BOT_LLM_TIMEOUT": "10",
        "ARXIV_BOT_LLM_RETRIES": "2",
        "ARXIV_BOT_LLM_ROUND_PAUSE": "0",
        # These tests replay whole days through the scorer and expect every reference pick, so
        # the local ranking sends everything on; tests/test_ranking*.py cover the default share.
        "ARXIV_BOT_LLM_SHARE": "1",
    }
    env.update(extra)
    return env


@pytest.fixture
def make_settings(arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path):
    """Build Settings for the fakes, with overrides."""

    def build(**extra: str) -> Settings:
        return Settings.from_env(bot_env(arxiv, llm, tmp_path / "bot.sqlite3", **extra))

    return build


@pytest.fixture
def day_feed(arxiv: FakeArxiv) -> list[dict[str, Any]]:
    """2025-05-02, the day the fake LLM answers for, served by the fake arXiv (feed and API)."""
    papers = load_eval_day("2025-05-02")
    arxiv.set_feed(rss_feed(papers, date(2025, 5, 2)))
    arxiv.add_papers(papers)
    return papers


@pytest.fixture
async def core(make_settings: Any, day_feed: list[dict[str, Any]]) -> AsyncIterator[Any]:
    """The bot's core on that day; anyone may change settings."""
    async with open_core(make_settings(ARXIV_BOT_ADMINS="")) as c:
        yield c


PG_VARIABLE = "ARXIV_BOT_TEST_PG"
"""A PostgreSQL server for the tests (`postgresql://user@host:port/db`); `.ci/run` starts one."""


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty database on the test server (dropped afterwards): tests never share one."""
    server = os.environ.get(PG_VARIABLE, "")
    if not server:
        why = f"{PG_VARIABLE} is not set: no PostgreSQL server to test against (.ci/run starts one)"
        if os.environ.get("CI"):
            pytest.fail(why + "; CI must run the PostgreSQL tests")
        pytest.skip(why)
    url = parse_database(server)
    assert isinstance(url, PostgresURL), f"{PG_VARIABLE} must be a postgresql:// URL"
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    try:
        yield url.with_database(name).dsn()
    finally:
        admin = await asyncpg.connect(url.dsn())
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each kind: a SQLite file, then a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "bot.sqlite3")
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
async def postgres() -> AsyncIterator[str]:
    """A fresh PostgreSQL database (skipped, saying why, when no server is given)."""
    async with fresh_postgres() as url:
        yield url
