"""Building a channel's digest of a day: load once, decide, score what is sent, save once.

It owns the order of a build and nothing else: the day's context is loaded in one place
(`bot.digest.stored`), its candidates enriched from the arXiv API beside the rest (once for
every channel reading them), the day decided by pure functions over what was loaded
(`bot.digest.deciding`), the papers it sends scored (`bot.digest.sending`), and the digest
assembled and saved in one write (`StoredDays.finish_day`). The day is decided even when the LLM
refuses: the decision and what was scored are kept, so the digest counts the right papers as
waiting, and the refusal reaches the caller.

This module must not read the store itself, rank, score or assemble: each step belongs to the
module named above. `DigestService.build` runs it as the channel-day's unit of work.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.arxiv.categories import categories_key
from bot.digest.deciding import DayDecider
from bot.digest.options import DigestOptions
from bot.digest.sending import DaySender, StageCallback
from bot.digest.stored import StoredDays
from bot.errors import ScoringError
from bot.models import Digest
from bot.work import Work

if TYPE_CHECKING:
    from bot.arxiv.ingest import Ingestor


class DayBuilder:
    """Builds one channel's digest of one day (see module docstring)."""

    def __init__(
        self,
        days: StoredDays,
        decider: DayDecider,
        sender: DaySender,
        ingestor: Ingestor,
        work: Work,
    ) -> None:
        self._days = days
        self._decider = decider
        self._sender = sender
        self._ingestor = ingestor
        self._work = work

    async def build_day(
        self,
        channel_id: str,
        day: date,
        options: DigestOptions,
        progress: StageCallback,
        replaced: int = 0,
        batch_until: datetime | None = None,
    ) -> Digest | None:
        """The channel's digest of a stored day, built and saved; None when the store has no
        announcement of the day for the channel's categories."""
        ctx = await self._days.context(channel_id, day, options)
        if ctx is None:
            return None
        ids = [p.id for p in ctx.candidates]  # enriched once for every channel reading them
        enrichment = asyncio.create_task(
            self._work.once(
                f"enrich:{categories_key(options.categories)}:{day}",
                _nothing,
                lambda: self._ingestor.enrich(ids),
            )
        )
        refused: ScoringError | None = None
        try:
            if not ctx.frozen:
                progress("ranking locally", 0, len(ctx.candidates))
            outcome = await self._decider.decide(ctx, options, replaced)
            # the team's likes, not its imported reading list: an import teaches the local
            # ranking, and adds nothing to every scoring request
            liked = [r.paper for r in ctx.reactions if r.value > 0 and not r.imported]
            liked = liked[: options.prompt_examples]
            by_id = {p.id: p for p in ctx.candidates}
            sent = [by_id[i] for i in outcome.sent or () if i in by_id]
            try:
                usage, capped = await self._sender.score_sent(
                    sent,
                    ctx.key,
                    day,
                    ctx.criteria.text,
                    progress,
                    liked,
                    batch_until,
                    language=options.language,
                )
                outcome = replace(outcome, run_usage=usage, budget_reached=capped)
            except ScoringError as error:
                refused = error
        finally:
            progress("enriching from the arXiv API", 0, 1)
            await enrichment
        digest = await self._days.finish_day(ctx, options, outcome)
        if refused is not None:
            raise refused
        return digest


async def _nothing() -> None:
    return None
