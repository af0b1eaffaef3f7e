"""The daily post against the fake arXiv and OpenAI servers and an in-memory chat platform, on a
controllable clock: on time, once, through crashes, outages, restarts and the budget cap."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from openai import AsyncOpenAI

from adapters.slack import Pacer, SlackAdapter, web_client
from bot.__main__ import Core, settings_resolver, wire_core
from bot.config.channels import ChannelSettings
from bot.config.settings import Settings
from bot.conversation.dispatch import Caller, Reply
from bot.daily.delivery import Delivery
from bot.daily.health import health_app, start_health
from bot.daily.runner import DailyRunner, backoff, due_at, latest_rebuild, next_post_time
from bot.daily.scheduler import DailyScheduler, fetch_trigger, post_trigger
from bot.models import Thresholds
from bot.platform import ChatPlatform
from bot.store import ChannelRow, Store
from bot.work import Work
from tests.conftest import TEST_KEY
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.chat import FakeChat, Killed
from tests.fakes.chat_server import ChatServer
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, Verdict, load_labels
from tests.fakes.slack_server import FakeSlack
from tests.fakes.synth import empty_rss_feed, load_eval_day, rss_feed

REPO = Path(__file__).resolve().parents[1]
DAY = date(2025, 5, 2)  # a Friday; its feed is ready at 00:30 US Eastern = 04:30 UTC
PICKS = load_labels(DAY.isoformat())
SELECTED = sorted(
    i for i, label in PICKS.items() if label["relevance"] >= 8 and label["novelty"] >= 7
)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, moment: datetime) -> None:
        assert moment >= self.now, "time does not run backwards"
        self.now = moment


def small_day() -> list[dict[str, Any]]:
    """Every reference pick of the day plus 30 other papers: a day that scores in a blink."""
    papers = load_eval_day(DAY.isoformat())
    others = [p for p in papers if p["id"] not in PICKS][:30]
    return [p for p in papers if p["id"] in PICKS] + others


@pytest.fixture
def papers(arxiv: FakeArxiv) -> list[dict[str, Any]]:
    day = small_day()
    arxiv.set_feed(rss_feed(day, DAY))
    arxiv.add_papers(day)
    return day


def crash_at(store: Store, crash: tuple[str, int, bool] | None) -> None:
    """Kill the real store on the n-th call of one method (after or before it runs): `crash`
    is (method, n-th call, after it ran), the method named by its part (`digests.save`)."""
    if crash is None:
        return
    name, n, after = crash
    *path, method = name.split(".")
    part: Any = store
    for step in path:
        part = getattr(part, step)
    real = getattr(part, method)
    calls = 0

    async def run(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls != n:
            return await real(*args, **kwargs)
        if not after:
            raise Killed(f"killed before {name}")
        await real(*args, **kwargs)
        raise Killed(f"killed after {name}")

    setattr(part, method, run)


@dataclass
class Bot:
    core: Core
    runner: DailyRunner
    chat: FakeChat

    async def say(
        self, channel: str, text: str, user: str = "alice", platform: str = "fake"
    ) -> str:
        replies: list[Reply] = []

        async def respond(reply: Reply) -> None:
            replies.append(reply)

        await self.core.conversation.handle(Caller(platform, channel, user), text, respond)
        return "\n".join(r.text for r in replies)


@dataclass
class World:
    arxiv: FakeArxiv
    llm: FakeOpenAI
    chat: FakeChat
    clock: Clock
    db: Path | str
    env: dict[str, str]

    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @asynccontextmanager
    async def bot(
        self,
        crash: tuple[str, int, bool] | None = None,
        platform: Callable[[Core], ChatPlatform] | None = None,
        renew: float | None = None,
        **runner_options: Any,
    ) -> AsyncIterator[Bot]:
        """A bot process: opened on the database file, closed (or 'killed') on exit; with
        `renew`, its deliveries renew their leases only that often (a process that stalls)."""
        settings = self.settings()
        defaults = ChannelSettings.defaults(settings)

        def settings_of(row: ChannelRow) -> ChannelSettings:
            return defaults.with_overrides(row.overrides)

        async with (
            Store.open(self.db) as store,
            aiohttp.ClientSession() as http,
            AsyncOpenAI(
                api_key=TEST_KEY, base_url=self.env["OPENAI_BASE_URL"], max_retries=0
            ) as client,
        ):
            crash_at(store, crash)
            core = wire_core(settings, store, http, client)
            chat = platform(core) if platform is not None else self.chat
            delivery = Delivery(store, {chat.platform: chat})
            options = {
                "catch_up": timedelta(hours=settings.catch_up_hours),
                "fetch_deadline": timedelta(hours=settings.fetch_deadline_hours),
                **runner_options,
            }
            if renew is not None:
                options["work"] = Work(store, ttl=settings.lease_seconds, renew=renew)
            runner = DailyRunner(
                store, core.service, delivery, settings_of, clock=self.clock, **options
            )
            yield Bot(core, runner, self.chat)


@pytest.fixture
def world(arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, papers: list[dict[str, Any]]) -> World:
    env = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": llm.base_url,
        "ARXIV_BOT_MODEL": "gpt-4o",
        "ARXIV_BOT_DB": str(tmp_path / "bot.sqlite3"),
        "ARXIV_BOT_RSS_URL": arxiv.rss_url,
        "ARXIV_BOT_API_URL": arxiv.api_url,
        "ARXIV_BOT_ARXIV_DELAY": "0",
        "ARXIV_BOT_ARXIV_ATTEMPTS": "1",
        "ARXIV_BOT_LLM_ROUND_PAUSE": "0",
        "ARXIV_BOT_TIMEZONE": "Europe/Berlin",
    }
    return World(arxiv, llm, FakeChat(), Clock(utc(DAY, 4, 0)), tmp_path / "bot.sqlite3", env)


async def subscribe(world: World, channel: str = "C1", post_time: str | None = None) -> None:
    async with world.bot() as bot:
        assert "Subscribed" in await bot.say(channel, "subscribe")
        if post_time:
            assert post_time in await bot.say(channel, f"settings time {post_time}")
        await bot.runner.tick()  # the bot sees the subscription at 04:00 UTC


@contextmanager
def killed() -> Iterator[None]:
    """The block must die of `Killed` (alone, or inside a task group's exception group)."""
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, Killed) or (
            isinstance(exc, BaseExceptionGroup) and exc.subgroup(Killed) is not None
        ):
            return
        raise
    raise AssertionError("the bot was not killed")


