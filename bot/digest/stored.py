"""A channel's digest of a stored day, put together from the store alone.

It owns reading what a day's digest shows: the day's candidates for a channel, its scores under
the channel's criteria, the order and "more like" part the day was decided with, the channel's
taste (from its reactions) for a day not yet decided, followed papers, counts, notes and usage.
`DigestService` builds on it; `arxiv-bot digest --day` uses it alone to show a day that needs
nothing more (`shown`), without loading the HTTP, arXiv or LLM clients.

This module must not fetch, score, decide a day or write to the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.arxiv.categories import categories_key
from bot.digest import following
from bot.digest.options import DigestOptions
from bot.digest.selection import (
    budget_note,
    digest_from_json,
    local_top,
    more_like_liked,
    select,
    stage_counts,
    taste_order,
    unscored_note,
)
from bot.models import (
    AnnounceType,
    Criteria,
    Digest,
    DigestEntry,
    Follow,
    LLMShare,
    Paper,
    ScoreKey,
    Thresholds,
    Usage,
)
from bot.store import Announcement, DigestFrame, Reaction, Store
from scoring import ranking, share
from scoring.pricing import format_usd
from scoring.prompt import PROMPT_VERSION

TASTE_HALF = 2
"""Likes at which the channel's taste and the LLM's scores order the cards equally: a like is
a person saying "more like this, first", so a few of them already count."""
TASTE_MAX = 0.8
"""The LLM's scores always keep some say in the order."""


@dataclass(frozen=True, slots=True)
class DayContext:
    """What deciding a channel's day needs, loaded once: criteria, the day's announcements and
    the channel's candidates among them."""

    channel_id: str
    day: date
    criteria: Criteria
    version: int
    key: ScoreKey
    announced: tuple[Announcement, ...]
    candidates: list[Paper]
    follows: tuple[Follow, ...] = ()


