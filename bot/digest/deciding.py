"""Deciding a channel's day: which papers go to the LLM.

It owns the local ranking of a day (shared by every channel with the same ranking key, made
once through `bot.work`), the share of it sent on (`scoring.share`: warm-up, shortened by an
imported reading list (`scoring.warm_start`), the adaptive share, a dollar cap), what the
ranking learns from (the LLM's earlier verdicts and the channel's reactions), the measured
recall of liked papers, and the channel's followed papers, which join what is sent whatever
their rank. Inputs are loaded from the store, the decision is made by pure functions
(`scoring.ranking`, `scoring.share`).

This module must not score, post or render anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from bot.arxiv.categories import categories_key
from bot.digest import following
from bot.digest.assembly import DayContext, frozen
from bot.digest.options import DigestOptions
from bot.digest.stored import example
from bot.models import AnnounceType, Paper, ScoreKey, Thresholds
from bot.store import RankingSet, Reaction, Store
from bot.work import Work
from scoring import ranking, share, warm_start
from scoring.pricing import PriceTable
from scoring.prompt import paper_block, system_message

log = logging.getLogger(__name__)

ESTIMATE_BATCH = 12  # papers per request assumed when turning dollars into papers
ESTIMATE_COMPLETION_TOKENS = 60  # per paper: id, a one-line comment and two numbers
CHARS_PER_TOKEN = 4


class DayDecider:
    """Decides which papers of a channel's day go to the LLM (see module docstring)."""

    def __init__(
        self, store: Store, work: Work, prices: PriceTable, model: str, *, adaptive: bool = True
    ) -> None:
        self._store = store
        self._work = work
        self._prices = prices
        self._model = model
        self._adaptive = adaptive

    async def decide(
        self, ctx: DayContext, options: DigestOptions, reactions: Sequence[Reaction]
    ) -> tuple[tuple[str, ...], str, share.ShareDecision]:
        """Which papers of the day go to the LLM: the top of the day's shared ranking within the
        channel's budget, widened while the ranking warms up or after a rich tail yesterday
        (`scoring.share`), then the channel's followed papers wherever they rank. Returns them
        (the top first, then the followed ones in ranking order), the ranking's key and the
        share decision.

        The ranking and its key do not depend on the follows: channels with equal criteria
        share one ranking whatever they follow, and each channel's decision (its own unit of
        work, `digest:<channel>:<day>`) adds its own followed papers to its own share of it."""
        key = ranking_key(ctx.key, options, reactions)
        ranked = await self._work.once(
            f"rank:{ctx.day}:{key}",
            lambda: self._store.rankings.ranking_set(ctx.day, key),
            lambda: self._rank(ctx, options, key, reactions),
        )
        budget = options.budget
        positives = await self._positives(ctx, options)
        if options.learning:  # an imported reading list stands for some verdicts
            imported = await self._store.imports.count(ctx.channel_id)
            positives += warm_start.imported_positives(imported)
        chosen = share.decide_share(
            budget.share,
            positives,
            await self._yesterday(ctx, options),
            adaptive=budget.adaptive and self._adaptive,
        )
        k = ranking.sent_count(len(ranked.ids), chosen.share, budget.min_papers)
        if budget.dollars is not None:
            by_id = {p.id: p for p in ctx.candidates}
            in_order = [by_id[pid] for pid in ranked.ids if pid in by_id]
            k = min(k, await self._affordable(in_order, budget.dollars, ctx))
        top = ranked.ids[:k]
        followed = await following.match_off_loop(ctx.candidates, ctx.follows)
        extra = tuple(pid for pid in ranked.ids[k:] if pid in followed)
        chosen = replace(chosen, followed=len(extra))
        log.info(
            "channel %s, %s: %d papers ranked locally (learned from %d likes and %d LLM "
            "verdicts), %d go to the LLM (%s)",
            ctx.channel_id,
            ctx.day,
            len(ranked.ids),
            ranked.liked,
            ranked.verdicts,
            k + len(extra),
            chosen.describe(),
        )
        recall, measured = (None, None)
        if options.learning and reactions:
            examples = [example(r) for r in reactions]
            recall, measured = await self._measure(ctx, options, examples)
        await self._store.rankings.save_learning(
            ctx.channel_id, ranked.liked, ranked.verdicts, recall, measured
        )
        return top + extra, key, chosen

    async def _positives(self, ctx: DayContext, options: DigestOptions) -> int:
        """Selected LLM verdicts under the criteria key that the day's ranking learns from
        (the day's own candidates left out, so the decision does not depend on when it runs)."""
        verdicts = await self._verdicts(ctx.key, [p.id for p in ctx.candidates], options.thresholds)
        return sum(1 for v in verdicts if v.label is ranking.SELECTED)

    async def _yesterday(self, ctx: DayContext, options: DigestOptions) -> share.Yesterday | None:
        """The channel's previous decided day under the same criteria: its size, what it sent
        and where its selections ranked among what was sent."""
        earlier = await self._store.rankings.ranked_days(ctx.channel_id, ctx.day, limit=1)
        if not earlier:
            return None
        frame = await self._store.digests.frame(ctx.channel_id, earlier[0])
        if frame is None or frame.sent_ids is None or not frozen(frame, ctx.criteria):
            return None
        assert frame.ranking_key is not None
        ranked = await self._store.rankings.ranking_set(earlier[0], frame.ranking_key)
        if ranked is None:
            return None
        sent = share.share_part(ranked.ids, frame.sent_ids)
        scores = await self._store.scores.get(sent, ctx.key)
        chosen = {pid for pid, s in scores.items() if options.thresholds.admits(s)}
        ranks = share.selected_ranks(sent, chosen)
        return share.Yesterday(len(ranked.ids), len(sent), ranks)

    async def _rank(
        self,
        ctx: DayContext,
        options: DigestOptions,
        key: str,
        reactions: Sequence[Reaction],
    ) -> RankingSet:
        """Rank every candidate of the day locally and keep the ranking under its key."""
        core = {a.paper.id for a in ctx.announced if a.announce_type is AnnounceType.NEW}
        examples = [example(r) for r in reactions]
        examples += await self._verdicts(
            ctx.key, [p.id for p in ctx.candidates], options.thresholds
        )
        ranked = await ranking.rank_off_loop(ctx.candidates, ctx.criteria.text, examples, core)
        result = RankingSet(
            ranked.version,
            tuple(r.paper_id for r in ranked.entries),
            tuple(r.score for r in ranked.entries),
            ranked.liked,
            ranked.verdicts,
        )
        return await self._store.rankings.save_ranking_set(ctx.day, key, result)

    async def _verdicts(
        self, key: ScoreKey, exclude: Sequence[str], thresholds: Thresholds
    ) -> list[ranking.Example]:
        """The LLM's earlier verdicts under these criteria as training examples: selected by
        the channel's thresholds or not. The papers being ranked are left out."""
        return [
            ranking.Example(
                paper, ranking.SELECTED if thresholds.admits(score) else ranking.REJECTED
            )
            for paper, score in await self._store.scores.verdicts(
                key, exclude, ranking.MAX_EXAMPLES
            )
        ]

    async def _affordable(
        self,
        in_order: Sequence[Paper],
        dollars: float,
        ctx: DayContext,
    ) -> int:
        """How many of the best-ranked papers fit in `dollars` of estimated LLM spend (papers
        already scored under this model are free)."""
        price = self._prices.price(self._model)
        if price is None:
            return len(in_order)
        have = await self._store.scores.get([p.id for p in in_order], ctx.key)
        system = system_message(ctx.criteria.text, structured=True)
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
        ctx: DayContext,
        options: DigestOptions,
        examples: Sequence[ranking.Example],
    ) -> tuple[float | None, date | None]:
        """Recall of liked papers on the latest earlier ranked day that has any: that day
        re-ranked without its own reactions, the share of its liked papers the budget sends on."""
        liked = {e.paper.id for e in examples if e.label is ranking.LIKE}
        if not liked:
            return None, None
        for earlier in await self._store.rankings.ranked_days(ctx.channel_id, ctx.day, limit=10):
            ids = [r.paper_id for r in await self._store.rankings.ranking(ctx.channel_id, earlier)]
            wanted = liked & set(ids)
            if not wanted:
                continue
            papers = await self._store.papers.get(ids)
            held_out = [e for e in examples if e.paper.id not in papers]
            announced = await self._store.papers.announced(
                earlier, categories_key(options.categories)
            )
            core = {a.paper.id for a in announced if a.announce_type is AnnounceType.NEW}
            redone = await ranking.rank_off_loop(
                [papers[i] for i in ids if i in papers], ctx.criteria.text, held_out, core
            )
            k = ranking.sent_count(len(papers), options.budget.share, options.budget.min_papers)
            return ranking.recall(redone, sorted(wanted), k), earlier
        return None, None


def ranking_key(key: ScoreKey, options: DigestOptions, reactions: Sequence[Reaction]) -> str:
    """The key of a day's ranking: everything the ranking depends on. Channels with the same
    criteria, model, prompt, thresholds and categories and no reactions of their own get the
    same key, hence one shared ranking."""
    parts: dict[str, object] = {
        "v": ranking.RANKING_VERSION,
        "criteria": key.criteria_id,
        "model": key.model,
        "prompt": key.prompt_version,
        "categories": categories_key(options.categories),
        "cross": options.cross_lists,
        "thresholds": [options.thresholds.relevance, options.thresholds.novelty],
        "reactions": sorted((r.paper.id, r.value) for r in reactions),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"{key.criteria_id}:{digest[:20]}"