def card_ids(chat: FakeChat, channel: str = "C1") -> list[str]:
    return sorted(chat.cards(channel))


def assert_exactly_once(chat: FakeChat, channel: str = "C1") -> None:
    parents = chat.of(channel, "parent")
    assert len(parents) == 1, [m.text for m in parents]
    assert card_ids(chat, channel) == SELECTED
    assert {m.thread for m in chat.of(channel, "card")} == {parents[0].id}


# -- time rules --


def test_feed_rebuilds_only_after_announcement_days() -> None:
    friday = utc(DAY, 5)  # 01:00 Eastern on Friday
    assert latest_rebuild(friday).date() == DAY
    saturday_noon = utc(DAY + timedelta(1), 12)
    assert latest_rebuild(saturday_noon).date() == DAY
    monday_early = utc(date(2025, 5, 5), 4, 0)  # 00:00 Eastern, before the rebuild
    assert latest_rebuild(monday_early).date() == DAY
    assert latest_rebuild(utc(date(2025, 5, 5), 4, 31)).date() == date(2025, 5, 5)


@pytest.mark.parametrize(
    ("zone", "post", "expected_utc"),
    [
        ("Europe/Berlin", time(8), utc(DAY, 6)),  # after the 06:30 Berlin rebuild? no: 08:00
        ("America/New_York", time(8), utc(DAY, 12)),
        ("America/Los_Angeles", time(6), utc(DAY, 13)),
        ("Asia/Tokyo", time(8), utc(DAY, 23)),  # 13:30 Tokyo is too late on the 2nd
        ("America/New_York", time(0, 15), utc(DAY + timedelta(1), 4, 15)),
    ],
)
def test_a_digest_is_due_at_the_first_local_post_time_after_the_feed(
    zone: str, post: time, expected_utc: datetime
) -> None:
    settings = ChannelSettings(("cs.LG",), Thresholds(), True, post, zone)
    assert due_at(DAY, settings) == expected_utc


