"""What the LLM said of papers: scores under a criteria, model and prompt version, and the
cached explanations of a score, each stored together with what its call cost.

A score is kept once per paper and key (the first stored stands); nothing here deletes one.

This module must not decide a score or a ranking (`scoring/`), nor read the usage ledger: it
only adds a call's cost to it (`bot.store.stats.insert_usage`) in the transaction that stores
what the call produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.models import Paper, Score, ScoreKey, Usage
from bot.store.backend import Backend
from bot.store.query import chunks, paper_of, qmarks, timestamp
from bot.store.stats import insert_usage


class Scores:
    """LLM scores and explanations (`Store.scores`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def get(self, ids: Sequence[str], key: ScoreKey) -> dict[str, Score]:
        """The stored scores of these papers under one key."""
        out: dict[str, Score] = {}
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    f"SELECT paper_id, relevance, novelty, comment, tldr FROM scores "
                    f"WHERE criteria_id = ? AND model = ? AND prompt_version = ? "
                    f"AND paper_id IN ({qmarks(len(part))})",
                    (key.criteria_id, key.model, key.prompt_version, *part),
                )
                for r in rows:
                    out[r[0]] = Score(r[0], int(r[1]), int(r[2]), r[3], r[4])
        return out

    async def verdicts(
        self, key: ScoreKey, exclude: Sequence[str] = (), limit: int = 3000
    ) -> list[tuple[Paper, Score]]:
        """The newest `limit` papers the LLM scored under one key, with their scores, leaving
        out `exclude` (the papers being ranked must not teach their own ranking)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, s.relevance, s.novelty, s.comment AS verdict FROM scores s "
                "JOIN papers p ON p.id = s.paper_id "
                "WHERE s.criteria_id = ? AND s.model = ? AND s.prompt_version = ? "
                "ORDER BY s.scored_at DESC, s.paper_id LIMIT ?",
                (key.criteria_id, key.model, key.prompt_version, limit + len(exclude)),
            )
        skip = set(exclude)
        out = [
            (paper_of(r), Score(r["id"], int(r["relevance"]), int(r["novelty"]), r["verdict"]))
            for r in rows
            if r["id"] not in skip
        ]
        return out[:limit]

    async def save(
        self, scores: Sequence[Score], key: ScoreKey, usage: Usage, day: date | None
    ) -> None:
        """Store one LLM reply's scores together with what the call cost, atomically."""
        now = timestamp()
        async with self._b.write() as db:
            await db.executemany(
                "INSERT INTO scores (paper_id, criteria_id, model, prompt_version, relevance, "
                "novelty, comment, tldr, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [
                    (
                        s.paper_id,
                        key.criteria_id,
                        key.model,
                        key.prompt_version,
                        s.relevance,
                        s.novelty,
                        s.comment,
                        s.tldr,
                        now,
                    )
                    for s in scores
                ],
            )
            await insert_usage(db, now, day, "score", key.model, key.criteria_id, usage)

    async def channel_scores(self, channel_id: str, ids: Sequence[str]) -> dict[str, Score]:
        """Each paper's score under the newest of this channel's criteria versions that has
        one (any model or prompt); papers the channel never had scored are left out."""
        out: dict[str, Score] = {}
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    "SELECT s.paper_id, s.relevance, s.novelty, s.comment FROM scores s "
                    "JOIN channel_criteria cc ON cc.criteria_id = s.criteria_id "
                    f"WHERE cc.channel_id = ? AND s.paper_id IN ({qmarks(len(part))}) "
                    "ORDER BY cc.version DESC, s.scored_at DESC",
                    (channel_id, *part),
                )
                for r in rows:
                    out.setdefault(r[0], Score(r[0], int(r[1]), int(r[2]), r[3]))
        return out

    async def explanation(self, paper_id: str, key: ScoreKey) -> str | None:
        """A cached explanation of a paper's score under one key."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT text FROM explanations WHERE paper_id = ? AND criteria_id = ? "
                "AND model = ? AND prompt_version = ?",
                (paper_id, key.criteria_id, key.model, key.prompt_version),
            )
        return str(row[0]) if row else None

    async def save_explanation(
        self, paper_id: str, key: ScoreKey, text: str, usage: Usage, day: date | None
    ) -> None:
        """Cache an explanation together with what it cost."""
        now = timestamp()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO explanations (paper_id, criteria_id, model, prompt_version, text, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (paper_id, criteria_id, model, prompt_version) DO UPDATE SET "
                "text = excluded.text, created_at = excluded.created_at",
                (paper_id, key.criteria_id, key.model, key.prompt_version, text, now),
            )
            await insert_usage(db, now, day, "explain", key.model, key.criteria_id, usage)
