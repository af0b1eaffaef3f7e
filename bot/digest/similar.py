"""The closest papers to one paper among the stored days of a category set: the unit of work
behind `/arxiv similar`, done once per key for every caller and process (`bot.work`) and kept
in the store (`bot.store.similar`), so a later caller reuses it instead of computing again.

The key names what the answer depends on: the paper (id and version), the category set, the
stored days compared with (first..last), and a digest of those days' contents (how many papers
each announced, the sum of their versions) and of the similarity method. A newly stored day, a
re-fetched day or a replaced paper makes a new key; an unchanged store reuses the answer. The
answer holds paper ids and similarity values only, the same for every channel: each channel
shows it with its own scores (`bot.digest.search`).

This module must not render for people, spend (LLM or arXiv), or compute on the event loop: the
similarities are `scoring.ranking.similarities_off_loop`, computed in the ranking worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from bot.models import Paper
from bot.store import Store
from bot.store.similar import SimilarAnswer, StoredDay
from bot.work import Work
from scoring import ranking

Similarities = Callable[[str, Sequence[str]], Awaitable[list[float]]]
"""How close each text is to a query text (0 to 1), computed off the event loop."""

METHOD = "tfidf-words-1"
"""Names the similarity method (`scoring.ranking.similarities`): a new method makes new keys."""


def similar_key(paper: Paper, categories: str, days: Sequence[StoredDay]) -> str:
    """The unit of work of one paper's closest papers among these stored days (oldest first)."""
    contents = ";".join(f"{d.day}:{d.papers}:{d.versions}" for d in days)
    digest = hashlib.sha256(f"{METHOD}|{contents}".encode()).hexdigest()[:12]
    span = f"{days[0].day}..{days[-1].day}" if days else "none"
    return f"similar:{paper.id}v{paper.version}:{categories}:{span}:{digest}"


def closest_of(
    values: Sequence[float], candidates: Sequence[Paper], limit: int
) -> tuple[tuple[str, float], ...]:
    """The `limit` candidates closest by `values`, best first (ties by id); none at 0."""
    close = sorted(
        ((p.id, v) for v, p in zip(values, candidates, strict=True) if v > 0),
        key=lambda pv: (-pv[1], pv[0]),
    )
    return tuple(close[:limit])


class SimilarPapers:
    """One paper's closest papers among stored days, computed once (see module docstring)."""

    def __init__(
        self,
        store: Store,
        work: Work,
        similarities: Similarities = ranking.similarities_off_loop,
        limit: int = 10,
    ) -> None:
        self._store = store
        self._work = work
        self._similarities = similarities
        self._limit = limit

    async def closest(self, target: Paper, categories: str, days: Sequence[date]) -> SimilarAnswer:
        """`target`'s closest papers among the papers the `days` of a category set announced
        (itself left out), kept or computed now by one caller of all processes."""
        stored = await self._store.similar.days(categories, days)
        key = similar_key(target, categories, stored)

        async def load() -> SimilarAnswer | None:
            return await self._store.similar.answer(key)

        async def make() -> SimilarAnswer:
            answer = await self._compute(target, categories, days)
            newest = max(days) if days else date.min
            return await self._store.similar.save(key, target.id, categories, newest, answer)

        return await self._work.once(key, load, make)

    async def _compute(self, target: Paper, categories: str, days: Sequence[date]) -> SimilarAnswer:
        seen: dict[str, Paper] = {}
        for day in sorted(days, reverse=True):
            for a in await self._store.papers.announced(day, categories):
                if a.paper.id != target.id:
                    seen.setdefault(a.paper.id, a.paper)
        candidates = list(seen.values())
        values = await self._similarities(
            ranking.paper_text(target), [ranking.paper_text(p) for p in candidates]
        )
        close = closest_of(values, candidates, self._limit)
        return SimilarAnswer(
            tuple(pid for pid, _ in close), tuple(v for _, v in close), len(candidates)
        )
