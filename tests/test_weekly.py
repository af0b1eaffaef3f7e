"""The week's best: `settings weekly`, what the weekly post picks, and that it is posted exactly
once, through an in-process crash at any message and through a SIGKILL of a bot process right
after the platform accepted a message; a week with nothing to show posts nothing.

The day is the test_daily world's: Friday 2025-05-02, channels in Europe/Berlin, the daily post
at 08:00 (06:00 UTC) and the weekly post on Fridays at 16:00 (14:00 UTC)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.config.channels import ChannelSettings, weekly_change
from bot.conversation.dispatch import Caller
from bot.daily.scheduler import weekly_triggers
from bot.daily.weekly import BEST_UNNOTICED, key_day, pick, week_of, weekly_digest, weekly_due
from bot.digest.selection import digest_from_json, digest_to_json
from bot.models import Criteria, Digest, DigestEntry, Paper, Score, StageCounts, Thresholds
from bot.store import ChannelRow, Store
from tests import test_daily
from tests.fakes.chat_server import ChatServer
from tests.test_daily import DAY, REPO, SELECTED, World, killed, subscribe, utc

papers = test_daily.papers  # the daily post's world, its fixtures shared
world = test_daily.world

WEEK = "2025-W18"
KEY_DAY = date(2025, 4, 27)  # the Sunday before the week: no daily digest has it
WEEKLY_AT = utc(DAY, 14, 1)  # Friday 16:01 in Berlin


def berlin(weekly_day: int | None, at: time = time(16)) -> ChannelSettings:
    return ChannelSettings(
        ("cs.LG",),
        Thresholds(),
        True,
        time(8),
        "Europe/Berlin",
        weekly_day=weekly_day,
        weekly_time=at,
    )


# -- when, and which week --


def test_the_weekly_moment_is_the_latest_one_before_now() -> None:
    friday = berlin(4)
    assert weekly_due(utc(DAY, 14, 1), friday) == datetime(2025, 5, 2, 14, 0, tzinfo=UTC)
    assert weekly_due(utc(DAY, 13, 59), friday) == datetime(2025, 4, 25, 14, 0, tzinfo=UTC)
    assert weekly_due(utc(DAY, 14), berlin(None)) is None
    due = weekly_due(WEEKLY_AT, friday)
    assert due is not None
    assert (week_of(due), key_day(due)) == (WEEK, KEY_DAY)
    monday = weekly_due(utc(date(2025, 5, 5), 8), berlin(0, time(9)))
    assert monday is not None
    assert (week_of(monday), key_day(monday)) == ("2025-W19", date(2025, 5, 4))


def entry(pid: str, relevance: int, novelty: int) -> DigestEntry:
    paper = Paper(pid, f"Paper {pid}", "Abstract.", ("A",), ("cs.LG",))
    return DigestEntry(paper, Score(pid, relevance, novelty, "why"))


def digest(*entries: DigestEntry, day: date = DAY) -> Digest:
    return Digest(
        day, "C1", "m", Criteria("c"), 1, Thresholds(), StageCounts(9, 9, 9, len(entries)), entries
    )


def test_the_pick_puts_most_liked_first_then_the_best_nobody_reacted_to() -> None:
    days = [
        digest(entry("a", 9, 9), entry("b", 8, 8), entry("c", 10, 10)),
        digest(entry("d", 9, 7), entry("a", 9, 9), day=DAY - timedelta(days=1)),
    ]
    likes = {"b": (3, 0), "d": (1, 0), "c": (0, 1)}  # c was disliked: reacted to
    chosen = pick(days, likes)
    assert [(e.paper.id, n) for e, n in chosen.liked] == [("b", 3), ("d", 1)]
    assert [e.paper.id for e in chosen.unnoticed] == ["a"]
    post = weekly_digest(days[0], chosen, WEEK, KEY_DAY)
    assert [e.paper.id for e in post.entries] == ["b", "d", "a"]
    assert post.notes[0] == "Most liked: 1. Paper b (3 👍); 2. Paper d (1 👍)"
    assert post.notes[1] == "Best scored, nobody reacted yet: 3. Paper a (relevance 9, novelty 9)"
    assert digest_from_json(digest_to_json(post)) == post
    assert pick([], {}).empty


# -- the setting --


async def test_settings_weekly_validates_and_shows(world: World) -> None:
    async with world.bot() as bot:
        assert "weekly post: off" in await bot.say("C1", "settings")
        out = await bot.say("C1", "settings weekly on friday 16:00")
        assert "weekly post: Friday 16:00 Europe/Berlin" in out
        assert "`/arxiv subscribe`" in out  # it comes to subscribed channels
        assert "weekly post: Monday 09:30" in await bot.say("C1", "settings weekly on 9:30 mon")
        assert "did you mean friday?" in await bot.say("C1", "settings weekly on fryday")
        assert "is not a time" in await bot.say("C1", "settings weekly on friday 25:00")
        assert "say `weekly on [day HH:MM]`" in await bot.say("C1", "settings weekly sometimes")
        assert "weekly post: Monday 07:00" in await bot.say("C1", "settings weekly on 7:00")
        off = await bot.say("C1", "settings weekly off")
        assert "weekly post: off (`weekly on` brings back Monday 07:00 Europe/Berlin)" in off
        assert "weekly post: Monday 07:00" in await bot.say("C1", "settings weekly on")


def test_weekly_off_keeps_the_day_and_time_for_weekly_on() -> None:
    on = berlin(None).with_overrides(weekly_change("on wed 08:15", berlin(None)))
    off = on.with_overrides({"weekly_time": "08:15", **weekly_change("off", on)})
    assert (off.weekly_day, off.weekly_kept_day, off.weekly_time) == (None, 2, time(8, 15))
    assert off.weekly_text() == "off (`weekly on` brings back Wednesday 08:15 Europe/Berlin)"
    again = weekly_change("on", off)
    assert again == {"weekly_day": 2, "weekly_time": "08:15", "weekly_kept_day": None}
    assert weekly_change("off", off)["weekly_kept_day"] == 2  # off twice still remembers
    assert weekly_change("on 18:00", off)["weekly_day"] == 2
    assert weekly_change("on fri", off) == {
        "weekly_day": 4,
        "weekly_time": "08:15",
        "weekly_kept_day": None,
    }
    assert weekly_change("on", berlin(None)) == {
        "weekly_day": 4,
        "weekly_time": "16:00",
        "weekly_kept_day": None,
    }  # never chosen: Friday 16:00


def test_each_weekly_channel_gets_a_cron_job() -> None:
    rows = [
        ChannelRow("C1", "fake", {"weekly_day": 4, "weekly_time": "16:00"}, True),
        ChannelRow("C2", "fake", {}, True),
    ]
    jobs = weekly_triggers(rows, lambda row: berlin(None).with_overrides(row.overrides))
    assert list(jobs) == ["weekly:C1"]
    fire = jobs["weekly:C1"].get_next_fire_time(None, utc(DAY, 12))
    assert fire == utc(DAY, 14)


# -- exactly once --


async def weekly_world(world: World, likes: int = 2) -> list[str]:
    """C1 subscribed with the weekly post on Fridays at 16:00, its daily post of DAY out, and
    `likes` of its cards liked; returns the liked paper ids."""
    await subscribe(world)
    async with world.bot() as bot:
        assert "Friday 16:00" in await bot.say("C1", "settings weekly on friday 16:00")
        world.clock.at(utc(DAY, 6))
        await bot.runner.tick()
        cards = world.chat.of("C1", "card")
        assert len(cards) == len(SELECTED)
        liked = []
        for card in cards[-likes:] if likes else []:
            caller = Caller("fake", "C1", "bob")
            assert await bot.core.conversation.react(caller, card.id, "👍", True)
            liked.append(card.paper_id or "")
    world.chat.messages.clear()
    return liked


def assert_weekly_once(messages: list[Any], liked: list[str]) -> None:
    parents = [m for m in messages if m.kind == "parent"]
    assert len(parents) == 1, [m.text for m in parents]
    assert parents[0].day == KEY_DAY
    cards = [m for m in messages if m.kind == "card"]
    ids = [m.paper_id for m in cards]
    assert len(ids) == len(set(ids)) == len(liked) + BEST_UNNOTICED
    assert set(liked) <= set(ids)
    assert {m.thread for m in cards} == {parents[0].id}


async def test_the_weekly_post_comes_once_with_the_liked_and_the_unnoticed(world: World) -> None:
    liked = await weekly_world(world)
    async with world.bot() as bot:
        world.clock.at(utc(DAY, 13, 59))
        await bot.runner.tick()
        assert world.chat.messages == []  # not due yet
        world.clock.at(WEEKLY_AT)
        await bot.runner.tick()
        await bot.runner.tick()
        world.clock.at(WEEKLY_AT + timedelta(hours=2))
        await bot.runner.tick()
        record = await bot.core.store.weekly.get("C1", WEEK)
    assert record is not None
    assert record[0] == "posted"
    assert_weekly_once(world.chat.messages, liked)
    post = digest_from_json(record[1])
    assert {e.paper.id for e in post.entries[: len(liked)]} == set(liked)  # liked ones first
    unnoticed = [e for e in post.entries if e.paper.id not in liked]
    totals = [e.score.total for e in unnoticed]
    assert totals == sorted(totals, reverse=True)


async def test_a_reaction_on_a_weekly_card_is_a_like(world: World) -> None:
    await weekly_world(world, likes=0)
    async with world.bot() as bot:
        world.clock.at(WEEKLY_AT)
        await bot.runner.tick()
        card = world.chat.of("C1", "card")[0]
        changed = await bot.core.conversation.react(
            Caller("fake", "C1", "eve"), card.id, "👍", True
        )
        assert changed == card.paper_id


@pytest.mark.parametrize("kill_after", [0, 1, 3, BEST_UNNOTICED + 2])
async def test_killed_right_after_the_platform_accepted_a_weekly_message(
    world: World, kill_after: int
) -> None:
    liked = await weekly_world(world)
    world.clock.at(WEEKLY_AT)
    world.chat.kill_after = kill_after
    with killed():
        async with world.bot() as bot:
            await bot.runner.tick()
    async with world.bot() as bot:
        await bot.runner.tick()
        await bot.runner.tick()
    assert_weekly_once(world.chat.messages, liked)


@pytest.mark.parametrize(
    "crash",
    [
        ("weekly.freeze", 1, True),
        ("weekly.set_state", 1, True),
        ("weekly.record_posted", 1, False),
        ("weekly.record_posted", 3, True),
    ],
)
async def test_crashed_at_any_store_step_a_restart_posts_the_week_once(
    world: World, crash: tuple[str, int, bool]
) -> None:
    liked = await weekly_world(world)
    world.clock.at(WEEKLY_AT)
    with killed():
        async with world.bot(crash) as bot:
            await bot.runner.tick()
    async with world.bot() as bot:
        await bot.runner.tick()
    assert_weekly_once(world.chat.messages, liked)


async def test_a_bot_process_killed_mid_weekly_post_finishes_it_once(world: World) -> None:
    await subscribe(world)  # fetched and scored at 04:00 UTC in this process
    async with world.bot() as bot:
        assert "Friday 16:00" in await bot.say("C1", "settings weekly on friday 16:00")
    async with ChatServer() as server:

        async def bot_process(now: datetime, kill_after: int | None = None) -> int:
            env = {
                "PATH": os.environ.get("PATH", ""),
                **world.env,
                "ARXIV_BOT_TEST_NOW": now.isoformat(),
                "ARXIV_BOT_TEST_CHAT_URL": server.url,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.fakes.daily_process", env=env, cwd=REPO
            )
            if kill_after is not None:
                server.kill(proc.pid, after=kill_after)
            return await asyncio.wait_for(proc.wait(), timeout=60)

        assert await bot_process(utc(DAY, 6)) == 0  # the daily post
        daily = list(server.messages)
        liked = [m.paper_id or "" for m in server.of("C1", "card")[:2]]
        async with world.bot() as bot:
            for card in server.of("C1", "card")[:2]:
                assert await bot.core.conversation.react(
                    Caller("fake", "C1", "bob"), card.id, "👍", True
                )
        assert await bot_process(WEEKLY_AT, kill_after=3) == -signal.SIGKILL
        weekly = [m for m in server.messages if m not in daily]
        assert len([m for m in weekly if m.kind == "card"]) == 2, "killed after the second card"
        assert await bot_process(WEEKLY_AT) == 0
        assert await bot_process(WEEKLY_AT + timedelta(minutes=5)) == 0
        assert server.messages[: len(daily)] == daily
        assert_weekly_once(server.messages[len(daily) :], liked)


async def test_a_week_without_papers_posts_nothing(world: World) -> None:
    async with world.bot() as bot:  # thresholds no paper of the week meets: empty digests
        await bot.say("C2", "subscribe")
        await bot.say("C2", "settings threshold relevance 10")
        await bot.say("C2", "settings weekly on friday 16:00")
        await bot.runner.tick()
        world.clock.at(WEEKLY_AT)
        await bot.runner.tick()
        await bot.runner.tick()
        stored = await bot.core.store.digests.get("C2", DAY)
        assert stored is not None
        assert digest_from_json(stored[1]).entries == ()
        record = await bot.core.store.weekly.get("C2", WEEK)
    assert record == ("quiet", {})
    assert [m.day for m in world.chat.of("C2")] == [DAY]  # the daily "nothing today" alone


async def test_a_week_missed_by_more_than_the_catch_up_is_skipped(world: World) -> None:
    await weekly_world(world)
    async with world.bot() as bot:
        world.clock.at(WEEKLY_AT + timedelta(hours=19))
        await bot.runner.tick()
        assert await bot.core.store.weekly.get("C1", WEEK) is None
    assert world.chat.messages == []


async def test_weekly_records_survive_in_the_store(database: str) -> None:
    async with Store.open(database) as store:
        kept = await store.weekly.freeze("C1", WEEK, "decided", {"papers": []})
        again = await store.weekly.freeze("C1", WEEK, "quiet", {})
        assert kept == again == ("decided", {"papers": []})
        await store.weekly.record_posted("C1", WEEK, "parent", "m1")
        await store.weekly.record_posted("C1", WEEK, "parent", "m2")  # the first id stays
        await store.weekly.set_state("C1", WEEK, "posted")
        assert await store.weekly.posted("C1", WEEK) == {"parent": "m1"}
        assert await store.weekly.get("C1", WEEK) == ("posted", {"papers": []})
