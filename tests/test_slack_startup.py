"""Starting and stopping with Slack: tokens of the wrong kind are refused by settings, an
unreachable Slack (or Discord) at start is waited out while the other platforms run, a refused
token ends the run in one line, and `run` stops promptly on SIGTERM whatever the adapters are doing.

The real AsyncApp, AsyncWebClient and discord.py client run against FakeSlack and FakeDiscord."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bot.__main__ as cli
from adapters.discord import DiscordAdapter
from adapters.slack import SlackAdapter, web_client
from bot.__main__ import open_core, run_bot
from bot.config.settings import Settings
from bot.conversation.dispatch import Conversation
from bot.errors import PlatformError, PlatformUnavailable, SettingsError
from bot.platform import start_backoff
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, command_form, signed_headers
from tests.test_end_to_end import free_port, read_until, run_cli, start_run, stop_run

BOT_TOKEN = "xoxb-startup-bot-token-never-shown-41"
APP_TOKEN = "xapp-startup-app-token-never-shown-42"
SECRET = "startup-signing-secret-never-shown-43"
DISCORD_TOKEN = "discord-startup-token-never-shown-44"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


class Pauses:
    """The sleep between start-up tries: records each pause and runs `then` after the n-th,
    without waiting."""

    def __init__(self, then: Any = None, after: int = 0) -> None:
        self.taken: list[float] = []
        self._then = then
        self._after = after

    async def sleep(self, seconds: float) -> None:
        self.taken.append(seconds)
        if self._then is not None and len(self.taken) == self._after:
            await self._then()
        await asyncio.sleep(0)


def slack_adapter(
    conversation: Conversation,
    slack: FakeSlack,
    *,
    token: str = BOT_TOKEN,
    app_token: str | None = None,
) -> SlackAdapter:
    return SlackAdapter(
        conversation,
        web_client(token, slack.api_url, retries=0),
        signing_secret=None if app_token else SECRET,
        app_token=app_token,
        host="127.0.0.1",
        port=0,
    )


# -- settings --


@pytest.mark.parametrize(
    ("env", "named", "says"),
    [
        (
            {"SLACK_APP_TOKEN": "xoxb-1-2-secretpart"},
            "SLACK_APP_TOKEN",
            "must be an app-level token (xapp-…), not a bot token (xoxb-…): it belongs in "
            "SLACK_BOT_TOKEN",
        ),
        (
            {"SLACK_BOT_TOKEN": "xapp-1-secretpart", "SLACK_APP_TOKEN": "xapp-1-ok"},
            "SLACK_BOT_TOKEN",
            "must be a bot token (xoxb-…), not an app-level token (xapp-…): it belongs in "
            "SLACK_APP_TOKEN",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxp-secretpart", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN",
            "must be a bot token (xoxb-…), not a user token (xoxp-…)",
        ),
        (
            {"SLACK_BOT_TOKEN": "secretpart", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN",
            "must be a bot token (xoxb-…); the value set does not look like a Slack token",
        ),
    ],
)
def test_a_slack_token_of_the_wrong_kind_is_refused_naming_its_variable(
    env: dict[str, str], named: str, says: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", **env})
    message = str(refused.value)
    assert f"{named}: {says}" in message
    assert "secretpart" not in message


def test_tokens_of_the_right_kind_are_taken() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert settings.slack_app_token is not None


async def test_run_with_a_bot_token_as_app_token_stops_at_once_naming_slack_app_token(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, slack: FakeSlack
) -> None:
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xoxb-in-the-wrong-place-never-shown",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
    )
    started = time.monotonic()
    code, _, err = await run_cli(env, "run")
    took = time.monotonic() - started
    assert took < 20
    assert code == 2
    assert "SLACK_APP_TOKEN: must be an app-level token (xapp-…)" in err
    assert "never-shown" not in err
    assert "Traceback" not in err
    assert slack.calls == []


# -- start-up against an unreachable or refusing Slack --


async def test_slack_unreachable_makes_start_raise_unavailable_having_opened_nothing(
    core: Any, slack: FakeSlack
) -> None:
    await slack.go_offline()
    adapter = slack_adapter(core.conversation, slack)
    try:
        with pytest.raises(PlatformUnavailable, match="Slack could not be reached") as down:
            await asyncio.wait_for(adapter.start(), 10)
        assert adapter.port is None  # nothing served yet: the next try starts afresh
        assert BOT_TOKEN not in str(down.value)
        await slack.go_online()
        await asyncio.wait_for(adapter.start(), 10)
        assert adapter.port is not None
    finally:
        await adapter.close()
    assert len(slack.calls_of("auth.test")) == 1


async def test_slack_unreachable_at_start_is_retried_until_it_answers(
    core: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await slack.go_offline()
    pauses = Pauses(then=slack.go_online, after=3)
    adapter = slack_adapter(core.conversation, slack)
    try:
        await asyncio.wait_for(cli.start_until_up(adapter, start_backoff, pauses.sleep), 10)
        assert adapter.port is not None
    finally:
        await adapter.close()
    assert pauses.taken == [1.0, 2.0, 4.0]
    assert len(slack.calls_of("auth.test")) == 1  # the three before could not connect
    tries = [r.getMessage() for r in caplog.records if "trying again" in r.getMessage()]
    assert len(tries) == 3
    assert tries[0].startswith("Slack: Slack could not be reached (auth.test: ")
    assert tries[0].endswith("trying again in 1 s (the other platforms keep running)")
    assert all(
        r.levelno == logging.WARNING and r.exc_info is None
        for r in caplog.records
        if "trying again" in r.getMessage()
    )
    assert "Traceback" not in caplog.text
    assert BOT_TOKEN not in caplog.text


async def test_socket_mode_waits_out_slack_too(core: Any, slack: FakeSlack) -> None:
    await slack.go_offline()
    pauses = Pauses(then=slack.go_online, after=1)
    adapter = slack_adapter(core.conversation, slack, app_token=APP_TOKEN)
    try:
        await asyncio.wait_for(cli.start_until_up(adapter, start_backoff, pauses.sleep), 10)
        assert adapter.socket_mode
    finally:
        await adapter.close()
    assert len(slack.calls_of("apps.connections.open")) == 1


@pytest.mark.parametrize(
    ("token", "app_token", "variable"),
    [
        ("xoxp-revoked-never-shown", None, "SLACK_BOT_TOKEN"),
        (BOT_TOKEN, "xoxb-as-app-token-never-shown", "SLACK_APP_TOKEN"),
    ],
)
async def test_a_token_slack_refuses_ends_the_start_in_one_line(
    core: Any, slack: FakeSlack, token: str, app_token: str | None, variable: str
) -> None:
    pauses = Pauses()
    adapter = slack_adapter(core.conversation, slack, token=token, app_token=app_token)
    try:
        with pytest.raises(PlatformError) as refused:
            await asyncio.wait_for(cli.start_until_up(adapter, start_backoff, pauses.sleep), 10)
    finally:
        await adapter.close()
    message = str(refused.value)
    assert "invalid_auth" in message
    assert f"check {variable}" in message
    assert "never-shown" not in message
    assert "\n" not in message
    assert pauses.taken == []


def test_start_backoff_doubles_up_to_five_minutes() -> None:
    assert [start_backoff(n) for n in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert start_backoff(10_000) == 300


# -- run: the other platforms keep running, and stopping is bounded --


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(DISCORD_TOKEN) as fake:
        yield fake


def run_settings(make_settings: Any, slack: FakeSlack, discord: FakeDiscord) -> Settings:
    return make_settings(  # type: ignore[no-any-return]
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        DISCORD_BOT_TOKEN=DISCORD_TOKEN,
        ARXIV_BOT_DISCORD_API_URL=discord.api_url,
        ARXIV_BOT_DISCORD_GATEWAY_URL=discord.gateway_url,
        ARXIV_BOT_DISCORD_GUILDS=str(GUILD_ID),
    )


async def logged(caplog: pytest.LogCaptureFixture, text: str, within: float = 10.0) -> None:
    """Wait until a log line contains `text`."""
    async with asyncio.timeout(within):
        while not any(text in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_slack_unreachable_at_start_keeps_discord_running_then_connects(
    make_settings: Any,
    slack: FakeSlack,
    discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await slack.go_offline()

    def adapters_of(settings: Settings, conversation: Conversation) -> list[Any]:
        return [
            slack_adapter(conversation, slack),
            DiscordAdapter.from_settings(settings, conversation, guild_ready_timeout=0.2),
        ]

    stop = asyncio.Event()
    settings = run_settings(make_settings, slack, discord)
    running = asyncio.create_task(run_bot(settings, stop, adapters_of, retry_in=lambda _: 0.2))
    try:
        await logged(caplog, "discord adapter connected")
        await logged(caplog, "Slack: Slack could not be reached")
        assert not any("slack adapter connected" in r.getMessage() for r in caplog.records)
        await slack.go_online()
        await logged(caplog, "slack adapter connected")
    finally:
        stop.set()
        assert await asyncio.wait_for(running, 30) == 0
    assert len(slack.calls_of("auth.test")) == 1
    tries = [r for r in caplog.records if "Slack: Slack could not be reached" in r.getMessage()]
    assert all(  # one warning line per try, the same as Discord's
        r.levelno == logging.WARNING
        and r.exc_info is None
        and r.getMessage().endswith("trying again in 0.2 s (the other platforms keep running)")
        for r in tries
    )
    assert "Traceback" not in caplog.text


async def slack_command(adapter: SlackAdapter, slack: FakeSlack, text: str, name: str) -> None:
    """Send `/arxiv <text>` to the adapter's HTTP endpoint as Slack would."""
    body = command_form(text, response_url=slack.response_url(name))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{adapter.port}/slack/events", data=body, headers=headers) as r,
    ):
        assert r.status == 200


