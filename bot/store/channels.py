"""Channels and what they decided: each channel's row (platform, setting overrides,
subscription), its criteria versions over the content-addressed criteria, and its audit log
of who changed what.

Criteria are stored once per exact text, so channels with identical criteria share one id
and one set of scores; a channel's criteria are a history of versions, never overwritten.

This module must not decide what a setting or criteria may be (`bot.config.channels`,
`scoring.criteria`), nor read papers, scores or posts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.models import Criteria
from bot.store.backend import Backend
from bot.store.installations import Installations, active
from bot.store.query import qmarks, timestamp
from bot.store.records import ChannelEvent, ChannelRow, CriteriaVersion


class Channels:
    """Channels, their criteria versions and audit log (`Store.channels`)."""

    def __init__(self, backend: Backend, installations: Installations) -> None:
        self._b = backend
        self._installations = installations

    async def get(self, channel_id: str, platform: str) -> ChannelRow:
        """The channel's row, created (unsubscribed, no overrides) on first contact."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO channels (id, platform, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (channel_id, platform, timestamp()),
            )
            row = await db.fetchone(
                "SELECT id, platform, settings, subscribed FROM channels WHERE id = ?",
                (channel_id,),
            )
        assert row is not None
        return ChannelRow(row[0], row[1], json.loads(row[2]), bool(row[3]))

    async def set_channel_overrides(self, channel_id: str, overrides: dict[str, Any]) -> None:
        """Replace the channel's setting overrides."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE channels SET settings = ? WHERE id = ?", (json.dumps(overrides), channel_id)
            )

    async def set_subscribed(self, channel_id: str, subscribed: bool) -> None:
        """Start or stop the channel's daily post."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE channels SET subscribed = ? WHERE id = ?", (int(subscribed), channel_id)
            )

    async def subscribed(self) -> list[ChannelRow]:
        """Every channel that wants the daily post, except those of a paused workspace
        (uninstalled, or its token refused) until it is installed again."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT id, platform, settings, subscribed FROM channels WHERE subscribed = 1 "
                "ORDER BY id"
            )
        paused = await self._installations.paused()
        if paused:
            homes = await self._installations.homes()
            keep = active([(r[1], r[0]) for r in rows], paused, homes)
            rows = [r for r, kept in zip(rows, keep, strict=True) if kept]
        return [ChannelRow(r[0], r[1], json.loads(r[2]), True) for r in rows]

    async def posted_to(self, platform: str) -> list[ChannelRow]:
        """The platform's channels the bot posts to: subscribed, or shown a digest there."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT id, platform, settings, subscribed FROM channels WHERE platform = ? "
                "AND (subscribed = 1 OR EXISTS (SELECT 1 FROM posted m "
                "WHERE m.channel_id = channels.id)) ORDER BY id",
                (platform,),
            )
        return [ChannelRow(r[0], r[1], json.loads(r[2]), bool(r[3])) for r in rows]

    async def record_event(self, channel_id: str, user_id: str, action: str, detail: str) -> None:
        """The audit log: who changed what in a channel, and when."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO channel_events (channel_id, user_id, action, detail, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel_id, user_id, action, detail, timestamp()),
            )

    async def last_event(self, channel_id: str, actions: Sequence[str]) -> ChannelEvent | None:
        """The newest audit-log event of a channel among some actions."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT id, user_id, action, detail, at FROM channel_events WHERE channel_id = ? "
                f"AND action IN ({qmarks(len(actions))}) ORDER BY id DESC LIMIT 1",
                (channel_id, *actions),
            )
        return ChannelEvent(row[0], row[1], row[2], row[3], row[4]) if row else None

    async def criteria(self, text: str) -> Criteria:
        """The stored criteria with this exact text, created if new (content-addressed, so
        identical criteria share one id and one set of scores)."""
        c = Criteria(text=text)
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO criteria (sha256, text, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (c.sha256, text, timestamp()),
            )
            row = await db.fetchone("SELECT id FROM criteria WHERE sha256 = ?", (c.sha256,))
        assert row is not None
        return Criteria(text=text, id=int(row[0]))

    async def channel_criteria(self, channel_id: str) -> tuple[Criteria, int] | None:
        """A channel's current criteria and its version number, or None if it has none."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT c.id, c.text, cc.version FROM channel_criteria cc "
                "JOIN criteria c ON c.id = cc.criteria_id WHERE cc.channel_id = ? "
                "ORDER BY cc.version DESC LIMIT 1",
                (channel_id,),
            )
        return (Criteria(text=row[1], id=row[0]), int(row[2])) if row else None

    async def set_channel_criteria(
        self, channel_id: str, criteria: Criteria, changed_by: str, note: str = ""
    ) -> int:
        """Make `criteria` the channel's current version; returns the new version number.
        Processes setting a channel's criteria at once each get a version of their own (a
        number taken meanwhile by another process is skipped, not an error)."""
        assert criteria.id is not None
        while True:
            async with self._b.write() as db:
                row = await db.fetchone(
                    "SELECT COALESCE(MAX(version), 0) FROM channel_criteria WHERE channel_id = ?",
                    (channel_id,),
                )
                version = (int(row[0]) if row else 0) + 1
                added = await db.execute(
                    "INSERT INTO channel_criteria (channel_id, version, criteria_id, changed_by, "
                    "changed_at, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (channel_id, version, criteria.id, changed_by, timestamp(), note),
                )
            if added:
                return version

    async def criteria_history(self, channel_id: str) -> list[CriteriaVersion]:
        """Every criteria version of a channel, newest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT cc.version, c.id, c.text, cc.changed_by, cc.changed_at, cc.note "
                "FROM channel_criteria cc JOIN criteria c ON c.id = cc.criteria_id "
                "WHERE cc.channel_id = ? ORDER BY cc.version DESC",
                (channel_id,),
            )
        return [CriteriaVersion(r[0], Criteria(r[2], r[1]), r[3], r[4], r[5]) for r in rows]