def test_next_post_time_and_backoff() -> None:
    settings = ChannelSettings(("cs.LG",), Thresholds(), True, time(8), "Europe/Berlin")
    assert next_post_time(utc(DAY, 5), settings) == utc(DAY, 6)
    assert next_post_time(utc(DAY, 6), settings) == utc(DAY + timedelta(1), 6)
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 6, 40)] == [1, 2, 4, 30, 30]


# -- on time, once --


async def test_fetches_scores_once_and_posts_at_local_time_in_two_time_zones(
    world: World,
) -> None:
    await subscribe(world, "C1", "08:00 Europe/Berlin")
    await subscribe(world, "C2", "08:00 America/New_York")
    scored_calls = world.llm.calls
    assert scored_calls > 0, "the feed is fetched and scored at the first tick after 00:30 ET"
    assert world.chat.messages == []
    fetched = len(world.arxiv.requests_of("rss"))
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))  # 08:00 in Berlin
        await bot.runner.tick()
        assert_exactly_once(world.chat, "C1")
        assert world.chat.of("C2") == []
        world.clock.at(utc(DAY, 12))  # 08:00 in New York
        await bot.runner.tick()
        await bot.runner.tick()
    assert_exactly_once(world.chat, "C1")
    assert_exactly_once(world.chat, "C2")
    assert world.llm.calls == scored_calls, "both channels share one scoring run"
    assert len(world.arxiv.requests_of("rss")) - fetched <= 1, "one fetch per process and day"


async def test_a_day_with_no_selected_paper_posts_a_short_note(world: World) -> None:
    world.llm.answerer = LabelAnswerer({})  # nothing qualifies
    await subscribe(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
    parents = world.chat.of("C1", "parent")
    assert [m.text for m in parents] == [f"arXiv {DAY}: nothing today"]
    assert world.chat.of("C1", "card") == []


async def test_weekend_and_holiday_feeds_post_nothing(world: World) -> None:
    await subscribe(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        posted = len(world.chat.messages)
        fetched = len(world.arxiv.requests_of("rss"))
        world.arxiv.set_feed(empty_rss_feed(DAY + timedelta(1)))
        for moment in (
            utc(DAY + timedelta(1), 6),  # Saturday
            utc(DAY + timedelta(2), 6),  # Sunday
            utc(DAY + timedelta(3), 6),  # Monday, a holiday: the rebuilt feed is empty
            utc(DAY + timedelta(3), 12),
        ):
            world.clock.at(moment)
            await bot.runner.tick()
    assert len(world.chat.messages) == posted
    assert len(world.arxiv.requests_of("rss")) == fetched + 1, "one fetch, after Monday's rebuild"


async def test_a_new_subscription_starts_with_the_next_due_digest(world: World) -> None:
    world.clock.at(utc(DAY, 9))  # Berlin's 08:00 post time has passed today
    await subscribe(world)
    assert world.chat.messages == []
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 10))
        await bot.runner.tick()
    assert world.chat.messages == [], "no stale post, no 'missed' report for a new channel"


async def test_a_settings_change_takes_effect_without_a_restart(world: World) -> None:
    await subscribe(world)
    async with world.bot() as bot:
        await bot.say("C1", "settings time 09:30 Europe/Berlin")
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        assert world.chat.messages == []
        world.clock.at(utc(DAY, 7, 30))
        await bot.runner.tick()
    assert_exactly_once(world.chat)


# -- restarts --


async def test_a_built_channel_posts_while_another_channels_feed_is_still_being_fetched(
    world: World,
) -> None:
    await subscribe(world, "C1", "08:00 Europe/Berlin")  # its day is fetched and built at 04:00
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))  # 08:00 in Berlin: C1 is due
        assert "Subscribed" in await bot.say("C2", "subscribe")
        assert "math.OC" in await bot.say("C2", "settings categories math.OC")
        release = world.arxiv.hold_feed("math.OC")
        tick = asyncio.create_task(bot.runner.tick())
        for _ in range(600):  # C1's thread, while C2's feed is still held
            if len(world.chat.of("C1", "card")) == len(SELECTED) or tick.done():
                break
            await asyncio.sleep(0.05)
        assert world.arxiv.waiting == 1, "C2's feed is still being fetched"
        assert_exactly_once(world.chat, "C1")
        assert not tick.done()
        release.set()
        await tick
    assert world.arxiv.waiting == 0
    assert_exactly_once(world.chat, "C1")


