"""Shared fixtures: the fake arXiv and OpenAI servers on 127.0.0.1, and settings for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

TEST_KEY = "sk-test-never-shown-7f3a9c"


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
