"""A channel's weekly post of each ISO week: the post as decided (frozen once, so a restart
posts the same papers), its state, and its messages recorded the moment they are posted.

This module must not decide what a week's post holds or when it is due (`bot.daily.weekly`).
"""

from __future__ import annotations

import json
from typing import Any

from bot.store.backend import Backend
from bot.store.query import timestamp
from bot.store.records import Fence
from bot.store.work import hold_fence, now_sql


class WeeklyPosts:
    """The weekly posts and their messages (`Store.weekly`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def get(self, channel_id: str, week: str) -> tuple[str, Any] | None:
        """A channel's weekly post of an ISO week: its state and frozen body."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT state, body FROM weekly_posts WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        return (str(row[0]), json.loads(row[1])) if row else None

    async def freeze(self, channel_id: str, week: str, state: str, body: Any) -> tuple[str, Any]:
        """Keep a week's post as decided unless one is kept already; returns the kept one (the
        first decision stands, so a restart posts the same papers)."""
        now = timestamp()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO weekly_posts (channel_id, week, state, body, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id, week) DO NOTHING",
                (channel_id, week, state, json.dumps(body), now, now),
            )
            row = await db.fetchone(
                "SELECT state, body FROM weekly_posts WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        assert row is not None
        return str(row[0]), json.loads(row[1])

    async def set_state(self, channel_id: str, week: str, state: str) -> None:
        """Move a week's post to another state (posting, posted, ...)."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE weekly_posts SET state = ?, updated_at = ? WHERE channel_id = ? "
                "AND week = ?",
                (state, timestamp(), channel_id, week),
            )

    async def last_week(self, channel_id: str, state: str) -> str | None:
        """The newest ISO week whose weekly post in this channel reached `state`."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT MAX(week) FROM weekly_posts WHERE channel_id = ? AND state = ?",
                (channel_id, state),
            )
        return str(row[0]) if row and row[0] else None

    async def posted(self, channel_id: str, week: str) -> dict[str, str]:
        """The messages of a week's post that are recorded, by slot ('parent' or a paper)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT slot, message_id FROM weekly_messages WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        return {str(r[0]): str(r[1]) for r in rows}

    async def record_posted(
        self, channel_id: str, week: str, slot: str, message_id: str, fence: Fence | None = None
    ) -> bool:
        """Record a message of a week's post the moment the platform returned its id. Under a
        `fence`, only while the fence holds, in the same transaction (clearing the slot's
        intent): False when another process took the week's post over."""
        async with self._b.write() as db:
            if fence is not None:
                if not await hold_fence(db, fence, now_sql(self._b.dialect)):
                    return False
                await db.execute(
                    "DELETE FROM post_intents WHERE key = ? AND slot = ?", (fence.key, slot)
                )
            await db.execute(
                "INSERT INTO weekly_messages (channel_id, week, slot, message_id, posted_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id, week, slot) DO NOTHING",
                (channel_id, week, slot, message_id, timestamp()),
            )
        return True
