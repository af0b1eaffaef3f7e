"""`/arxiv similar` is computed once: callers asking about the same paper together, in one
process or in two sharing the database, share one computation; a later caller reads the kept
answer; a newly stored day makes a new one; and each channel sees the shared answer with its own
scores. On SQLite and PostgreSQL (the `database` fixture), with the real similarity computation
in the ranking worker, counted by a wrapper this module owns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.__main__ import Core, open_core
from bot.arxiv.categories import categories_key
from bot.config.channels import ChannelSettings
from bot.daily.delivery import Delivery
from bot.daily.runner import DailyRunner
from bot.digest.options import DigestOptions
from bot.digest.search import CLOSE, Lookups
from bot.digest.similar import similar_key
from bot.models import AnnounceType, Paper, Score, ScoreKey, Usage
from bot.store import Store
from bot.store.similar import SimilarAnswer
from scoring import ranking
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.synth import load_eval_day, rss_feed

DAY_A = date(2025, 5, 2)
DAY_B = date(2025, 5, 5)
OPTIONS = DigestOptions()
CATS = categories_key(OPTIONS.categories)


class Counted:
    """The real similarity computation (in the ranking worker), counting its runs."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, query: str, texts: Sequence[str]) -> list[float]:
        self.runs += 1
        return await ranking.similarities_off_loop(query, texts)


@asynccontextmanager
async def processes(make_settings: Any, database: str, n: int) -> AsyncIterator[list[Core]]:
    """`n` bot cores on one database, each with its own store connection and lease owner, as
    replicas have."""
    settings = make_settings(ARXIV_BOT_DB=database, ARXIV_BOT_ADMINS="")
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(open_core(settings)) for _ in range(n)]


def head(reply: str) -> str:
    return reply.splitlines()[0]


def similarity(line: str) -> float:
    return float(line.rsplit("similarity ", 1)[1])


async def test_callers_and_replicas_asking_together_share_one_computation(
    make_settings: Any, database: str, day_feed: list[dict[str, Any]]
) -> None:
    paper = day_feed[0]["id"]
    counted = Counted()
    async with processes(make_settings, database, 2) as cores:
        await cores[0].service.ingest(OPTIONS.categories)
        lookups = [Lookups(c.store, c.service, counted) for c in cores]
        replies = await asyncio.gather(
            *(
                lk.similar(channel, OPTIONS, paper)
                for lk in lookups
                for channel in ("team-a", "team-b", "team-c")
            )
        )
    assert counted.runs == 1  # six callers, two replicas: one computation
    assert len(set(replies)) == 1  # and all six see the same answer
    # what a user sees
    assert head(replies[0]).startswith("Closest to *Multi-Objective Reinforcement Learning")
    assert head(replies[0]).endswith(
        f"(arXiv:{paper}) among the 205 papers of the last stored day (2025-05-02):"
    )
    lines = replies[0].splitlines()[1:]
    assert 1 <= len(lines) < 10  # only the close ones, of a day's 205
    assert lines[0].startswith("1. *")
    assert " — not scored here — similarity 0." in lines[0]
    assert all(similarity(line) >= CLOSE for line in lines)


async def test_a_later_caller_reuses_the_kept_answer_and_a_new_day_makes_a_new_one(
    make_settings: Any, database: str, day_feed: list[dict[str, Any]], arxiv: FakeArxiv
) -> None:
    paper = day_feed[0]["id"]
    counted = Counted()
    async with processes(make_settings, database, 1) as (core,):
        await core.service.ingest(OPTIONS.categories)
        first = await Lookups(core.store, core.service, counted).similar("team-a", OPTIONS, paper)
    async with processes(make_settings, database, 1) as (core,):  # e.g. after a restart
        again = await Lookups(core.store, core.service, counted).similar("team-a", OPTIONS, paper)
        assert (counted.runs, again) == (1, first)  # read from the store, not computed

        papers_b = load_eval_day(DAY_B.isoformat())
        arxiv.set_feed(rss_feed(papers_b, DAY_B))
        arxiv.add_papers(papers_b)
        await core.service.ingest(OPTIONS.categories)
        later = await Lookups(core.store, core.service, counted).similar("team-a", OPTIONS, paper)
        assert counted.runs == 2  # a new stored day: a new unit of work
        assert "of the last 2 stored days (2025-05-02 – 2025-05-05):" in head(later)
        assert later != first
        # the answer over the old day alone is forgotten: its window moved on
        old = await core.store.similar.days(CATS, [DAY_A])
        target = (await core.store.papers.get([paper]))[paper]
        assert await core.store.similar.answer(similar_key(target, CATS, old)) is None