async def test_discord_unreachable_at_start_keeps_slack_serving_then_connects(
    make_settings: Any,
    slack: FakeSlack,
    discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await discord.go_offline()  # its port refuses connections
    adapters: list[Any] = []

    def adapters_of(settings: Settings, conversation: Conversation) -> list[Any]:
        adapters.extend(
            [
                slack_adapter(conversation, slack),
                DiscordAdapter.from_settings(settings, conversation, guild_ready_timeout=0.2),
            ]
        )
        return list(adapters)

    def retries() -> list[str]:
        return [r.getMessage() for r in caplog.records if "Discord: cannot" in r.getMessage()]

    stop = asyncio.Event()
    settings = run_settings(make_settings, slack, discord)
    running = asyncio.create_task(run_bot(settings, stop, adapters_of, retry_in=lambda _: 0.2))
    try:
        await logged(caplog, "slack adapter connected")
        await slack_command(adapters[0], slack, "help", "help")
        await slack.wait_until(lambda: any(name == "help" for name, *_ in slack.responses))
        async with asyncio.timeout(10):
            while len(retries()) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert not any("discord adapter connected" in r.getMessage() for r in caplog.records)
        await discord.go_online()
        await logged(caplog, "discord adapter connected")
        assert adapters[1].client.is_ready()
        await slack_command(adapters[0], slack, "help", "again")
        await slack.wait_until(lambda: any(name == "again" for name, *_ in slack.responses))
    finally:
        stop.set()
        assert await asyncio.wait_for(running, 30) == 0
    tries = retries()
    assert tries[0].startswith("Discord: cannot log in to Discord: ")
    assert all(
        t.endswith("trying again in 0.2 s (the other platforms keep running)") for t in tries
    )
    assert all(
        r.levelno == logging.WARNING and r.exc_info is None
        for r in caplog.records
        if "Discord: cannot" in r.getMessage()
    )
    assert len(discord.requests_of("GET", "/users/@me")) == 1  # the tries that got through
    assert "Traceback" not in caplog.text
    assert DISCORD_TOKEN not in caplog.text


async def test_run_with_discord_down_serves_slack_and_logs_one_line_per_discord_try(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, slack: FakeSlack
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there: Discord is unreachable
    http_port = free_port()
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT=str(http_port),
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        DISCORD_BOT_TOKEN=DISCORD_TOKEN,
        ARXIV_BOT_DISCORD_API_URL=f"http://{nowhere}/api/v10",
        ARXIV_BOT_DISCORD_GATEWAY_URL=f"ws://{nowhere}/gateway",
    )
    proc = await start_run(env, tmp_path)
    log = ""
    try:
        log += await read_until(proc, "slack adapter connected")
        body = command_form("help", response_url=slack.response_url("help"))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(SECRET, body),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{http_port}/slack/events", data=body, headers=headers
            ) as r,
        ):
            assert r.status == 200
        await slack.wait_until(lambda: bool(slack.responses), within=20)
        assert "criteria" in json.dumps(slack.responses[0][1])  # the help Slack users read
        tried = "Discord: cannot log in"
        log += await read_until(proc, tried, times=2 - log.count(tried))
    finally:
        log += await stop_run(proc)
    assert proc.returncode == 0, log[-2000:]
    tries = [line for line in log.splitlines() if "Discord: " in line]  # one line per try
    assert len(tries) >= 2
    assert "trying again in 1 s (the other platforms keep running)" in tries[0]
    assert "trying again in 2 s (the other platforms keep running)" in tries[1]
    assert "discord adapter connected" not in log
    assert "Traceback" not in log
    assert DISCORD_TOKEN not in log
    assert BOT_TOKEN not in log


