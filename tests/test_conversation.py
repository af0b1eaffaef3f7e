"""The conversation through the console adapter and the core API, against the fake arXiv and
OpenAI servers: every command, permissions, shared scoring, explanations and likes."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from adapters.markdown import render_markdown
from bot.__main__ import open_core
from bot.conversation import commands
from bot.conversation.commands import CommandError
from bot.conversation.dispatch import Caller, Reply
from bot.conversation.likes import who_likes
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels

DAY = "2025-05-02"


class Session:
    """One console user in one channel; `say` returns what the bot printed."""

    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter

    async def say(self, line: str) -> str:
        out = io.StringIO()
        self.adapter.out = out
        await self.adapter.line(line)
        return out.getvalue()


def session(core: Any, channel: str = "team-a", user: str = "alice") -> Session:
    return Session(ConsoleAdapter(core.conversation, channel_id=channel, user_id=user))


# -- grammar and help --


@pytest.mark.parametrize("example", [e for s in commands.COMMANDS for e in s.examples])
def test_every_help_example_parses(example: str) -> None:
    name = commands.parse(example).name
    assert example.startswith(name)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("todya", "/arxiv today"),
        ("criteria sett x", "/arxiv criteria set"),
        ("setings", "/arxiv settings"),
        ("stats now", "/arxiv stats"),
        ("likez", "/arxiv likes"),
    ],
)
def test_unknown_commands_get_the_closest_valid_one(text: str, suggestion: str) -> None:
    with pytest.raises(CommandError) as info:
        commands.parse(text)
    assert suggestion in str(info.value)


def test_commands_needing_an_argument_say_so() -> None:
    with pytest.raises(CommandError, match="needs an argument"):
        commands.parse("explain")


def test_oversized_command_is_refused() -> None:
    with pytest.raises(CommandError, match="limit is 40,000"):
        commands.parse("criteria set " + "x" * 40_001)


async def test_help_lists_every_command(core: Any) -> None:
    out = await session(core).say("/arxiv help")
    for spec in commands.COMMANDS:
        assert f"/arxiv {spec.usage} — {spec.summary}" in out  # no columns to line up
    assert "   " not in out


async def test_unknown_subcommand_answers_with_the_closest(core: Any) -> None:
    out = await session(core).say("/arxiv critera")
    assert "unknown command `critera`; did you mean:" in out
    assert "/arxiv criteria" in out


# -- today, shared ingest and shared scores --


async def test_today_posts_the_digest_and_a_second_ask_is_free(
    core: Any, llm: FakeOpenAI, day_feed: list[dict[str, Any]]
) -> None:
    s = session(core)
    out = await s.say("/arxiv today")
    assert out.startswith("Working on today's digest")
    assert f"arXiv digest for {DAY}: 12 selected of 206 announced" in out
    calls = llm.calls
    again = await s.say("/arxiv today")
    assert "Working on" not in again
    assert f"arXiv digest for {DAY}" in again
    assert llm.calls == calls


async def test_channels_with_the_same_criteria_share_one_set_of_llm_calls(
    core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    await session(core, "team-a").say("today")
    calls, feeds = llm.calls, len(arxiv.requests_of("rss"))
    out = await session(core, "team-b").say("today")
    assert "12 selected of 206 announced" in out
    assert llm.calls == calls
    assert len(arxiv.requests_of("rss")) == feeds  # the fresh feed is shared too


async def test_channels_with_different_criteria_get_different_digests(
    core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    a, b = session(core, "team-a"), session(core, "team-b")
    await b.say("criteria set Reinforcement learning for robots.")
    digest_a = await a.say("today")
    calls = llm.calls
    digest_b = await b.say("today")
    assert llm.calls > calls  # the other criteria are scored once
    assert len(arxiv.requests_of("rss")) == 1  # from one shared ingest
    assert "criteria v1" in digest_a  # the default criteria
    assert "criteria v2" in digest_b  # the channel's own
    assert "Reinforcement learning for robots." in await b.say("criteria show 2")


# -- criteria --


async def test_criteria_lifecycle(core: Any) -> None:
    s = session(core)
    shown = await s.say("criteria")
    assert shown.startswith("Criteria version 1, 7 topics")
    assert "\n1. Representation Learning - " in shown
    out = await s.say("criteria set Sparse models.")
    assert "Criteria updated to version 2 by alice" in out
    assert "criteria preview" in out
    assert "unchanged" in await s.say("criteria set Sparse models.")
    await s.say("criteria add Diffusion models for proteins")
    assert "2. Diffusion models for proteins" in await s.say("criteria")
    await s.say("criteria remove 1")
    assert (await s.say("criteria")).splitlines()[1] == "1. Diffusion models for proteins"
    history = await s.say("criteria history")
    assert [line.split(" — ")[0] for line in history.splitlines()[1:]] == ["v4", "v3", "v2", "v1"]
    assert "by alice" in history
    assert "by default" in history
    assert "version 5" in await s.say("criteria revert 2")
    assert (await s.say("criteria")).splitlines()[1] == "1. Sparse models."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("criteria set    ", "needs an argument"),
        ("criteria set \x00\x01\x02", "the criteria are empty"),
        ("criteria remove 99", "give a topic number from 1 to 7"),
        ("criteria remove x", "give a topic number from 1 to 7"),
        ("criteria revert 42", "there is no criteria version '42'"),
    ],
)
async def test_criteria_mistakes_get_clear_answers(core: Any, line: str, message: str) -> None:
    assert message in await session(core).say(line)


async def test_long_criteria_are_refused_with_the_limit(core: Any) -> None:
    out = await session(core).say("criteria set " + "word " * 4_100)
    assert "20,499 characters long; the limit is 20,000" in out


async def test_mentions_and_control_characters_in_criteria_are_defused(core: Any) -> None:
    s = session(core)
    await s.say("criteria set Ping @channel and <!everyone> and <@U123>\x1b[31m now")
    shown = await s.say("criteria")
    assert "@channel" not in shown
    assert "<!everyone>" not in shown
    assert "<@U123>" not in shown
    assert "@\u2060channel" in shown
    assert "\x1b" not in shown


async def test_preview_shows_papers_entering_and_leaving(core: Any, llm: FakeOpenAI) -> None:
    s = session(core)
    await s.say("today")
    await s.say("criteria set Reinforcement learning for robots.")
    # under the new criteria the model picks the papers it picked on another day
    llm.answerer = LabelAnswerer(load_labels("2025-05-08"))
    calls = llm.calls
    ask = await s.say("criteria preview")
    assert "Previewing May 2, 2025 under criteria version 2 means scoring 206 papers" in ask
    assert "about $" in ask
    assert "`/arxiv criteria preview confirm`" in ask
    assert llm.calls == calls  # nothing spent before the confirmation
    asked = sum(len(ids) for ids in llm.asked_ids)
    out = await s.say("criteria preview confirm")
    assert "Re-scoring May 2, 2025 under criteria version 2 (206 papers" in out
    assert sum(len(ids) for ids in llm.asked_ids) - asked == 206  # as estimated
    assert "would have 0 papers (was 12)" in out
    assert out.count("\n− ") == 12


# -- explain --


async def test_explain_by_card_and_id_is_generated_once(core: Any, llm: FakeOpenAI) -> None:
    s = session(core)
    await s.say("today")
    calls = llm.calls
    first = await s.say("explain 1")
    assert "relevance 9, novelty 8 under criteria version 1" in first
    assert llm.calls == calls + 1
    paper_id = first.split("(arXiv:")[1].split(")")[0]
    again = await s.say(f"explain arXiv:{paper_id}v2")
    assert again == first
    assert llm.calls == calls + 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("explain 2101.00001", "I never posted arXiv:2101.00001 in this channel"),
        ("explain 99", "there is no card 99"),
        ("explain <!channel>", "neither an arXiv id"),
    ],
)
async def test_explain_mistakes(core: Any, line: str, message: str) -> None:
    s = session(core)
    await s.say("today")
    assert message in await s.say(line)


# -- likes --


async def test_reactions_like_unlike_and_survive_a_restart(
    make_settings: Any, day_feed: list[dict[str, Any]]
) -> None:
    settings = make_settings()
    async with open_core(settings) as core:
        s = session(core, user="alice")
        await s.say("today")
        assert "(reacted: " in await s.say(":react 1 👍")
        assert "(no change)" in await s.say(":react 1 👍")  # the same event twice is one like
        await s.say(":react 2 🔥")
        await s.say(":react 2 🎉")  # not a like emoji
        await s.say(":unreact 2 🔥")
        s.adapter.user_id = "bob"
        await s.say(":react 3 ❤️")
    async with open_core(settings) as core:
        s = session(core, user="alice")
        channel = await s.say("likes")
        mine = await s.say("likes me")
    assert channel.startswith("This channel liked recently (newest first):")
    assert len(channel.splitlines()) == 3
    assert "https://arxiv.org/abs/" in channel
    assert len(mine.splitlines()) == 2


async def test_a_paper_liked_by_three_is_listed_once_with_its_count(core: Any) -> None:
    s = session(core, user="alice")
    await s.say("today")
    for user in ("alice", "bob", "carol"):
        s.adapter.user_id = user
        await s.say(":react 1 👍")
    s.adapter.user_id = "bob"
    await s.say(":react 2 ⭐")
    s.adapter.user_id = "alice"
    channel = (await s.say("likes")).splitlines()
    assert len(channel) == 3  # the heading and two papers, not four likes
    assert sum("(3 likes: yours and 2 others; " in line for line in channel) == 1
    assert sum("(1 like; " in line for line in channel) == 1
    mine = (await s.say("likes me")).splitlines()
    assert mine[0] == "You liked recently (newest first):"
    assert len(mine) == 2
    assert "(3 likes: yours and 2 others; " in mine[1]


async def test_reactions_on_other_messages_are_ignored(core: Any) -> None:
    caller = Caller("console", "team-a", "alice")
    assert await core.conversation.react(caller, "not-a-card", "👍", True) is None


async def test_no_likes_yet(core: Any) -> None:
    assert "liked nothing yet" in await session(core).say("likes me")
    assert "say `/arxiv likes`" in await session(core).say("likes everyone")


# -- settings, subscription, stats, permissions --


async def test_settings_changes_are_validated_and_shown(core: Any) -> None:
    s = session(core)
    assert "thresholds: relevance ≥ 8, novelty ≥ 7" in await s.say("settings")
    assert "relevance ≥ 7" in await s.say("settings threshold relevance 7")
    assert "daily post: 08:30 Europe/Berlin" in await s.say("settings time 08:30 Europe/Berlin")
    assert "daily post: 09:00 Europe/Berlin" in await s.say("settings time 9:00")
    assert "categories: cs.CL, cs.LG" in await s.say("settings categories cs.CL,cs.LG")
    assert "cross-lists: off" in await s.say("settings cross-lists off")
    assert "relevance ≥ 8" in await s.say("settings reset")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("settings threshold relevance 11", "whole number from 1 to 10"),
        ("settings threshold speed 5", "say which threshold"),
        ("settings time 25:00", "24-hour time"),
        ("settings time 08:00 Mars/Base", "unknown time zone 'Mars/Base'"),
        ("settings categories cs.LG,<!channel>", "not arXiv categories"),
        ("settings cross-lists maybe", "cross-lists on"),
    ],
)
async def test_settings_mistakes(core: Any, line: str, message: str) -> None:
    out = await session(core).say(line)
    assert message in out
    assert "<!channel>" not in out


async def test_subscribe_unsubscribe_and_stats(core: Any) -> None:
    s = session(core)
    assert "Subscribed" in await s.say("subscribe")
    assert "(subscribed)" in await s.say("settings")
    assert [c.id for c in await core.store.channels.subscribed()] == ["team-a"]
    assert "Unsubscribed" in await s.say("unsubscribe")
    await s.say("today")
    await s.say(":react 1 👍")
    stats = await s.say("stats")
    assert "today:" in stats
    assert "30 days:" in stats
    assert "206 papers seen" in stats
    assert "12 posted, 1 like" in stats
    periods = [line for line in stats.splitlines() if line.startswith(("today", "7 d", "30 d"))]
    assert all("  " not in line for line in periods)  # no padding that needs a monospace font
    assert all(re.search(r"\$\d+\.(\d\d|0\d*[1-9]\d) · ", line) for line in periods)
    # sparklines of the last 30 days, today last: today's like and today's LLM spend
    assert "Per day over 30 days (" in stats
    likes = next(line for line in stats.splitlines() if " likes: " in line and "▁" in line)
    assert likes.startswith("▁" * 29 + "█ likes: 1 in all, most 1 on ")
    spent = next(line for line in stats.splitlines() if " LLM $: " in line)
    assert spent.startswith("▁" * 29 + "█ LLM $: $")


async def test_changes_are_limited_to_admins(
    make_settings: Any, day_feed: list[dict[str, Any]]
) -> None:
    async with open_core(make_settings(ARXIV_BOT_ADMINS="boss,role:maintainer")) as core:
        replies: list[Reply] = []

        async def respond(reply: Reply) -> None:
            replies.append(reply)

        for caller, allowed in [
            (Caller("console", "c", "mallory"), False),
            (Caller("console", "c", "boss"), True),
            (Caller("console", "c", "eve", ("maintainer",)), True),
        ]:
            replies.clear()
            await core.conversation.handle(caller, "criteria set Graphs.", respond)
            refused = "only the people and roles this bot's ARXIV_BOT_ADMINS lists" in (
                replies[-1].text
            )
            assert refused is not allowed
        replies.clear()
        await core.conversation.handle(Caller("console", "c", "mallory"), "criteria", respond)
        assert replies[-1].text.startswith("Criteria version")


@pytest.mark.parametrize(
    ("admins", "manages", "allowed"),
    [("", False, False), ("", True, True), ("everyone", False, True), ("boss", True, False)],
)
async def test_by_default_the_platform_says_who_manages_a_channel(
    make_settings: Any, day_feed: list[dict[str, Any]], admins: str, manages: bool, allowed: bool
) -> None:
    asked: list[str] = []

    async def manager() -> bool:
        asked.append("asked")
        return manages

    replies: list[Reply] = []

    async def respond(reply: Reply) -> None:
        replies.append(reply)

    caller = Caller("chat", "c", "mallory", manager=manager, managers="the channel's owners")
    async with open_core(make_settings(ARXIV_BOT_ADMINS=admins)) as core:
        await core.conversation.handle(caller, "criteria", respond)
        assert asked == []  # reading asks nobody
        await core.conversation.handle(caller, "subscribe", respond)
    refusal = "only the channel's owners may change this channel's criteria, settings, follows"
    assert (refusal in replies[-1].text) is (not allowed and not admins)
    assert ("Subscribed" in replies[-1].text) is allowed


async def test_subscribing_twice_says_so_and_unsubscribing_when_not_subscribed_too(
    core: Any,
) -> None:
    s = session(core)
    assert "Subscribed:" in await s.say("subscribe")
    assert "Subscribed already" in await s.say("subscribe")
    assert "Unsubscribed" in await s.say("unsubscribe")
    assert "not subscribed" in await s.say("unsubscribe")


@pytest.mark.parametrize(
    ("likers", "shown"),
    [
        (["bob"], "1 like"),
        (["alice"], "1 like: yours"),
        (["carol", "alice"], "2 likes: yours and 1 other"),
        (["bob", "carol", "dan"], "3 likes"),
    ],
)
def test_who_likes_counts_and_never_names_others(likers: list[str], shown: str) -> None:
    assert who_likes(likers, "alice") == shown


async def test_today_in_the_console_is_a_page_and_more_turns_it(core: Any) -> None:
    """`today` used to print the whole markdown report (28,656 characters for this day); the
    console shows the counts and the first five cards (about 2,150), and `more` the next five."""
    s = session(core)
    first = await s.say("today")
    digest = s.adapter.shown
    assert digest is not None
    assert len(digest.entries) == 12
    assert len(render_markdown(digest)) > 12_000  # what `today` printed before
    assert len(first) < 3_500
    assert [n for n in range(1, 13) if f"\n{n:>2}. " in first] == [1, 2, 3, 4, 5]
    assert first.rstrip().endswith("… 7 more: type `more` (or `more all`)")
    second = await s.say("more")
    assert [n for n in range(1, 13) if f"\n{n:>2}. " in "\n" + second] == [6, 7, 8, 9, 10]
    assert "… 2 more" in second
    last = await s.say("more all")
    assert [n for n in range(1, 13) if f"\n{n:>2}. " in "\n" + last] == [11, 12]
    assert "more:" not in last
    assert "every card" in await s.say("more")
    assert "(reacted: " in await s.say(":react 12 👍")  # numbers hold across pages
    assert "arXiv:" in await s.say("explain 7")


async def test_more_before_any_digest_says_what_to_do(core: Any) -> None:
    assert "`today` shows one" in await session(core).say("more")


def test_stats_sparklines_scale_each_series_to_its_busiest_day() -> None:
    from datetime import date

    from bot.conversation.stats_commands import spark_days, spark_lines, sparkline

    assert sparkline([0, 1, 2, 4, 8]) == "▁▃▄▅█"
    assert sparkline([0, 0]) == "▁▁"
    days = spark_days(date(2025, 5, 30), 5)
    assert days[0] == date(2025, 5, 26)
    assert days[-1] == date(2025, 5, 30)
    lines = spark_lines(
        days, {date(2025, 5, 27): 12, date(2025, 5, 28): 3}, {}, {date(2025, 5, 30): 0.5}
    )
    assert lines == [
        "Per day over 5 days (2025-05-26 – 2025-05-30, oldest first; ▁ is none):",
        "▁█▄▁▁ papers selected: 15 in all, most 12 on 2025-05-27",
        "▁▁▁▁▁ likes: 0 in all",
        "▁▁▁▁█ LLM $: $0.50 in all, most $0.50 on 2025-05-30",
    ]
