"""The warm-up and adaptive share rules, scoring through the Batch API against the fake server
(completed, expired with partial results and an error file, failed, no endpoint), batch
prices, and the taste-ordered digest with its "more like what you liked" part as users see it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from openai import AsyncOpenAI

from adapters.discord_render import parent_embed
from adapters.markdown import render_markdown
from adapters.slack_blocks import parent_message
from bot.digest.assembly import more_like_liked, taste_order
from bot.digest.selection import digest_from_json, digest_to_json
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    LLMShare,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)
from scoring.batch import BatchScorer
from scoring.pricing import PriceTable
from scoring.share import WARMUP_POSITIVES, Yesterday, decide_share
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import BatchPlan, FakeOpenAI, LabelAnswerer

NOW = datetime(2025, 5, 2, 5, 0, tzinfo=UTC)


def paper(n: int) -> Paper:
    return Paper(f"2505.{n:05d}", f"Paper {n}", f"Abstract of paper {n}.", ("A. Author",))


PAPERS = [paper(n) for n in range(30)]
PICKS = {PAPERS[1].id: {"relevance": 9, "novelty": 8, "comment": "Matches compression."}}


def test_a_new_ranking_scores_at_most_the_warmup_cap_and_narrows_as_verdicts_come() -> None:
    first = decide_share(0.3, 0, None)
    assert (first.share, first.reason) == (0.6, "warm-up")  # ARXIV_BOT_WARMUP_SHARE's default
    assert decide_share(0.3, 0, None, warmup_cap=1.0).share == 1.0  # uncapped: the whole day
    assert decide_share(0.8, 0, None).share == 0.8  # the channel's own larger share, no more
    assert decide_share(0.3, 0, None, warmup_cap=0.1).share == 0.3  # never below the share
    half = decide_share(0.3, WARMUP_POSITIVES // 2, Yesterday(200, 200, (1, 5)))
    assert 0.3 < half.share <= 0.6
    assert half.warmup
    trained = decide_share(0.3, WARMUP_POSITIVES, Yesterday(200, 60, (1, 2, 3, 4)))
    assert (trained.share, trained.reason) == (0.3, "base")
    assert decide_share(0.3, 0, None, adaptive=False).share == 0.3


def test_picks_at_the_bottom_of_yesterdays_window_widen_today() -> None:
    rich_tail = Yesterday(200, 60, (2, 50, 52, 55, 58, 60))
    widened = decide_share(0.3, 100, rich_tail)
    assert widened.reason == "widened"
    assert widened.share > 0.3
    assert "yesterday's picks reached the bottom" in widened.describe()


async def score_in_batch(
    llm: FakeOpenAI, until: datetime = NOW + timedelta(hours=1)
) -> tuple[list[Score], list[Usage], Sequence[str], str]:
    stored: list[Score] = []
    usages: list[Usage] = []

    async def sink(scores: Sequence[Score], usage: Usage) -> None:
        stored.extend(scores)
        usages.append(usage)

    moment = [NOW]

    async def nap(seconds: float) -> None:  # time passes only while the scorer waits
        moment[0] += timedelta(seconds=seconds)

    async with AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url, max_retries=0) as client:
        scorer = BatchScorer(
            client, "gpt-4o", PriceTable(), batch_size=10, clock=lambda: moment[0], sleep=nap
        )
        report = await scorer.score(PAPERS, "compression", sink, until=until)
    return stored, usages, report.unscored, report.status


async def test_a_completed_batch_scores_every_paper_at_half_price() -> None:
    async with FakeOpenAI(
        LabelAnswerer(PICKS), model="gpt-4o", batch_plan=BatchPlan(polls=2)
    ) as llm:
        stored, usages, left, status = await score_in_batch(llm)
    assert status == "completed"
    assert left == ()
    assert {s.paper_id for s in stored} == {p.id for p in PAPERS}
    assert llm.batch_calls == 3
    assert llm.calls == 0
    u = usages[0]
    full = PriceTable().usage("gpt-4o", u.prompt_tokens, u.cached_tokens, u.completion_tokens)
    assert u.cost_usd == full.cost_usd / 2


async def test_an_expired_batch_keeps_its_partial_results_and_leaves_the_rest() -> None:
    plan = BatchPlan(outcome="expired", finish=2, errors=frozenset({0}))
    async with FakeOpenAI(LabelAnswerer(PICKS), model="gpt-4o", batch_plan=plan) as llm:
        stored, _, left, status = await score_in_batch(llm)
    assert status == "expired"
    assert {s.paper_id for s in stored} == {p.id for p in PAPERS[10:20]}
    assert set(left) == {p.id for p in PAPERS[:10] + PAPERS[20:]}


async def test_a_failed_batch_or_a_server_without_batches_leaves_everything() -> None:
    async with FakeOpenAI(model="gpt-4o", batch_plan=BatchPlan(outcome="failed")) as llm:
        stored, _, left, status = await score_in_batch(llm)
    assert (stored, len(left), status) == ([], 30, "failed")
    async with FakeOpenAI(model="gpt-4o", offers_batches=False) as llm:
        stored, _, left, status = await score_in_batch(llm)
    assert (stored, len(left), status) == ([], 30, "skipped")


async def test_a_batch_not_done_by_the_deadline_is_cancelled() -> None:
    async with FakeOpenAI(model="gpt-4o", batch_plan=BatchPlan(polls=5)) as llm:
        _stored, _, left, status = await score_in_batch(llm, until=NOW + timedelta(seconds=1))
    assert status == "cancelled"
    assert len(left) == 30


def digest(entries: Sequence[DigestEntry], more: Sequence[DigestEntry] = ()) -> Digest:
    return Digest(
        day=date(2025, 5, 2),
        channel_id="C1",
        model="gpt-4o",
        criteria=Criteria("compression"),
        criteria_version=1,
        thresholds=Thresholds(),
        counts=StageCounts(200, 200, 200, len(entries)),
        entries=tuple(entries),
        more_like=tuple(more),
        share=LLMShare(1.0, 0.3, "warm-up", 12, 0.05),
    )


def test_likes_move_cards_and_fill_the_more_like_part_in_every_rendering() -> None:
    entries = [DigestEntry(p, Score(p.id, 9, 8, "fits")) for p in PAPERS[:4]]
    taste = {p.id: float(-n) for n, p in enumerate(PAPERS[:6])}
    taste[PAPERS[3].id] = 5.0
    taste[PAPERS[4].id] = 4.0
    ordered = taste_order(entries, taste, 0.8)
    assert ordered[0].paper.id == PAPERS[3].id
    assert ordered[0].moved == 3
    near = [DigestEntry(p, Score(p.id, 7, 7, "close")) for p in PAPERS[4:8]]
    more = more_like_liked(near, taste)
    assert [e.paper.id for e in more] == [PAPERS[4].id]
    d = digest(ordered, more)
    assert digest_from_json(digest_to_json(d)) == d
    md = render_markdown(d)
    assert "## More like what you liked" in md
    assert PAPERS[4].title in md
    assert "100% of the day went to the LLM instead of 30%: warm-up" in md
    _, blocks = parent_message(d)
    assert any("More like what you liked" in str(b) for b in blocks)
    embed = parent_embed(d, daily=True)
    assert "More like what you liked" in (embed.description or "")


async def test_a_batch_finishes_early_when_someone_needs_the_scores_now() -> None:
    asked = 0

    async def hurry() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3  # a command arrives a few seconds into the batch

    async with FakeOpenAI(model="gpt-4o", batch_plan=BatchPlan(polls=10_000)) as llm:
        moment = [NOW]

        async def nap(seconds: float) -> None:
            moment[0] += timedelta(seconds=seconds)

        async with AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url, max_retries=0) as client:
            scorer = BatchScorer(
                client, "gpt-4o", PriceTable(), batch_size=10, clock=lambda: moment[0], sleep=nap
            )

            async def sink(scores: Sequence[Score], usage: Usage) -> None:
                return None

            report = await scorer.score(
                PAPERS, "x", sink, until=NOW + timedelta(hours=6), hurry=hurry
            )
    assert report.status == "cancelled"
    assert moment[0] - NOW < timedelta(seconds=30)  # not the hours until the deadline
    assert len(report.unscored) == 30  # left for the synchronous scorer


async def test_a_batch_left_running_by_a_stopped_process_is_resumed_not_paid_twice() -> None:
    async with FakeOpenAI(
        LabelAnswerer(PICKS), model="gpt-4o", batch_plan=BatchPlan(polls=10_000)
    ) as llm:
        first = asyncio.create_task(score_in_batch(llm))
        for _ in range(500):  # the first process submits its batch...
            if llm.batches:
                break
            await asyncio.sleep(0.01)
        first.cancel()  # ...and stops while it runs
        with contextlib.suppress(asyncio.CancelledError):
            await first
        llm.batch_plan = BatchPlan(polls=2)  # the batch goes on at the provider, and ends
        stored, _, left, status = await score_in_batch(llm)  # the next process
        assert status == "completed"
        assert left == ()
        assert {s.paper_id for s in stored} == {p.id for p in PAPERS}
        assert len(llm.batches) == 1  # resumed, not submitted (and paid) again
        assert llm.calls == 0
