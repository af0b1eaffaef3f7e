"""Settings: defaults, parsing, one error listing every problem, secrets never shown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config.settings import Settings, load_settings
from bot.errors import SettingsError

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
    assert KEY not in str(dataclasses.asdict(s))
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


def test_env_example_documents_every_setting_with_its_default() -> None:
    from dotenv import dotenv_values

    from bot.config.settings import _field_env_names

    example = dotenv_values(Path(__file__).parent.parent / ".env.example")
    assert set(example) == set(_field_env_names().values())
    documented = Settings.from_env({k: v for k, v in example.items() if v is not None})
    assert documented == Settings.from_env({})


def test_chat_tokens_are_secrets_and_slack_needs_a_mode() -> None:
    tokens = {
        "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
        "SLACK_APP_TOKEN": "xapp-secret-app-token",
        "DISCORD_BOT_TOKEN": "discord.secret.token",
    }
    s = Settings.from_env(tokens)
    for token in tokens.values():
        assert token not in repr(s)
        assert token not in str(dataclasses.asdict(s))
    with pytest.raises(SettingsError, match=r"SLACK_APP_TOKEN .* or SLACK_SIGNING_SECRET"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-secret-bot-token"})
    http = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert http.http_port == 3000


def test_discord_guilds_budget_and_endpoints_are_parsed_and_checked() -> None:
    s = Settings.from_env(
        {
            "ARXIV_BOT_DISCORD_GUILDS": "123, 456",
            "ARXIV_BOT_DAILY_BUDGET": "0.25",
            "ARXIV_BOT_DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/",
        }
    )
    assert s.discord_guilds == (123, 456)
    assert s.daily_budget_usd == 0.25
    with pytest.raises(SettingsError) as info:
        Settings.from_env(
            {
                "ARXIV_BOT_DISCORD_GATEWAY_URL": "http://x",
                "ARXIV_BOT_SLACK_API_URL": "ftp://x",
                "ARXIV_BOT_DAILY_BUDGET": "-1",
            }
        )
    message = str(info.value)
    for name in (
        "ARXIV_BOT_DISCORD_GATEWAY_URL",
        "ARXIV_BOT_SLACK_API_URL",
        "ARXIV_BOT_DAILY_BUDGET",
    ):
        assert name in message


def test_each_problem_says_what_the_value_must_be() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(
            {
                "ARXIV_BOT_MIN_RELEVANCE": "11",
                "ARXIV_BOT_LLM_SHARE": "nan",
                "ARXIV_BOT_CROSS_LISTS": "maybe",
                "ARXIV_BOT_LOG_LEVEL": "loud",
                "ARXIV_BOT_DISCORD_GUILDS": "12,ab",
                "ARXIV_BOT_POST_TIME": "25:00",
            }
        )
    assert str(info.value).splitlines()[1:] == [
        "  - ARXIV_BOT_CROSS_LISTS: must be true or false",
        "  - ARXIV_BOT_MIN_RELEVANCE: must be a whole number from 1 to 10",
        "  - ARXIV_BOT_LLM_SHARE: must be a number from 0 to 1",
        "  - ARXIV_BOT_POST_TIME: must be a time of day as HH:MM, e.g. 08:00",
        "  - ARXIV_BOT_DISCORD_GUILDS: must be Discord guild ids (numbers), comma separated",
        "  - ARXIV_BOT_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR",
    ]


def test_blank_means_the_default_and_words_are_read_in_any_case() -> None:
    blank = dict.fromkeys(("ARXIV_BOT_MODEL", "ARXIV_BOT_BATCH_SIZE", "ARXIV_BOT_ADMINS"), " ")
    assert Settings.from_env(blank) == Settings.from_env({})
    s = Settings.from_env(
        {"ARXIV_BOT_LEARNING": "No", "ARXIV_BOT_LOG_LEVEL": "debug", "ARXIV_BOT_BATCH": "OFF"}
    )
    assert (s.learning, s.log_level, s.batch) == (False, "DEBUG", "off")


def test_a_secret_equals_its_value_but_never_shows_it() -> None:
    a = Settings.from_env({"OPENAI_API_KEY": KEY})
    b = Settings.from_env({"OPENAI_API_KEY": KEY})
    assert a == b
    assert a.openai_api_key == b.openai_api_key
    assert f"{a.openai_api_key}" == "**********"
    assert KEY not in repr(dataclasses.replace(a, model="other"))
