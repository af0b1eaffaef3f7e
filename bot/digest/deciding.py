"""Deciding a channel's day: which papers go to the LLM.

It owns the local ranking of a day (shared by every channel with the same ranking key, made
once through `bot.work`), the share of it sent on (`scoring.share`: warm-up, shortened by an
imported reading list (`scoring.warm_start`), the cut where the likely picks are in,
calibrated on the channel's earlier decided days, a dollar cap), what the ranking learns from
(the LLM's earlier verdicts and the channel's reactions), the measured recall of liked papers,
the channel's followed papers, which join what is sent whatever their rank, and the channel's
taste, which orders the cards of a day decided now. What a decision needs beyond the day's
context is loaded once (`DecisionInputs`); the decision is then made by pure functions
(`scoring.ranking`, `scoring.share`, `scoring.pricing`, `bot.digest.taste`); the ranking is
kept under its key as it is made, and everything else goes back to the caller to save
(`BuildOutcome`).

This module must not score, post or render anything, or save a day.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.arxiv.categories import categories_key
from bot.digest.assembly import BuildOutcome, DayContext, Learning, frozen
from bot.digest.options import DigestOptions
from bot.digest.taste import channel_taste, example
from bot.models import AnnounceType, Paper, ScoreKey
from bot.store import RankingSet, Reaction, Store
from bot.work import Work
from scoring import ranking, share, warm_start
from scoring.pricing import Price, PriceTable, affordable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EarlierDay:
    """The latest earlier ranked day with liked papers, as measuring recall re-ranks it: its
    papers in its ranking's order, the examples it is re-ranked with (its own left out), its
    core (new) papers, and the liked papers among it."""

    day: date
    papers: tuple[Paper, ...]
    held_out: tuple[ranking.Example, ...]
    core: frozenset[str]
    wanted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """What deciding a day needs beyond its context, loaded at once: the channel's reactions and
    the LLM's earlier verdicts as examples, the channel's earlier decided days (newest first:
    where their selections ranked among what was sent, which calibrates the share), the papers
    already scored (when a dollar cap applies) and the earlier day recall is measured on."""

    reactions: tuple[ranking.Example, ...]
    verdicts: tuple[ranking.Example, ...]
    history: tuple[share.Yesterday, ...]
    scored: frozenset[str]
    earlier: EarlierDay | None
    imported: int = 0
    """The channel's imported reading list (counted when the channel learns)."""

    @property
    def positives(self) -> int:
        """Selected LLM verdicts under the criteria key that the day's ranking learns from, with
        those an imported reading list stands for (`scoring.warm_start`)."""
        selected = sum(1 for v in self.verdicts if v.label is ranking.SELECTED)
        return selected + warm_start.imported_positives(self.imported)


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
        self, ctx: DayContext, options: DigestOptions, replaced: int = 0
    ) -> BuildOutcome:
        """The day's decision: the one it was first built with while it holds (the criteria are
        the same), else a new one: the top of the day's shared ranking within the channel's
        budget, widened while the ranking warms up, cut where the calibrated likely picks are
        in (`scoring.share`), then the channel's followed papers wherever they rank (the top
        first, then the followed ones in ranking order).

        The ranking and its key do not depend on the follows: channels with equal criteria
        share one ranking whatever they follow, and each channel's decision (its own unit of
        work, `digest:<channel>:<day>`) adds its own followed papers to its own share of it."""
        frame = ctx.frame
        if frame is not None and frozen(frame, ctx.criteria):
            outcome = BuildOutcome(frame.sent_ids, frame.ranking_key, replaced=replaced)
        else:
            outcome, _ = await self._decide_anew(ctx, options, replaced)
        # the channel's taste orders the cards of a day whose first digest is not kept
        taste: dict[str, float] = {}
        likes = 0
        if ctx.decided is None:
            taste, likes = await channel_taste(ctx.candidates, ctx.reactions)
        return replace(outcome, taste=taste, likes=likes)

    async def _decide_anew(
        self, ctx: DayContext, options: DigestOptions, replaced: int
    ) -> tuple[BuildOutcome, RankingSet]:
        """A new decision and the ranking it was made on: the inputs loaded once, the shared
        ranking made once per key, then the pure decision over them."""
        key = ranking_key(ctx.key, options, ctx.reactions)
        inputs = await self._inputs(ctx, options)
        ranked = await self._work.once(
            f"rank:{ctx.day}:{key}",
            lambda: self._store.rankings.ranking_set(ctx.day, key),
            lambda: self._rank(ctx, key, inputs),
        )
        price = self._prices.price(self._model)
        outcome = decide_sent(ctx, options, inputs, ranked, price, self._adaptive)
        if inputs.earlier is not None:
            outcome = replace(
                outcome, learning=await measured(ctx, options, inputs.earlier, outcome)
            )
        log.info(
            "channel %s, %s: %d papers ranked locally (learned from %d likes and %d LLM "
            "verdicts), %d go to the LLM (%s)",
            ctx.channel_id,
            ctx.day,
            len(ranked.ids),
            ranked.liked,
            ranked.verdicts,
            len(outcome.sent or ()),
            outcome.chosen.describe() if outcome.chosen else "",
        )
        return replace(outcome, ranked=key, replaced=replaced), ranked

    async def shared_ranking(self, ctx: DayContext, options: DigestOptions) -> RankingSet:
        """The day's shared ranking under the channel's criteria and reactions as they are now
        (what a first build would decide on), ranked once per ranking key; what it learned
        from is kept as the channel's learning state, as a build keeps it."""
        outcome, ranked = await self._decide_anew(ctx, options, 0)
        learned = outcome.learning
        if learned is not None:
            await self._store.rankings.save_learning(
                ctx.channel_id, learned.liked, learned.verdicts, learned.recall, learned.measured
            )
        return ranked

    async def _inputs(self, ctx: DayContext, options: DigestOptions) -> DecisionInputs:
        """Everything the decision reads besides the context, in one place. The day's own
        candidates are left out of the verdicts, so the decision does not depend on when it
        runs."""
        candidates = [p.id for p in ctx.candidates]
        verdicts = tuple(
            ranking.Example(
                paper, ranking.SELECTED if options.thresholds.admits(score) else ranking.REJECTED
            )
            for paper, score in await self._store.scores.verdicts(
                ctx.key, candidates, ranking.MAX_EXAMPLES
            )
        )
        scored: frozenset[str] = frozenset()
        if options.budget.dollars is not None:
            scored = frozenset(await self._store.scores.get(candidates, ctx.key))
        reactions = tuple(example(r) for r in ctx.reactions)
        imported = await self._store.imports.count(ctx.channel_id) if options.learning else 0
        return DecisionInputs(
            reactions,
            verdicts,
            await self._history(ctx, options),
            scored,
            await self._earlier(ctx, options, reactions),
            imported,
        )

    async def _history(
        self, ctx: DayContext, options: DigestOptions
    ) -> tuple[share.Yesterday, ...]:
        """Up to `share.CALIBRATION_DAYS` of the channel's decided days before this one under
        its current criteria, newest first: each day's size, what it sent and where its
        selections ranked among what was sent (a day decided under other criteria, or whose
        ranking is gone, is skipped)."""
        days: list[share.Yesterday] = []
        limit = share.CALIBRATION_DAYS
        for day in await self._store.rankings.ranked_days(ctx.channel_id, ctx.day, limit=limit):
            frame = await self._store.digests.frame(ctx.channel_id, day)
            if frame is None or frame.sent_ids is None or not frozen(frame, ctx.criteria):
                continue
            assert frame.ranking_key is not None
            ranked = await self._store.rankings.ranking_set(day, frame.ranking_key)
            if ranked is None:
                continue
            sent = share.share_part(ranked.ids, frame.sent_ids)
            scores = await self._store.scores.get(sent, ctx.key)
            chosen = {pid for pid, s in scores.items() if options.thresholds.admits(s)}
            ranks = share.selected_ranks(sent, chosen)
            days.append(share.Yesterday(len(ranked.ids), len(sent), ranks))
        return tuple(days)

    async def _earlier(
        self, ctx: DayContext, options: DigestOptions, examples: Sequence[ranking.Example]
    ) -> EarlierDay | None:
        """The latest earlier ranked day (of the last ten) holding papers the channel liked,
        loaded for measuring the recall of liked papers; None when the channel does not learn
        or liked nothing ranked."""
        liked = {e.paper.id for e in examples if e.label is ranking.LIKE}
        if not options.learning or not liked:
            return None
        for earlier in await self._store.rankings.ranked_days(ctx.channel_id, ctx.day, limit=10):
            ids = [r.paper_id for r in await self._store.rankings.ranking(ctx.channel_id, earlier)]
            wanted = liked & set(ids)
            if not wanted:
                continue
            papers = await self._store.papers.get(ids)
            announced = await self._store.papers.announced(
                earlier, categories_key(options.categories)
            )
            return EarlierDay(
                earlier,
                tuple(papers[i] for i in ids if i in papers),
                tuple(e for e in examples if e.paper.id not in papers),
                frozenset(a.paper.id for a in announced if a.announce_type is AnnounceType.NEW),
                tuple(sorted(wanted)),
            )
        return None

    async def _rank(self, ctx: DayContext, key: str, inputs: DecisionInputs) -> RankingSet:
        """Rank every candidate of the day locally and keep the ranking under its key."""
        core = {a.paper.id for a in ctx.announced if a.announce_type is AnnounceType.NEW}
        examples = [*inputs.reactions, *inputs.verdicts]
        ranked = await ranking.rank_off_loop(ctx.candidates, ctx.criteria.text, examples, core)
        result = RankingSet(
            ranked.version,
            tuple(r.paper_id for r in ranked.entries),
            tuple(r.score for r in ranked.entries),
            ranked.liked,
            ranked.verdicts,
        )
        return await self._store.rankings.save_ranking_set(ctx.day, key, result)