class StoredDays:
    """Digests of stored days under one model, read from the store."""

    def __init__(self, store: Store, model: str, *, daily_budget_usd: float | None = None) -> None:
        self._store = store
        self._model = model
        self._daily_budget = daily_budget_usd

    async def context(
        self, channel_id: str, day: date, options: DigestOptions
    ) -> DayContext | None:
        """Everything a decision about a channel's day needs, loaded once; None when the store
        has no announcement of the day for the channel's categories."""
        current = await self._store.channels.channel_criteria(channel_id)
        if current is None:
            raise LookupError(f"channel {channel_id} has no criteria")
        criteria, version = current
        announced = await self._store.papers.announced(day, categories_key(options.categories))
        if not announced:
            return None
        candidates = await self.candidates(announced, day, options)
        key = ScoreKey(criteria_id(criteria), self._model, PROMPT_VERSION)
        follows = tuple(await self._store.follows.active(channel_id))
        return DayContext(
            channel_id, day, criteria, version, key, tuple(announced), candidates, follows
        )

    async def reread(self, ctx: DayContext) -> DayContext:
        """The context with its candidates as the store holds them now (enrichment may have
        added primary categories, comments and venues since it was loaded)."""
        now = await self._store.papers.get([p.id for p in ctx.candidates])
        return replace(ctx, candidates=[now.get(p.id, p) for p in ctx.candidates])

    async def candidates(
        self, announced: Sequence[Announcement], day: date, options: DigestOptions
    ) -> list[Paper]:
        """A day's papers as the channel's digest considers them (new ones, and cross-lists
        when the channel wants them; none an earlier day announced)."""
        kept = [
            a.paper for a in announced if a.announce_type is AnnounceType.NEW or options.cross_lists
        ]
        seen_before = await self._store.papers.announced_before([p.id for p in kept], day)
        return [p for p in kept if p.id not in seen_before]

    async def decided(self, channel_id: str, day: date) -> Digest | None:
        """The digest as first built, when the day was decided: its order, its "more like"
        part and its share stay as they were."""
        record = await self._store.digests.get(channel_id, day)
        if record is None or not isinstance(record[1], dict):
            return None
        return digest_from_json(record[1])

    async def stored(self, channel_id: str, day: date, options: DigestOptions) -> Digest | None:
        """The digest from the store alone: the day's frozen selection and its scores (papers
        still unscored are counted as waiting)."""
        ctx = await self.context(channel_id, day, options)
        if ctx is None:
            return None
        frame = await self._store.digests.frame(channel_id, day)
        return await self._as_stored(ctx, options, frame)

    async def shown(
        self, channel_id: str, day: date, options: DigestOptions, *, enrich: bool = True
    ) -> Digest | None:
        """The digest of a day decided under the channel's current criteria when building it
        again would only read: every paper sent to the LLM is scored and, when `enrich`, every
        candidate enriched from the arXiv API. None when a build has something left to do (or
        the day is not stored)."""
        ctx = await self.context(channel_id, day, options)
        if ctx is None:
            return None
        frame = await self._store.digests.frame(channel_id, day)
        if frame is None or frame.sent_ids is None or not frozen(frame, ctx.criteria):
            return None
        scored = await self._store.scores.get(list(frame.sent_ids), ctx.key)
        if len(scored) < len(set(frame.sent_ids)):
            return None
        if enrich and await self._store.papers.unenriched([p.id for p in ctx.candidates]):
            return None
        return await self._as_stored(ctx, options, frame)

    async def _as_stored(
        self, ctx: DayContext, options: DigestOptions, frame: DigestFrame | None
    ) -> Digest:
        decided = frame is not None and frozen(frame, ctx.criteria)
        sent = frame.sent_ids if frame is not None and decided else None
        before = await self.decided(ctx.channel_id, ctx.day) if decided else None
        key = frame.ranking_key if frame is not None and decided else None
        return await self.assemble(ctx, options, Usage(), 0, sent, decided=before, ranked=key)

    async def selection_under(
        self, criteria: Criteria, day: date, options: DigestOptions
    ) -> tuple[DigestEntry, ...]:
        """What a day's digest selects under other criteria, from stored scores only."""
        announced = await self._store.papers.announced(day, categories_key(options.categories))
        ids = [p.id for p in await self.candidates(announced, day, options)]
        key = ScoreKey(criteria_id(criteria), self._model, PROMPT_VERSION)
        scores = await self._store.scores.get(ids, key)
        papers = await self._store.papers.get(ids)
        return select((papers[i] for i in ids), scores, options.thresholds)

    async def day_papers(self, day: date, options: DigestOptions) -> list[Paper]:
        """A stored day's papers as its digest considers them."""
        announced = await self._store.papers.announced(day, categories_key(options.categories))
        return await self.candidates(announced, day, options)

    async def reactions(self, channel_id: str, options: DigestOptions) -> list[Reaction]:
        """What the ranking learns from this channel: its likes, dislikes and ignored posts,
        when it learns and has liked or disliked anything (a channel that never reacted ranks
        like every channel with its criteria, and shares their ranking)."""
        if not options.learning:
            return []
        reactions = await self._store.rankings.reactions(channel_id)
        return reactions if any(r.value for r in reactions) else []

    async def assemble(
        self,
        ctx: DayContext,
        options: DigestOptions,
        run_usage: Usage,
        replaced: int,
        sent: Sequence[str] | None = None,
        budget_reached: bool = False,
        *,
        chosen: share.ShareDecision | None = None,
        decided: Digest | None = None,
        ranked: str | None = None,
    ) -> Digest:
        """The digest of a decided day from the store; `ranked` is the ranking key the day was
        decided on (a day ranked locally only shows that ranking's best papers)."""
        ids = [p.id for p in ctx.candidates]
        scores = await self._store.scores.get(ids, ctx.key)
        papers = {p.id: p for p in ctx.candidates}
        entries = select((papers[i] for i in ids), scores, options.thresholds)
        near = select((papers[i] for i in ids), scores, _just_under(options.thresholds))
        near = tuple(e for e in near if not options.thresholds.admits(e.score))
        if decided is not None:  # a decided day keeps its order and its "more like" part
            entries, more = _as_decided(entries, near, decided)
        else:
            taste, weight = await self._taste(ctx, options)
            entries = taste_order(entries, taste, weight)
            more = more_like_liked(near, taste) if weight > 0 else ()
        counts = stage_counts(
            [a.paper.id for a in ctx.announced], ids, scores, len(entries), replaced, sent
        )
        # followed papers show whatever their score, on a decided day too (never re-scored)
        matched = await following.match_off_loop(ctx.candidates, ctx.follows)
        followed = following.followed_entries((papers[i] for i in ids), matched, scores)
        notes: tuple[str, ...] = ()
        # of the papers the ranking sent on: ranked-out papers were never meant to be scored
        if counts.unscored and budget_reached:
            notes = (budget_note(counts.unscored, counts.sent, dollars(self._daily_budget)),)
        elif counts.unscored:
            notes = (unscored_note(counts.unscored, counts.sent),)
        key = ctx.key
        usage = await self._store.stats.usage(
            day=ctx.day, model=key.model, criteria_id=key.criteria_id, purpose="score"
        )
        llm_share = decided.share if decided is not None else None
        if chosen is not None:
            shared = counts.sent - chosen.followed
            llm_share = _llm_share(chosen, shared, counts.considered, options, usage)
        return Digest(
            day=ctx.day,
            channel_id=ctx.channel_id,
            model=key.model,
            criteria=ctx.criteria,
            criteria_version=ctx.version,
            thresholds=options.thresholds,
            counts=counts,
            entries=entries,
            usage=usage,
            run_usage=run_usage,
            notes=notes,
            more_like=more,
            share=llm_share,
            followed=followed,
            ranked_locally=await self._local_top(ctx.day, llm_share, ranked, papers),
        )

    async def _local_top(
        self, day: date, chosen: LLMShare | None, key: str | None, papers: Mapping[str, Paper]
    ) -> tuple[tuple[Paper, float], ...]:
        """A day ranked locally only shows its local ranking's best papers instead of none."""
        if chosen is None or chosen.reason != share.LOCAL_ONLY or key is None:
            return ()
        ranked = await self._store.rankings.ranking_set(day, key)
        return local_top(ranked.ids, ranked.scores, papers) if ranked is not None else ()

    async def _taste(
        self, ctx: DayContext, options: DigestOptions
    ) -> tuple[dict[str, float], float]:
        """The channel's taste over the day's candidates, learned from its reactions alone
        (likes, 👎, posts nobody liked), and how much it weighs against the LLM's scores;
        nothing when the channel does not learn or never liked a paper."""
        reactions = await self.reactions(ctx.channel_id, options)
        likes = sum(1 for r in reactions if r.value > 0)
        if not likes or not ctx.candidates:
            return {}, 0.0
        examples = [example(r) for r in reactions][: ranking.MAX_EXAMPLES]
        texts = [ranking.paper_text(p) for p in ctx.candidates]
        values = await ranking.learned_scores_off_loop(texts, examples)
        taste = {p.id: float(v) for p, v in zip(ctx.candidates, values, strict=True)}
        return taste, taste_weight(likes)


