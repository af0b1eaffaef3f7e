"""Settings: read once from the environment and `.env`, typed, validated, secrets masked.

The environment variable names below are the public interface; the README and `.env.example` list
them all. `load_settings()` merges `.env` under the process environment; tests call
`Settings.from_env({...})` with a literal mapping and never touch `os.environ`.

Every field names its variable and the function that reads it; `from_env` reads them all, then
checks what depends on several at once, and raises one `SettingsError` listing every problem by
variable name without echoing a value. A blank variable means unset (its default). Settings are
read on every command, `--help` and `status` included, so this module imports nothing beyond
the standard library and python-dotenv: no validation framework.

This module must not open files other than `.env` and a price file named by ARXIV_BOT_PRICES,
nor create clients.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.arxiv.categories import check_categories
from bot.config import values as read
from bot.errors import SettingsError
from bot.ratelimit import Limit, RateLimits, parse_limit
from bot.secret import Secret
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
SLACK_TOKEN_HOME = {"xoxb-": "SLACK_BOT_TOKEN", "xapp-": "SLACK_APP_TOKEN"}
CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")
POST_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
ARXIV_MIN_DELAY = 3.0  # arXiv's API terms: no more than one request every three seconds


def _env(env: str, parse: read.Parse) -> dict[str, Any]:
    """A field's metadata: the environment variable it is read from (the public name) and how."""
    return {"env": env, "parse": parse}


def _guild(text: str) -> int:
    if not text.isdigit():
        raise ValueError("must be Discord guild ids (numbers), comma separated")
    return int(text)


def _categories(text: str) -> tuple[str, ...]:
    value = read.items(text)
    if not value:
        raise ValueError("needs at least one arXiv category, e.g. cs.LG")
    bad = [c for c in value if not CATEGORY_RE.match(c)]
    if bad:
        raise ValueError(f"not an arXiv category: {', '.join(bad)} (expected e.g. cs.LG)")
    return check_categories(value)


def _database(text: str) -> Path | PostgresURL:
    return parse_database(text)


def _post_time(text: str) -> str:
    if not POST_TIME_RE.match(text):
        raise ValueError("must be a time of day as HH:MM, e.g. 08:00")
    return text


def _timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text[:60]!r} (expected e.g. Europe/Berlin)") from None
    return text


def _limit(text: str) -> Limit | None:
    return parse_limit(text)


def _prices(text: str) -> dict[str, dict[str, float]]:
    if not text.startswith("{"):
        text = _read_prices_file(Path(text))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError('must map model names to prices, e.g. {"m": {"input": 1, "output": 2}}')
    table: dict[str, dict[str, float]] = {}
    for model, price in value.items():
        try:
            table[str(model)] = {str(k): float(v) for k, v in price.items()}
        except (TypeError, ValueError):
            raise ValueError(f"the prices of {str(model)[:60]!r} must be numbers") from None
    PriceTable(table)  # raises ValueError naming the model whose price is unusable
    return table


def _slack_token(wanted: str) -> read.Parse:
    def parse(text: str) -> Secret:
        problem = slack_token_problem(text, wanted)
        if problem:
            raise ValueError(problem)
        return Secret(text)

    return parse


def _token_key(text: str) -> Secret:
    problem = token_key_problem(text)
    if problem:
        raise ValueError(problem)
    return Secret(text)


