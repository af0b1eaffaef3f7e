"""The ranking stage inside the bot: honest counts, explanations of ranked-out papers, likes that
change one channel's ranking only, un-liking, reset, learning off, the settings, and a two-day
replay of the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bench.replay import RankTimer, reference_usd, replay, totals
from bot.__main__ import open_core
from bot.digest.options import DigestOptions, LLMBudget
from bot.models import ScoreKey
from scoring.prompt import PROMPT_VERSION
from tests.fakes.openai_server import FakeOpenAI, ServerError, load_labels
from tests.fakes.synth import eval_days
from tests.test_conversation import DAY, session

DAY_DATE = date.fromisoformat(DAY)
OPTIONS = DigestOptions(budget=LLMBudget(share=0.3, min_papers=60))


@pytest.fixture
async def core(make_settings: Any, day_feed: list[dict[str, Any]]) -> AsyncIterator[Any]:
    async with open_core(
        make_settings(
            ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0.3", ARXIV_BOT_ADAPTIVE_SHARE="false"
        )
    ) as c:
        yield c


async def order(core: Any, channel: str, options: DigestOptions = OPTIONS) -> list[str]:
    """The day's ranking as a first build would make it now (a built day stays as decided)."""
    ranked: list[str] = await core.service.ranking_for(channel, DAY_DATE, options)
    return ranked


async def test_only_the_top_of_the_ranking_is_scored_and_counts_say_so(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    out = await s.say("today")
    assert "of 206 announced" in out
    assert "62 sent to the LLM (144 ranked out locally)" in out
    asked = {pid for batch in llm.asked_ids for pid in batch}
    assert len(asked) == 62
    ranked = await core.store.rankings.ranking("team-a", DAY_DATE)
    assert len(ranked) == 206
    assert {r.paper_id for r in ranked if r.sent} == asked
    assert [r.rank for r in ranked] == list(range(1, 207))
    out_id = ranked[150].paper_id
    answer = await s.say(f"explain {out_id}")
    assert f"arXiv:{out_id} (2025-05-02) was not sent to the LLM: ranked 151 of 206" in answer
    assert "the top 62 were scored" in answer
    assert "never posted" in await s.say("explain 2501.00001")


async def test_likes_change_one_channels_ranking_and_unliking_undoes(core: Any) -> None:
    for channel in ("team-a", "team-b"):
        await session(core, channel).say("today")  # both: default criteria, the day ingested
    a0, b0 = await order(core, "team-a"), await order(core, "team-b")
    assert a0 == b0  # same criteria, no likes: same ranking
    liked = a0[-20:-15]  # papers the criteria alone rank low
    for pid in liked:
        await core.store.likes.set_like("team-a", "alice", pid, 1)
    a1, b1 = await order(core, "team-a"), await order(core, "team-b")
    assert a1 != a0
    assert b1 == b0
    assert sum(a1.index(p) for p in liked) < sum(a0.index(p) for p in liked)
    assert "learned from 5 likes" in await session(core, "team-a").say("stats")
    for pid in liked:
        await core.store.likes.remove_like("team-a", "alice", pid)
    assert await order(core, "team-a") == a0


async def test_reset_and_learning_off(core: Any) -> None:
    s = session(core)
    await s.say("today")
    a0 = await order(core, "team-a")
    for pid in a0[-30:-25]:
        await core.store.likes.set_like("team-a", "alice", pid, 1)
    assert await order(core, "team-a") != a0
    assert "learning from likes: off" in await s.say("settings learning off")
    assert await order(core, "team-a", DigestOptions(budget=OPTIONS.budget, learning=False)) == a0
    assert "learning from likes: off" in await s.say("stats")
    await s.say("settings learning on")
    assert "Learning reset" in await s.say("settings learning reset")
    assert await order(core, "team-a") == a0
    assert "learned from 0 likes" in await s.say("stats")
    await core.store.likes.set_like("team-a", "alice", a0[-1], 1)  # a like after the reset counts
    assert await order(core, "team-a") != a0


async def test_the_llms_verdicts_are_kept_for_the_ranking_to_learn_from(
    core: Any, llm: FakeOpenAI
) -> None:
    await session(core).say("today")
    criteria, _ = await core.store.channels.channel_criteria("team-a")
    key = ScoreKey(criteria.id, llm.model, PROMPT_VERSION)
    asked = {pid for batch in llm.asked_ids for pid in batch}
    verdicts = await core.store.scores.verdicts(key)
    assert {paper.id for paper, _ in verdicts} == asked
    assert all(score.paper_id == paper.id for paper, score in verdicts)
    assert len(await core.store.scores.verdicts(key, limit=5)) == 5
    assert await core.store.scores.verdicts(key, exclude=sorted(asked)) == []  # a day never teaches
    other = ScoreKey(criteria.id + 1, llm.model, PROMPT_VERSION)  # itself: other criteria
    assert await core.store.scores.verdicts(other) == []
    stats = await session(core).say("stats")
    assert "learned from 0 likes and 0 earlier LLM verdicts under these criteria" in stats


async def test_an_outage_counts_only_the_papers_sent_as_unscored(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI
) -> None:
    settings = make_settings(
        ARXIV_BOT_ADMINS="",
        ARXIV_BOT_LLM_SHARE="0.3",
        ARXIV_BOT_ADAPTIVE_SHARE="false",
        ARXIV_BOT_LLM_RETRIES="0",
    )
    llm.enqueue(*[ServerError(503)] * 500)
    async with open_core(settings) as core:
        out = await session(core).say("today")
    assert "62 sent to the LLM (144 ranked out locally)" in out
    assert "62 of 62 papers could not be scored; they will be retried on the next run." in out


async def test_llm_share_setting(core: Any, llm: FakeOpenAI) -> None:
    s = session(core)
    assert "sent to the LLM: the top 50% of the local ranking" in await s.say(
        "settings llm-share 50% $0.02"
    )
    out = await s.say("today")
    assert " sent to the LLM (" in out
    sent = len({pid for batch in llm.asked_ids for pid in batch})
    assert 0 < sent < 103  # the dollar cap trims the 50% share
    assert "a share of the day" in await s.say("settings llm-share lots")


async def test_a_two_day_replay_computes_recall_and_tokens_honestly() -> None:
    days = eval_days()[:2]
    timer = RankTimer()
    results = await replay(days, "learning", timer=timer, share=0.3, min_papers=0, adaptive=False)
    for name, r in zip(days, results, strict=True):
        picks = load_labels(name)
        assert r.picks == len(picks)
        assert 0 <= r.found <= r.picks
        assert r.recall == r.found / r.picks
        assert r.sent <= r.candidates * 0.3 + 1
        assert r.usage.calls > 0
        assert r.usage.prompt_tokens > r.usage.cached_tokens > 0
        assert r.reference_usd == pytest.approx(
            reference_usd(r.reference_prompt, r.reference_completion)
        )
    first, second = results
    assert (first.verdicts, second.verdicts) == (0, first.sent)  # day 2 learns from day 1
    assert (first.liked, second.liked) == (0, len(sorted(load_labels(days[0]))[::4]))
    overall = totals(results)
    assert overall.found == sum(r.found for r in results)
    assert overall.usage.prompt_tokens == sum(r.usage.prompt_tokens for r in results)
    assert overall.recall == overall.found / overall.picks
