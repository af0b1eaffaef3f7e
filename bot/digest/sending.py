"""Sending a decided day's papers to the LLM: what the store lacks, scored once per criteria key.

It owns the scoring step of a build: the papers sent that have no score under the channel's
criteria key are scored while holding that key's scoring lease (`score:<criteria>:<model>:
<prompt>` through `bot.work`), so no other caller or process pays for the same papers; the
scheduled daily scoring goes through the Batch API first where the endpoint offers it, and a
caller that wants the digest now hurries such a batch (`hurry_flag`). Scores are saved as they
arrive, so an interruption loses nothing already paid for.

This module must not decide which papers are sent, assemble or save a digest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.digest.assembly import dollars
from bot.models import Paper, Score, ScoreKey, Usage
from bot.store import DailyAccount, Store
from bot.work import Work

if TYPE_CHECKING:
    from scoring.batch import BatchScorer
    from scoring.scorer import Scorer

log = logging.getLogger(__name__)

StageCallback = Callable[[str, int, int], None]
"""Progress of a build: (stage name, done, total); the scoring reports its own stage."""


class DaySender:
    """Scores what a channel-day sends and the store lacks (see module docstring)."""

    def __init__(
        self,
        store: Store,
        work: Work,
        scorer: Scorer,
        batch: BatchScorer | None = None,
        *,
        daily_budget_usd: float | None = None,
        account: DailyAccount | None = None,
    ) -> None:
        self._account = account
        self._store = store
        self._work = work
        self._scorer = scorer
        self._batch = batch
        self._daily_budget = daily_budget_usd

    async def score_sent(
        self,
        papers: Sequence[Paper],
        key: ScoreKey,
        day: date,
        criteria_text: str,
        progress: StageCallback,
        examples: Sequence[Paper] = (),
        batch_until: datetime | None = None,
        *,
        language: str = "en",
    ) -> tuple[Usage, bool]:
        """Score what the store lacks (with liked `examples` in the prompt, its written text in
        the channel's `language`), holding the
        criteria key's scoring lease, each request held in the daily budget's `account` before
        it is sent; returns the run's usage and whether the daily budget stopped it."""
        ids = [p.id for p in papers]
        if len(await self._store.scores.get(ids, key)) == len(set(ids)):
            return Usage(), False
        async with self._work.exclusive(scoring_unit(key)):
            have = await self._store.scores.get(ids, key)
            todo = [p for p in papers if p.id not in have]
            log.info("scoring %d papers (%d already scored)", len(todo), len(have))
            if not todo:
                return Usage(), False

            async def sink(scores: Sequence[Score], usage: Usage) -> None:
                await self._store.scores.save(scores, key, usage, day)

            def tick(done: int, total: int) -> None:
                progress("scoring with the LLM", done, total)

            if self._scorer.can_score:  # without a key the day is ranked locally instead
                tick(0, len(todo))
            batched = Usage()
            if batch_until is not None and self._batch is not None:
                flag = hurry_flag(key)
                done = await self._batch.score(
                    todo,
                    criteria_text,
                    sink,
                    until=batch_until,
                    examples=examples,
                    language=language,
                    hurry=lambda: self._work.signalled(flag),
                    account=self._account,
                )
                batched, left = done.usage, set(done.unscored)
                todo = [p for p in todo if p.id in left]
            report = await self._scorer.score(
                todo,
                criteria_text,
                sink,
                tick,
                account=self._account,
                examples=examples,
                language=language,
            )
        if report.budget_reached:
            log.warning(
                "daily LLM budget of %s reached on %s: %d papers not scored",
                dollars(self._daily_budget),
                day,
                len(report.unscored),
            )
        return batched + report.usage, report.budget_reached


def scoring_unit(key: ScoreKey) -> str:
    """The unit of work of scoring papers under one key (one holder at a time)."""
    return f"score:{key.criteria_id}:{key.model}:{key.prompt_version}"


def hurry_flag(key: ScoreKey) -> str:
    """The flag that asks a batch scoring under `key` to finish early."""
    return f"hurry:{scoring_unit(key)}"
