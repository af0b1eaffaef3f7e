"""Slack for many workspaces, in process: the real AsyncApp, bolt's OAuth flow and
AsyncWebClient against FakeSlack, with the core on the fake arXiv and OpenAI servers.

A browser (an aiohttp session with a cookie jar) opens the install page, follows its "Add to
Slack" link to the fake Slack's authorize page and is sent back to the bot with a code; every
way this can go wrong ends on a page that says what to do. Each workspace's commands and the
daily post use that workspace's token and never another's; an uninstalled workspace's token is
never used again."""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from cryptography.fernet import Fernet

from adapters.slack import Pacer, SlackAdapter
from adapters.slack_install import BOT_SCOPES, STATES_PER_CLIENT
from bot.__main__ import open_core
from bot.errors import PlatformError
from bot.models import Criteria, Digest, StageCounts, Thresholds
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.slack_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeSlack,
    command_form,
    signed_headers,
    tokens_revoked_event,
    uninstalled_event,
)
from tests.fakes.synth import load_eval_day, rss_feed
from tests.test_end_to_end import free_port

DAY = "2025-05-02"
SECRET = "oauth-signing-secret-never-shown-77"
KEY = Fernet.generate_key().decode()
FORM = "application/x-www-form-urlencoded"
TEAM_A, TEAM_B = "T0AAAA", "T0BBBB"


class NoPause:
    """The pacer's sleep: tests do not wait a second between posts."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_workspace(TEAM_A, "Lab A")
        fake.add_workspace(TEAM_B, "Lab B")
        yield fake


def many_env(slack: FakeSlack, port: int, **extra: str) -> dict[str, str]:
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SECRET,
        "ARXIV_BOT_TOKEN_KEY": KEY,
        "ARXIV_BOT_HTTP_PORT": str(port),
        "ARXIV_BOT_SLACK_API_URL": slack.api_url,
        "ARXIV_BOT_SLACK_AUTHORIZE_URL": slack.authorize_url,
        "ARXIV_BOT_SLACK_REDIRECT_URL": f"http://127.0.0.1:{port}/slack/oauth_redirect",
        "ARXIV_BOT_ADMINS": "everyone",
        "ARXIV_BOT_LIMIT_USER": "off",
        "ARXIV_BOT_LIMIT_CHANNEL": "off",
        **extra,
    }


@pytest.fixture
async def bot(
    make_settings: Any, arxiv: FakeArxiv, slack: FakeSlack
) -> AsyncIterator[SlackAdapter]:
    papers = load_eval_day(DAY)
    arxiv.set_feed(rss_feed(papers, date.fromisoformat(DAY)))
    arxiv.add_papers(papers)
    settings = make_settings(**many_env(slack, free_port()))
    async with open_core(settings) as core:
        pause = NoPause()
        adapter = SlackAdapter.from_settings(
            settings,
            core.conversation,
            core.store.installations,
            host="127.0.0.1",
            events=core.store.work,
            pacer=Pacer(clock=pause.clock, sleep=pause.sleep),
        )
        await adapter.start()
        adapter.core = core  # type: ignore[attr-defined]
        try:
            yield adapter
        finally:
            await adapter.close()


@pytest.fixture
async def browser(bot: SlackAdapter) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser: it keeps the bot's cookies and follows redirects; like browsers, it takes
    the loopback address for a secure origin (the state cookie is `Secure`)."""
    async with aiohttp.ClientSession(cookie_jar=browser_jar(base(bot))) as session:
        yield session


def browser_jar(origin: str) -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])


def base(adapter: SlackAdapter) -> str:
    return f"http://127.0.0.1:{adapter.port}"


async def install_link(browser: aiohttp.ClientSession, adapter: SlackAdapter) -> str:
    """The "Add to Slack" link of the install page."""
    async with browser.get(f"{base(adapter)}/slack/install") as resp:
        assert resp.status == 200
        page = await resp.text()
    found = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


async def install(
    browser: aiohttp.ClientSession, adapter: SlackAdapter, slack: FakeSlack, team: str
) -> tuple[int, str]:
    """A user of `team` installs the app: the install page, Slack's approval, back to the
    bot. Returns the last page's status and text."""
    slack.approve_as(team)
    async with browser.get(await install_link(browser, adapter)) as resp:
        return resp.status, await resp.text()


async def signed(adapter: SlackAdapter, body: str, content_type: str = FORM) -> tuple[int, str]:
    headers = {**signed_headers(SECRET, body), "Content-Type": content_type}
    url = f"{base(adapter)}/slack/events"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