async def test_channels_with_other_criteria_share_the_computation_and_see_their_own_scores(
    make_settings: Any, database: str, day_feed: list[dict[str, Any]]
) -> None:
    paper = day_feed[0]["id"]
    counted = Counted()
    async with processes(make_settings, database, 1) as (core,):
        await core.service.ingest(OPTIONS.categories)
        for channel, criteria, (relevance, novelty) in (
            ("team-a", "Reinforcement learning for power systems.", (9, 8)),
            ("team-b", "Protein structure prediction.", (2, 3)),
        ):
            criteria_row, _ = await core.service.use_criteria(channel, criteria, "test")
            assert criteria_row.id is not None
            key = ScoreKey(criteria_row.id, "gpt-test", "v1")
            scores = [Score(p["id"], relevance, novelty, "ok") for p in day_feed]
            await core.store.scores.save(scores, key, Usage(), DAY_A)
        lookups = Lookups(core.store, core.service, counted)
        a, b, c = await asyncio.gather(
            *(lookups.similar(ch, OPTIONS, paper) for ch in ("team-a", "team-b", "team-c"))
        )
    assert counted.runs == 1  # the answer does not depend on the channel's criteria
    assert head(a) == head(b) == head(c)
    # the same papers in the same order, each channel with its own scores
    for reply, shown in ((a, "relevance 9, novelty 8 here"), (b, "relevance 2, novelty 3 here")):
        lines = reply.splitlines()[1:]
        assert lines
        assert all(f" — {shown} — similarity 0." in line for line in lines)
    unscored = c.splitlines()[1:]
    assert all(" — not scored here — similarity 0." in line for line in unscored)
    assert [line.split(" — ")[2] for line in unscored] == [
        line.split(" — ")[2] for line in a.splitlines()[1:]
    ]


def _paper(pid: str, version: int = 1) -> Paper:
    return Paper(
        pid, f"Sparse attention {pid}", "Sparse attention in transformers.", ("A",), version=version
    )


async def test_an_answer_is_kept_once_replaced_when_its_days_move_on_and_pruned(
    database: str,
) -> None:
    async with Store.open(database) as store:
        kept = store.similar
        first = SimilarAnswer(("2505.00002",), (0.5,), 3)
        assert await kept.save("k1", "2505.00001", CATS, DAY_A, first) == first
        other = SimilarAnswer(("2505.00003",), (0.25,), 3)
        assert await kept.save("k1", "2505.00001", CATS, DAY_A, other) == first  # first wins
        later = SimilarAnswer(("2505.00003",), (0.4,), 9)
        await kept.save("k2", "2505.00001", CATS, DAY_B, later)
        assert await kept.answer("k1") is None  # the same paper over older days: replaced
        await kept.save("k3", "2505.00009", CATS, DAY_A, first)
        assert await kept.prune(date(2025, 5, 3)) == 1
        assert (await kept.answer("k2"), await kept.answer("k3")) == (later, None)


async def test_a_replaced_paper_changes_what_a_stored_day_holds(database: str) -> None:
    async with Store.open(database) as store:
        papers = [_paper("2505.00001"), _paper("2505.00002")]
        await store.papers.save_announcements(DAY_A, CATS, [(p, AnnounceType.NEW) for p in papers])
        before = await store.similar.days(CATS, [DAY_A, DAY_B])
        assert [(d.day, d.papers, d.versions) for d in before] == [(DAY_A, 2, 2)]
        await store.papers.apply_replacements([_paper("2505.00002", version=2)])
        after = await store.similar.days(CATS, [DAY_A, DAY_B])
        assert [(d.day, d.papers, d.versions) for d in after] == [(DAY_A, 2, 3)]
        target = papers[0]
        assert similar_key(target, CATS, before) != similar_key(target, CATS, after)
        assert similar_key(target, CATS, after).startswith(
            f"similar:2505.00001v1:{CATS}:2025-05-02..2025-05-02:"
        )


async def test_the_daily_runner_forgets_kept_answers_with_the_rankings(
    make_settings: Any, database: str, day_feed: list[dict[str, Any]]
) -> None:
    paper = day_feed[0]["id"]
    async with processes(make_settings, database, 1) as (core,):
        await core.service.ingest(OPTIONS.categories)
        lookups = Lookups(core.store, core.service, Counted())
        await lookups.similar("team-a", OPTIONS, paper)
        target = (await core.store.papers.get([paper]))[paper]
        key = similar_key(target, CATS, await core.store.similar.days(CATS, [DAY_A]))

        async def tick_on(day: date) -> None:
            runner = DailyRunner(
                core.store,
                core.service,
                Delivery(core.store, {}),
                lambda row: ChannelSettings.defaults(make_settings()),
                clock=lambda: datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                keep_rankings=timedelta(days=60),
            )
            await runner.tick()

        await tick_on(date(2025, 7, 1))  # 60 days keep everything since 2025-05-02
        assert await core.store.similar.answer(key) is not None
        await tick_on(date(2025, 7, 2))
        assert await core.store.similar.answer(key) is None


async def test_a_paper_nothing_is_close_to_gets_said_so_not_a_list_of_strangers(
    make_settings: Any, database: str, day_feed: list[dict[str, Any]]
) -> None:
    odd = Paper(
        "2505.99001",
        "Medieval Falconry Manuscripts",
        "We catalogue falconry manuscripts of Norman abbeys and their marginalia.",
        ("A. Scribe",),
    )
    async with processes(make_settings, database, 1) as (core,):
        await core.service.ingest(OPTIONS.categories)
        await core.store.papers.save_announcements(DAY_A, CATS, [(odd, AnnounceType.NEW)])
        reply = await Lookups(core.store, core.service).similar("team-a", OPTIONS, odd.id)
    assert reply.startswith(
        "Nothing among the 206 papers of the last stored day (2025-05-02) is close to "
        "*Medieval Falconry Manuscripts* (arXiv:2505.99001):"
    )
    assert "papers from 0.12 up are listed" in reply or "none shares a word" in reply
    assert "\n1. " not in reply
