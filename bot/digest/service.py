"""The digest service: today's announcements → scores → a channel's digest.

It orchestrates ingest, the store and the scorer; each of those does its own job. Every step is
a unit of work shared through `bot.work` by all callers and processes:

- a feed of a category set is fetched once however many channels and commands ask;
- a day is ranked once per ranking key (criteria, model, prompt, thresholds, categories and,
  for a channel that liked or disliked papers, its reactions): channels without reactions of
  their own share one ranking;
- a channel's followed papers (`bot.digest.following`) join its share of the shared ranking, so the
  ranking stays shared whatever each channel follows;
- a paper is scored at most once per (criteria, model, prompt version), under one lease per
  criteria key, so concurrent channels never pay for the same paper twice;
- a channel's digest of a day is decided once: the papers sent to the LLM are frozen with it,
  and rebuilding that day (a later `today`, `digest --day`, the posting tick) reuses them.

A build of a channel-day (`bot.digest.building`) is load, decide, save: the day is loaded once
(`bot.digest.stored`), decided by pure functions over what was loaded (`bot.digest.deciding`),
its sent papers scored (`bot.digest.sending`), its digest assembled by a pure function
(`bot.digest.assembly`) from what is loaded after the scoring, and saved in one write.

This module must not import a platform SDK or render for people.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.arxiv.categories import categories_key
from bot.arxiv.ingest import IngestResult
from bot.digest import following
from bot.digest.building import DayBuilder
from bot.digest.deciding import DayDecider
from bot.digest.options import DigestOptions
from bot.digest.sending import DaySender, StageCallback, hurry_flag, scoring_unit
from bot.digest.stored import StoredDays, criteria_id
from bot.models import Criteria, Digest, DigestEntry, LocalView, Paper, ScoreKey
from bot.store import DailyAccount, Store
from bot.work import Work
from scoring.pricing import PriceTable
from scoring.prompt import prompt_version

if TYPE_CHECKING:
    from bot.arxiv.ingest import Ingestor
    from scoring.batch import BatchScorer
    from scoring.scorer import Scorer

log = logging.getLogger(__name__)

FEED_FRESH_FOR = timedelta(minutes=30)
"""A feed fetched this recently is shared by every caller instead of fetched again."""
HURRY_FOR = 600.0  # seconds a "scores needed now" flag stays up for batches to see


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
        scorer: Scorer,
        prices: PriceTable | None = None,
        *,
        daily_budget_usd: float | None = None,
        work: Work | None = None,
        adaptive_share: bool = True,
        batch: BatchScorer | None = None,
    ) -> None:
        self._batch = batch
        self._store = store
        self._ingestor = ingestor
        self._scorer = scorer
        self._work = work or Work(store)
        self._decider = DayDecider(
            store, self._work, prices or PriceTable(), scorer.model, adaptive=adaptive_share
        )
        self._days = StoredDays(store, scorer.model, daily_budget_usd=daily_budget_usd)
        self._account = (
            DailyAccount(  # holds live as long as leases and belong to this process
                store.budget,
                daily_budget_usd,
                owner=self._work.owner,
                ttl=self._work.ttl,
                gone=self._work.gone,
            )
            if daily_budget_usd is not None
            else None
        )
        self._sender = sender = DaySender(
            store,
            self._work,
            scorer,
            batch,
            daily_budget_usd=daily_budget_usd,
            account=self._account,
        )
        self._builder = DayBuilder(self._days, self._decider, sender, ingestor, self._work)

    @property
    def batching(self) -> bool:
        """Whether the scheduled daily scoring may go through the Batch API."""
        return self._batch is not None

    @property
    def account(self) -> DailyAccount | None:
        """The daily budget's account every paid LLM request is held in (None: no budget)."""
        return self._account

    @property
    def work(self) -> Work:
        """The units of work this service shares with other callers and processes."""
        return self._work

    async def use_criteria(
        self, channel_id: str, text: str, changed_by: str
    ) -> tuple[Criteria, int]:
        """Make `text` the channel's criteria unless it already is; returns it and its version."""
        current = await self._store.channels.channel_criteria(channel_id)
        criteria = await self._store.channels.criteria(text)
        if current is not None and current[0].id == criteria.id:
            return current
        version = await self._store.channels.set_channel_criteria(channel_id, criteria, changed_by)
        log.info("channel %s: criteria version %d by %s", channel_id, version, changed_by)
        return criteria, version

    async def ingest(
        self,
        categories: Sequence[str],
        *,
        since: datetime | None = None,
        now: datetime | None = None,
    ) -> IngestResult:
        """The current feed of a category set, stored: one request for every caller. A fetch
        completed at or after `since` (default: the moment of this call) is reused, whoever
        made it, so callers asking together share one request; `now` is the daily runner's
        clock, recorded as the fetch's time."""
        key = categories_key(categories)
        fresh_from = since if since is not None else (now or datetime.now(UTC))

        async def load() -> IngestResult | None:
            last = await self._store.papers.last_fetch(key)
            if last is None or last.fetched_at < fresh_from:
                return None
            return IngestResult(last.day, last.new, last.cross, last.replaced)

        async def make() -> IngestResult:
            result = await self._ingestor.fetch(categories)
            day = result.day if result.announced else None
            counts = (result.new, result.cross, result.replaced)
            await self._store.papers.record_fetch(key, now or datetime.now(UTC), day, counts)
            return result

        return await self._work.once(f"feed:{key}", load, make)

    async def today(
        self,
        channel_id: str,
        options: DigestOptions,
        progress: StageCallback = _no_progress,
        *,
        since: datetime | None = None,
    ) -> DayOutcome:
        """Fetch today's feed (reusing a fetch completed after `since`, by default one that
        completes while this call waits) and build the channel's digest of its announcement
        day."""
        progress("fetching arXiv feed", 0, 1)
        ingest = await self.ingest(options.categories, since=since)
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
        batch_until: datetime | None = None,
    ) -> Digest | None:
        """The channel's digest of a stored day; None when the store has no announcement for
        that day. The first build decides the day (ranking, papers sent to the LLM); later
        builds reuse that decision and only score what is still missing (papers an outage
        left unscored); `stored` is the digest that never spends. With `batch_until` (the
        scheduled daily scoring) the papers go through the Batch API at half price first,
        where the endpoint offers it, and whatever is not done by then is scored at once;
        a caller asking meanwhile joins this build."""
        if batch_until is None:
            await self._hurry_batches(channel_id, options.language)
        return await self._work.once(
            f"digest:{channel_id}:{day}",
            _nothing,
            lambda: self._builder.build_day(
                channel_id, day, options, progress, replaced, batch_until
            ),
        )

    async def stored(self, channel_id: str, day: date, options: DigestOptions) -> Digest | None:
        """The channel's digest of a stored day from the store alone, spending nothing: the
        day's frozen selection and its scores (papers still unscored are counted as waiting);
        None when the store has no announcement for that day."""
        return await self._days.stored(channel_id, day, options)

    async def _hurry_batches(self, channel_id: str, language: str) -> None:
        """A caller that wants the digest now (a command, a post that is due) must not wait for
        a batch of the channel's criteria: flag it, and it finishes early (cancelled, keeping
        what it scored; the rest is scored at once)."""
        current = await self._store.channels.channel_criteria(channel_id)
        if current is None:
            return
        key = ScoreKey(criteria_id(current[0]), self._scorer.model, prompt_version(language))
        if await self._work.held(scoring_unit(key)):
            await self._work.signal(hurry_flag(key), HURRY_FOR)

    async def ranked_locally(
        self, channel_id: str, day: date, options: DigestOptions, top: int = 15
    ) -> LocalView | None:
        """A stored day ranked on this machine only (the ranking the day was decided on, or the
        one a first build would make now): what can be shown without an LLM."""
        ctx = await self._days.context(channel_id, day, options)
        if ctx is None:
            return None
        frame = ctx.frame
        ranked = None
        if frame is not None and frame.ranking_key and ctx.frozen:
            ranked = await self._store.rankings.ranking_set(day, frame.ranking_key)
        if ranked is None:
            ranked = await self._decider.shared_ranking(ctx, options)
        by_id = {p.id: p for p in ctx.candidates}
        best = (
            [
                (by_id[pid], score)
                for pid, score in zip(ranked.ids, ranked.scores, strict=True)
                if pid in by_id
            ][:top]
            if ranked is not None
            else []
        )
        return LocalView(
            day,
            len({a.paper.id for a in ctx.announced}),
            len(ctx.candidates),
            tuple(best),
            ranked.verdicts if ranked is not None else 0,
            ranked.liked if ranked is not None else 0,
            following.followed_entries(ctx.candidates, ctx.matched, {}),
        )

    async def selection_under(
        self, criteria: Criteria, day: date, options: DigestOptions
    ) -> tuple[DigestEntry, ...]:
        """What a day's digest selects under other criteria, from stored scores only."""
        return await self._days.selection_under(criteria, day, options)

    async def day_papers(self, day: date, options: DigestOptions) -> list[Paper]:
        """A stored day's papers as its digest considers them (new ones, and cross-lists when
        the channel wants them; none an earlier day announced)."""
        return await self._days.day_papers(day, options)

    async def ranking_for(self, channel_id: str, day: date, options: DigestOptions) -> list[str]:
        """A stored day's local ranking under the channel's criteria and reactions as they are
        now, best first: what a first build of that day would use (a built day keeps the
        ranking it was decided on). Ranked once per ranking key, like every ranking."""
        ctx = await self._days.context(channel_id, day, options)
        if ctx is None:
            return []
        return list((await self._decider.shared_ranking(ctx, options)).ids)

    @property
    def can_score(self) -> bool:
        """Whether papers can be sent to the LLM at all (a key is set)."""
        return self._scorer.can_score

    async def score_outside_digest(
        self, papers: Sequence[Paper], criteria: Criteria, day: date
    ) -> bool:
        """Score papers no digest sent (a link someone shared) under `criteria`, through the
        same scoring lease and daily budget as a day's papers (their spend recorded on `day`);
        returns whether the budget stopped it."""
        key = ScoreKey(criteria_id(criteria), self._scorer.model, prompt_version())
        _, capped = await self._sender.score_sent(papers, key, day, criteria.text, _no_progress)
        return capped


async def _nothing() -> None:
    return None
