"""The authors and keywords each channel follows, and who added or removed each, when.

A follow is a row; `unfollow` marks it removed (by whom, when) instead of deleting it, so the
table is also the audit trail of a channel's follows, as `channel_criteria` is of its criteria.
At most one active follow per channel and key (a unique partial index), so two people adding
the same author at once add it once. The caller decides what a key is and how many follows a
channel may have (`bot.digest.following`); this module only keeps them.

It must not import the rest of the bot beyond `bot.models`, nor decide what matches a paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.models import Follow
from bot.store.backend import Backend, Connection, Row

_COLUMNS = "id, kind, text, added_by, added_at, removed_by, removed_at"


@dataclass(frozen=True, slots=True)
class FollowAdded:
    """What `add` did: the new follow, the equal one already there (`created` False), or
    nothing because the channel has `active` follows, its limit."""

    follow: Follow | None
    created: bool
    active: int


@dataclass(frozen=True, slots=True)
class FollowRecord:
    """One follow of a channel's history: when it was added and, if it was, removed."""

    follow: Follow
    removed_by: str | None
    removed_at: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _follow(row: Row) -> Follow:
    return Follow(row["kind"], row["text"], int(row["id"]), row["added_by"], row["added_at"])


class FollowStore:
    """A channel's follows: list, add, remove and the history."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def active(self, channel_id: str) -> list[Follow]:
        """The channel's follows, oldest first (the order `following` numbers them in)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                f"SELECT {_COLUMNS} FROM follows WHERE channel_id = ? AND removed_at IS NULL "
                "ORDER BY id",
                (channel_id,),
            )
        return [_follow(r) for r in rows]

    async def add(
        self, channel_id: str, follow: Follow, key: str, by: str, limit: int
    ) -> FollowAdded:
        """Follow `follow` in the channel unless an equal follow (same `key`) is there already
        or the channel has `limit` follows."""
        async with self._b.write() as db:
            same = await _active_with_key(db, channel_id, key)
            if same is not None:
                return FollowAdded(same, False, await _count(db, channel_id))
            active = await _count(db, channel_id)
            if active >= limit:
                return FollowAdded(None, False, active)
            added = await db.execute(
                "INSERT INTO follows (channel_id, kind, text, key, added_by, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id, key) WHERE removed_at IS NULL DO NOTHING",
                (channel_id, follow.kind, follow.text, key, by, _now()),
            )
            made = await _active_with_key(db, channel_id, key)
        assert made is not None
        return FollowAdded(made, bool(added), active + (1 if added else 0))

    async def remove(self, channel_id: str, follow_id: int, by: str) -> bool:
        """Stop a follow, keeping who stopped it and when; False if it was not active."""
        async with self._b.write() as db:
            changed = await db.execute(
                "UPDATE follows SET removed_by = ?, removed_at = ? "
                "WHERE channel_id = ? AND id = ? AND removed_at IS NULL",
                (by, _now(), channel_id, follow_id),
            )
        return changed > 0

    async def history(self, channel_id: str, limit: int = 50) -> list[FollowRecord]:
        """The channel's follows, active and removed, newest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                f"SELECT {_COLUMNS} FROM follows WHERE channel_id = ? ORDER BY id DESC LIMIT ?",
                (channel_id, limit),
            )
        return [FollowRecord(_follow(r), r["removed_by"], r["removed_at"]) for r in rows]


async def _active_with_key(db: Connection, channel_id: str, key: str) -> Follow | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM follows WHERE channel_id = ? AND key = ? AND removed_at IS NULL",
        (channel_id, key),
    )
    return _follow(row) if row else None


async def _count(db: Connection, channel_id: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM follows WHERE channel_id = ? AND removed_at IS NULL", (channel_id,)
    )
    return int(row[0]) if row else 0
