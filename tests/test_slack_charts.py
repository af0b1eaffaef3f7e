"""`/arxiv stats` with ARXIV_BOT_SLACK_CHARTS: the real AsyncApp and AsyncWebClient against
FakeSlack upload the chart of the month (files_upload_v2) beside the sparklines; when Slack
refuses it the sparklines still come, with one line saying why, and nothing is logged as a
traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from bot.__main__ import open_core
from bot.conversation.stats_commands import chart_png, month_chart, spark_days
from tests.fakes.slack_server import FakeSlack, ServerError, command_form, signed_headers

CHANNEL = "C0TEAM"
BOT_TOKEN = "xoxb-test-bot-token-never-shown-51f0"
SECRET = "signing-secret-never-shown-3be1"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@asynccontextmanager
async def running(make_settings: Any, slack: FakeSlack, charts: str) -> AsyncIterator[SlackAdapter]:
    """The bot's core and its Slack adapter, charts on or off."""
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_SLACK_CHARTS=charts,
    )
    async with open_core(settings) as core:
        bot = SlackAdapter.from_settings(settings, core.conversation, host="127.0.0.1")
        await bot.start()
        try:
            yield bot
        finally:
            await bot.close()


async def stats(bot: SlackAdapter, slack: FakeSlack) -> str:
    """`/arxiv stats` as Slack sends it; the text the caller then sees."""
    body = command_form("stats", response_url=slack.response_url("stats"))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **signed_headers(SECRET, body),
    }
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        assert r.status == 200
    await slack.wait_until(lambda: any(n == "stats" for n, _, _ in slack.responses), within=20)
    return str(next(p for n, p, _ in slack.responses if n == "stats")["text"])


def no_traceback(caplog: pytest.LogCaptureFixture) -> bool:
    return all(r.exc_info is None for r in caplog.records)


async def test_stats_uploads_the_chart_of_the_month_into_the_channel(
    make_settings: Any, slack: FakeSlack
) -> None:
    async with running(make_settings, slack, "on") as bot:
        text = await stats(bot, slack)
    assert "papers selected:" in text  # the sparklines, as without a chart
    assert "No chart" not in text
    [upload] = slack.uploads
    assert upload.channel == CHANNEL
    assert upload.thread_ts is None
    assert upload.filename.endswith(".png")
    assert upload.body.startswith(b"\x89PNG")
    assert len(upload.body) > 5_000  # a drawn figure, not an empty image


async def test_without_the_setting_stats_uploads_nothing(
    make_settings: Any, slack: FakeSlack
) -> None:
    async with running(make_settings, slack, "off") as bot:
        text = await stats(bot, slack)
    assert "papers selected:" in text
    assert "No chart" not in text
    assert slack.uploads == []
    assert not slack.calls_of("files.getUploadURLExternal")


async def test_without_files_write_the_sparklines_come_with_the_reason(
    make_settings: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.files_write = False
    caplog.set_level(logging.INFO)
    async with running(make_settings, slack, "on") as bot:
        text = await stats(bot, slack)
    assert "papers selected:" in text
    assert text.splitlines()[-1] == (
        "No chart: the app lacks the files:write scope (add it and reinstall the app)"
    )
    assert slack.uploads == []
    assert no_traceback(caplog)
    assert [r.getMessage() for r in caplog.records if "no chart" in r.getMessage()] == [
        f"Slack: no chart for channel {CHANNEL}: the app lacks the files:write scope (add it "
        "and reinstall the app)"
    ]
    assert BOT_TOKEN not in caplog.text


async def test_the_reason_for_no_chart_is_in_the_readers_language(
    make_settings: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone whose Slack speaks German reads why no chart came in German; the log line
    stays English."""
    slack.files_write = False
    slack.user_locales["U0ALICE"] = "de-DE"
    caplog.set_level(logging.INFO)
    async with running(make_settings, slack, "on") as bot:
        text = await stats(bot, slack)
    assert text.splitlines()[-1] == (
        "Kein Diagramm: der App fehlt der Scope files:write (füge ihn hinzu und installiere "
        "die App neu)"
    )
    assert "files:write scope (add it and reinstall the app)" in caplog.text


async def test_without_matplotlib_the_sparklines_say_how_to_get_the_chart(
    make_settings: Any,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.backends.backend_agg",
        "matplotlib.ticker",
    ):
        monkeypatch.setitem(sys.modules, name, None)  # what `import` sees when not installed
    caplog.set_level(logging.INFO)
    async with running(make_settings, slack, "on") as bot:
        text = await stats(bot, slack)
    assert "papers selected:" in text
    assert text.splitlines()[-1] == "No chart: matplotlib is not installed (the `charts` extra)"
    assert not slack.calls_of("files.getUploadURLExternal")
    assert no_traceback(caplog)


async def test_when_slack_does_not_answer_the_upload_the_sparklines_still_come(
    make_settings: Any, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(make_settings, slack, "on") as bot:
        slack.enqueue(*[ServerError(503)] * 10, method="files.getUploadURLExternal")
        text = await stats(bot, slack)
    assert "papers selected:" in text
    assert text.splitlines()[-1].startswith("No chart: ")
    assert slack.uploads == []
    assert no_traceback(caplog)


def test_the_chart_draws_a_month_with_empty_days_as_a_png() -> None:
    days = spark_days(date(2026, 12, 7))
    chart = month_chart(days, {days[3]: 5}, {days[4]: 1}, {days[5]: 0.12})
    assert chart.selected[3] == 5
    assert chart.likes == tuple(1 if n == 4 else 0 for n in range(30))
    png = chart_png(chart)
    assert png.startswith(b"\x89PNG")
    assert len(png) > 5_000
