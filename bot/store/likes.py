"""Likes and dislikes: one value per channel, person and paper, with when it last changed.

Setting the same value again changes nothing (so a redelivered reaction counts once); removing
a like deletes only that person's row. Nothing else here deletes likes.

This module must not translate a platform's reactions into likes (`bot.conversation.dispatch`, the
adapters), nor decide what the ranking learns from them (`bot.store.rankings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.backend import Backend
from bot.store.papers import Papers
from bot.store.query import chunks, paper_of, qmarks, timestamp
from bot.store.records import Like, LikedPaper


class Likes:
    """Likes and dislikes of papers in channels (`Store.likes`)."""

    def __init__(self, backend: Backend, papers: Papers) -> None:
        self._b = backend
        self._papers = papers

    async def set_like(self, channel_id: str, user_id: str, paper_id: str, value: int) -> bool:
        """Record a like (1) or dislike (-1); returns False if it was already recorded."""
        async with self._b.write() as db:
            changed = await db.execute(
                "INSERT INTO likes (channel_id, user_id, paper_id, value, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id, user_id, paper_id) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at "
                "WHERE likes.value != excluded.value",
                (channel_id, user_id, paper_id, value, timestamp()),
            )
        return changed > 0

    async def remove_like(self, channel_id: str, user_id: str, paper_id: str) -> bool:
        """Forget a user's like of a paper; returns False if there was none."""
        async with self._b.write() as db:
            changed = await db.execute(
                "DELETE FROM likes WHERE channel_id = ? AND user_id = ? AND paper_id = ?",
                (channel_id, user_id, paper_id),
            )
        return changed > 0

    async def recent(
        self, channel_id: str, user_id: str | None = None, limit: int = 10
    ) -> list[Like]:
        """A channel's (or one user's) liked papers, newest first."""
        user_clause = "AND l.user_id = ?" if user_id is not None else ""
        params: tuple[Any, ...] = (channel_id, *((user_id,) if user_id else ()), limit)
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, l.user_id AS liker, l.updated_at AS liked_at FROM likes l "
                f"JOIN papers p ON p.id = l.paper_id WHERE l.channel_id = ? AND l.value > 0 "
                f"{user_clause} ORDER BY l.updated_at DESC, l.rowid DESC LIMIT ?",
                params,
            )
        return [Like(paper_of(r), r["liker"], r["liked_at"]) for r in rows]

    async def liked_papers(
        self, channel_id: str, user_id: str | None = None, limit: int = 15
    ) -> list[LikedPaper]:
        """The papers liked in a channel (or by one user), each once, most recently liked
        first, with everyone in the channel who likes it (newest first)."""
        mine = "AND user_id = ? " if user_id is not None else ""
        params: tuple[Any, ...] = (channel_id, *((user_id,) if user_id else ()), limit)
        async with self._b.read() as db:
            top = await db.fetchall(
                "SELECT paper_id, MAX(updated_at) AS last_at FROM likes WHERE channel_id = ? "
                f"AND value > 0 {mine}GROUP BY paper_id ORDER BY last_at DESC, paper_id LIMIT ?",
                params,
            )
            ids = [str(row[0]) for row in top]
            marks = ", ".join("?" for _ in ids)
            who = (
                await db.fetchall(
                    "SELECT paper_id, user_id FROM likes WHERE channel_id = ? AND value > 0 "
                    f"AND paper_id IN ({marks}) ORDER BY updated_at DESC, user_id",
                    (channel_id, *ids),
                )
                if ids
                else []
            )
        likers: dict[str, list[str]] = {}
        for row in who:
            likers.setdefault(str(row[0]), []).append(str(row[1]))
        papers = await self._papers.get(ids)
        return [
            LikedPaper(papers[pid], tuple(likers.get(pid, ())), str(row[1]))
            for row in top
            if (pid := str(row[0])) in papers
        ]

    async def like_counts(self, channel_id: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(likes, dislikes) of each paper in a channel that anyone reacted to."""
        out: dict[str, tuple[int, int]] = {}
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    "SELECT paper_id, SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END) FROM likes "
                    f"WHERE channel_id = ? AND paper_id IN ({qmarks(len(part))}) "
                    "GROUP BY paper_id",
                    (channel_id, *part),
                )
                out.update({str(r[0]): (int(r[1]), int(r[2])) for r in rows})
        return out