def taste_weight(likes: int) -> float:
    """How much the channel's taste weighs in the order of its cards."""
    return min(TASTE_MAX, likes / (likes + TASTE_HALF)) if likes > 0 else 0.0


def dollars(value: float | None) -> str:
    """A budget for messages: its amount, or "(none)"."""
    return format_usd(value) if value is not None else "(none)"


def _just_under(thresholds: Thresholds) -> Thresholds:
    """One point under each threshold: the papers a "more like" part may show."""
    return Thresholds(max(1, thresholds.relevance - 1), max(1, thresholds.novelty - 1))


def _as_decided(
    entries: Sequence[DigestEntry], near: Sequence[DigestEntry], decided: Digest
) -> tuple[tuple[DigestEntry, ...], tuple[DigestEntry, ...]]:
    """Today's entries in the order the day was first decided (papers scored since, after an
    outage, follow in score order), and the "more like" papers it showed."""
    place = {e.paper.id: (n, e.moved) for n, e in enumerate(decided.entries)}
    known = sorted((e for e in entries if e.paper.id in place), key=lambda e: place[e.paper.id][0])
    kept = tuple(DigestEntry(e.paper, e.score, place[e.paper.id][1]) for e in known)
    late = tuple(e for e in entries if e.paper.id not in place)
    shown = {e.paper.id for e in decided.more_like}
    return kept + late, tuple(e for e in near if e.paper.id in shown)


def _llm_share(
    chosen: share.ShareDecision, sent: int, considered: int, options: DigestOptions, usage: Usage
) -> LLMShare:
    """What the day's share decision was and about what sending more than the channel's
    share cost (the day's scoring spend, pro rata over the papers sent beyond it)."""
    base_k = ranking.sent_count(considered, chosen.base, options.budget.min_papers)
    extra = max(0, sent - base_k)
    extra_usd = usage.cost_usd * extra / sent if sent else 0.0
    return LLMShare(
        round(sent / considered, 4) if considered else chosen.share,
        chosen.base,
        chosen.reason if extra or chosen.reason == share.LOCAL_ONLY else "base",
        chosen.positives,
        round(extra_usd, 6),
    )


def frozen(frame: DigestFrame, criteria: Criteria) -> bool:
    """Whether a stored decision still holds: it was made under the current criteria."""
    return frame.sent_ids is not None and frame.criteria_id == criteria.id


def example(reaction: Reaction) -> ranking.Example:
    """A channel's reaction as a training example of the ranking."""
    label = (
        ranking.LIKE
        if reaction.value > 0
        else ranking.DISLIKE
        if reaction.value < 0
        else ranking.POSTED
    )
    return ranking.Example(reaction.paper, label)


def criteria_id(criteria: Criteria) -> int:
    """A stored criteria's id (criteria are stored before any decision uses them)."""
    assert criteria.id is not None, "criteria must be stored before use"
    return criteria.id
