"""The kept answers of `/arxiv similar`: for one paper and the stored days it was compared with,
the closest papers, best first, with their similarity values and how many papers were compared.

An answer is stored under its key (what determines it, built by `bot.digest.similar`) once: the
first stored wins, so processes computing together keep one. It is the same for every channel (no
scores, no rendering). The table stays small: saving an answer forgets the same paper's answers
over older days (its window moved on, nobody asks for them again), and `prune` forgets answers
whose newest day is older than the kept rankings.

It must not import the rest of the bot, nor decide what a key is or how similar papers are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.store.backend import Backend, Connection


@dataclass(frozen=True, slots=True)
class SimilarAnswer:
    """The closest papers to one paper, best first, with their similarity (0 to 1), among
    `compared` papers."""

    ids: tuple[str, ...]
    values: tuple[float, ...]
    compared: int


@dataclass(frozen=True, slots=True)
class StoredDay:
    """What a stored day of a category set holds, as far as a similarity depends on it: how
    many papers it announced and the sum of their versions (a replaced paper raises it)."""

    day: date
    papers: int
    versions: int


class SimilarStore:
    """Answers of `/arxiv similar`: read, keep once, forget old ones."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def answer(self, key: str) -> SimilarAnswer | None:
        """The answer kept under `key`, if any."""
        async with self._b.read() as db:
            return await _answer(db, key)

    async def save(
        self, key: str, paper_id: str, categories: str, newest: date, answer: SimilarAnswer
    ) -> SimilarAnswer:
        """Keep `answer` under `key` unless one is kept already (returned instead); answers
        about the same paper and category set over days older than `newest` are forgotten."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO similar_answers (key, paper_id, categories, newest_day, ids, "
                "similarities, compared, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (
                    key,
                    paper_id,
                    categories,
                    newest.isoformat(),
                    json.dumps(answer.ids, separators=(",", ":")),
                    json.dumps([round(v, 5) for v in answer.values], separators=(",", ":")),
                    answer.compared,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            await db.execute(
                "DELETE FROM similar_answers WHERE paper_id = ? AND categories = ? "
                "AND newest_day < ?",
                (paper_id, categories, newest.isoformat()),
            )
            stored = await _answer(db, key)
        assert stored is not None
        return stored

    async def days(self, categories: str, days: Sequence[date]) -> list[StoredDay]:
        """What each of these stored days of a category set holds, oldest first."""
        if not days:
            return []
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT a.day, COUNT(*), SUM(p.version) FROM announcements a "
                "JOIN papers p ON p.id = a.paper_id "
                f"WHERE a.categories = ? AND a.day IN ({','.join('?' * len(days))}) "
                "GROUP BY a.day ORDER BY a.day",
                (categories, *(d.isoformat() for d in days)),
            )
        return [StoredDay(date.fromisoformat(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def prune(self, before: date) -> int:
        """Forget the answers whose newest day is before `before`; returns how many."""
        async with self._b.write() as db:
            return await db.execute(
                "DELETE FROM similar_answers WHERE newest_day < ?", (before.isoformat(),)
            )


async def _answer(db: Connection, key: str) -> SimilarAnswer | None:
    row = await db.fetchone(
        "SELECT ids, similarities, compared FROM similar_answers WHERE key = ?", (key,)
    )
    if row is None:
        return None
    values = tuple(float(v) for v in json.loads(row[1]))
    return SimilarAnswer(tuple(json.loads(row[0])), values, int(row[2]))
