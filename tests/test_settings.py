"""Settings: defaults, parsing, one error listing every problem, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.settings import Settings, load_settings

KEY = "sk-live-very-secret-0123456789"


def test_defaults_are_the_documented_ones() -> None:
    s = Settings.from_env({})
    assert s.categories == ("cs.LG", "cs.AI")
    assert s.feed_url == "https://rss.arxiv.org/rss/cs.LG+cs.AI"
    assert s.api_url == "https://export.arxiv.org/api/query"
    assert (s.min_relevance, s.min_novelty) == (8, 7)
    assert s.db == Path("arxiv-bot.sqlite3")
    assert s.openai_api_key is None
    assert s.arxiv_delay >= 3


def test_categories_are_split_trimmed_and_deduplicated() -> None:
    s = Settings.from_env({"ARXIV_BOT_CATEGORIES": " cs.CL, cs.LG ,cs.CL,, stat.ML"})
    assert s.categories == ("cs.CL", "cs.LG", "stat.ML")
    assert s.feed_url.endswith("/rss/cs.CL+cs.LG+stat.ML")


def test_every_problem_is_listed_at_once_by_public_name() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(
            {
                "ARXIV_BOT_CATEGORIES": "cs.LG,not a category",
                "ARXIV_BOT_MIN_RELEVANCE": "11",
                "ARXIV_BOT_BATCH_SIZE": "many",
                "ARXIV_BOT_RSS_URL": "ftp://example.org/",
                "ARXIV_BOT_PRICES": "{broken",
            }
        )
    message = str(info.value)
    assert "5 problems" in message
    for name in (
        "ARXIV_BOT_CATEGORIES",
        "ARXIV_BOT_MIN_RELEVANCE",
        "ARXIV_BOT_BATCH_SIZE",
        "ARXIV_BOT_RSS_URL",
        "ARXIV_BOT_PRICES",
    ):
        assert name in message


def test_secret_is_masked_everywhere_and_never_echoed_in_errors() -> None:
    s = Settings.from_env({"OPENAI_API_KEY": KEY})
    assert KEY not in repr(s)
    assert KEY not in str(s)
    assert KEY not in s.model_dump_json()
    assert s.openai_api_key is not None
    assert s.openai_api_key.get_secret_value() == KEY
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"OPENAI_API_KEY": KEY, "ARXIV_BOT_CONCURRENCY": KEY})
    assert KEY not in str(info.value)


def test_arxiv_delay_below_three_seconds_only_for_loopback() -> None:
    with pytest.raises(SettingsError, match="loopback"):
        Settings.from_env({"ARXIV_BOT_ARXIV_DELAY": "0.5"})
    s = Settings.from_env(
        {"ARXIV_BOT_ARXIV_DELAY": "0", "ARXIV_BOT_API_URL": "http://127.0.0.1:9/api/query"}
    )
    assert s.arxiv_delay == 0


def test_blank_values_mean_unset() -> None:
    s = Settings.from_env(
        {
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": " ",
            "ARXIV_BOT_CRITERIA_FILE": "",
            "ARXIV_BOT_PRICES": "",
        }
    )
    assert s.openai_api_key is None
    assert s.openai_base_url is None
    assert s.criteria_file is None
    assert s.prices == {}


def test_prices_from_a_json_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"my-model": {"input": 1, "output": 2}}')
    s = Settings.from_env({"ARXIV_BOT_PRICES": str(prices)})
    assert s.prices == {"my-model": {"input": 1.0, "output": 2.0}}


def test_bad_price_shape_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="ARXIV_BOT_PRICES"):
        Settings.from_env({"ARXIV_BOT_PRICES": '{"m": {"input": "cheap"}}'})


def test_env_file_is_read_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ARXIV_BOT_MODEL=from-file\nARXIV_BOT_BATCH_SIZE=5\n")
    monkeypatch.setenv("ARXIV_BOT_MODEL", "from-environment")
    s = load_settings(env_file)
    assert s.model == "from-environment"
    assert s.batch_size == 5