Score10 = read.whole(1, 10)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the bot, validated; construct with `load_settings()` or `from_env()`
    (constructing it directly skips the checks)."""

    openai_api_key: Secret | None = field(
        default=None, metadata=_env("OPENAI_API_KEY", read.secret)
    )
    openai_base_url: str | None = field(
        default=None, metadata=_env("OPENAI_BASE_URL", read.url("http", "https"))
    )
    model: str = field(default="gpt-4.1-mini", metadata=_env("ARXIV_BOT_MODEL", read.text))
    db: Path | PostgresURL = field(
        default=Path("arxiv-bot.sqlite3"), metadata=_env("ARXIV_BOT_DB", _database)
    )
    categories: tuple[str, ...] = field(
        default=("cs.LG", "cs.AI"), metadata=_env("ARXIV_BOT_CATEGORIES", _categories)
    )
    cross_lists: bool = field(default=True, metadata=_env("ARXIV_BOT_CROSS_LISTS", read.boolean))
    rss_url: str = field(
        default="https://rss.arxiv.org/rss/",
        metadata=_env("ARXIV_BOT_RSS_URL", read.url("http", "https")),
    )
    api_url: str = field(
        default="https://export.arxiv.org/api/query",
        metadata=_env("ARXIV_BOT_API_URL", read.url("http", "https")),
    )
    arxiv_delay: float = field(
        default=ARXIV_MIN_DELAY, metadata=_env("ARXIV_BOT_ARXIV_DELAY", read.number(0))
    )
    arxiv_url: str = field(
        default="https://arxiv.org",
        metadata=_env("ARXIV_BOT_ARXIV_URL", read.url("http", "https")),
    )
    zotero_url: str = field(
        default="https://api.zotero.org",
        metadata=_env("ARXIV_BOT_ZOTERO_URL", read.url("http", "https")),
    )
    fulltext_delay: float = field(
        default=3.0, metadata=_env("ARXIV_BOT_FULLTEXT_DELAY", read.number(0, 60))
    )
    ask_max_tokens: int = field(
        default=800, metadata=_env("ARXIV_BOT_ASK_MAX_TOKENS", read.whole(50, 16000))
    )
    arxiv_timeout: float = field(
        default=30.0, metadata=_env("ARXIV_BOT_ARXIV_TIMEOUT", read.number(0, above=True))
    )
    arxiv_attempts: int = field(
        default=4, metadata=_env("ARXIV_BOT_ARXIV_ATTEMPTS", read.whole(1, 20))
    )
    enrich: bool = field(default=True, metadata=_env("ARXIV_BOT_ENRICH", read.boolean))
    criteria_file: Path | None = field(
        default=None, metadata=_env("ARXIV_BOT_CRITERIA_FILE", read.path)
    )
    min_relevance: int = field(default=8, metadata=_env("ARXIV_BOT_MIN_RELEVANCE", Score10))
    min_novelty: int = field(default=7, metadata=_env("ARXIV_BOT_MIN_NOVELTY", Score10))
    batch_size: int = field(default=50, metadata=_env("ARXIV_BOT_BATCH_SIZE", read.whole(1, 100)))
    concurrency: int = field(default=8, metadata=_env("ARXIV_BOT_CONCURRENCY", read.whole(1, 64)))
    llm_timeout: float = field(
        default=120.0, metadata=_env("ARXIV_BOT_LLM_TIMEOUT", read.number(0, above=True))
    )
    llm_retries: int = field(default=4, metadata=_env("ARXIV_BOT_LLM_RETRIES", read.whole(0, 10)))
    llm_give_up: float = field(
        default=10.0, metadata=_env("ARXIV_BOT_LLM_GIVE_UP", read.number(0, 600, above=True))
    )
    llm_round_pause: float = field(
        default=2.0, metadata=_env("ARXIV_BOT_LLM_ROUND_PAUSE", read.number(0, 600))
    )
    structured_output: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata=_env("ARXIV_BOT_STRUCTURED_OUTPUT", read.choice("auto", "on", "off")),
    )
    prices: dict[str, dict[str, float]] = field(
        default_factory=dict, metadata=_env("ARXIV_BOT_PRICES", _prices)
    )
    llm_share: float = field(default=0.5, metadata=_env("ARXIV_BOT_LLM_SHARE", read.number(0, 1)))
    llm_min_papers: int = field(
        default=60, metadata=_env("ARXIV_BOT_LLM_MIN_PAPERS", read.whole(0))
    )
    learning: bool = field(default=True, metadata=_env("ARXIV_BOT_LEARNING", read.boolean))
    prompt_examples: int = field(
        default=5, metadata=_env("ARXIV_BOT_PROMPT_EXAMPLES", read.whole(0, 20))
    )
    adaptive_share: bool = field(
        default=True, metadata=_env("ARXIV_BOT_ADAPTIVE_SHARE", read.boolean)
    )
    warmup_share: float = field(
        default=0.6, metadata=_env("ARXIV_BOT_WARMUP_SHARE", read.number(0, 1))
    )
    batch: Literal["auto", "off"] = field(
        default="auto", metadata=_env("ARXIV_BOT_BATCH", read.choice("auto", "off"))
    )
    batch_margin_minutes: float = field(
        default=30.0, metadata=_env("ARXIV_BOT_BATCH_MARGIN_MINUTES", read.number(0, 1440))
    )
    batch_poll_seconds: float = field(
        default=60.0,
        metadata=_env("ARXIV_BOT_BATCH_POLL_SECONDS", read.number(0, 3600, above=True)),
    )
    post_time: str = field(default="08:00", metadata=_env("ARXIV_BOT_POST_TIME", _post_time))
    timezone: str = field(default="UTC", metadata=_env("ARXIV_BOT_TIMEZONE", _timezone))
    admins: tuple[str, ...] = field(default=(), metadata=_env("ARXIV_BOT_ADMINS", read.listed()))
    like_emoji: tuple[str, ...] = field(
        default=("👍", "❤️", "⭐", "🔥"),
        metadata=_env("ARXIV_BOT_LIKE_EMOJI", read.listed(at_least=1)),
    )
    daily_budget_usd: float | None = field(
        default=None, metadata=_env("ARXIV_BOT_DAILY_BUDGET", read.number(0, above=True))
    )
    catch_up_hours: float = field(
        default=18.0, metadata=_env("ARXIV_BOT_CATCH_UP_HOURS", read.number(0, 168))
    )
    fetch_deadline_hours: float = field(
        default=6.0, metadata=_env("ARXIV_BOT_FETCH_DEADLINE_HOURS", read.number(0, 24, above=True))
    )
    limit_user: Limit | None = field(
        default=Limit(5, 60.0), metadata=_env("ARXIV_BOT_LIMIT_USER", _limit)
    )
    limit_channel: Limit | None = field(
        default=Limit(15, 60.0), metadata=_env("ARXIV_BOT_LIMIT_CHANNEL", _limit)
    )
    limit_bot: Limit | None = field(
        default=Limit(60, 60.0), metadata=_env("ARXIV_BOT_LIMIT_BOT", _limit)
    )
    edit_limit_user: Limit | None = field(
        default=Limit(10, 60.0), metadata=_env("ARXIV_BOT_EDIT_LIMIT_USER", _limit)
    )
    edit_limit_channel: Limit | None = field(
        default=Limit(20, 60.0), metadata=_env("ARXIV_BOT_EDIT_LIMIT_CHANNEL", _limit)
    )
    health_port: int | None = field(
        default=None, metadata=_env("ARXIV_BOT_HEALTH_PORT", read.whole(0, 65535))
    )
    preview_confirm_usd: float = field(
        default=0.05, metadata=_env("ARXIV_BOT_PREVIEW_CONFIRM_USD", read.number(0, 1000))
    )
    lease_seconds: float = field(
        default=120.0, metadata=_env("ARXIV_BOT_LEASE_SECONDS", read.number(1, 3600))
    )
    channel_concurrency: int = field(
        default=256, metadata=_env("ARXIV_BOT_CHANNEL_CONCURRENCY", read.whole(1, 1000))
    )
    posts_per_second: float = field(
        default=0.0, metadata=_env("ARXIV_BOT_POSTS_PER_SECOND", read.number(0, 1000))
    )
    keep_rankings_days: int = field(
        default=60, metadata=_env("ARXIV_BOT_KEEP_RANKINGS_DAYS", read.whole(1, 3650))
    )
    slack_bot_token: Secret | None = field(
        default=None, metadata=_env("SLACK_BOT_TOKEN", _slack_token("xoxb-"))
    )
    slack_app_token: Secret | None = field(
        default=None, metadata=_env("SLACK_APP_TOKEN", _slack_token("xapp-"))
    )
    slack_signing_secret: Secret | None = field(
        default=None, metadata=_env("SLACK_SIGNING_SECRET", read.secret)
    )
    slack_client_id: str | None = field(default=None, metadata=_env("SLACK_CLIENT_ID", read.text))
    slack_client_secret: Secret | None = field(
        default=None, metadata=_env("SLACK_CLIENT_SECRET", read.secret)
    )
    slack_redirect_url: str | None = field(
        default=None, metadata=_env("ARXIV_BOT_SLACK_REDIRECT_URL", read.url("http", "https"))
    )
    slack_authorize_url: str = field(
        default="https://slack.com/oauth/v2/authorize",
        metadata=_env("ARXIV_BOT_SLACK_AUTHORIZE_URL", read.url("http", "https")),
    )
    token_key: Secret | None = field(default=None, metadata=_env("ARXIV_BOT_TOKEN_KEY", _token_key))
    http_port: int = field(default=3000, metadata=_env("ARXIV_BOT_HTTP_PORT", read.whole(0, 65535)))
    slack_api_url: str | None = field(
        default=None, metadata=_env("ARXIV_BOT_SLACK_API_URL", read.url("http", "https"))
    )
    slack_charts: bool = field(
        default=False, metadata=_env("ARXIV_BOT_SLACK_CHARTS", read.boolean)
    )  # `stats` also uploads a chart of the month (needs files:write and matplotlib)
    discord_bot_token: Secret | None = field(
        default=None, metadata=_env("DISCORD_BOT_TOKEN", read.secret)
    )
    discord_api_url: str | None = field(
        default=None, metadata=_env("ARXIV_BOT_DISCORD_API_URL", read.url("http", "https"))
    )
    discord_gateway_url: str | None = field(
        default=None, metadata=_env("ARXIV_BOT_DISCORD_GATEWAY_URL", read.url("ws", "wss"))
    )
    discord_guilds: tuple[int, ...] = field(
        default=(), metadata=_env("ARXIV_BOT_DISCORD_GUILDS", read.listed(_guild))
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = field(
        default="INFO",
        metadata=_env(
            "ARXIV_BOT_LOG_LEVEL", read.choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True)
        ),
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Validate a mapping of environment variables; raise SettingsError listing every
        problem."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or not raw.strip():
                continue  # blank means unset: the default
            try:
                values[f.name] = f.metadata["parse"](raw.strip())
            except ValueError as exc:
                problems.append(f"{f.metadata['env']}: {exc}")
        if not problems:
            settings = cls(**values)
            problems = [p for p in (check(settings) for check in _JOINT_CHECKS) if p]
            if not problems:
                return settings
        raise SettingsError(_describe(problems))

    @property
    def rate_limits(self) -> RateLimits:
        """The limits on costly commands and channel changes, per person and per channel."""
        return RateLimits(
            costly_per_user=self.limit_user,
            costly_per_channel=self.limit_channel,
            costly_per_bot=self.limit_bot,
            edits_per_user=self.edit_limit_user,
            edits_per_channel=self.edit_limit_channel,
        )

    @property
    def slack_many_workspaces(self) -> bool:
        """Whether Slack runs for many workspaces, each installing the app through OAuth."""
        return self.slack_client_id is not None

    @property
    def feed_url(self) -> str:
        """The one combined RSS request for every configured category."""
        return self.rss_url.rstrip("/") + "/" + "+".join(self.categories)

    def __repr__(self) -> str:
        # secrets are masked anyway; keep the repr short for logs
        return f"Settings(model={self.model!r}, db={str(self.db)!r}, categories={self.categories})"


# --- checks across several variables (run once every variable reads well) ---------------------


def _slack_mode(s: Settings) -> str | None:
    if (
        s.slack_bot_token is not None
        and s.slack_app_token is None
        and (s.slack_signing_secret is None)
    ):
        return (
            "SLACK_BOT_TOKEN needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET "
            "(HTTP mode on ARXIV_BOT_HTTP_PORT)"
        )
    return None


def _many_workspaces(s: Settings) -> str | None:
    if s.slack_client_id is None and s.slack_client_secret is None:
        return None
    missing = [
        name
        for name, value in (
            ("SLACK_CLIENT_ID", s.slack_client_id),
            ("SLACK_CLIENT_SECRET", s.slack_client_secret),
            ("SLACK_SIGNING_SECRET", s.slack_signing_secret),
            ("ARXIV_BOT_TOKEN_KEY", s.token_key),
        )
        if value is None
    ]
    problems = []
    if missing:
        problems.append(f"Slack for many workspaces (OAuth) also needs {', '.join(missing)}")
    if s.token_key is None:
        problems.append(f"ARXIV_BOT_TOKEN_KEY encrypts the workspaces' tokens: {MAKE_KEY}")
    if s.slack_bot_token is not None:
        problems.append(
            "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (many workspaces, each installing the app), not both"
        )
    if s.slack_app_token is not None:
        problems.append(
            "Slack for many workspaces runs in HTTP mode: unset SLACK_APP_TOKEN (Socket "
            "Mode apps cannot be distributed)"
        )
    return "; ".join(problems) or None


def _arxiv_delay(s: Settings) -> str | None:
    if s.arxiv_delay < ARXIV_MIN_DELAY and not _is_loopback(s.api_url):
        return (
            f"ARXIV_BOT_ARXIV_DELAY below {ARXIV_MIN_DELAY:g}s is only allowed for a "
            "loopback ARXIV_BOT_API_URL (arXiv asks for one request every 3 seconds)"
        )
    return None


def _extras(s: Settings) -> str | None:
    """What a setting needs that the default install leaves out (an extra, installed apart)."""
    needs = []
    if isinstance(s.db, PostgresURL) and find_spec("asyncpg") is None:
        needs.append(
            f"a PostgreSQL ARXIV_BOT_DB needs the postgres extra: {install_extra('postgres')}"
        )
    if s.token_key is not None and find_spec("cryptography") is None:
        needs.append(
            f"ARXIV_BOT_TOKEN_KEY needs the slack-oauth extra: {install_extra('slack-oauth')}"
        )
    return "; ".join(needs) or None


def install_extra(extra: str) -> str:
    """The command that installs one of the distribution's extras."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


DISTRIBUTION = "arxiv-team-bot"
"""The name the bot is installed by (its command stays `arxiv-bot`)."""

_JOINT_CHECKS: tuple[Callable[[Settings], str | None], ...] = (
    _slack_mode,
    _many_workspaces,
    _arxiv_delay,
    _extras,
)


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
    """Each setting's attribute name and its environment variable."""
    return {f.name: f.metadata["env"] for f in fields(Settings)}


def _describe(problems: list[str]) -> str:
    """One message listing every problem, by public variable name, never echoing a value."""
    count = len(problems)
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"invalid settings ({count} problem{'s' if count != 1 else ''}):\n{lines}"


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read settings once: `.env` (if present) overlaid by the process environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return Settings.from_env(merged)
