"""Likes and dislikes: one value per channel, person and paper, with when it last changed; and
a channel's imported reading list (`Imports`), which the ranking learns from as likes.

Setting the same value again changes nothing (so a redelivered reaction counts once); removing
a like deletes only that person's row. Nothing else here deletes likes.

This module must not translate a platform's reactions into likes (`bot.conversation.dispatch`, the
adapters), nor decide what the ranking learns from them (`bot.store.rankings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.models import Paper
from bot.store.backend import Backend
from bot.store.papers import Papers, add_known
from bot.store.query import chunks, paper_of, qmarks, timestamp
from bot.store.records import ImportedPaper, ImportRecord, Like, LikedPaper


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


class Imports:
    """A channel's imported reading list: papers the team already reads, taught to the ranking
    like likes (`Store.imports`). Each import is one transaction and one row of `imports`;
    `undo` takes back the latest one whole. The Zotero key a channel gave is kept sealed (the
    caller encrypts it; this class never sees it in the clear)."""

    def __init__(self, backend: Backend, papers: Papers) -> None:
        self._b = backend
        self._papers = papers

    async def add(
        self, channel_id: str, user_id: str, source: str, papers: Sequence[Paper]
    ) -> tuple[ImportRecord | None, int]:
        """Import papers into the channel's reading list in one transaction: the papers
        themselves (kept as stored when known), the import and its rows. Returns the import
        (None when every paper was already imported) and how many were already there."""
        now = timestamp()
        ids = list(dict.fromkeys(p.id for p in papers))
        async with self._b.write() as db:
            have: set[str] = set()
            for part in chunks(ids):
                rows = await db.fetchall(
                    "SELECT paper_id FROM imported WHERE channel_id = ? "
                    f"AND paper_id IN ({qmarks(len(part))})",
                    (channel_id, *part),
                )
                have.update(str(r[0]) for r in rows)
            fresh = [p for p in {p.id: p for p in papers}.values() if p.id not in have]
            if not fresh:
                return None, len(have)
            await add_known(db, fresh, now)
            await db.execute(
                "INSERT INTO imports (channel_id, user_id, source, papers, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel_id, user_id, source, len(fresh), now),
            )
            row = await db.fetchone(
                "SELECT MAX(id) FROM imports WHERE channel_id = ?", (channel_id,)
            )
            assert row is not None
            import_id = int(row[0])
            await db.executemany(
                "INSERT INTO imported (channel_id, paper_id, import_id, imported_at) "
                "VALUES (?, ?, ?, ?)",
                [(channel_id, p.id, import_id, now) for p in fresh],
            )
        return ImportRecord(import_id, user_id, source, len(fresh), now), len(have)

    async def undo(self, channel_id: str) -> ImportRecord | None:
        """Take back the channel's latest import still in force, whole; None when there is
        none."""
        async with self._b.write() as db:
            row = await db.fetchone(
                "SELECT id, user_id, source, papers, created_at FROM imports "
                "WHERE channel_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (channel_id,),
            )
            if row is None:
                return None
            await db.execute(
                "DELETE FROM imported WHERE channel_id = ? AND import_id = ?",
                (channel_id, row[0]),
            )
            await db.execute("UPDATE imports SET undone_at = ? WHERE id = ?", (timestamp(), row[0]))
        return ImportRecord(int(row[0]), str(row[1]), str(row[2]), int(row[3]), str(row[4]))

    async def count(self, channel_id: str) -> int:
        """How many papers the channel's reading list holds from imports."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT COUNT(*) FROM imported WHERE channel_id = ?", (channel_id,)
            )
        return int(row[0]) if row else 0

    async def recent(self, channel_id: str, limit: int = 15) -> list[ImportedPaper]:
        """The channel's imported papers, newest import first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, i.imported_at AS imported_at FROM imported i "
                "JOIN papers p ON p.id = i.paper_id WHERE i.channel_id = ? "
                "ORDER BY i.import_id DESC, i.paper_id LIMIT ?",
                (channel_id, limit),
            )
        return [ImportedPaper(paper_of(r), str(r["imported_at"])) for r in rows]

    async def save_zotero_key(self, channel_id: str, library: str, sealed: str) -> None:
        """Keep the channel's Zotero library and its key, sealed by the caller."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO zotero_keys (channel_id, library, sealed, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET "
                "library = excluded.library, sealed = excluded.sealed, "
                "updated_at = excluded.updated_at",
                (channel_id, library, sealed, timestamp()),
            )

    async def zotero_key(self, channel_id: str) -> tuple[str, str] | None:
        """The channel's Zotero library and its sealed key, if one was kept."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT library, sealed FROM zotero_keys WHERE channel_id = ?", (channel_id,)
            )
        return (str(row[0]), str(row[1])) if row else None
