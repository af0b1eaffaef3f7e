"""A channel's day in the store: loading what deciding it needs, and saving what was built.

It owns the reads and the write of a channel-day: its context (`DayContext`: criteria,
announcements, candidates, follows, the channel's reactions and the stored decision with the
digest as first built), and, once the day is scored, its record (`DayRecord`: the scores under
the channel's criteria, the day's spend and, for a day ranked locally only, its ranking), which
`bot.digest.assembly` turns into a digest; then the one write of a build (`finish_day`: the digest
with the decision it was built on, and what the ranking learned from). `bot.digest.building`
builds on it; `arxiv-bot digest --day` uses it alone to show a day that needs nothing more
(`shown`), without loading the HTTP, arXiv or LLM clients.

This module must not fetch, score or decide a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from bot.arxiv.categories import categories_key
from bot.digest import following
from bot.digest.assembly import (
    BuildOutcome,
    DayContext,
    DayRecord,
    assemble,
    frozen,
    select,
    shares_local_only,
)
from bot.digest.options import DigestOptions
from bot.digest.selection import digest_from_json, digest_to_json
from bot.digest.taste import channel_taste
from bot.models import AnnounceType, Criteria, Digest, DigestEntry, Paper, ScoreKey
from bot.store import Announcement, DigestFrame, Reaction, Store
from scoring.prompt import prompt_version


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
        key = ScoreKey(criteria_id(criteria), self._model, prompt_version(options.language))
        follows = tuple(await self._store.follows.active(channel_id))
        reactions = tuple(await self.reactions(channel_id, options))
        frame = await self._store.digests.frame(channel_id, day)
        decided = None
        if frame is not None and frozen(frame, criteria):
            decided = await self._decided(channel_id, day)
        matched = await following.match_off_loop(candidates, follows)
        return DayContext(
            channel_id,
            day,
            criteria,
            version,
            key,
            tuple(announced),
            candidates,
            follows,
            frame,
            reactions,
            matched,
            decided,
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

    async def _decided(self, channel_id: str, day: date) -> Digest | None:
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
        return await self._as_stored(ctx, options)

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
        frame = ctx.frame
        if frame is None or frame.sent_ids is None or not ctx.frozen:
            return None
        scored = await self._store.scores.get(list(frame.sent_ids), ctx.key)
        if len(scored) < len(set(frame.sent_ids)):
            return None
        if enrich and await self._store.papers.unenriched([p.id for p in ctx.candidates]):
            return None
        return await self._as_stored(ctx, options)

    async def _as_stored(self, ctx: DayContext, options: DigestOptions) -> Digest:
        frame = ctx.frame if ctx.frozen else None
        taste: dict[str, float] = {}
        likes = 0
        if ctx.decided is None:
            taste, likes = await channel_taste(ctx.candidates, ctx.reactions)
        outcome = BuildOutcome(
            sent=frame.sent_ids if frame is not None else None,
            ranked=frame.ranking_key if frame is not None else None,
            taste=taste,
            likes=likes,
        )
        record = await self.record(ctx, outcome)
        return assemble(record, options, outcome, self._daily_budget)

    async def selection_under(
        self, criteria: Criteria, day: date, options: DigestOptions
    ) -> tuple[DigestEntry, ...]:
        """What a day's digest selects under other criteria, from stored scores only."""
        announced = await self._store.papers.announced(day, categories_key(options.categories))
        ids = [p.id for p in await self.candidates(announced, day, options)]
        key = ScoreKey(criteria_id(criteria), self._model, prompt_version(options.language))
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

    async def finish_day(
        self, ctx: DayContext, options: DigestOptions, outcome: BuildOutcome
    ) -> Digest:
        """The end of a build: what the digest shows loaded once (with the candidates as the
        store holds them now: enrichment may have added primary categories, comments and
        venues), the digest assembled by a pure function and saved in one write with the
        decision it was built on and what the ranking learned from."""
        ctx = await self.reread(ctx)
        record = await self.record(ctx, outcome)
        digest = assemble(record, options, outcome, self._daily_budget)
        frame = DigestFrame(ctx.key.criteria_id, outcome.ranked, tuple(outcome.sent or ()))
        await self._store.digests.save(
            ctx.channel_id, ctx.day, "scored", digest_to_json(digest), frame
        )
        learned = outcome.learning
        if learned is not None:
            await self._store.rankings.save_learning(
                ctx.channel_id, learned.liked, learned.verdicts, learned.recall, learned.measured
            )
        return digest

    async def record(self, ctx: DayContext, outcome: BuildOutcome) -> DayRecord:
        """Everything the digest of a day shows that scoring may have changed, read in one
        place: the scores of its candidates, the day's scoring spend and, for a day ranked
        locally only, its ranking."""
        ids = [p.id for p in ctx.candidates]
        scores = await self._store.scores.get(ids, ctx.key)
        key = ctx.key
        usage = await self._store.stats.usage(
            day=ctx.day, model=key.model, criteria_id=key.criteria_id, purpose="score"
        )
        local = None
        if outcome.ranked is not None and shares_local_only(outcome, ctx.decided):
            local = await self._store.rankings.ranking_set(ctx.day, outcome.ranked)
        return DayRecord(ctx, scores, usage, local)


def criteria_id(criteria: Criteria) -> int:
    """A stored criteria's id (criteria are stored before any decision uses them)."""
    assert criteria.id is not None, "criteria must be stored before use"
    return criteria.id
