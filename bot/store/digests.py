"""A channel's daily digests and the messages posted for them: each day's decided digest (its
body, what it was decided on, its delivery state and failed attempts) and every message posted
in a channel (a digest's parent, notices and cards), which also tells a card's paper.

A digest is one row per channel and day, written as it moves scored → posting → posted (or
missed); the messages of the scheduled daily post are recorded once per slot the moment the
platform returns their id, so a restart posts only what is missing.

This module must not decide what a digest holds or when it is posted (`bot.digest.service`,
`bot.daily.delivery`); rankings and learning are `bot.store.rankings`, weekly posts
`bot.store.weekly`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.store.backend import Backend, Connection
from bot.store.query import qmarks, timestamp
from bot.store.records import DigestFrame, DigestRecord, Fence
from bot.store.work import hold_fence, now_sql


class Digests:
    """Daily digests, their delivery state and the posted messages (`Store.digests`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def save(
        self, channel_id: str, day: date, state: str, body: Any, frame: DigestFrame | None = None
    ) -> None:
        """Keep a channel's digest of a day (JSON-serialisable body) and its delivery state; a
        `frame` records what the day was decided on (kept when None)."""
        f = frame or DigestFrame(None, None, None)
        sent = (
            json.dumps(list(f.sent_ids), separators=(",", ":")) if f.sent_ids is not None else None
        )
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO digests (channel_id, day, state, body, updated_at, criteria_id, "
                "ranking_key, sent_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(channel_id, day) DO UPDATE SET body = excluded.body, "
                "updated_at = excluded.updated_at, "
                "criteria_id = COALESCE(excluded.criteria_id, digests.criteria_id), "
                "ranking_key = COALESCE(excluded.ranking_key, digests.ranking_key), "
                "sent_ids = COALESCE(excluded.sent_ids, digests.sent_ids)",
                (
                    channel_id,
                    day.isoformat(),
                    state,
                    json.dumps(body),
                    timestamp(),
                    f.criteria_id,
                    f.ranking_key,
                    sent,
                ),
            )

    async def get(self, channel_id: str, day: date) -> tuple[str, Any] | None:
        """A stored digest's state and body."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT state, body FROM digests WHERE channel_id = ? AND day = ?",
                (channel_id, day.isoformat()),
            )
        return (row[0], json.loads(row[1])) if row else None

    async def frame(self, channel_id: str, day: date) -> DigestFrame | None:
        """What a channel's digest of a day was decided on, if it was built."""
        async with self._b.read() as db:
            return await read_frame(db, channel_id, day)

    async def set_state(
        self, channel_id: str, day: date, state: str, *, error: str | None = None
    ) -> None:
        """Move a stored digest along scored → posting → posted (or 'missed'); an `error` counts
        a failed delivery attempt and keeps its one-line reason."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE digests SET state = ?, updated_at = ?, "
                "attempts = attempts + ?, last_error = COALESCE(?, last_error) "
                "WHERE channel_id = ? AND day = ?",
                (state, timestamp(), int(error is not None), error, channel_id, day.isoformat()),
            )

    async def records(
        self, channel_id: str | None = None, states: Sequence[str] = ()
    ) -> list[DigestRecord]:
        """Stored digests (optionally of one channel, in some states), newest day first."""
        clauses: list[str] = []
        params: list[Any] = []
        if channel_id is not None:
            clauses.append("channel_id = ?")
            params.append(channel_id)
        if states:
            clauses.append(f"state IN ({qmarks(len(states))})")
            params.extend(states)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT channel_id, day, state, attempts, last_error, updated_at FROM digests "
                f"{where} ORDER BY day DESC, channel_id",
                params,
            )
        return [DigestRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    async def showing(self, channel_id: str, paper_id: str) -> Any | None:
        """The newest stored digest of a channel that lists this paper (its JSON body)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT body FROM digests WHERE channel_id = ? AND body LIKE ? ORDER BY day DESC",
                (channel_id, f"%{paper_id}%"),  # a prefilter: the match is decided below
            )
        for row in rows:
            body = json.loads(row[0])
            papers = body.get("papers") if isinstance(body, dict) else None
            if isinstance(papers, list) and any(
                isinstance(p, dict) and p.get("id") == paper_id for p in papers
            ):
                return body
        return None

    async def record_posted(
        self,
        channel_id: str,
        day: date,
        slot: str,
        message_id: str,
        *,
        daily: bool = False,
        fence: Fence | None = None,
    ) -> bool:
        """Remember a posted message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` marks the messages of the scheduled daily post (one per channel, day and slot).
        A message recorded again replaces its row (and counts as new for learning). Under a
        `fence`, the message is recorded (and its intent cleared) only while the fence holds,
        in the same transaction: False when another process took the unit over."""
        async with self._b.write() as db:
            if fence is not None:
                if not await hold_fence(db, fence, now_sql(self._b.dialect)):
                    return False
                await db.execute(
                    "DELETE FROM post_intents WHERE key = ? AND slot = ?", (fence.key, slot)
                )
            if daily:
                await db.execute(
                    "DELETE FROM posted WHERE channel_id = ? AND day = ? AND slot = ? "
                    "AND daily = 1",
                    (channel_id, day.isoformat(), slot),
                )
            await db.execute(
                "DELETE FROM posted WHERE channel_id = ? AND message_id = ?",
                (channel_id, message_id),
            )
            await db.execute(
                "INSERT INTO posted (channel_id, message_id, day, slot, daily, posted_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (channel_id, message_id, day.isoformat(), slot, int(daily), timestamp()),
            )
        return True

    async def daily_posted(self, channel_id: str, day: date) -> dict[str, str]:
        """The messages of a channel's daily post of a day that are recorded, by slot."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT slot, message_id FROM posted WHERE channel_id = ? AND day = ? "
                "AND daily = 1",
                (channel_id, day.isoformat()),
            )
        return {str(r[0]): str(r[1]) for r in rows}

    async def thread_of(self, channel_id: str, day: date) -> str | None:
        """The parent message of a day's digest already posted in a channel (the daily post's,
        or the newest `today`'s), or None."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT message_id FROM posted WHERE channel_id = ? AND day = ? "
                "AND slot = 'parent' ORDER BY daily DESC, posted_at DESC LIMIT 1",
                (channel_id, day.isoformat()),
            )
        return str(row[0]) if row else None

    async def posted_paper(self, channel_id: str, message_id: str) -> str | None:
        """The paper a posted card shows, or None for any other message."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT slot FROM posted WHERE channel_id = ? AND message_id = ? "
                "AND slot != 'parent' AND slot NOT LIKE 'notice%'",
                (channel_id, message_id),
            )
        return str(row[0]) if row else None


async def read_frame(db: Connection, channel_id: str, day: date) -> DigestFrame | None:
    """What a channel's digest of a day was decided on, read within the caller's transaction."""
    row = await db.fetchone(
        "SELECT criteria_id, ranking_key, sent_ids FROM digests WHERE channel_id = ? AND day = ?",
        (channel_id, day.isoformat()),
    )
    if row is None:
        return None
    sent = tuple(json.loads(row[2])) if row[2] is not None else None
    return DigestFrame(row[0], row[1], sent)