def decide_sent(
    ctx: DayContext,
    options: DigestOptions,
    inputs: DecisionInputs,
    ranked: RankingSet,
    price: Price | None,
    adaptive: bool = True,
) -> BuildOutcome:
    """The decision over what was loaded and the day's ranking, pure: the share sent on (cut to
    what `options`' dollar cap affords at `price`), then the followed papers wherever they
    rank."""
    budget = options.budget
    chosen = share.decide_share(
        budget.share,
        inputs.positives,
        inputs.history,
        adaptive=budget.adaptive and adaptive,
        candidates=len(ranked.ids),
        warmup_cap=budget.warmup_cap,
    )
    k = ranking.sent_count(len(ranked.ids), chosen.share, budget.min_papers)
    if budget.dollars is not None and price is not None:
        by_id = {p.id: p for p in ctx.candidates}
        in_order = [by_id[pid] for pid in ranked.ids if pid in by_id]
        k = min(k, affordable(in_order, budget.dollars, ctx.criteria.text, price, inputs.scored))
    top = ranked.ids[:k]
    extra = tuple(pid for pid in ranked.ids[k:] if pid in ctx.matched)
    return BuildOutcome(
        top + extra,
        chosen=replace(chosen, followed=len(extra)),
        learning=Learning(ranked.liked, ranked.verdicts),
    )


async def measured(
    ctx: DayContext, options: DigestOptions, earlier: EarlierDay, outcome: BuildOutcome
) -> Learning:
    """What the decision's ranking learned from, with the recall of liked papers measured on
    the earlier day: that day re-ranked without its own reactions (off the loop), the share of
    its liked papers the channel's share sends on."""
    redone = await ranking.rank_off_loop(
        earlier.papers, ctx.criteria.text, earlier.held_out, earlier.core
    )
    budget = options.budget
    cut = ranking.sent_count(len(earlier.papers), budget.share, budget.min_papers)
    learned = outcome.learning or Learning(0, 0)
    return replace(
        learned, recall=ranking.recall(redone, earlier.wanted, cut), measured=earlier.day
    )


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
        # an imported paper teaches the ranking less than a like (`scoring.ranking`)
        "reactions": sorted(
            [r.paper.id, r.value, *(["imported"] if r.imported else [])] for r in reactions
        ),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"{key.criteria_id}:{digest[:20]}"
