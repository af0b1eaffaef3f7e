"""Tests never read the developer's configuration: neither the `ARXIV_BOT_*`, `OPENAI_*`,
`SLACK_*`, `DISCORD_*` environment nor a `.env` where the bot runs (a user who followed the quick
start has one in the checkout)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import open_core
from tests.conftest import bot_env, developer_config
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.test_end_to_end import run_cli, serve_day

HOSTILE = {
    "OPENAI_API_KEY": "sk-x",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "ARXIV_BOT_DB": "/nonexistent/x.sqlite3",
    "ARXIV_BOT_MODEL": "not-a-model",
    "ARXIV_BOT_BATCH_SIZE": "0",
    "ARXIV_BOT_CRITERIA_FILE": "/nonexistent/criteria.md",
    "SLACK_BOT_TOKEN": "xoxp-not-a-bot-token",
    "DISCORD_BOT_TOKEN": "hostile",
}


def write_hostile_dotenv(where: Path) -> Path:
    env_file = where / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in HOSTILE.items()))
    return env_file


def test_the_developers_bot_settings_are_hidden_from_every_test() -> None:
    assert developer_config(os.environ) == []


async def test_fixtures_ignore_a_hostile_environment_and_dotenv(
    make_settings: Any,
    llm: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    write_hostile_dotenv(tmp_path)

    settings = make_settings()

    assert settings.db == tmp_path / "bot.sqlite3"
    assert settings.openai_base_url == llm.base_url
    assert settings.slack_bot_token is None
    async with open_core(settings) as core:
        await core.service.use_criteria("C1", core.criteria_text, "test")
    assert (tmp_path / "bot.sqlite3").is_file()


async def test_the_bot_under_test_ignores_a_dotenv_where_it_runs(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    write_hostile_dotenv(checkout)
    serve_day(arxiv)
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")

    code, out, err = await run_cli(env, "digest", "--format", "json", cwd=checkout)

    assert code == 0, err
    assert json.loads(out)["model"] == "gpt-4o"
    assert (tmp_path / "bot.sqlite3").exists()
    assert not (checkout / "arxiv-bot.sqlite3").exists()