async def test_a_late_start_catches_up_once(world: World) -> None:
    await subscribe(world)  # the bot ran at 04:00 UTC, then went down
    world.clock.at(utc(DAY, 11))  # back five hours after the 08:00 Berlin post time
    async with world.bot() as bot:
        await bot.runner.tick()
        assert_exactly_once(world.chat)
        world.clock.at(utc(DAY + timedelta(1), 6))  # the post time comes round again
        await bot.runner.tick()
    assert_exactly_once(world.chat)


async def test_a_missed_day_beyond_the_window_is_reported_not_posted(world: World) -> None:
    world.env["ARXIV_BOT_CATCH_UP_HOURS"] = "2"
    await subscribe(world)
    world.clock.at(utc(DAY, 9))  # three hours late
    async with world.bot() as bot:
        await bot.runner.tick()
        await bot.runner.tick()
        status = {s.channel_id: s for s in await bot.runner.status()}
    assert world.chat.of("C1", "parent") == []
    notices = world.chat.of("C1", "notice")
    assert len(notices) == 1
    assert f"digest of {DAY} was not posted" in notices[0].text
    assert status["C1"].last_state == "missed"


@pytest.mark.parametrize(
    "crash",
    [
        ("papers.save_announcements", 1, False),  # mid-ingest
        ("papers.save_announcements", 1, True),
        ("scores.save", 2, True),  # mid-scoring, after two replies were stored
        ("digests.save", 1, False),  # scored, digest not stored
        ("digests.set_state", 1, True),  # 'posting' stored, nothing posted
        ("digests.record_posted", 1, False),  # the parent is on the platform, its id is not stored
        ("digests.record_posted", 3, False),  # a card is on the platform, its id is not stored
        ("digests.record_posted", 4, True),  # mid-thread, everything so far recorded
        ("digests.set_state", 2, False),  # everything posted, 'posted' not stored
    ],
)
async def test_killed_at_any_stage_a_restart_posts_exactly_once(
    world: World, crash: tuple[str, int, bool]
) -> None:
    world.env["ARXIV_BOT_BATCH_SIZE"] = "12"  # several requests: scoring can die between two
    world.arxiv.set_feed(empty_rss_feed(DAY))  # nothing fetched before the crashing process
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    world.arxiv.set_feed(rss_feed(small_day(), DAY))
    with killed():
        async with world.bot(crash) as bot:
            await bot.runner.tick()
    world.clock.at(utc(DAY, 6, 5))
    async with world.bot() as bot:
        await bot.runner.tick()
        await bot.runner.tick()
    assert_exactly_once(world.chat)
    asked = [i for batch in world.llm.asked_ids for i in batch]
    if crash[0] != "scores.save":
        assert len(asked) == len(set(asked)), "no paper was scored twice"


@pytest.mark.parametrize("kill_after", [0, 1, 4, len(SELECTED)])
async def test_killed_right_after_the_platform_accepted_a_message(
    world: World, kill_after: int
) -> None:
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    world.chat.kill_after = kill_after
    with killed():
        async with world.bot() as bot:
            await bot.runner.tick()
    async with world.bot() as bot:
        await bot.runner.tick()
    assert_exactly_once(world.chat)


# -- outages --


async def test_an_arxiv_503_storm_is_retried_then_reported_then_recovered(world: World) -> None:
    world.env["ARXIV_BOT_FETCH_DEADLINE_HOURS"] = "1"
    async with world.bot() as bot:
        await bot.say("C1", "subscribe")
    world.arxiv.fail_next("rss", 1000, 503)
    world.clock.at(utc(DAY, 4, 31))
    async with world.bot() as bot:
        minutes = 0
        while minutes < 90:
            await bot.runner.tick()
            world.clock.at(world.clock.now + timedelta(minutes=1))
            minutes += 1
        storm = len(world.arxiv.requests_of("rss"))
        notices = world.chat.of("C1", "notice")
        assert len(notices) == 1
        assert "arXiv has not answered" in notices[0].text
        assert 5 <= storm <= 10, "backoff, not hammering"
        world.arxiv._faults["rss"].clear()
        world.clock.at(world.clock.now + timedelta(minutes=31))
        await bot.runner.tick()
    assert_exactly_once(world.chat)


