"""The digest service: today's announcements → scores → a channel's digest.

It orchestrates ingest, the store and the scorer; each of those does its own job. A paper is
scored at most once per (criteria, model, prompt version): scores come from the store when they
exist, so building the same digest twice spends no tokens the second time.

This module must not import a platform SDK or render for people.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.digest import budget_note, digest_to_json, select, stage_counts, unscored_note
from bot.ingest import Ingestor, IngestResult, categories_key
from bot.models import (
    AnnounceType,
    Criteria,
    Digest,
    DigestEntry,
    Paper,
    Score,
    ScoreKey,
    Thresholds,
    Usage,
)
from bot.store import Announcement, Reaction, Store
from scoring import ranking
from scoring.pricing import PriceTable
from scoring.prompt import PROMPT_VERSION, paper_block, system_message
from scoring.scorer import LLMScorer, SpendingCap

if TYPE_CHECKING:
    from bot.channels import ChannelSettings

log = logging.getLogger(__name__)

StageCallback = Callable[[str, int, int], None]
"""Progress of a build: (stage name, done, total)."""


ESTIMATE_BATCH = 12  # papers per request assumed when turning dollars into papers
ESTIMATE_COMPLETION_TOKENS = 60  # per paper: id, a one-line comment and two numbers
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class LLMBudget:
    """How much of a day goes to the LLM after the local ranking: the top `share` of the
    candidates, at least `min_papers`, and (if set) no more than `dollars` of estimated spend."""

    share: float = 0.3
    min_papers: int = 60
    dollars: float | None = None


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """What a channel's digest depends on besides its criteria."""

    categories: tuple[str, ...] = ("cs.LG", "cs.AI")
    thresholds: Thresholds = field(default_factory=Thresholds)
    cross_lists: bool = True
    budget: LLMBudget = field(default_factory=LLMBudget)
    learning: bool = True
    prompt_examples: int = 5

    @classmethod
    def for_channel(cls, s: ChannelSettings) -> DigestOptions:
        """A channel's options from its resolved settings (LLM budget and learning included)."""
        return cls(
            categories=s.categories,
            thresholds=s.thresholds,
            cross_lists=s.cross_lists,
            budget=LLMBudget(s.llm_share, s.llm_min_papers, s.llm_dollars),
            learning=s.learning,
            prompt_examples=s.prompt_examples,
        )


@dataclass(frozen=True, slots=True)
class DayOutcome:
    """The result of building a day's digest: a digest, or why there is none."""

    digest: Digest | None
    ingest: IngestResult | None = None


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


