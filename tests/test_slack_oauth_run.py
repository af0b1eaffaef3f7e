"""`arxiv-bot run` for many workspaces, as an operator runs it: a real child process configured
by SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET and ARXIV_BOT_TOKEN_KEY alone,
against the fake Slack, arXiv and OpenAI. Two workspaces install it through the install page;
each one's `/arxiv today` is posted with its own token and never the other's; once one
uninstalls, its token is never used again, by a command or by the daily post."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from adapters.slack import Pacer, SlackAdapter
from adapters.slack_install import StoreInstallations, TokenBox
from bot.__main__ import open_core, settings_resolver
from bot.daily.delivery import Delivery
from bot.daily.runner import DailyRunner, due_at
from bot.store import Store
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import (
    CLIENT_SECRET,
    FakeSlack,
    command_form,
    signed_headers,
    uninstalled_event,
)
from tests.test_end_to_end import free_port, serve_day, start_run, stop_run, wait_listening
from tests.test_slack_oauth import NoPause, browser_jar, many_env

SECRET = "oauth-signing-secret-never-shown-77"  # many_env's
TEAM_A, TEAM_B = "T0AAAA", "T0BBBB"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_workspace(TEAM_A, "Lab A")
        fake.add_workspace(TEAM_B, "Lab B")
        yield fake


async def install(base: str, slack: FakeSlack, team: str) -> str:
    """A user of `team` opens the install page in a browser, clicks "Add to Slack", approves,
    and lands back on the bot; returns the page they see."""
    slack.approve_as(team)
    async with aiohttp.ClientSession(cookie_jar=browser_jar(base)) as browser:
        async with browser.get(f"{base}/slack/install") as resp:
            page = await resp.text()
        found = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page)
        assert found, page
        link = html.unescape(found.group(1))
        async with browser.get(link) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.text()


async def signed_post(base: str, body: str, content_type: str) -> int:
    headers = {**signed_headers(SECRET, body), "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/slack/events", data=body, headers=headers) as resp,
    ):
        return resp.status


async def today(base: str, slack: FakeSlack, team: str, channel: str, name: str) -> None:
    body = command_form("today", channel=channel, team=team, response_url=slack.response_url(name))
    assert await signed_post(base, body, "application/x-www-form-urlencoded") == 200


async def cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    result = await run_cli(env, cwd, *args)
    return result.code, result.out, result.err


def tokens_to(slack: FakeSlack, channel: str) -> set[str]:
    return {c.token for c in slack.calls_of("chat.postMessage") if c.args["channel"] == channel}


async def test_run_serves_two_workspaces_each_with_its_own_token_until_one_uninstalls(
    arxiv: FakeArxiv, llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path
) -> None:
    serve_day(arxiv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        **many_env(slack, port),
        ARXIV_BOT_MIN_RELEVANCE="9",  # a short digest: Slack's one post a second per channel
        ARXIV_BOT_MIN_NOVELTY="9",
    )
    proc = await start_run(env, tmp_path)
    try:
        await wait_listening(port, proc)
        assert "arxiv-bot is installed" in await install(base, slack, TEAM_A)
        assert "arxiv-bot is installed" in await install(base, slack, TEAM_B)
        token_a, token_b = (slack.workspaces[t].bot_token for t in (TEAM_A, TEAM_B))

        await today(base, slack, TEAM_A, "C0LABA", "a")
        await today(base, slack, TEAM_B, "C0LABB", "b")
        await slack.wait_until(
            lambda: bool(slack.channel_messages("C0LABA") and slack.channel_messages("C0LABB")),
            within=90,
        )
        assert tokens_to(slack, "C0LABA") == {token_a}
        assert tokens_to(slack, "C0LABB") == {token_b}

        # Lab A removes the app: Slack revokes its token and tells the bot
        slack.revoke(token_a)
        used_by_a = len(slack.calls_with(token_a))
        event = json.dumps(uninstalled_event(TEAM_A))
        assert await signed_post(base, event, "application/json") == 200
        await today(base, slack, TEAM_A, "C0LABA", "a-after")
        await slack.wait_until(
            lambda: any(n == "a-after" for n, _, _ in slack.responses), within=30
        )
        answer = next(p for n, p, _ in slack.responses if n == "a-after")
        assert "reinstall" in answer["text"].lower()
        await today(base, slack, TEAM_B, "C0LABB", "b-after")  # Lab B goes on as before
        await slack.wait_until(
            lambda: any(n == "b-after" for n, _, _ in slack.responses), within=30
        )
        assert len(slack.calls_with(token_a)) == used_by_a
    finally:
        log = await stop_run(proc)
    assert proc.returncode == 0, log[-3000:]
    for secret in (token_a, token_b, CLIENT_SECRET, SECRET, env["ARXIV_BOT_TOKEN_KEY"]):
        assert secret not in log
    assert "Traceback" not in log
    assert "workspace T0AAAA uninstalled the app" in log

    code, out, err = await cli(env, tmp_path, "status")
    assert code == 0, err
    for secret in (token_a, token_b):
        assert secret not in out


async def test_the_daily_post_uses_each_workspaces_token_and_skips_an_uninstalled_one(
    arxiv: FakeArxiv, make_settings: Any, slack: FakeSlack, tmp_path: Path
) -> None:
    serve_day(arxiv)
    settings = make_settings(
        **many_env(slack, free_port()), ARXIV_BOT_MIN_RELEVANCE="9", ARXIV_BOT_MIN_NOVELTY="9"
    )
    async with open_core(settings) as core:
        pause = NoPause()
        adapter = SlackAdapter.from_settings(
            settings,
            core.conversation,
            core.store.installations,
            host="127.0.0.1",
            pacer=Pacer(clock=pause.clock, sleep=pause.sleep),
        )
        await adapter.start()
        try:
            base = f"http://127.0.0.1:{adapter.port}"
            await install(base, slack, TEAM_A)
            await install(base, slack, TEAM_B)
            for team, channel in ((TEAM_A, "C0LABA"), (TEAM_B, "C0LABB"), (TEAM_A, "C0LABA2")):
                body = command_form(
                    "subscribe", channel=channel, team=team, response_url=slack.response_url()
                )
                assert await signed_post(base, body, "application/x-www-form-urlencoded") == 200
            await slack.wait_until(lambda: len(slack.responses) == 3, within=30)

            slack.revoke(slack.workspaces[TEAM_A].bot_token)
            event = json.dumps(uninstalled_event(TEAM_A))
            assert await signed_post(base, event, "application/json") == 200
            for _ in range(100):
                if await core.store.installations.workspaces("slack") == [TEAM_B]:
                    break
                await slack.wait_until(lambda: True, within=0.05)
            token_a = slack.workspaces[TEAM_A].bot_token
            used_by_a = len(slack.calls_with(token_a))

            row = await core.store.channels.get(f"{TEAM_B}:C0LABB", "slack")
            due = due_at(date(2025, 5, 2), settings_resolver(settings)(row))
            moments = [due - timedelta(hours=1)]

            def tick_time() -> datetime:
                return moments[-1]

            runner = DailyRunner(
                core.store,
                core.service,
                Delivery(core.store, {"slack": adapter}),
                settings_resolver(settings),
                clock=tick_time,
            )
            await runner.tick()  # before the post time: the channels' daily posts start here
            moments.append(due + timedelta(minutes=1))
            await runner.tick()  # after it: post
        finally:
            await adapter.close()
    assert slack.channel_messages("C0LABB"), "Lab B got its daily post"
    assert tokens_to(slack, "C0LABB") == {slack.workspaces[TEAM_B].bot_token}
    assert not slack.channel_messages("C0LABA")
    assert not slack.channel_messages("C0LABA2")
    assert len(slack.calls_with(token_a)) == used_by_a


async def test_forget_workspace_deletes_an_uninstalled_workspaces_channels_only(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_TOKEN_KEY=key)
    async with Store.open(tmp_path / "db.sqlite3") as store:
        for channel in ("T0AAAA:C1", "T0AAAA:C2", "T0BBBB:C1"):
            await store.channels.get(channel, "slack")
            await store.channels.set_subscribed(channel, True)
            await store.channels.record_event(channel, "U0ALICE", "subscribe", "")
        installs = StoreInstallations(store.installations, TokenBox(key))
        await installs.async_save(Installation(team_id="T0AAAA", bot_token="xoxb-a", user_id="U"))

    code, out, err = await cli(env, tmp_path, "forget-workspace", "T0AAAA")
    assert code == 1
    assert "still has the app installed" in err

    async with Store.open(tmp_path / "db.sqlite3") as store:
        await store.installations.remove("slack", "T0AAAA", "uninstalled")
    code, out, err = await cli(env, tmp_path, "forget-workspace", "T0AAAA")
    assert code == 0, err
    assert out.startswith("Forgot workspace T0AAAA: deleted 2 channel_events, 2 channels, ")
    assert "Shared papers and scores stay." in out
    code, out, _ = await cli(env, tmp_path, "forget-workspace", "T0AAAA")
    assert (code, out.strip()) == (0, "Nothing is kept for workspace T0AAAA.")
    code, out, err = await cli(env, tmp_path, "forget-workspace", "not-a-team")
    assert code == 2
    assert "not a Slack workspace id" in err
    assert "Traceback" not in err
    code, out, _ = await cli(env, tmp_path, "status")
    assert "slack:T0BBBB:C1" in out
    assert "T0AAAA" not in out


async def test_a_token_key_that_opens_no_installation_stops_run_and_status_in_one_line(
    arxiv: FakeArxiv, llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path
) -> None:
    from tests.test_end_to_end import run_cli as child
    from tests.test_slack_oauth import KEY
    from tests.test_slack_oauth_store import installation

    db = tmp_path / "db.sqlite3"
    async with Store.open(db) as store:  # installed while the old key was set
        await StoreInstallations(store.installations, TokenBox(KEY)).async_save(installation())
    port = free_port()
    other_key = Fernet.generate_key().decode()
    env = bot_env(arxiv, llm, db, **many_env(slack, port, ARXIV_BOT_TOKEN_KEY=other_key))

    code, _, err = await child(env, "run", cwd=tmp_path)
    assert code == 2
    assert err.strip().splitlines() == [
        "arxiv-bot: error: ARXIV_BOT_TOKEN_KEY does not decrypt the Slack installation of "
        "workspace T0AAAA kept in the database: set the key its tokens were encrypted with (to "
        "change keys, put the new key first and the old one after it, comma separated)"
    ]
    assert "Traceback" not in err
    assert other_key not in err
    assert KEY not in err
    assert not slack.calls_of("auth.test")  # nothing was served on the wrong key

    code, out, err = await child(env, "status", cwd=tmp_path)
    assert code == 1
    assert "ARXIV_BOT_TOKEN_KEY does not decrypt the Slack installation of workspace T0AAAA" in err
    assert "database:" in out
    assert "Traceback" not in err

    rotated = {**env, "ARXIV_BOT_TOKEN_KEY": f"{other_key},{KEY}"}  # the old key after a new one
    code, out, err = await child(rotated, "status", cwd=tmp_path)
    assert (code, err) == (0, ""), err