async def test_a_refused_slack_token_ends_run_with_its_error(
    make_settings: Any, slack: FakeSlack, discord: FakeDiscord
) -> None:
    def adapters_of(settings: Settings, conversation: Conversation) -> list[Any]:
        refused = slack_adapter(conversation, slack, token="xoxp-never-shown")
        return [refused, DiscordAdapter.from_settings(settings, conversation)]

    settings = run_settings(make_settings, slack, discord)
    with pytest.raises(PlatformError, match=r"invalid_auth.*check SLACK_BOT_TOKEN"):
        await asyncio.wait_for(run_bot(settings, asyncio.Event(), adapters_of), 30)


class Stuck:
    """An adapter that never finishes connecting nor closing (a hung platform)."""

    platform = "stuck"

    async def start(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        await asyncio.Event().wait()

    async def post_parent(self, *_: Any) -> str:
        raise NotImplementedError

    async def post_card(self, *_: Any) -> str:
        raise NotImplementedError

    async def post_notice(self, *_: Any) -> str:
        raise NotImplementedError

    async def recover(self, *_: Any) -> dict[str, str]:
        return {}


async def test_stop_is_bounded_whatever_the_adapters_are_doing(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(cli, "SHUTDOWN_GRACE", 2.0)
    monkeypatch.setattr(cli, "CLOSE_RESERVE", 0.5)
    monkeypatch.setattr(cli, "EXIT_RESERVE", 0.2)
    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(make_settings(), stop, lambda *_: [Stuck()]))
    await logged(caplog, "running on stuck")
    stopped_at = time.monotonic()
    stop.set()
    assert await asyncio.wait_for(running, 10) == 0
    assert time.monotonic() - stopped_at < 2.0 + 0.5  # the bound, plus scheduling jitter
    assert "stopping: the stuck adapter did not finish within" in caplog.text


async def test_run_stops_promptly_on_sigterm_while_slack_is_unreachable(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    proc = await start_run(env, tmp_path, "-vv")  # the scheduler's lines are the libraries'
    seen = await read_until(proc, "running on slack")  # while Slack's start is being retried
    # the first tick and subscription sync are done (a stop in their first milliseconds is the
    # scheduler's own race, not this test's subject)
    seen += await read_until(proc, "executed successfully", times=2)
    sent = time.monotonic()
    log = seen + await stop_run(proc)
    took = time.monotonic() - sent
    assert proc.returncode == 0, log[-2000:]
    assert took < 25
    assert "stopped" in log
    assert "Traceback" not in log
    assert BOT_TOKEN not in log
    print(f"run stopped {took:.2f} s after SIGTERM while Slack was unreachable")


@pytest.fixture
async def core(make_settings: Any) -> AsyncIterator[Any]:
    async with open_core(make_settings()) as c:
        yield c


async def test_stop_cuts_a_slack_answer_short_within_the_bound(
    make_settings: Any,
    slack: FakeSlack,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(cli, "SHUTDOWN_GRACE", 3.0)
    monkeypatch.setattr(cli, "CLOSE_RESERVE", 1.0)
    monkeypatch.setattr(cli, "EXIT_RESERVE", 0.5)
    llm.latency = 30.0  # `/arxiv today` is still scoring when the stop comes
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_ADMINS="everyone",
    )
    adapters: list[SlackAdapter] = []

    def adapters_of(settings: Settings, conversation: Conversation) -> list[Any]:
        adapters.append(SlackAdapter.from_settings(settings, conversation, host="127.0.0.1"))
        return list(adapters)

    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(settings, stop, adapters_of))
    await logged(caplog, "slack adapter connected")
    body = command_form("today", response_url=slack.response_url("today"))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{adapters[0].port}/slack/events", data=body, headers=headers
        ) as r,
    ):
        assert r.status == 200
    await slack.wait_until(lambda: bool(slack.responses))  # "Working on today's digest…"
    stopped_at = time.monotonic()
    stop.set()
    assert await asyncio.wait_for(running, 10) == 0
    took = time.monotonic() - stopped_at
    assert took < 3.0 + 0.5
    assert "Slack: 1 answers cancelled at shutdown" in caplog.text
    assert "Traceback" not in caplog.text
    assert slack.channel_messages("C0TEAM") == []


