"""Rate limits on costly commands and channel changes: the pure limiter with a fake clock, the
conversation through the console adapter, and the private reply on Slack."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openai import AsyncOpenAI

from adapters.console import ConsoleAdapter
from adapters.slack import SlackAdapter
from bot.__main__ import open_core
from bot.config.channels import ChannelSettings
from bot.config.settings import Settings
from bot.conversation.dispatch import Conversation, ConversationConfig
from bot.errors import SettingsError
from bot.ratelimit import Limit, RateLimiter, RateLimits, parse_limit
from bot.store import RateCheck, Store
from scoring.criteria import load_criteria
from scoring.explain import Explainer
from scoring.pricing import PriceTable
from tests import cli
from tests.conftest import TEST_KEY, bot_env, fresh_postgres
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, command_form, signed_headers


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


# -- the limiter --


def test_a_sliding_window_admits_count_uses_then_says_when() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    per_minute = Limit(3, 60.0)
    for _ in range(3):
        assert limiter.acquire([("u", per_minute)]) is None
        clock.now += 10
    denied = limiter.acquire([("u", per_minute)])
    assert denied is not None
    assert denied.retry_after == pytest.approx(30.0)  # the first use leaves the window at 60 s
    assert denied.wait_text == "in 30 s"
    clock.now += 30
    assert limiter.acquire([("u", per_minute)]) is None


def test_a_use_is_recorded_only_when_every_limit_admits_it() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    user, channel = Limit(5, 60.0), Limit(2, 60.0)
    assert limiter.acquire([("alice", user), ("team", channel)]) is None
    assert limiter.acquire([("bob", user), ("team", channel)]) is None
    denied = limiter.acquire([("carol", user), ("team", channel)])
    assert denied is not None
    assert (denied.index, denied.limit) == (1, channel)
    clock.now += 61
    for _ in range(5):  # carol's refused try above did not count against her
        assert limiter.acquire([("carol", user), ("elsewhere", None)]) is None
    assert limiter.acquire([("carol", user)]) is not None


def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, max_keys=10)
    for n in range(50):
        limiter.acquire([(f"user{n}", Limit(1, 60.0))])
        clock.now += 61
    assert limiter.tracked <= 11


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("5/min", Limit(5, 60.0)),
        ("30/h", Limit(30, 3600.0)),
        ("10/90s", Limit(10, 90.0)),
        (" 2 / 5 min ", Limit(2, 300.0)),
        ("off", None),
    ],
)
def test_limits_are_written_as_uses_per_time(text: str, limit: Limit | None) -> None:
    assert parse_limit(text) == limit


@pytest.mark.parametrize("text", ["lots", "5", "5/fortnight", "0/min", "5/0s", "-1/min", "5/min!"])
def test_a_limit_that_cannot_be_read_is_a_settings_error(text: str) -> None:
    with pytest.raises(SettingsError, match=r"ARXIV_BOT_LIMIT_USER: (expected|both)"):
        Settings.from_env({"ARXIV_BOT_LIMIT_USER": text})


def test_settings_carry_sane_default_limits() -> None:
    limits = Settings.from_env({}).rate_limits
    assert limits == RateLimits()
    assert str(limits.costly_per_user) == "5 per minute"


# -- the conversation, through the console adapter --


@pytest.fixture
async def console(
    make_settings: Any, llm: FakeOpenAI, day_feed: list[dict[str, Any]]
) -> AsyncIterator[tuple[ConsoleAdapter, Clock]]:
    """A console whose conversation has a fake clock and small limits."""
    settings = make_settings(ARXIV_BOT_ADMINS="")
    clock = Clock()
    limits = RateLimits(Limit(2, 60.0), Limit(3, 60.0), Limit(2, 60.0), Limit(3, 60.0))
    async with (
        open_core(settings) as core,
        AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url) as client,
    ):
        config = ConversationConfig(
            defaults=ChannelSettings.defaults(settings),
            default_criteria=load_criteria(None),
            admins=frozenset(),
            like_emoji=frozenset(settings.like_emoji),
            limits=limits,
        )
        explainer = Explainer(client, settings.model, PriceTable({}))
        conversation = Conversation(
            core.store, core.service, explainer, config, limiter=RateLimiter(clock)
        )
        yield (
            ConsoleAdapter(conversation, channel_id="team", user_id="alice", out=io.StringIO()),
            clock,
        )


def said(console: ConsoleAdapter) -> str:
    out = console.out
    assert isinstance(out, io.StringIO)
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


async def test_criteria_edits_too_fast_get_a_reply_saying_when_to_try_again(
    console: tuple[ConsoleAdapter, Clock],
) -> None:
    adapter, clock = console
    await adapter.line("criteria add graph neural networks")
    await adapter.line("criteria add protein folding")
    said(adapter)
    await adapter.line("criteria add a third topic")
    assert said(adapter) == (
        "Slow down a little: changes to this channel can run 2 per minute per person. "
        "Please try again in 60 s.\n"
    )
    await adapter.line(":user bob")
    await adapter.line("criteria add a topic from bob")
    await adapter.line("criteria add another from bob")
    assert "can run 3 per minute in this channel" in said(adapter)
    await adapter.line("criteria")
    shown = said(adapter)
    assert "third topic" not in shown
    assert "another from bob" not in shown
    clock.now += 60
    await adapter.line("criteria add another from bob")
    assert "Slow down" not in said(adapter)


async def test_today_too_often_is_refused_privately_while_reading_stays_open(
    console: tuple[ConsoleAdapter, Clock], llm: FakeOpenAI
) -> None:
    adapter, _ = console
    await adapter.line("today")
    await adapter.line("today")
    assert said(adapter).count("arXiv digest for ") == 2
    calls = llm.calls
    await adapter.line("explain 2505.00001")
    assert said(adapter).startswith(
        "Slow down a little: `today`, `explain`, `ask`, `day`, `similar` and `criteria preview` "
        "together can run 2 per minute per person"
    )
    assert llm.calls == calls
    for command in ("help", "criteria", "settings", "likes", "stats"):
        await adapter.line(command)
        assert "Slow down" not in said(adapter), command


# -- Slack: the refusal is a private reply --


SECRET = "ratelimit-signing-secret"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_on_slack_the_refusal_is_visible_only_to_the_caller(
    make_settings: Any, slack: FakeSlack
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN="xoxb-ratelimit",
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_LIMIT_USER="1/h",
    )
    async with open_core(settings) as core:
        adapter = SlackAdapter.from_settings(settings, core.conversation, host="127.0.0.1")
        await adapter.start()
        try:
            for name in ("first", "second"):
                body = command_form("explain 2505.99999", response_url=slack.response_url(name))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **signed_headers(SECRET, body),
                }
                url = f"http://127.0.0.1:{adapter.port}/slack/events"
                assert await post(url, body, headers) == 200
            await slack.wait_until(lambda: len(slack.responses) == 2)
        finally:
            await adapter.close()
    answers = {name: payload for name, payload, _ in slack.responses}
    assert "Slow down" not in json.dumps(answers["first"])
    assert answers["second"]["response_type"] == "ephemeral"
    assert answers["second"]["text"].startswith(
        "Slow down a little: `today`, `explain`, `ask`, `day`, `similar` and `criteria preview` "
        "together can run 1 per hour per person. Please try again in 60 min."
    )
    assert slack.calls_of("chat.postMessage") == []


async def post(url: str, body: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def test_refused_input_does_not_count_against_the_limit(
    console: tuple[ConsoleAdapter, Clock],
) -> None:
    adapter, _ = console
    for _ in range(3):
        await adapter.line("explain not-an-id")
        assert "is neither an arXiv id" in said(adapter)
    await adapter.line("today")
    await adapter.line("today")
    assert said(adapter).count("arXiv digest for ") == 2


CHECKOUT = str(Path(__file__).resolve().parents[1])


async def test_the_consoles_local_user_is_not_rate_limited(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_LIMIT_USER="1/h")
    env["PYTHONPATH"] = CHECKOUT  # this checkout's code, not an installed copy
    lines = "today\ntoday\nday 2025-05-02\n"
    result = await cli.run_cli(env, tmp_path, "console", stdin=lines)
    assert result.code == 0, result.err
    assert "Slow down" not in result.out
    assert result.out.count("arXiv digest for 2025-05-02") == 3


# -- limits shared by replicas --


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "shared.sqlite3")
        return
    async with fresh_postgres() as url:
        yield url


def answered(slack: FakeSlack, name: str) -> bool:
    return any(r[0] == name for r in slack.responses)


async def two_replicas_answer(
    settings: Settings, slack: FakeSlack, commands: list[tuple[int, str]]
) -> list[str]:
    """Each (replica, user) asks for `today`'s digest through its own Slack adapter, one
    after another; what each caller was answered, in order."""
    async with open_core(settings) as one, open_core(settings) as two:
        adapters = [
            SlackAdapter.from_settings(settings, core.conversation, host="127.0.0.1")
            for core in (one, two)
        ]
        for adapter in adapters:
            await adapter.start()
        try:
            for n, (replica, user) in enumerate(commands):
                body = command_form("today", user=user, response_url=slack.response_url(f"r{n}"))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **signed_headers(SECRET, body),
                }
                url = f"http://127.0.0.1:{adapters[replica].port}/slack/events"
                assert await post(url, body, headers) == 200
                # its first answer comes once its use is counted or refused
                await slack.wait_until(partial(answered, slack, f"r{n}"), 60)
        finally:
            for adapter in adapters:
                await adapter.close()
    first = {name: str(payload.get("text", "")) for name, payload, _ in reversed(slack.responses)}
    return [first[f"r{n}"] for n in range(len(commands))]


async def test_two_replicas_let_a_person_through_the_limit_once_not_twice(
    make_settings: Any, slack: FakeSlack, database: str, day_feed: list[dict[str, Any]]
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN="xoxb-ratelimit",
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_DB=database,
        ARXIV_BOT_LIMIT_USER="2/h",
    )
    answers = await two_replicas_answer(
        settings, slack, [(0, "U0ALICE"), (1, "U0ALICE"), (0, "U0ALICE"), (1, "U0ALICE")]
    )
    refused = [a.startswith("Slow down a little") for a in answers]
    assert refused == [False, False, True, True]  # two uses in all, whichever replica answers
    assert "2 per hour per person" in answers[3]


async def test_the_whole_bot_runs_costly_commands_at_most_its_cap_per_minute(
    make_settings: Any, slack: FakeSlack, database: str, day_feed: list[dict[str, Any]]
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN="xoxb-ratelimit",
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_DB=database,
        ARXIV_BOT_LIMIT_BOT="3/min",
    )
    users = ["U0ANN", "U0BOB", "U0CAT", "U0DAN"]
    answers = await two_replicas_answer(settings, slack, [(i % 2, u) for i, u in enumerate(users)])
    refused = [a.startswith("Slow down a little") for a in answers]
    assert refused == [False, False, False, True]  # four people, one cap for the bot
    assert "3 per minute for the whole bot" in answers[3]


async def test_uses_arriving_at_once_on_two_replicas_are_admitted_up_to_the_limit(
    database: str,
) -> None:
    check = [RateCheck("costly:user", "slack:U0ALICE", 5, 60.0)]
    async with Store.open(database) as one, Store.open(database) as two:
        results = await asyncio.gather(
            *(store.work.count_use(check) for store in (one, two) for _ in range(10))
        )
    admitted = [counted for counted, refused in results if refused is None]
    assert len(admitted) == 5  # twenty at once, five let through in all
    waits = [refused[1] for _, refused in results if refused is not None]
    assert len(waits) == 15
    assert all(0 < wait <= 60 for wait in waits)
