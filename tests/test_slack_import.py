"""`/arxiv import` in Slack through the real bolt app in Socket Mode, against the fake Slack and
Zotero servers: `import zotero` opens a form for the key (never typed in the channel), the
form's submission imports the library and the channel sees how many papers it took; a .bib file
shared with `@arxiv-bot import` is read with the bot's token and answered in its thread."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from bot.__main__ import open_core
from tests.fakes.slack_server import FakeSlack, command_payload, mention_event, view_submission
from tests.fakes.zotero_server import FakeZotero, zotero_item

BOT_TOKEN = "xoxb-test-bot-token-never-shown-51f0"
APP_TOKEN = "xapp-test-app-token-never-shown-a9c2"
ZOTERO_KEY = "zotero-key-never-shown-77aa"


@pytest.fixture
async def zotero() -> AsyncIterator[FakeZotero]:
    async with FakeZotero() as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_import_zotero_asks_for_the_key_in_a_form_and_imports_on_submit(
    make_settings: Any,
    day_feed: list[dict[str, Any]],
    zotero: FakeZotero,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    items = [
        zotero_item(f"K000000{n}", p["title"], url=f"https://arxiv.org/abs/{p['id']}")
        for n, p in enumerate(day_feed[:3])
    ]
    zotero.add_library("users", "4711", items, key=ZOTERO_KEY)
    settings = make_settings(
        ARXIV_BOT_ADMINS="everyone",
        ARXIV_BOT_ZOTERO_URL=zotero.url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET="",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
    )
    async with open_core(settings) as core:
        bot = SlackAdapter.from_settings(settings, core.conversation)
        await bot.start()
        try:
            await slack.send_envelope("slash_commands", command_payload("import zotero user:4711"))
            await slack.wait_until(lambda: bool(slack.views_of("views.open")))
            (shown,) = slack.views_of("views.open")  # checked by slack_sdk's view model
            assert shown.view["callback_id"] == "arxiv_zotero_key"
            assert not zotero.requests  # nothing read before the key is given

            submitted = view_submission(shown, {"key": ZOTERO_KEY})
            await slack.send_envelope("interactive", submitted)
            await slack.wait_until(lambda: bool(slack.channel_messages("C0TEAM")))
        finally:
            await bot.close()
        assert await core.store.imports.count("C0TEAM") == 3
    (said,) = slack.channel_messages("C0TEAM")
    assert "Imported 3 papers into this channel's reading list" in said.text
    assert zotero.requests[0].keyed
    assert ZOTERO_KEY not in caplog.text
    assert all(ZOTERO_KEY not in json.dumps(c.args) for c in slack.calls)


async def test_a_bib_file_shared_with_a_mention_is_imported_and_answered_in_its_thread(
    make_settings: Any, day_feed: list[dict[str, Any]], slack: FakeSlack
) -> None:
    a, b = day_feed[0], day_feed[1]
    text = (
        f"@article{{a, title={{{a['title']}}}, eprint={{{a['id']}}}}}\n"
        f"@misc{{b, title={{B}}, url={{https://arxiv.org/abs/{b['id']}}}}}\n"
        "@book{c, title={A Book Without arXiv}}\n"
    )
    shared = slack.add_file("team.bib", text.encode())
    settings = make_settings(
        ARXIV_BOT_ADMINS="everyone",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET="",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
    )
    async with open_core(settings) as core:
        bot = SlackAdapter.from_settings(settings, core.conversation)
        await bot.start()
        try:
            event = mention_event("import", "1700000000.000001")
            event["event"]["files"] = [shared]
            await slack.send_envelope("events_api", event)
            await slack.wait_until(lambda: bool(slack.channel_messages("C0TEAM")))
        finally:
            await bot.close()
        assert await core.store.imports.count("C0TEAM") == 2
    (said,) = slack.channel_messages("C0TEAM")
    assert said.thread_ts == "1700000000.000001"
    assert "Imported 2 papers" in said.text
    assert "Could not match 1: `c (A Book Without arXiv)`" in said.text
    (download,) = slack.calls_of("files.download")
    assert download.token == BOT_TOKEN