async def command(
    adapter: SlackAdapter, slack: FakeSlack, text: str, team: str, channel: str, name: str
) -> dict[str, Any]:
    """A signed `/arxiv` from a workspace; returns the first answer through response_url."""
    body = command_form(text, channel=channel, team=team, response_url=slack.response_url(name))
    assert (await signed(adapter, body))[0] == 200
    await slack.wait_until(lambda: any(n == name for n, _, _ in slack.responses), within=60)
    return next(p for n, p, _ in slack.responses if n == name)


async def event(adapter: SlackAdapter, payload: dict[str, Any]) -> None:
    assert (await signed(adapter, json.dumps(payload), "application/json"))[0] == 200


def answered(slack: FakeSlack, name: str) -> Callable[[], bool]:
    """Whether the command given response_url `name` has been answered."""
    return lambda: any(n == name for n, _, _ in slack.responses)


def token(slack: FakeSlack, team: str) -> str:
    return slack.workspaces[team].bot_token


# -- the install page ------------------------------------------------------------------------


async def test_the_install_page_sends_the_user_to_slack_with_our_client_id_and_the_manifest_scopes(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    link = urlsplit(await install_link(browser, bot))
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert f"{link.scheme}://{link.netloc}{link.path}" == slack.authorize_url
    assert query["client_id"] == CLIENT_ID
    assert query["scope"].split(",") == list(BOT_SCOPES)
    assert "user_scope" not in query or not query["user_scope"]
    assert query["redirect_uri"] == f"{base(bot)}/slack/oauth_redirect"
    assert query["state"]
    assert query["state"] in {c.value for c in browser.cookie_jar}


async def test_an_installed_workspace_sees_a_page_saying_how_to_start(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    status, page = await install(browser, bot, slack, TEAM_A)
    assert status == 200
    assert "arxiv-bot is installed" in page
    assert "/invite @arxiv-bot" in page
    assert "Lab A" in page
    assert [c.token for c in slack.calls_of("oauth.v2.access")] == [""]  # client auth, no token
    assert await bot.core.store.installations.workspaces("slack") == [TEAM_A]  # type: ignore[attr-defined]


# -- every way an installation can fail ends on a page ---------------------------------------


async def redirect(browser: aiohttp.ClientSession, adapter: SlackAdapter, **query: str) -> Any:
    async with browser.get(f"{base(adapter)}/slack/oauth_redirect?{urlencode(query)}") as resp:
        return resp.status, await resp.text()


def a_clear_page(page: str, title: str) -> None:
    assert title in page
    assert "Traceback" not in page
    assert "Exception" not in page
    assert 'href="/slack/install"' in page


async def test_a_user_who_cancels_is_told_nothing_was_installed(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    slack.deny_next()
    async with browser.get(await install_link(browser, bot)) as resp:
        status, page = resp.status, await resp.text()
    assert status == 400
    a_clear_page(page, "Installation cancelled")
    assert not slack.calls_of("oauth.v2.access")


async def test_a_reused_install_link_is_refused_and_slack_is_not_asked_again(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    slack.approve_as(TEAM_A)
    async with browser.get(await install_link(browser, bot)) as resp:
        assert resp.status == 200
        used = str(resp.url)  # the redirect back, with its code and state
    async with browser.get(used) as resp:
        status, page = resp.status, await resp.text()
    assert status == 400
    a_clear_page(page, "expired or was used already")
    assert len(slack.calls_of("oauth.v2.access")) == 1


async def test_a_forged_state_is_refused(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    browser.cookie_jar.update_cookies({"slack-app-oauth-state": "forged"})
    status, page = await redirect(browser, bot, code="code-x", state="forged")
    assert status == 400
    a_clear_page(page, "expired or was used already")
    assert not slack.calls_of("oauth.v2.access")


async def test_a_state_from_another_browser_is_refused(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    state = parse_qs(urlsplit(await install_link(browser, bot)).query)["state"][0]
    async with aiohttp.ClientSession() as other:  # no cookie of the install page
        status, page = await redirect(other, bot, code="code-x", state=state)
    assert status == 400
    a_clear_page(page, "same browser")


async def test_a_code_slack_refuses_ends_on_a_page_and_installs_nothing(
    bot: SlackAdapter,
    browser: aiohttp.ClientSession,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    state = parse_qs(urlsplit(await install_link(browser, bot)).query)["state"][0]
    status, page = await redirect(browser, bot, code="never-issued-code", state=state)
    assert status == 400
    a_clear_page(page, "Slack did not accept the installation")
    assert "oauth.v2.access refused the authorization code - " in caplog.text
    assert "never-issued-code" not in caplog.text
    assert await bot.core.store.installations.workspaces("slack") == []  # type: ignore[attr-defined]


async def test_slack_unreachable_during_the_exchange_ends_on_a_page(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    slack.approve_as(TEAM_A)
    link = await install_link(browser, bot)
    async with browser.get(link, allow_redirects=False) as resp:
        back = resp.headers["Location"]
    await slack.go_offline()
    try:
        async with browser.get(back) as resp:
            status, page = resp.status, await resp.text()
    finally:
        await slack.go_online()
    assert status == 502
    a_clear_page(page, "Slack could not be reached")


# -- each workspace's own token ----------------------------------------------------------------


async def test_each_workspace_is_answered_with_its_own_token_and_never_the_others(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    assert (await install(browser, bot, slack, TEAM_A))[0] == 200
    assert (await install(browser, bot, slack, TEAM_B))[0] == 200
    await command(bot, slack, "today", TEAM_A, "C0LABA", "a")
    await command(bot, slack, "today", TEAM_B, "C0LABB", "b")
    await slack.wait_until(
        lambda: bool(slack.channel_messages("C0LABA") and slack.channel_messages("C0LABB")),
        within=60,
    )
    posts = slack.calls_of("chat.postMessage")
    to_a = {c.token for c in posts if c.args["channel"] == "C0LABA"}
    to_b = {c.token for c in posts if c.args["channel"] == "C0LABB"}
    assert to_a == {token(slack, TEAM_A)}
    assert to_b == {token(slack, TEAM_B)}
    # bolt checked each request's token with auth.test, each with its own workspace's
    assert {c.token for c in slack.calls_of("auth.test")} == {
        token(slack, TEAM_A),
        token(slack, TEAM_B),
    }


async def test_a_slack_connect_channel_keeps_one_subscription_per_installing_workspace(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    await install(browser, bot, slack, TEAM_A)
    await install(browser, bot, slack, TEAM_B)
    await command(bot, slack, "subscribe", TEAM_A, "C0SHARED", "a")
    await command(bot, slack, "subscribe", TEAM_B, "C0SHARED", "b")
    store = bot.core.store  # type: ignore[attr-defined]
    rows = await store.channels.subscribed()
    assert sorted(r.id for r in rows) == [f"{TEAM_A}:C0SHARED", f"{TEAM_B}:C0SHARED"]
    await command(bot, slack, "unsubscribe", TEAM_B, "C0SHARED", "b2")
    assert [r.id for r in await store.channels.subscribed()] == [f"{TEAM_A}:C0SHARED"]


async def test_the_daily_post_uses_the_token_of_the_channels_workspace(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    await install(browser, bot, slack, TEAM_A)
    await install(browser, bot, slack, TEAM_B)
    await bot.post_notice(f"{TEAM_A}:C0LABA", "hello A")
    await bot.post_notice(f"{TEAM_B}:C0LABB", "hello B")
    posts = slack.calls_of("chat.postMessage")
    assert [(c.args["channel"], c.token) for c in posts] == [
        ("C0LABA", token(slack, TEAM_A)),
        ("C0LABB", token(slack, TEAM_B)),
    ]
    assert await bot.recover(f"{TEAM_B}:C0LABB", date(2025, 5, 2), None) == {}
    history = slack.calls_of("conversations.history")
    assert [(c.args["channel"], c.token) for c in history] == [("C0LABB", token(slack, TEAM_B))]


async def test_a_command_from_a_workspace_without_the_app_is_told_to_install_it(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    await install(browser, bot, slack, TEAM_A)
    body = command_form("today", channel="C0LABB", team=TEAM_B, response_url=slack.response_url())
    # Slack gets its ack at once, before bolt looks for an installation ...
    assert await signed(bot, body) == (200, "")
    # ... and what bolt says about the missing installation reaches the user all the same
    await slack.wait_until(lambda: bool(slack.responses), within=30)
    _, answer, _ = slack.responses[0]
    assert "install" in str(answer.get("text", "")).lower()


async def test_an_organisation_installs_once_for_all_its_workspaces(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    """Enterprise Grid: an org-wide install answers every workspace of the organisation with
    the organisation's token; its channels are the organisation's, wherever they live."""
    org = slack.add_workspace("T0ORGHQ", "Org HQ", enterprise_id="E0ORG", org_wide=True)
    assert (await install(browser, bot, slack, "T0ORGHQ"))[0] == 200
    store = bot.core.store  # type: ignore[attr-defined]
    assert await store.installations.workspaces("slack") == ["E0ORG"]
    for team, channel in (("T0ORGHQ", "C0HQ"), ("T0ORGLAB", "C0LAB")):
        name = f"from {team}"
        url = slack.response_url(name)
        body = command_form(
            "subscribe", channel=channel, team=team, enterprise="E0ORG", response_url=url
        )
        assert (await signed(bot, body))[0] == 200
        await slack.wait_until(answered(slack, name))
    assert sorted(r.id for r in await store.channels.subscribed()) == [
        "E0ORG:C0HQ",
        "E0ORG:C0LAB",
    ]
    assert {c.token for c in slack.calls_of("auth.test")} == {org.bot_token}
    await bot.post_notice("E0ORG:C0LAB", "the daily post of a workspace of the organisation")
    post = slack.calls_of("chat.postMessage")[-1]
    assert (post.args["channel"], post.token) == ("C0LAB", org.bot_token)
    # the organisation removes the app: all its workspaces' channels pause together
    await event(bot, uninstalled_event("T0ORGHQ", enterprise="E0ORG"))
    for _ in range(50):
        if not await store.installations.workspaces("slack"):
            break
        await slack.wait_until(lambda: True, within=0.1)
    assert await store.channels.subscribed() == []
    with pytest.raises(PlatformError, match="has not installed the app"):
        await bot.post_notice("E0ORG:C0HQ", "anyone there?")


# -- uninstalling, revoked tokens ------------------------------------------------------------


async def test_after_an_uninstall_the_workspaces_token_is_never_used_again(
    bot: SlackAdapter,
    browser: aiohttp.ClientSession,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await install(browser, bot, slack, TEAM_A)
    await install(browser, bot, slack, TEAM_B)
    await command(bot, slack, "subscribe", TEAM_A, "C0LABA", "a")
    await command(bot, slack, "subscribe", TEAM_B, "C0LABB", "b")
    store = bot.core.store  # type: ignore[attr-defined]
    await bot.post_notice(f"{TEAM_A}:C0LABA", "warm the client cache")
    caplog.set_level(logging.INFO)
    await event(bot, uninstalled_event(TEAM_A))
    await slack.wait_until(lambda: True)
    for _ in range(50):
        if await store.installations.workspaces("slack") == [TEAM_B]:
            break
        await slack.wait_until(lambda: True, within=0.1)
    assert await store.installations.workspaces("slack") == [TEAM_B]
    # its channels are left out of the daily post; their criteria, likes and digests stay
    assert [r.id for r in await store.channels.subscribed()] == [f"{TEAM_B}:C0LABB"]
    assert (await store.channels.get(f"{TEAM_A}:C0LABA", "slack")).subscribed
    used = len(slack.calls_with(token(slack, TEAM_A)))
    with pytest.raises(PlatformError, match="has not installed the app"):
        await bot.post_notice(f"{TEAM_A}:C0LABA", "anyone there?")
    await bot.post_notice(f"{TEAM_B}:C0LABB", "B still works")
    assert len(slack.calls_with(token(slack, TEAM_A))) == used
    assert "workspace T0AAAA uninstalled the app" in caplog.text
    # installing again brings the channels back
    await install(browser, bot, slack, TEAM_A)
    assert len(await store.channels.subscribed()) == 2


async def test_tokens_revoked_removes_the_installation_too(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    await install(browser, bot, slack, TEAM_A)
    await event(bot, tokens_revoked_event(TEAM_A, bot_users=[]))  # user tokens only: nothing
    store = bot.core.store  # type: ignore[attr-defined]
    assert await store.installations.workspaces("slack") == [TEAM_A]
    await event(bot, tokens_revoked_event(TEAM_A))
    for _ in range(50):
        if not await store.installations.workspaces("slack"):
            break
        await slack.wait_until(lambda: True, within=0.1)
    assert await store.installations.workspaces("slack") == []


async def test_a_token_slack_refuses_pauses_its_workspace_with_one_log_line(
    bot: SlackAdapter,
    browser: aiohttp.ClientSession,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await install(browser, bot, slack, TEAM_A)
    await command(bot, slack, "subscribe", TEAM_A, "C0LABA", "a")
    slack.revoke(token(slack, TEAM_A))
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with pytest.raises(PlatformError, match="token_revoked"):
            await bot.post_parent(f"{TEAM_A}:C0LABA", _empty_digest(f"{TEAM_A}:C0LABA"))
    paused = [r for r in caplog.records if "is paused" in r.getMessage()]
    assert len(paused) == 1, caplog.text
    assert "T0AAAA" in paused[0].getMessage()
    assert "token_revoked" in paused[0].getMessage()
    store = bot.core.store  # type: ignore[attr-defined]
    assert await store.channels.subscribed() == []


def _empty_digest(channel: str) -> Digest:
    return Digest(
        day=date(2025, 5, 2),
        channel_id=channel,
        model="gpt-4o",
        criteria=Criteria("any paper"),
        criteria_version=1,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(announced=0, considered=0, scored=0, selected=0),
        entries=(),
    )


# -- secrets -----------------------------------------------------------------------------------


async def test_tokens_never_show_in_logs_reprs_or_the_database(
    bot: SlackAdapter,
    browser: aiohttp.ClientSession,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    await install(browser, bot, slack, TEAM_A)
    await command(bot, slack, "subscribe", TEAM_A, "C0LABA", "a")
    await bot.post_notice(f"{TEAM_A}:C0LABA", "hello")
    secrets = [token(slack, TEAM_A), CLIENT_SECRET, KEY, SECRET]
    store = bot.core.store  # type: ignore[attr-defined]
    row = await store.installations.find("slack", TEAM_A)
    assert row is not None
    shown = caplog.text + repr(row) + repr(bot) + repr(bot.core)  # type: ignore[attr-defined]
    for secret in secrets:
        assert secret not in shown
    assert "code-" not in caplog.text  # nor the one-use authorization code
    raw = (tmp_path / "bot.sqlite3").read_bytes()
    wal = tmp_path / "bot.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    for secret in secrets:
        assert secret.encode() not in raw
    db = sqlite3.connect(tmp_path / "bot.sqlite3")
    (sealed,) = db.execute("SELECT sealed FROM installations").fetchone()
    db.close()
    assert Fernet(KEY.encode()).decrypt(sealed.encode()).count(b"xoxb-") == 1


# -- from one workspace to many ------------------------------------------------------------


async def test_channels_of_the_single_token_workspace_keep_their_ids_when_serving_many(
    make_settings: Any, slack: FakeSlack, browser_for: Any
) -> None:
    home = slack.add_workspace("T0TEAM", "Home")  # the fake's single-token workspace
    single = make_settings(
        SLACK_BOT_TOKEN="xoxb-the-single-workspace-token",
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_ADMINS="everyone",
    )
    async with open_core(single) as core:
        adapter = SlackAdapter.from_settings(
            single, core.conversation, core.store.installations, host="127.0.0.1"
        )
        await adapter.start()
        await command(adapter, slack, "subscribe", "T0TEAM", "C0TEAM", "single")
        await adapter.close()
    many = make_settings(**many_env(slack, free_port()))
    async with open_core(many) as core:
        adapter = SlackAdapter.from_settings(
            many, core.conversation, core.store.installations, host="127.0.0.1"
        )
        await adapter.start()
        try:
            async with browser_for(adapter) as browser:
                await install(browser, adapter, slack, "T0TEAM")
                await install(browser, adapter, slack, TEAM_A)
            await command(adapter, slack, "unsubscribe", "T0TEAM", "C0TEAM", "home")
            answer = next(p for n, p, _ in slack.responses if n == "home")
            assert "subscribed" in answer["text"].lower()
            assert "not subscribed" not in answer["text"].lower()  # the same channel as before
            await command(adapter, slack, "subscribe", TEAM_A, "C0TEAM", "other")
            rows = await core.store.channels.subscribed()
            assert [r.id for r in rows] == [f"{TEAM_A}:C0TEAM"]
            await adapter.post_notice("C0TEAM", "home")
            assert slack.calls_of("chat.postMessage")[-1].token == home.bot_token
        finally:
            await adapter.close()


@pytest.fixture
def browser_for() -> Any:
    def open_for(adapter: SlackAdapter) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(cookie_jar=browser_jar(base(adapter)))

    return open_for


async def test_a_client_opening_the_install_page_too_often_is_told_to_wait(
    bot: SlackAdapter, browser: aiohttp.ClientSession, slack: FakeSlack
) -> None:
    for _ in range(STATES_PER_CLIENT):
        await install_link(browser, bot)
    async with browser.get(f"{base(bot)}/slack/install") as resp:
        assert resp.status == 429
        page = await resp.text()
    assert "Too many installations at once" in page
    assert "try again in ten minutes" in page
    assert "oauth/v2/authorize" not in page  # no state was handed out
    assert "Traceback" not in page