async def test_llm_failures_post_what_is_scored_and_add_the_rest_later(world: World) -> None:
    broken = set(SELECTED[:2])

    class Flaky(LabelAnswerer):
        def answer(self, paper_ids: Sequence[str]) -> list[Verdict]:
            return super().answer([i for i in paper_ids if i not in broken])

    world.llm.answerer = Flaky(PICKS)
    await subscribe(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        assert card_ids(world.chat) == sorted(set(SELECTED) - broken)
        assert bot.chat.of("C1", "parent")
        record = await bot.core.store.digests.get("C1", DAY)
        assert record is not None
        assert "2 of" in record[1]["notes"][0]
        assert "will be retried" in record[1]["notes"][0]
        world.llm.answerer = LabelAnswerer(PICKS)  # the LLM is fine again
        world.clock.at(utc(DAY, 6, 20))
        await bot.runner.tick()
    assert_exactly_once(world.chat)


async def test_with_the_llm_unreachable_the_digest_says_so_and_when_it_tries_again(
    world: World,
) -> None:
    live = world.env["OPENAI_BASE_URL"]
    world.env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens there
    world.env["ARXIV_BOT_LLM_GIVE_UP"] = "0.5"
    await subscribe(world, "C1")
    await subscribe(world, "C2")
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
    for channel in ("C1", "C2"):
        (parent,) = world.chat.of(channel, "parent")
        assert "nothing today" in parent.text  # posted on time with what is scored: nothing
        record = await _digest_record(world, channel)
        note = record["notes"][0]
        assert "The LLM could not be reached" in note
        assert "I will try again at 08:15 Europe/Berlin" in note  # the channel's zone
    world.env["OPENAI_BASE_URL"] = live  # the LLM is back
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6, 20))
        await bot.runner.tick()
    assert sorted(card_ids(world.chat)) == SELECTED


