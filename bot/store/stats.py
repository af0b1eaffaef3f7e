"""What the bot spent and did: the ledger of LLM calls (tokens and cost, per purpose, model
and criteria) and the counts a channel's `stats` shows.

Every LLM call is added to the ledger: here for calls that produced no score, and by
`bot.store.scores` (through `insert_usage`) in the transaction that stores what the call
produced. Nothing here deletes ledger rows.

This module must not write any table but `llm_usage`, nor price a call (`scoring.pricing`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.models import Usage
from bot.store.backend import Backend, Connection
from bot.store.query import timestamp


class Stats:
    """The LLM usage ledger and a channel's counts (`Store.stats`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def record_usage(
        self,
        purpose: str,
        model: str,
        usage: Usage,
        *,
        day: date | None = None,
        criteria_id: int | None = None,
    ) -> None:
        """Add LLM calls that produced no score (failed replies, explanations) to the ledger."""
        async with self._b.write() as db:
            await insert_usage(db, timestamp(), day, purpose, model, criteria_id, usage)

    async def usage(
        self,
        *,
        day: date | None = None,
        model: str | None = None,
        criteria_id: int | None = None,
        purpose: str | None = None,
        since: datetime | None = None,
    ) -> Usage:
        """Ledger totals, filtered by any of the given fields."""
        where, params = _usage_filter(day, model, criteria_id, purpose, since)
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT COALESCE(SUM(calls),0), COALESCE(SUM(prompt_tokens),0), "
                "COALESCE(SUM(cached_tokens),0), COALESCE(SUM(completion_tokens),0), "
                "COALESCE(SUM(prompt_cost_usd),0), COALESCE(SUM(completion_cost_usd),0), "
                f"COALESCE(MIN(priced),1) FROM llm_usage {where}",
                params,
            )
        assert row is not None
        return Usage(
            int(row[0]),
            int(row[1]),
            int(row[2]),
            int(row[3]),
            float(row[4]),
            float(row[5]),
            bool(row[6]),
        )

    async def channel_counts(
        self, channel_id: str, categories: str, since: datetime
    ) -> dict[str, int]:
        """Papers seen (fetched), scored for the channel's criteria, posted, and liked since a
        moment."""
        day = since.astimezone(UTC).isoformat(timespec="seconds")
        queries = {
            "seen": (
                "SELECT COUNT(DISTINCT a.paper_id) FROM announcements a JOIN feed_days f "
                "ON f.day = a.day AND f.categories = a.categories "
                "WHERE a.categories = ? AND f.fetched_at >= ?",
                (categories, day),
            ),
            "scored": (
                "SELECT COUNT(*) FROM scores s JOIN channel_criteria cc "
                "ON cc.criteria_id = s.criteria_id WHERE cc.channel_id = ? "
                "AND s.scored_at >= ? AND cc.version = (SELECT MAX(version) FROM "
                "channel_criteria WHERE channel_id = cc.channel_id)",
                (channel_id, day),
            ),
            "posted": (
                "SELECT COUNT(DISTINCT day || ' ' || slot) FROM posted WHERE channel_id = ? "
                "AND slot != 'parent' AND slot NOT LIKE 'notice%' AND posted_at >= ?",
                (channel_id, day),
            ),
            "likes": (
                "SELECT COUNT(*) FROM likes WHERE channel_id = ? AND value > 0 AND updated_at >= ?",
                (channel_id, day),
            ),
        }
        out: dict[str, int] = {}
        async with self._b.read() as db:
            for name, (sql, params) in queries.items():
                row = await db.fetchone(sql, params)
                out[name] = int(row[0]) if row else 0
        return out

    async def per_day(
        self, channel_id: str, since: date
    ) -> tuple[dict[date, int], dict[date, float]]:
        """From `since` (UTC days) on: the channel's likes given each day, and what the LLM
        cost the whole bot each day (days without any are absent)."""
        start = since.isoformat()
        async with self._b.read() as db:
            likes = await db.fetchall(
                "SELECT substr(updated_at, 1, 10) AS d, COUNT(*) FROM likes WHERE channel_id = ? "
                "AND value > 0 AND updated_at >= ? GROUP BY d",
                (channel_id, start),
            )
            costs = await db.fetchall(
                "SELECT substr(at, 1, 10) AS d, SUM(prompt_cost_usd + completion_cost_usd) "
                "FROM llm_usage WHERE at >= ? GROUP BY d",
                (start,),
            )
        return (
            {date.fromisoformat(r[0]): int(r[1]) for r in likes},
            {date.fromisoformat(r[0]): float(r[1]) for r in costs},
        )


async def insert_usage(
    db: Connection,
    now: str,
    day: date | None,
    purpose: str,
    model: str,
    criteria_id: int | None,
    usage: Usage,
) -> None:
    """Add a call's cost to the ledger within the caller's transaction (nothing for no call)."""
    if usage.calls == 0:
        return
    await db.execute(
        "INSERT INTO llm_usage (at, day, purpose, model, criteria_id, calls, prompt_tokens, "
        "cached_tokens, completion_tokens, prompt_cost_usd, completion_cost_usd, priced) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            day.isoformat() if day else None,
            purpose,
            model,
            criteria_id,
            usage.calls,
            usage.prompt_tokens,
            usage.cached_tokens,
            usage.completion_tokens,
            usage.prompt_cost_usd,
            usage.completion_cost_usd,
            int(usage.priced),
        ),
    )


def _usage_filter(
    day: date | None,
    model: str | None,
    criteria_id: int | None,
    purpose: str | None,
    since: datetime | None,
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("day", day.isoformat() if day else None),
        ("model", model),
        ("criteria_id", criteria_id),
        ("purpose", purpose),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("at >= ?")
        params.append(since.astimezone(UTC).isoformat(timespec="seconds"))
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
