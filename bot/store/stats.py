"""What the bot spent, may still spend and did: the ledger of LLM calls (tokens and cost, per
purpose, model and criteria), the daily budget's account, and the counts a channel's `stats`
shows.

Every LLM call is added to the ledger: here for calls that produced no score, and by
`bot.store.scores` (through `insert_usage`) in the transaction that stores what the call
produced. Nothing here deletes ledger rows.

The budget account (`Budget`, `DailyAccount`) is one row per UTC day in `budget_days`: what
the day's requests really cost (`spent_usd`) and what requests in flight hold (`reserved_usd`,
one `budget_holds` row each). A reservation is one conditional UPDATE (`reserved + spent +
cost <= cap`), so concurrent callers, processes and replicas on one database never hold more
than the cap between them; settling replaces a hold by the real cost, once (the hold row is
deleted as it is settled). A day's row starts from the ledger's total of that day, so spending
before the account existed counts. A hold whose process died is never settled: it stays
reserved until the day ends, on the safe side of the cap.

This module must not write any table but `llm_usage`, `budget_days` and `budget_holds`, nor
price a call (`scoring.pricing`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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


class Budget:
    """The daily budget's account, shared by every process on the database (`Store.budget`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def reserve(self, day: date, cap_usd: float, usd: float) -> int | None:
        """Hold `usd` of `day`'s `cap_usd` for one request; the hold's id, or None when what is
        spent and held already leaves no room for it."""
        usd = max(usd, 0.0)
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO budget_days (day, spent_usd, reserved_usd) SELECT ?, "
                "COALESCE(SUM(prompt_cost_usd + completion_cost_usd), 0), 0 FROM llm_usage "
                "WHERE at >= ? AND at < ? ON CONFLICT (day) DO NOTHING",
                (day.isoformat(), day.isoformat(), (day + timedelta(days=1)).isoformat()),
            )
            held = await db.execute(
                "UPDATE budget_days SET reserved_usd = reserved_usd + ? "
                "WHERE day = ? AND reserved_usd + spent_usd + ? <= ?",
                (usd, day.isoformat(), usd, cap_usd),
            )
            if not held:
                return None
            row = await db.fetchone(
                "INSERT INTO budget_holds (day, usd, held_at) VALUES (?, ?, ?) RETURNING id",
                (day.isoformat(), usd, timestamp()),
            )
        assert row is not None
        return int(row[0])

    async def settle(self, hold: int, usd: float) -> None:
        """Replace a hold by what its request really cost (0: released); a hold already
        settled is left alone."""
        async with self._b.write() as db:
            row = await db.fetchone(
                "DELETE FROM budget_holds WHERE id = ? RETURNING day, usd", (hold,)
            )
            if row is None:
                return
            held = float(row[1])
            await db.execute(
                "UPDATE budget_days SET spent_usd = spent_usd + ?, reserved_usd = CASE WHEN "
                "reserved_usd > ? THEN reserved_usd - ? ELSE 0 END WHERE day = ?",
                (max(usd, 0.0), held, held, str(row[0])),
            )

    async def state(self, day: date) -> tuple[float, float]:
        """What `day` has spent and holds for requests in flight, in dollars."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT spent_usd, reserved_usd FROM budget_days WHERE day = ?",
                (day.isoformat(),),
            )
        return (float(row[0]), float(row[1])) if row else (0.0, 0.0)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class DailyAccount:
    """The daily budget as every paid request sees it (`scoring.spending.Account`): `cap_usd`
    a UTC day, held and settled in the store."""

    def __init__(
        self, budget: Budget, cap_usd: float, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._budget = budget
        self.cap_usd = cap_usd
        self._clock = clock

    def day(self) -> date:
        """The UTC day a request made now is charged to."""
        return self._clock().astimezone(UTC).date()

    async def reserve(self, usd: float) -> int | None:
        """Hold `usd` of today's budget (None: no room left)."""
        return await self._budget.reserve(self.day(), self.cap_usd, usd)

    async def settle(self, hold: int, usd: float) -> None:
        """Replace a hold by the request's real cost."""
        await self._budget.settle(hold, usd)

    async def release(self, hold: int) -> None:
        """Give a hold back: its request was not sent, or failed unpaid."""
        await self._budget.settle(hold, 0.0)

    async def held_usd(self) -> float:
        """Dollars of today's budget held for requests in flight, by every process."""
        _, held = await self._budget.state(self.day())
        return held
