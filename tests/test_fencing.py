"""Fenced delivery and take-over: a replica that stalls past its lease mid-post and wakes up
after another replica took the thread over posts nothing more, and Slack shows every card once
(on SQLite and on PostgreSQL, through the real Slack SDK against the fake Slack); a dead
replica's thread is finished by another within the lease time plus the watch period."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import Pacer, SlackAdapter, web_client
from bot.__main__ import Core, settings_resolver
from bot.daily.scheduler import DailyScheduler, watch_period
from bot.platform import ChatPlatform
from bot.store import Fence, Store
from tests import test_daily
from tests.conftest import TEST_KEY, fresh_postgres
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.chat import FakeChat
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.test_daily import (
    DAY,
    SELECTED,
    Clock,
    World,
    assert_exactly_once,
    killed,
    subscribe,
    utc,
)

CHANNEL = "C0TEAM"
papers = test_daily.papers  # the daily post's feed and world, their fixtures shared
world = test_daily.world


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "bot.sqlite3")
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
def fenced_world(
    arxiv: FakeArxiv, llm: FakeOpenAI, database: str, papers: list[dict[str, Any]]
) -> World:
    env = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": llm.base_url,
        "ARXIV_BOT_MODEL": "gpt-4o",
        "ARXIV_BOT_DB": database,
        "ARXIV_BOT_RSS_URL": arxiv.rss_url,
        "ARXIV_BOT_API_URL": arxiv.api_url,
        "ARXIV_BOT_ARXIV_DELAY": "0",
        "ARXIV_BOT_ARXIV_ATTEMPTS": "1",
        "ARXIV_BOT_LLM_ROUND_PAUSE": "0",
        "ARXIV_BOT_TIMEZONE": "Europe/Berlin",
        "ARXIV_BOT_LEASE_SECONDS": "1",
    }
    return World(arxiv, llm, FakeChat(), Clock(utc(DAY, 4, 0)), database, env)


def slack_platform(slack: FakeSlack) -> Callable[[Core], ChatPlatform]:
    """A replica's Slack adapter against the fake, unpaced."""

    def on_slack(core: Core) -> ChatPlatform:
        client = web_client("xoxb-fence-test", slack.api_url)
        return SlackAdapter(core.conversation, client, signing_secret="s", pacer=Pacer(interval=0))

    return on_slack