async def test_a_database_locked_at_start_is_waited_out_then_the_bot_runs(
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    import sqlite3
    import threading

    from bot.store import backend

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(backend, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(cli, "STORE_RETRY", 0.2)
    monkeypatch.setattr(cli, "SHUTDOWN_GRACE", 2.0)
    monkeypatch.setattr(cli, "CLOSE_RESERVE", 0.5)
    monkeypatch.setattr(cli, "EXIT_RESERVE", 0.2)
    db = tmp_path / "locked.sqlite3"
    sqlite3.connect(db).close()
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # another process's long write, as SQLite sees it
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(10)
        holder.execute("COMMIT")
        holder.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    locked.wait(5)
    stop = asyncio.Event()
    running = asyncio.create_task(
        run_bot(make_settings(ARXIV_BOT_DB=str(db)), stop, lambda *_: [Stuck()])
    )
    try:
        await logged(caplog, "another process held it locked for too long; trying again")
        assert not running.done()  # waiting, not crashed
    finally:
        release.set()
        holder.join()
    await logged(caplog, "running on stuck")
    stop.set()
    assert await asyncio.wait_for(running, 10) == 0
    assert "Traceback" not in caplog.text


async def test_a_database_that_is_not_one_ends_the_run_at_once_with_one_line(
    make_settings: Any, tmp_path: Path
) -> None:
    db = tmp_path / "not-a-database.sqlite3"
    db.write_bytes(b"certainly not SQLite" * 100)
    with pytest.raises(Exception, match="it is not a SQLite database") as raised:
        await asyncio.wait_for(
            run_bot(make_settings(ARXIV_BOT_DB=str(db)), asyncio.Event(), lambda *_: [Stuck()]), 10
        )
    assert not getattr(raised.value, "transient", True)