async def test_a_refused_key_is_said_in_the_digest(world: World) -> None:
    world.llm.valid_key = "sk-another-key"
    await subscribe(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
    note = (await _digest_record(world, "C1"))["notes"][0]
    assert "The LLM refused the bot's API key" in note
    assert "OPENAI_API_KEY" in note
    assert TEST_KEY not in note


async def _digest_record(world: World, channel: str) -> dict[str, Any]:
    async with Store.open(world.db) as store:
        record = await store.digests.get(channel, DAY)
    assert record is not None
    body: dict[str, Any] = record[1]
    return body


async def test_an_unreadable_feed_is_told_to_the_channels_once_not_as_a_holiday(
    world: World,
) -> None:
    await subscribe(world)
    monday = date(2025, 5, 5)
    papers = load_eval_day(monday.isoformat())[:20]
    odd = {p["id"]: "revised" for p in papers}  # a feed format the bot does not know
    world.arxiv.set_feed(rss_feed(papers, monday, announce_types=odd))
    async with world.bot() as bot:
        for minute in (35, 45, 58):
            world.clock.at(utc(monday, 4, minute))
            await bot.runner.tick()
    told = [m.text for m in world.chat.of("C1", "notice") if "feed" in m.text]
    assert len(told) == 1  # once, not on every retry
    assert "20 items and none could be read" in told[0]
    assert "holiday" not in told[0]


async def test_a_platform_down_for_three_attempts_gets_the_digest_once(world: World) -> None:
    await subscribe(world)
    world.chat.down = 3
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        for _ in range(12):
            await bot.runner.tick()
            world.clock.at(world.clock.now + timedelta(minutes=1))
        status = {s.channel_id: s for s in await bot.runner.status()}
    assert_exactly_once(world.chat)
    assert status["C1"].last_state == "posted"
    assert status["C1"].attempts == 3
    assert "unreachable" in status["C1"].last_error


@dataclass(slots=True)
class BuggyChat(FakeChat):
    """A platform adapter with a bug: its first parent post raises an unexpected error."""

    bugs: int = 1

    async def post_parent(self, channel_id: str, digest: Any) -> str:
        if self.bugs:
            self.bugs -= 1
            raise RuntimeError("an adapter bug")
        return await FakeChat.post_parent(self, channel_id, digest)


async def test_an_unexpected_error_in_a_tick_is_said_in_the_channel_then_retried(
    world: World,
) -> None:
    await subscribe(world)
    chat = BuggyChat()
    async with world.bot(platform=lambda core: chat) as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        (notice,) = chat.of("C1", "notice")
        assert f"The arXiv digest of {DAY} ran into an error (RuntimeError)" in notice.text
        await bot.runner.tick()
        await bot.runner.tick()
    assert_exactly_once(chat)
    assert len(chat.of("C1", "notice")) == 1  # said once, not every tick


async def test_the_daily_budget_stops_scoring_and_the_digest_says_so(world: World) -> None:
    world.env["ARXIV_BOT_DAILY_BUDGET"] = "0.02"
    world.env["ARXIV_BOT_BATCH_SIZE"] = "4"
    world.env["ARXIV_BOT_CONCURRENCY"] = "1"
    await subscribe(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        spent = await bot.core.store.stats.usage(day=DAY)
        record = await bot.core.store.digests.get("C1", DAY)
    assert record is not None
    assert 0 < spent.cost_usd <= 0.02
    assert record[1]["counts"]["unscored"] > 0
    assert "daily LLM budget of $0.02 was reached" in record[1]["notes"][0]
    assert "wait for tomorrow's budget" in record[1]["notes"][0]
    assert len(world.chat.of("C1", "parent")) == 1


async def test_the_daily_post_sends_only_the_channels_share_of_the_ranking(world: World) -> None:
    world.env["ARXIV_BOT_LLM_MIN_PAPERS"] = "0"
    world.env["ARXIV_BOT_ADAPTIVE_SHARE"] = "false"  # no warm-up: the channel's share as set
    async with world.bot() as bot:
        assert "Subscribed" in await bot.say("C1", "subscribe")
        await bot.say("C1", "settings llm-share 10%")
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        record = await bot.core.store.digests.get("C1", DAY)
    assert record is not None
    counts = record[1]["counts"]
    considered = counts["considered"]
    assert considered - counts["ranked_out"] == -(-considered // 10), "the top 10% go to the LLM"
    assert counts["scored"] == considered - counts["ranked_out"]
    assert len(world.chat.of("C1", "parent")) == 1


# -- the schedule --


def test_triggers_fire_after_the_feed_and_at_each_channel_time() -> None:
    friday_evening = utc(DAY, 22)
    monday_fetch = fetch_trigger().get_next_fire_time(None, friday_evening)
    assert monday_fetch == utc(date(2025, 5, 5), 4, 30)  # 00:30 Eastern, after the weekend
    tokyo = ChannelSettings(("cs.LG",), Thresholds(), True, time(8), "Asia/Tokyo")
    assert post_trigger(tokyo).get_next_fire_time(None, friday_evening) == utc(DAY, 23)


async def test_channel_jobs_follow_subscriptions_and_settings(world: World) -> None:
    await subscribe(world, "C1", "08:00 Asia/Tokyo")
    async with world.bot() as bot:
        settings_of = settings_resolver(world.settings())
        scheduler = DailyScheduler(bot.runner, bot.core.store, settings_of)
        scheduler.start()
        try:
            await scheduler.sync()
            jobs = scheduler.jobs()
            assert {"fetch", "retry", "sync", "post:C1"} <= set(jobs)
            first = jobs["post:C1"]
            assert first is not None
            assert first.astimezone(ZoneInfo("Asia/Tokyo")).time() == time(8)
            await bot.say("C1", "settings time 07:15 Asia/Tokyo")
            await bot.say("C2", "subscribe")
            await scheduler.sync()
            jobs = scheduler.jobs()
            moved = jobs["post:C1"]
            assert moved is not None
            assert moved.astimezone(ZoneInfo("Asia/Tokyo")).time() == time(7, 15)
            assert "post:C2" in jobs
            await bot.say("C1", "unsubscribe")
            await scheduler.sync()
            assert "post:C1" not in scheduler.jobs()
        finally:
            await scheduler.shutdown(grace=1)


async def test_stop_lets_the_delivery_in_progress_finish(world: World) -> None:
    await subscribe(world)
    world.clock.at(utc(DAY, 6))
    async with world.bot() as bot:
        tick = asyncio.create_task(bot.runner.tick())
        await world.chat.posted.wait()  # the parent is out, the cards are coming
        await bot.runner.stop(grace=30)
        assert tick.done()
        assert tick.exception() is None
        await bot.runner.tick()  # a stopped runner starts nothing new
    assert_exactly_once(world.chat)


async def test_health_reports_a_stale_scheduler(world: World) -> None:
    async with world.bot() as bot:
        app = health_app(bot.runner, ["fake"], clock=world.clock)
        site = await start_health(app, 0)
        try:
            port = site.addresses[0][1]
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 503  # no tick yet
                await bot.runner.tick()
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200
                    body = await resp.json()
                    assert body["status"] == "ok"
                    assert body["platforms"] == ["fake"]
                world.clock.at(world.clock.now + timedelta(hours=1))
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 503
        finally:
            await site.cleanup()


async def test_a_process_killed_mid_thread_finishes_the_thread_once_on_restart(
    world: World,
) -> None:
    await subscribe(world)  # fetched and scored at 04:00 UTC in this process
    async with ChatServer() as server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            **world.env,
            "ARXIV_BOT_TEST_NOW": utc(DAY, 6, 1).isoformat(),
            "ARXIV_BOT_TEST_CHAT_URL": server.url,
        }

        async def bot_process(kill_after: int | None) -> int:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.fakes.daily_process", env=env, cwd=REPO
            )
            if kill_after is not None:
                server.kill(proc.pid, after=kill_after)
            return await asyncio.wait_for(proc.wait(), timeout=60)

        assert await bot_process(kill_after=3) == -signal.SIGKILL
        assert len(server.of("C1", "card")) == 2, "killed right after the second card"
        assert await bot_process(kill_after=None) == 0
        assert await bot_process(kill_after=None) == 0
    parents = server.of("C1", "parent")
    assert len(parents) == 1
    assert sorted(m.paper_id or "" for m in server.of("C1", "card")) == SELECTED


async def test_two_processes_on_one_database_post_every_card_once(world: World) -> None:
    await subscribe(world)  # fetched and scored at 04:00 UTC in this process
    await subscribe(world, "C2")
    async with ChatServer() as server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            **world.env,
            "ARXIV_BOT_TEST_NOW": utc(DAY, 6, 1).isoformat(),
            "ARXIV_BOT_TEST_CHAT_URL": server.url,
        }

        async def bot_process() -> int:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.fakes.daily_process", env=env, cwd=REPO
            )
            return await asyncio.wait_for(proc.wait(), timeout=60)

        assert list(await asyncio.gather(bot_process(), bot_process())) == [0, 0]
    for channel in ("C1", "C2"):
        assert len(server.of(channel, "parent")) == 1
        assert sorted(m.paper_id or "" for m in server.of(channel, "card")) == SELECTED


async def test_slack_daily_post_survives_a_kill_between_posting_and_recording(
    world: World,
) -> None:
    async with FakeSlack() as slack:

        def on_slack(core: Core) -> ChatPlatform:
            client = web_client("xoxb-daily-test", slack.api_url)
            return SlackAdapter(
                core.conversation, client, signing_secret="s", pacer=Pacer(interval=0)
            )

        async with world.bot() as bot:
            await bot.say("C0TEAM", "subscribe", platform="slack")
            await bot.runner.tick()
        world.clock.at(utc(DAY, 6))
        with killed():  # the third card reached Slack, its id never reached the database
            async with world.bot(("digests.record_posted", 4, False), on_slack) as bot:
                await bot.runner.tick()
        async with world.bot(platform=on_slack) as bot:
            await bot.runner.tick()
            await bot.runner.tick()
        parents = [m for m in slack.channel_messages("C0TEAM") if m.thread_ts is None]
        assert len(parents) == 1
        thread = slack.thread("C0TEAM", parents[0].ts)
        titles = sorted(m.text for m in thread)
        assert len(titles) == len(SELECTED) == len(set(titles))