class DigestService:
    """Builds digests for channels from one shared store, ingest and scorer."""

    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        scorer: LLMScorer,
        prices: PriceTable | None = None,
        *,
        daily_budget_usd: float | None = None,
    ) -> None:
        self._store = store
        self._ingestor = ingestor
        self._scorer = scorer
        self._prices = prices or PriceTable()
        self._daily_budget = daily_budget_usd

    async def use_criteria(
        self, channel_id: str, text: str, changed_by: str
    ) -> tuple[Criteria, int]:
        """Make `text` the channel's criteria unless it already is; returns it and its version."""
        current = await self._store.channel_criteria(channel_id)
        criteria = await self._store.criteria(text)
        if current is not None and current[0].id == criteria.id:
            return current
        version = await self._store.set_channel_criteria(channel_id, criteria, changed_by)
        log.info("channel %s: criteria version %d by %s", channel_id, version, changed_by)
        return criteria, version

    async def ingest(self, categories: Sequence[str]) -> IngestResult:
        """Fetch and store the current feed of a category set (one request for all channels
        reading it)."""
        return await self._ingestor.fetch(categories)

    async def today(
        self,
        channel_id: str,
        options: DigestOptions,
        progress: StageCallback = _no_progress,
    ) -> DayOutcome:
        """Fetch today's feed and build the channel's digest for its announcement day."""
        progress("fetching arXiv feed", 0, 1)
        ingest = await self._ingestor.fetch(options.categories)
        if not ingest.announced or ingest.day is None:
            return DayOutcome(digest=None, ingest=ingest)
        digest = await self.build(channel_id, ingest.day, options, progress, ingest.replaced)
        return DayOutcome(digest=digest, ingest=ingest)

    async def build(
        self,
        channel_id: str,
        day: date,
        options: DigestOptions,
        progress: StageCallback = _no_progress,
        replaced: int = 0,
        *,
        scored_only: bool = False,
    ) -> Digest | None:
        """Build (scoring what is missing, unless `scored_only`) the channel's digest of a
        stored day; None when the store has no announcement for that day."""
        current = await self._store.channel_criteria(channel_id)
        if current is None:
            raise LookupError(f"channel {channel_id} has no criteria")
        criteria, version = current
        announced = await self._store.announced(day, categories_key(options.categories))
        if not announced:
            return None
        candidates = await self._candidates(announced, day, options)
        ids = [p.id for p in candidates]
        key = ScoreKey(_id(criteria), self._scorer.model, PROMPT_VERSION)
        sent: list[str] | None
        if scored_only:
            stored = await self._store.ranking(channel_id, day)
            sent = [r.paper_id for r in stored if r.sent] if stored else None
            run_usage, capped = Usage(), False
        else:
            sent, run_usage, capped = await self._rank_and_score(
                channel_id, day, criteria, key, announced, candidates, options, progress
            )
        digest = await self._assemble(
            channel_id,
            day,
            criteria,
            version,
            key,
            announced,
            ids,
            options,
            run_usage,
            replaced,
            sent,
            budget_reached=capped,
        )
        if scored_only:
            return digest
        await self._store.save_digest(channel_id, day, "scored", digest_to_json(digest))
        return digest

    async def _rank_and_score(
        self,
        channel_id: str,
        day: date,
        criteria: Criteria,
        key: ScoreKey,
        announced: Sequence[Announcement],
        candidates: Sequence[Paper],
        options: DigestOptions,
        progress: StageCallback,
    ) -> tuple[list[str], Usage, bool]:
        """Rank the candidates, score the top that lacks a score (enriching meanwhile); returns
        the ids sent to the LLM, what this run spent, and whether the daily budget stopped it."""
        enrichment = asyncio.create_task(self._ingestor.enrich([p.id for p in candidates]))
        try:
            progress("ranking locally", 0, len(candidates))
            reactions = await self._reactions(channel_id, options)
            core = {a.paper.id for a in announced if a.announce_type is AnnounceType.NEW}
            chosen = await self._rank(
                channel_id, day, criteria, key, candidates, core, options, reactions
            )
            chosen_ids = set(chosen)
            liked = [r.paper for r in reactions if r.value > 0][: options.prompt_examples]
            run_usage, capped = await self._score_missing(
                [p for p in candidates if p.id in chosen_ids], criteria, key, day, progress, liked
            )
        finally:
            progress("enriching from the arXiv API", 0, 1)
            await enrichment
        return chosen, run_usage, capped

    async def selection_under(
        self, criteria: Criteria, day: date, options: DigestOptions
    ) -> tuple[DigestEntry, ...]:
        """What a day's digest selects under other criteria, from stored scores only."""
        announced = await self._store.announced(day, categories_key(options.categories))
        ids = [p.id for p in await self._candidates(announced, day, options)]
        key = ScoreKey(_id(criteria), self._scorer.model, PROMPT_VERSION)
        scores = await self._store.scores(ids, key)
        papers = await self._store.papers(ids)
        return select((papers[i] for i in ids), scores, options.thresholds)

    async def _candidates(
        self, announced: Sequence[Announcement], day: date, options: DigestOptions
    ) -> list[Paper]:
        kept = [
            a.paper for a in announced if a.announce_type is AnnounceType.NEW or options.cross_lists
        ]
        seen_before = await self._store.announced_before([p.id for p in kept], day)
        return [p for p in kept if p.id not in seen_before]

    async def _reactions(self, channel_id: str, options: DigestOptions) -> list[Reaction]:
        """The channel's likes, dislikes and ignored posts, when it learns from them."""
        return await self._store.reactions(channel_id) if options.learning else []

    async def _rank(
        self,
        channel_id: str,
        day: date,
        criteria: Criteria,
        key: ScoreKey,
        candidates: Sequence[Paper],
        core: Set[str],
        options: DigestOptions,
        reactions: Sequence[Reaction],
    ) -> list[str]:
        """Rank every candidate locally, keep the ranking, and return the ids worth the LLM."""
        examples = [_example(r) for r in reactions]
        examples += await self._verdicts(key, [p.id for p in candidates], options.thresholds)
        ranked = await asyncio.to_thread(ranking.rank, candidates, criteria.text, examples, core)
        budget = options.budget
        k = ranking.sent_count(len(candidates), budget.share, budget.min_papers)
        if budget.dollars is not None:
            by_id = {p.id: p for p in candidates}
            in_order = [by_id[pid] for pid in ranked.top(len(candidates))]
            k = min(k, await self._affordable(in_order, budget.dollars, criteria, reactions))
        await self._store.save_ranking(
            channel_id,
            day,
            ranked.version,
            [(r.paper_id, r.score, r.rank, r.rank <= k) for r in ranked.entries],
        )
        log.info(
            "channel %s, %s: ranked %d papers locally (learned from %d likes and %d LLM "
            "verdicts), %d go to the LLM",
            channel_id,
            day,
            len(candidates),
            ranked.liked,
            ranked.verdicts,
            k,
        )
        recall, measured = (
            await self._measure(channel_id, day, criteria, options, examples)
            if options.learning
            else (None, None)
        )
        await self._store.save_learning(channel_id, ranked.liked, ranked.verdicts, recall, measured)
        return ranked.top(k)

    async def _verdicts(
        self, key: ScoreKey, exclude: Sequence[str], thresholds: Thresholds
    ) -> list[ranking.Example]:
        """The LLM's earlier verdicts under these criteria as training examples: selected by
        the channel's thresholds or not. The papers being ranked are left out."""
        return [
            ranking.Example(
                paper, ranking.SELECTED if thresholds.admits(score) else ranking.REJECTED
            )
            for paper, score in await self._store.verdicts(key, exclude, ranking.MAX_EXAMPLES)
        ]

    async def _affordable(
        self,
        in_order: Sequence[Paper],
        dollars: float,
        criteria: Criteria,
        reactions: Sequence[Reaction],
    ) -> int:
        """How many of the best-ranked papers fit in `dollars` of estimated LLM spend (papers
        already scored under this model are free)."""
        price = self._prices.price(self._scorer.model)
        if price is None:
            return len(in_order)
        have = await self._store.scores(
            [p.id for p in in_order],
            ScoreKey(_id(criteria), self._scorer.model, PROMPT_VERSION),
        )
        system = system_message(criteria.text, structured=True)
        shared = len(system) / CHARS_PER_TOKEN / ESTIMATE_BATCH
        spent = 0.0
        for n, paper in enumerate(in_order):
            if paper.id in have:
                continue
            tokens = len(paper_block(paper)) / CHARS_PER_TOKEN + shared
            spent += (tokens * price.input + ESTIMATE_COMPLETION_TOKENS * price.output) / 1e6
            if spent > dollars:
                return n
        return len(in_order)

    async def _measure(
        self,
        channel_id: str,
        day: date,
        criteria: Criteria,
        options: DigestOptions,
        examples: Sequence[ranking.Example],
    ) -> tuple[float | None, date | None]:
        """Recall of liked papers on the latest earlier ranked day that has any: that day
        re-ranked without its own reactions, the share of its liked papers the budget sends on."""
        liked = {e.paper.id for e in examples if e.label is ranking.LIKE}
        if not liked:
            return None, None
        for earlier in await self._store.ranked_days(channel_id, day, limit=10):
            ids = [r.paper_id for r in await self._store.ranking(channel_id, earlier)]
            wanted = liked & set(ids)
            if not wanted:
                continue
            papers = await self._store.papers(ids)
            held_out = [e for e in examples if e.paper.id not in papers]
            announced = await self._store.announced(earlier, categories_key(options.categories))
            core = {a.paper.id for a in announced if a.announce_type is AnnounceType.NEW}
            redone = await asyncio.to_thread(
                ranking.rank,
                [papers[i] for i in ids if i in papers],
                criteria.text,
                held_out,
                core,
            )
            k = ranking.sent_count(len(papers), options.budget.share, options.budget.min_papers)
            return ranking.recall(redone, sorted(wanted), k), earlier
        return None, None

    async def _score_missing(
        self,
        papers: Sequence[Paper],
        criteria: Criteria,
        key: ScoreKey,
        day: date,
        progress: StageCallback,
        examples: Sequence[Paper] = (),
    ) -> tuple[Usage, bool]:
        """Score what the store lacks (with liked `examples` in the prompt); returns the run's
        usage and whether the daily budget stopped it."""
        have = await self._store.scores([p.id for p in papers], key)
        todo = [p for p in papers if p.id not in have]
        log.info("scoring %d papers (%d already scored)", len(todo), len(have))
        if not todo:
            return Usage(), False
        cap = None
        if self._daily_budget is not None:
            spent = (await self._store.usage(day=day)).cost_usd
            cap = SpendingCap(self._daily_budget, spent_usd=spent)

        async def sink(scores: Sequence[Score], usage: Usage) -> None:
            await self._store.save_scores(scores, key, usage, day)

        def tick(done: int, total: int) -> None:
            progress("scoring with the LLM", done, total)

        tick(0, len(todo))
        report = await self._scorer.score(todo, criteria.text, sink, tick, cap, examples=examples)
        if report.budget_reached:
            log.warning(
                "daily LLM budget of %s reached on %s: %d papers not scored",
                _dollars(self._daily_budget),
                day,
                len(report.unscored),
            )
        return report.usage, report.budget_reached

    async def _assemble(
        self,
        channel_id: str,
        day: date,
        criteria: Criteria,
        version: int,
        key: ScoreKey,
        announced: Sequence[Announcement],
        ids: Sequence[str],
        options: DigestOptions,
        run_usage: Usage,
        replaced: int,
        sent: Sequence[str] | None = None,
        *,
        budget_reached: bool = False,
    ) -> Digest:
        scores = await self._store.scores(ids, key)
        papers = await self._store.papers(ids)
        entries = select((papers[i] for i in ids), scores, options.thresholds)
        counts = stage_counts(
            [a.paper.id for a in announced], ids, scores, len(entries), replaced, sent
        )
        notes: tuple[str, ...] = ()
        # of the papers the ranking sent on: ranked-out papers were never meant to be scored
        if counts.unscored and budget_reached:
            notes = (budget_note(counts.unscored, counts.sent, _dollars(self._daily_budget)),)
        elif counts.unscored:
            notes = (unscored_note(counts.unscored, counts.sent),)
        usage = await self._store.usage(
            day=day, model=key.model, criteria_id=key.criteria_id, purpose="score"
        )
        return Digest(
            day=day,
            channel_id=channel_id,
            model=key.model,
            criteria=criteria,
            criteria_version=version,
            thresholds=options.thresholds,
            counts=counts,
            entries=entries,
            usage=usage,
            run_usage=run_usage,
            notes=notes,
        )


def _dollars(value: float | None) -> str:
    return f"${value:,.2f}" if value is not None else "(none)"


def _example(reaction: Reaction) -> ranking.Example:
    label = (
        ranking.LIKE
        if reaction.value > 0
        else ranking.DISLIKE
        if reaction.value < 0
        else ranking.POSTED
    )
    return ranking.Example(reaction.paper, label)


def _id(criteria: Criteria) -> int:
    assert criteria.id is not None, "criteria must be stored before use"
    return criteria.id
