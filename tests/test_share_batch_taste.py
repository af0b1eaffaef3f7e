"""The warm-up and the calibrated cut, scoring through the Batch API against the fake server
(completed, expired with partial results and an error file, failed, no endpoint), batch
prices, and the taste-ordered digest with its "more like what you liked" part as users see it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace
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
from scoring.share import (
    FLOOR_PART,
    RECALL_TARGET,
    WARMUP_POSITIVES,
    Yesterday,
    calibrate,
    decide_share,
)
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import BatchPlan, FakeOpenAI, LabelAnswerer

NOW = datetime(2025, 5, 2, 5, 0, tzinfo=UTC)


def paper(n: int) -> Paper:
    return Paper(f"2505.{n:05d}", f"Paper {n}", f"Abstract of paper {n}.", ("A. Author",))


PAPERS = [paper(n) for n in range(30)]
PICKS = {PAPERS[1].id: {"relevance": 9, "novelty": 8, "comment": "Matches compression."}}


def test_a_new_ranking_scores_at_most_the_warmup_cap_and_narrows_as_verdicts_come() -> None:
    first = decide_share(0.3, 0)
    assert (first.share, first.reason) == (0.6, "warm-up")  # ARXIV_BOT_WARMUP_SHARE's default
    assert decide_share(0.3, 0, warmup_cap=1.0).share == 1.0  # uncapped: the whole day
    assert decide_share(0.8, 0).share == 0.8  # the channel's own larger share, no more
    assert decide_share(0.3, 0, warmup_cap=0.1).share == 0.3  # never below the share
    half = decide_share(0.3, WARMUP_POSITIVES // 2, [Yesterday(200, 200, (1, 5))])
    assert 0.3 < half.share <= 0.6
    assert half.warmup
    too_few = decide_share(
        0.3, WARMUP_POSITIVES, [Yesterday(200, 60, (1, 2, 3, 4))], candidates=200
    )
    assert (too_few.share, too_few.reason) == (0.3, "base")  # four picks calibrate nothing
    assert decide_share(0.3, 0, adaptive=False).share == 0.3


def days_with_picks(ranks: tuple[int, ...], days: int = 5) -> list[Yesterday]:
    return [Yesterday(200, 100, ranks) for _ in range(days)]


def test_picks_at_the_top_of_earlier_days_send_less_than_the_share() -> None:
    sharp = days_with_picks((1, 2, 3, 4, 6, 8, 11, 15))
    decided = decide_share(0.5, 100, sharp, candidates=300)
    assert decided.reason == "calibrated"
    assert FLOOR_PART * 0.5 <= decided.share < 0.5
    assert decided.expected_recall is not None
    assert decided.expected_recall >= RECALL_TARGET
    assert "of likely picks" in decided.describe()


def test_picks_spread_down_earlier_days_send_the_whole_share_and_say_fewer_are_in() -> None:
    spread = days_with_picks((2, 10, 25, 40, 60, 75, 90, 99))
    decided = decide_share(0.5, 100, spread, candidates=300)
    assert (decided.share, decided.reason) == (0.5, "calibrated")
    assert decided.expected_recall is not None
    assert decided.expected_recall < RECALL_TARGET


def test_the_calibration_is_a_probability_falling_down_the_ranking() -> None:
    fitted = calibrate(days_with_picks((1, 2, 3, 5, 8, 13, 30, 70)))
    assert fitted is not None
    top, middle, bottom = (fitted.probability(r, 200) for r in (1, 50, 200))
    assert 1 > top > middle > bottom > 0
    assert calibrate([Yesterday(200, 100, ())]) is None  # no selection: nothing to fit


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


def test_a_calibrated_day_says_in_every_footer_how_many_likely_picks_were_sent() -> None:
    entries = [DigestEntry(p, Score(p.id, 9, 8, "fits")) for p in PAPERS[:2]]
    d = replace(digest(entries), share=LLMShare(0.42, 0.5, "calibrated", 90, 0.0, 0.953))
    assert digest_from_json(digest_to_json(d)) == d
    line = "about 95% of likely picks sent: 42% of the day went to the LLM"
    assert line in render_markdown(d)
    _, blocks = parent_message(d)
    assert line in str(blocks)
    assert line in str(parent_embed(d, daily=True).to_dict())
