"""Settings: read once from the environment and `.env`, typed, validated, secrets masked.

The environment variable names below are the public interface; the README and `.env.example` list
them all. `load_settings()` merges `.env` under the process environment; tests call
`Settings.from_env({...})` with a literal mapping and never touch `os.environ`.

This module must not open files other than `.env`, nor create clients.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.arxiv_categories import check_categories
from bot.errors import SettingsError
from bot.ratelimit import Limit, RateLimits, parse_limit
from bot.store.url import PostgresURL, parse_database
from scoring.pricing import PriceTable

# Slack token kinds by prefix: what each Slack variable must hold, and names for the others.
SLACK_TOKEN_KINDS = {
    "xoxb-": "a bot token",
    "xapp-": "an app-level token",
    "xoxp-": "a user token",
    "xoxe-": "a refresh token",
    "xoxa-": "a workspace app token",
}
SLACK_TOKEN_PREFIX = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}
SLACK_TOKEN_HOME = {"xoxb-": "SLACK_BOT_TOKEN", "xapp-": "SLACK_APP_TOKEN"}
CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")
ARXIV_MIN_DELAY = 3.0  # arXiv's API terms: no more than one request every three seconds

Score10 = Annotated[int, Field(ge=1, le=10)]


def _env(name: str) -> Any:
    """A field read from one environment variable (the alias is the public name)."""
    return AliasChoices(name)


class Settings(BaseModel):
    """Every setting of the bot, validated; construct with `load_settings()` or `from_env()`."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    model: str = Field("gpt-4.1-mini", min_length=1, validation_alias=_env("ARXIV_BOT_MODEL"))
    db: Path | PostgresURL = Field(
        Path("arxiv-bot.sqlite3"), union_mode="left_to_right", validation_alias=_env("ARXIV_BOT_DB")
    )
    categories: tuple[str, ...] = Field(
        ("cs.LG", "cs.AI"), min_length=1, validation_alias=_env("ARXIV_BOT_CATEGORIES")
    )
    cross_lists: bool = Field(True, validation_alias=_env("ARXIV_BOT_CROSS_LISTS"))
    rss_url: str = Field("https://rss.arxiv.org/rss/", validation_alias=_env("ARXIV_BOT_RSS_URL"))
    api_url: str = Field(
        "https://export.arxiv.org/api/query", validation_alias=_env("ARXIV_BOT_API_URL")
    )
    arxiv_delay: float = Field(
        ARXIV_MIN_DELAY, ge=0, validation_alias=_env("ARXIV_BOT_ARXIV_DELAY")
    )
    arxiv_timeout: float = Field(30.0, gt=0, validation_alias=_env("ARXIV_BOT_ARXIV_TIMEOUT"))
    arxiv_attempts: int = Field(4, ge=1, le=20, validation_alias=_env("ARXIV_BOT_ARXIV_ATTEMPTS"))
    enrich: bool = Field(True, validation_alias=_env("ARXIV_BOT_ENRICH"))
    criteria_file: Path | None = Field(None, validation_alias=_env("ARXIV_BOT_CRITERIA_FILE"))
    min_relevance: Score10 = Field(8, validation_alias=_env("ARXIV_BOT_MIN_RELEVANCE"))
    min_novelty: Score10 = Field(7, validation_alias=_env("ARXIV_BOT_MIN_NOVELTY"))
    batch_size: int = Field(12, ge=1, le=100, validation_alias=_env("ARXIV_BOT_BATCH_SIZE"))
    concurrency: int = Field(8, ge=1, le=64, validation_alias=_env("ARXIV_BOT_CONCURRENCY"))
    llm_timeout: float = Field(120.0, gt=0, validation_alias=_env("ARXIV_BOT_LLM_TIMEOUT"))
    llm_retries: int = Field(4, ge=0, le=10, validation_alias=_env("ARXIV_BOT_LLM_RETRIES"))
    llm_give_up: float = Field(10.0, gt=0, le=600, validation_alias=_env("ARXIV_BOT_LLM_GIVE_UP"))
    llm_round_pause: float = Field(
        2.0, ge=0, le=600, validation_alias=_env("ARXIV_BOT_LLM_ROUND_PAUSE")
    )
    structured_output: Literal["auto", "on", "off"] = Field(
        "auto", validation_alias=_env("ARXIV_BOT_STRUCTURED_OUTPUT")
    )
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, validation_alias=_env("ARXIV_BOT_PRICES")
    )
    llm_share: float = Field(0.3, ge=0, le=1, validation_alias=_env("ARXIV_BOT_LLM_SHARE"))
    llm_min_papers: int = Field(60, ge=0, validation_alias=_env("ARXIV_BOT_LLM_MIN_PAPERS"))
    learning: bool = Field(True, validation_alias=_env("ARXIV_BOT_LEARNING"))
    prompt_examples: int = Field(5, ge=0, le=20, validation_alias=_env("ARXIV_BOT_PROMPT_EXAMPLES"))
    adaptive_share: bool = Field(True, validation_alias=_env("ARXIV_BOT_ADAPTIVE_SHARE"))
    batch: Literal["auto", "off"] = Field("auto", validation_alias=_env("ARXIV_BOT_BATCH"))
    batch_margin_minutes: float = Field(
        30.0, ge=0, le=1440, validation_alias=_env("ARXIV_BOT_BATCH_MARGIN_MINUTES")
    )
    batch_poll_seconds: float = Field(
        60.0, gt=0, le=3600, validation_alias=_env("ARXIV_BOT_BATCH_POLL_SECONDS")
    )
    post_time: str = Field(
        "08:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$", validation_alias=_env("ARXIV_BOT_POST_TIME")
    )
    timezone: str = Field("UTC", validation_alias=_env("ARXIV_BOT_TIMEZONE"))
    admins: tuple[str, ...] = Field((), validation_alias=_env("ARXIV_BOT_ADMINS"))
    like_emoji: tuple[str, ...] = Field(
        ("👍", "❤️", "⭐", "🔥"), min_length=1, validation_alias=_env("ARXIV_BOT_LIKE_EMOJI")
    )
    daily_budget_usd: float | None = Field(
        None, gt=0, validation_alias=_env("ARXIV_BOT_DAILY_BUDGET")
    )
    catch_up_hours: float = Field(
        18.0, ge=0, le=168, validation_alias=_env("ARXIV_BOT_CATCH_UP_HOURS")
    )
    fetch_deadline_hours: float = Field(
        6.0, gt=0, le=24, validation_alias=_env("ARXIV_BOT_FETCH_DEADLINE_HOURS")
    )
    limit_user: Limit | None = Field(Limit(5, 60.0), validation_alias=_env("ARXIV_BOT_LIMIT_USER"))
    limit_channel: Limit | None = Field(
        Limit(15, 60.0), validation_alias=_env("ARXIV_BOT_LIMIT_CHANNEL")
    )
    edit_limit_user: Limit | None = Field(
        Limit(10, 60.0), validation_alias=_env("ARXIV_BOT_EDIT_LIMIT_USER")
    )
    edit_limit_channel: Limit | None = Field(
        Limit(20, 60.0), validation_alias=_env("ARXIV_BOT_EDIT_LIMIT_CHANNEL")
    )
    health_port: int | None = Field(
        None, ge=0, le=65535, validation_alias=_env("ARXIV_BOT_HEALTH_PORT")
    )
    preview_confirm_usd: float = Field(
        0.05, ge=0, le=1000, validation_alias=_env("ARXIV_BOT_PREVIEW_CONFIRM_USD")
    )
    lease_seconds: float = Field(
        120.0, ge=1, le=3600, validation_alias=_env("ARXIV_BOT_LEASE_SECONDS")
    )
    channel_concurrency: int = Field(
        64, ge=1, le=1000, validation_alias=_env("ARXIV_BOT_CHANNEL_CONCURRENCY")
    )
    posts_per_second: float = Field(
        50.0, gt=0, le=1000, validation_alias=_env("ARXIV_BOT_POSTS_PER_SECOND")
    )
    keep_rankings_days: int = Field(
        60, ge=1, le=3650, validation_alias=_env("ARXIV_BOT_KEEP_RANKINGS_DAYS")
    )
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_client_id: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_CLIENT_SECRET")
    )
    slack_redirect_url: str | None = Field(
        None, validation_alias=_env("ARXIV_BOT_SLACK_REDIRECT_URL")
    )
    slack_authorize_url: str = Field(
        "https://slack.com/oauth/v2/authorize",
        validation_alias=_env("ARXIV_BOT_SLACK_AUTHORIZE_URL"),
    )
    token_key: SecretStr | None = Field(None, validation_alias=_env("ARXIV_BOT_TOKEN_KEY"))
    http_port: int = Field(3000, ge=0, le=65535, validation_alias=_env("ARXIV_BOT_HTTP_PORT"))
    slack_api_url: str | None = Field(None, validation_alias=_env("ARXIV_BOT_SLACK_API_URL"))
    discord_bot_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_BOT_TOKEN"))
    discord_api_url: str | None = Field(None, validation_alias=_env("ARXIV_BOT_DISCORD_API_URL"))
    discord_gateway_url: str | None = Field(
        None, validation_alias=_env("ARXIV_BOT_DISCORD_GATEWAY_URL")
    )
    discord_guilds: tuple[int, ...] = Field((), validation_alias=_env("ARXIV_BOT_DISCORD_GUILDS"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=_env("ARXIV_BOT_LOG_LEVEL")
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Validate a mapping of environment variables; raise SettingsError listing every
        problem."""
        try:
            return cls.model_validate(dict(env))
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @field_validator("categories", mode="before")
    @classmethod
    def _split_categories(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("admins", "like_emoji", "discord_guilds", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "limit_user", "limit_channel", "edit_limit_user", "edit_limit_channel", mode="before"
    )
    @classmethod
    def _parse_limit(cls, value: object) -> object:
        return parse_limit(value) if isinstance(value, str) else value

    @property
    def rate_limits(self) -> RateLimits:
        """The limits on costly commands and channel changes, per person and per channel."""
        return RateLimits(
            costly_per_user=self.limit_user,
            costly_per_channel=self.limit_channel,
            edits_per_user=self.edit_limit_user,
            edits_per_channel=self.edit_limit_channel,
        )

    @field_validator("db", mode="before")
    @classmethod
    def _parse_db(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return Path("arxiv-bot.sqlite3")
        return parse_database(value) if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value[:60]!r} (expected e.g. Europe/Berlin)"
            ) from None
        return value

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not CATEGORY_RE.match(c)]
        if bad:
            raise ValueError(f"not an arXiv category: {', '.join(bad)} (expected e.g. cs.LG)")
        return check_categories(value)

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "criteria_file",
        "daily_budget_usd",
        "health_port",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_api_url",
        "slack_client_id",
        "slack_client_secret",
        "slack_redirect_url",
        "token_key",
        "discord_bot_token",
        "discord_api_url",
        "discord_gateway_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _check_slack_token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> object:
        if value is None:
            return value
        wanted = SLACK_TOKEN_PREFIX[str(info.field_name)]
        problem = slack_token_problem(value.get_secret_value(), wanted)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("token_key")
    @classmethod
    def _check_token_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = token_key_problem(value.get_secret_value())
            if problem:
                raise ValueError(problem)
        return value

    @field_validator(
        "openai_base_url",
        "rss_url",
        "api_url",
        "slack_api_url",
        "slack_redirect_url",
        "slack_authorize_url",
        "discord_api_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return {}
            if not text.startswith("{"):
                text = _read_prices_file(Path(text))
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at char {exc.pos})") from None
        return value

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        PriceTable(value)  # raises ValueError naming the model whose price is unusable
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_ws_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("ws", "wss"):
            raise ValueError("must be a ws:// or wss:// URL")
        return value

    @model_validator(mode="after")
    def _check_slack_mode(self) -> Settings:
        if (
            self.slack_bot_token is not None
            and self.slack_app_token is None
            and self.slack_signing_secret is None
        ):
            raise ValueError(
                "SLACK_BOT_TOKEN needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET "
                "(HTTP mode on ARXIV_BOT_HTTP_PORT)"
            )
        return self

    @model_validator(mode="after")
    def _check_many_workspaces(self) -> Settings:
        if self.slack_client_id is None and self.slack_client_secret is None:
            return self
        missing = [
            name
            for name, value in (
                ("SLACK_CLIENT_ID", self.slack_client_id),
                ("SLACK_CLIENT_SECRET", self.slack_client_secret),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
                ("ARXIV_BOT_TOKEN_KEY", self.token_key),
            )
            if value is None
        ]
        problems = []
        if missing:
            problems.append(f"Slack for many workspaces (OAuth) also needs {', '.join(missing)}")
        if self.token_key is None:
            problems.append(f"ARXIV_BOT_TOKEN_KEY encrypts the workspaces' tokens: {MAKE_KEY}")
        if self.slack_bot_token is not None:
            problems.append(
                "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (many workspaces, each installing the app), not both"
            )
        if self.slack_app_token is not None:
            problems.append(
                "Slack for many workspaces runs in HTTP mode: unset SLACK_APP_TOKEN (Socket "
                "Mode apps cannot be distributed)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def slack_many_workspaces(self) -> bool:
        """Whether Slack runs for many workspaces, each installing the app through OAuth."""
        return self.slack_client_id is not None

    @model_validator(mode="after")
    def _check_arxiv_delay(self) -> Settings:
        if self.arxiv_delay < ARXIV_MIN_DELAY and not _is_loopback(self.api_url):
            raise ValueError(
                f"ARXIV_BOT_ARXIV_DELAY below {ARXIV_MIN_DELAY:g}s is only allowed for a "
                "loopback ARXIV_BOT_API_URL (arXiv asks for one request every 3 seconds)"
            )
        return self

    @property
    def feed_url(self) -> str:
        """The one combined RSS request for every configured category."""
        return self.rss_url.rstrip("/") + "/" + "+".join(self.categories)

    def __repr__(self) -> str:
        # pydantic already masks SecretStr; keep the repr short for logs.
        return f"Settings(model={self.model!r}, db={str(self.db)!r}, categories={self.categories})"


def slack_token_problem(token: str, wanted: str) -> str | None:
    """Why `token` is not the kind of Slack token that starts with `wanted`, naming kinds by
    their public prefix only (never a character of the token itself); None when it is."""
    token = token.strip()
    if token.startswith(wanted):
        return None
    expected = f"must be {SLACK_TOKEN_KINDS[wanted]} ({wanted}…)"
    found = next((p for p in SLACK_TOKEN_KINDS if token.startswith(p)), None)
    if found is None:
        return f"{expected}; the value set does not look like a Slack token"
    home = SLACK_TOKEN_HOME.get(found)
    where = f": it belongs in {home}" if home else ""
    return f"{expected}, not {SLACK_TOKEN_KINDS[found]} ({found}…){where}"


MAKE_KEY = (
    "make one with `python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'` and keep it as secret as the database"
)


def token_key_problem(value: str) -> str | None:
    """Why ARXIV_BOT_TOKEN_KEY is not one or more comma-separated Fernet keys (32 bytes in
    URL-safe base64; the first encrypts, all decrypt, so a key can be rotated); None when it
    is. Checked without loading the cryptography library, and never echoing the value."""
    for key in value.split(","):
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            return f"must be a Fernet key (32 bytes, URL-safe base64): {MAKE_KEY}"
    return None


def _read_prices_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read price file {path}: {exc.strerror}") from None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _field_env_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        first = alias.choices[0] if isinstance(alias, AliasChoices) else name
        names[name] = first if isinstance(first, str) else name
    return names


def _describe(exc: ValidationError) -> str:
    """One message listing every problem, by public variable name, never echoing a value."""
    names = _field_env_names()
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = err["loc"]
        where = names.get(str(loc[0]), str(loc[0])) if loc else "settings"
        lines.append(f"  - {where}: {err['msg'].removeprefix('Value error, ')}")
    count = len(lines)
    return f"invalid settings ({count} problem{'s' if count != 1 else ''}):\n" + "\n".join(lines)


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read settings once: `.env` (if present) overlaid by the process environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return Settings.from_env(merged)
