"""arXiv links someone shared, as this channel sees them: each paper with its relevance and
novelty under the channel's criteria and the model's reason, for an unfurl (Slack) or a
"Score for this channel" answer (Discord).

A paper the store lacks is looked up once with the arXiv API (unit of work `lookup:<ids>`) and
kept. A paper never scored under the channel's criteria is scored once, through the digest
service's scoring lease for that criteria key (`DigestService.score_outside_digest`), so a
second link, another channel with the same criteria or another replica pays nothing. Scoring
counts against the costly commands' rate limits and stops at the daily LLM budget; then the
papers are shown without scores and `LinkViews.note` says why, in one line, in the active
locale (the conversation sets the channel's).

It must not import a platform SDK or render platform markup: adapters render `LinkView`s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.arxiv.api import ArxivApi
from bot.arxiv.links import MAX_ARXIV_LINKS
from bot.conversation.context import Caller, Context
from bot.errors import BotError, FeedError, ScoringError
from bot.i18n import N_, _
from bot.models import Criteria, Paper, Score, ScoreKey
from scoring.prompt import PROMPT_VERSION

log = logging.getLogger(__name__)

SPENT = N_("Not scored for this channel: today's LLM budget is spent")

Charge = Callable[[Caller], Awaitable[object]]
"""Counts one costly use against the caller's rate limits; raises `BotError` when over them."""


@dataclass(frozen=True, slots=True)
class LinkView:
    """One linked paper as a channel sees it; `paper` is None when arXiv has no such id."""

    paper_id: str
    paper: Paper | None
    score: Score | None = None


@dataclass(frozen=True, slots=True)
class LinkViews:
    """The linked papers of one message, the criteria version they are scored under, and why
    some have no score ("" when all do)."""

    views: tuple[LinkView, ...]
    criteria_version: int
    note: str = ""


def missing_text(paper_id: str) -> str:
    """What a link to an id arXiv does not have shows."""
    return _("arXiv has no paper {paper}").format(paper=f"arXiv:{paper_id}")


class LinkScores:
    """Builds `LinkViews` for shared links (see module docstring)."""

    def __init__(
        self,
        ctx: Context,
        api: ArxivApi | None,
        charge: Charge,
        *,
        daily_budget_usd: float | None = None,
    ) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._api = api
        self._charge = charge
        self._budget = daily_budget_usd

    async def views(self, caller: Caller, paper_ids: Sequence[str]) -> LinkViews:
        """The papers linked (at most `MAX_ARXIV_LINKS`) with this channel's scores, scoring
        those never scored under its criteria when the limits allow."""
        ids = list(dict.fromkeys(paper_ids))[:MAX_ARXIV_LINKS]
        papers, note = await self._papers(ids)
        current = await self._store.channels.channel_criteria(caller.channel_id)
        assert current is not None, "channels get default criteria on first contact"
        criteria, version = current
        assert criteria.id is not None
        key = ScoreKey(criteria.id, self._ctx.explainer.model, PROMPT_VERSION)
        scores = await self._store.scores.get(list(papers), key)
        unscored = [p for pid, p in papers.items() if pid not in scores]
        if unscored:
            note = await self._score(caller, unscored, criteria) or note
            scores = await self._store.scores.get(list(papers), key)
            if not note and len(scores) < len(papers):
                note = _(
                    "Not scored for this channel: the LLM gave no usable score; try again later"
                )
        views = tuple(LinkView(pid, papers.get(pid), scores.get(pid)) for pid in ids)
        return LinkViews(views, version, note)

    async def _papers(self, ids: list[str]) -> tuple[dict[str, Paper], str]:
        """The stored papers, and those the store lacks from the arXiv API (kept); a note when
        arXiv could not be asked."""
        papers = await self._store.papers.get(ids)
        missing = sorted(i for i in ids if i not in papers)
        if not missing or self._api is None:
            return papers, ""
        api = self._api

        async def load() -> dict[str, Paper] | None:
            found = await self._store.papers.get(missing)
            return found if len(found) == len(missing) else None

        async def make() -> dict[str, Paper]:
            found = await api.fetch(missing)
            await self._store.papers.save_looked_up(found.values())
            return found

        try:
            papers |= await self._ctx.service.work.once(f"lookup:{','.join(missing)}", load, make)
        except FeedError as exc:
            log.warning("arXiv API lookup of %d linked papers failed: %s", len(missing), exc)
            return papers, _("arXiv did not answer just now, so some links show no details")
        return papers, ""

    async def _score(self, caller: Caller, papers: list[Paper], criteria: Criteria) -> str:
        """Score `papers` under the channel's criteria; why not, in one line, when it did not
        happen ("" when it did)."""
        service = self._ctx.service
        if not service.can_score:
            return _("Not scored for this channel: the bot has no LLM key (OPENAI_API_KEY)")
        if await self._budget_spent():
            return _(SPENT)
        try:
            await self._charge(caller)
        except BotError as exc:
            return _("Not scored for this channel yet. {why}").format(why=exc)
        try:
            capped = await service.score_outside_digest(papers, criteria, _today())
        except ScoringError as exc:
            log.warning("scoring %d linked papers failed: %s", len(papers), exc)
            return _("Not scored for this channel: the LLM could not be reached; try again later")
        return _(SPENT) if capped else ""

    async def _budget_spent(self) -> bool:
        if self._budget is None:
            return False
        return (await self._store.stats.usage(day=_today())).cost_usd >= self._budget


def _today() -> date:
    return datetime.now(UTC).date()