async def test_a_replica_stalled_past_its_lease_posts_nothing_after_the_take_over(
    fenced_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = fenced_world
    async with FakeSlack() as slack:
        on_slack = slack_platform(slack)

        async with world.bot() as bot:
            await bot.say(CHANNEL, "subscribe", platform="slack")
            await bot.runner.tick()  # 04:00 UTC: the day is fetched and scored
        world.clock.at(utc(DAY, 6))
        stall = slack.stall(after=2)  # the parent and a card answered, the next card stalls
        # the first replica's renewals stall with it (a VM pause): its 1 s lease runs out
        async with world.bot(platform=on_slack, renew=3600) as first:
            stalled = asyncio.create_task(first.runner.tick())
            await asyncio.wait_for(stall.reached.wait(), 30)
            assert len(slack.messages) == 3
            await asyncio.sleep(1.5)  # past its lease by the database's clock
            async with world.bot(platform=on_slack) as second:
                await second.runner.tick()  # takes the thread over and finishes it
            finished = len(slack.messages)
            with caplog.at_level(logging.INFO):
                stall.go.set()  # the first replica wakes up
                await asyncio.wait_for(stalled, 30)
        assert len(slack.messages) == finished  # it posted 0 further cards
    parents = [m for m in slack.channel_messages(CHANNEL) if m.thread_ts is None]
    assert len(parents) == 1
    cards = [m.text for m in slack.thread(CHANNEL, parents[0].ts)]
    assert len(cards) == len(SELECTED) == len(set(cards))  # each card once, none lost
    lines = [r for r in caplog.records if "took this delivery over" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is None
    assert "epoch 1 is stale" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


class StallingPacer(Pacer):
    """Slack's pacing, unpaced, whose wait for the post after the first `after` holds until the
    test lets it go: a process paused after recording its intent, before the request leaves."""

    def __init__(self, after: int) -> None:
        super().__init__(interval=0)
        self.after = after
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def wait(self, channel_id: str, workspace: str | None = None) -> None:
        await super().wait(channel_id, workspace)
        self.after -= 1
        if self.after == -1:
            self.reached.set()
            await self.go.wait()


async def test_a_replica_paused_in_slacks_pacing_past_its_lease_does_not_post_that_card(
    fenced_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = fenced_world
    async with FakeSlack() as slack:
        on_slack = slack_platform(slack)
        pacer = StallingPacer(after=2)  # the parent and a card go out, the next waits its turn

        def stalling(core: Core) -> ChatPlatform:
            client = web_client("xoxb-fence-test", slack.api_url)
            return SlackAdapter(core.conversation, client, signing_secret="s", pacer=pacer)

        async with world.bot() as bot:
            await bot.say(CHANNEL, "subscribe", platform="slack")
            await bot.runner.tick()  # 04:00 UTC: the day is fetched and scored
        world.clock.at(utc(DAY, 6))
        async with world.bot(platform=stalling, renew=3600) as first:
            stalled = asyncio.create_task(first.runner.tick())
            await asyncio.wait_for(pacer.reached.wait(), 30)
            assert len(slack.messages) == 2  # its intent on the next card is recorded, unsent
            await asyncio.sleep(1.5)  # past its lease by the database's clock
            async with world.bot(platform=on_slack) as second:
                await second.runner.tick()  # takes the thread over, posts that card and the rest
            finished = len(slack.messages)
            with caplog.at_level(logging.INFO):
                pacer.go.set()  # the first replica's turn comes: its fence is stale
                await asyncio.wait_for(stalled, 30)
        assert len(slack.messages) == finished  # it did not post the card it waited for
    parents = [m for m in slack.channel_messages(CHANNEL) if m.thread_ts is None]
    assert len(parents) == 1
    cards = [m.text for m in slack.thread(CHANNEL, parents[0].ts)]
    assert len(cards) == len(SELECTED) == len(set(cards))  # each card once, none lost
    lines = [r for r in caplog.records if "took this delivery over" in r.getMessage()]
    assert len(lines) == 1
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


async def test_a_fenced_write_is_refused_after_a_take_over(database: str) -> None:
    async with Store.open(database) as store:
        first = await store.work.take_lease("deliver:C1:2025-05-02", "host:1:aa", 0.2)
        assert first == 1
        old = Fence("deliver:C1:2025-05-02", "host:1:aa", first, 0.2)
        assert await store.work.intend(old, "parent") == "clean"
        await asyncio.sleep(0.4)  # the first holder stalls past its lease
        second = await store.work.take_lease("deliver:C1:2025-05-02", "host:2:bb", 60.0)
        assert second == 2  # the take-over grew the epoch
        new = Fence("deliver:C1:2025-05-02", "host:2:bb", second, 60.0)
        assert await store.work.intend(old, "2505.00001") == "stale"
        assert not await store.digests.record_posted(
            "C1", DAY, "parent", "1.1", daily=True, fence=old
        )
        assert await store.work.intend(new, "parent") == "unsure"  # the first may have posted
        assert await store.digests.record_posted("C1", DAY, "parent", "1.1", daily=True, fence=new)
        assert await store.work.intents("deliver:C1:2025-05-02") == set()
        assert await store.digests.daily_posted("C1", DAY) == {"parent": "1.1"}


async def test_a_dead_replicas_thread_is_finished_within_its_lease_time_plus_the_watch(
    world: World,
) -> None:
    world.env["ARXIV_BOT_LEASE_SECONDS"] = "2"
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    with killed():  # the first replica dies after the parent and two cards
        async with world.bot(("digests.record_posted", 3, True)) as bot:
            await bot.runner.tick()
    posted_before = len(world.chat.cards("C1"))
    assert 0 < posted_before < len(SELECTED)
    async with Store.open(world.db) as store:  # its lease, taken on another host, never renewed
        assert await store.work.take_lease(f"deliver:C1:{DAY}", "other-host:1:aa", 2.0)
    async with world.bot() as bot:
        scheduler = DailyScheduler(bot.runner, bot.core.store, settings_resolver(world.settings()))
        started = time.monotonic()
        scheduler.start()  # its catch-up tick finds the lease live and leaves the thread
        try:
            async with asyncio.timeout(2 + watch_period(2) + 5):
                while len(world.chat.cards("C1")) < len(SELECTED):  # noqa: ASYNC110 - posted by the scheduler's job
                    await asyncio.sleep(0.05)
            taken_over = time.monotonic() - started
            retry = scheduler.jobs()["retry"]
        finally:
            await scheduler.shutdown(grace=1)
    assert 1.5 < taken_over < 2 + watch_period(2) + 5  # after the lease, not at the retry
    assert retry is not None
    assert retry > datetime.now(UTC) + timedelta(minutes=4)
    assert_exactly_once(world.chat)  # 0 duplicates, 0 lost


def test_the_watch_period_follows_the_lease_time() -> None:
    assert watch_period(120) == 30  # a take-over within 150 s of the last renewal
    assert watch_period(15) == 3.75
    assert watch_period(2) == 1


async def test_a_thread_left_mid_post_with_its_lease_given_back_is_taken_over_by_the_watch(
    world: World,
) -> None:
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    with killed():  # its store failed after the parent and two cards; the lease was given back
        async with world.bot(("digests.record_posted", 3, True)) as bot:
            await bot.runner.tick()
    assert 0 < len(world.chat.cards("C1")) < len(SELECTED)
    async with world.bot() as bot:
        assert await bot.core.store.work.lease(f"deliver:C1:{DAY}") is None
        assert await bot.runner.take_over() == 1  # what the watch job runs, between retries
        assert await bot.runner.take_over() == 0  # posted: nothing left to take over
    assert_exactly_once(world.chat)


async def test_stop_waits_for_a_take_over_in_flight_before_the_store_closes(
    world: World,
) -> None:
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    with killed():  # a thread left mid-post with its lease given back
        async with world.bot(("digests.record_posted", 3, True)) as bot:
            await bot.runner.tick()
    async with world.bot() as bot:
        taking_over = asyncio.create_task(bot.runner.take_over())  # the watch job
        await asyncio.sleep(0)  # it has started and is waiting on the store
        assert not taking_over.done()
        await bot.runner.stop(grace=30)
        assert taking_over.done(), "stop returned with a take-over still using the store"
        assert taking_over.exception() is None


async def test_a_weekly_poster_stalled_past_its_lease_posts_nothing_after_the_take_over(
    fenced_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = fenced_world
    async with FakeSlack() as slack:
        on_slack = slack_platform(slack)

        async with world.bot() as bot:
            await bot.say(CHANNEL, "subscribe", platform="slack")
            assert "Friday 16:00" in await bot.say(
                CHANNEL, "settings weekly on friday 16:00", platform="slack"
            )
            await bot.runner.tick()  # 04:00 UTC: the day is fetched and scored
        world.clock.at(utc(DAY, 6))
        async with world.bot(platform=on_slack) as bot:
            await bot.runner.tick()  # the daily post
        daily = len(slack.messages)
        assert daily == 1 + len(SELECTED)
        world.clock.at(utc(DAY, 14, 1))  # Friday 16:01 in Berlin: the weekly post is due
        stall = slack.stall(after=2)  # the weekly parent and a card answered, the next stalls
        async with world.bot(platform=on_slack, renew=3600) as first:
            stalled = asyncio.create_task(first.runner.tick())
            await asyncio.wait_for(stall.reached.wait(), 30)
            assert len(slack.messages) == daily + 3
            await asyncio.sleep(1.5)  # past its 1 s lease by the database's clock
            async with world.bot(platform=on_slack) as second:
                await second.runner.tick()  # takes the weekly post over and finishes it
            finished = len(slack.messages)
            assert finished > daily + 3
            with caplog.at_level(logging.INFO):
                stall.go.set()  # the first replica wakes up
                await asyncio.wait_for(stalled, 30)
        assert len(slack.messages) == finished  # it posted 0 further cards
    weekly = slack.messages[daily:]
    parents = [m for m in weekly if m.thread_ts is None]
    assert len(parents) == 1
    cards = [m.text for m in weekly if m.thread_ts == parents[0].ts]
    assert cards
    assert len(cards) == len(set(cards))  # each weekly card once
    lines = [r for r in caplog.records if "took this delivery over" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].getMessage().startswith("weekly:")
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere
