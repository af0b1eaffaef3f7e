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
before the account existed counts.

Each hold has an owner (the process whose request it is) and an expiry on the database's clock
(`now_sql`, as leases have), renewed every third of its ttl while its request is in flight. A
hold whose process died is taken back (reserved goes down by it, nothing is spent): by the next
reservation of its day once it expired, in that reservation's transaction, or at once when a
reservation finds no room and its owner is known dead. A taken-back hold keeps its row with
nothing held, so a settle that still comes (the process was only paused) adds what its request
cost to what the day spent: real spending is never lost. Every transaction that changes holds
locks the day's row before any hold's, and several holds in id order, so PostgreSQL never has
two of them wait on each other.

This module must not write any table but `llm_usage`, `budget_days` and `budget_holds`, nor
price a call (`scoring.pricing`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.models import Usage
from bot.store.backend import Backend, Connection, StoreUnavailable
from bot.store.query import qmarks, timestamp
from bot.store.work import now_sql

log = logging.getLogger(__name__)

HOLD_TTL = 120.0
"""Seconds a hold lasts without renewal (the bot passes its lease time): how long a dead
process's holds keep room the day could spend."""
KEEP_TAKEN_DAYS = 2
"""Days a taken-back hold's row is kept for a settle that still comes (its cost is spent)."""


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
        self._now = now_sql(backend.dialect)
        self._lock = " FOR UPDATE" if backend.dialect == "postgresql" else ""

    async def reserve(
        self, day: date, cap_usd: float, usd: float, *, owner: str = "", ttl: float = HOLD_TTL
    ) -> int | None:
        """Hold `usd` of `day`'s `cap_usd` for one request of `owner` for `ttl` seconds of the
        database's clock (renewed by `renew`); the hold's id, or None when what is spent and
        held already leaves no room for it. The day's expired holds are taken back first, in
        the same transaction."""
        usd = max(usd, 0.0)
        key = day.isoformat()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO budget_days (day, spent_usd, reserved_usd) SELECT ?, "
                "COALESCE(SUM(prompt_cost_usd + completion_cost_usd), 0), 0 FROM llm_usage "
                "WHERE at >= ? AND at < ? ON CONFLICT (day) DO NOTHING",
                (key, key, (day + timedelta(days=1)).isoformat()),
            )
            # the day's row first, in every transaction that changes holds: no two wait on
            # each other (PostgreSQL), and SQLite's write lock is taken here
            await db.execute(
                "UPDATE budget_days SET reserved_usd = reserved_usd WHERE day = ?", (key,)
            )
            await self._take_back(db, "day = ? AND expires_at < " + self._now, (key,))
            held = await db.execute(
                "UPDATE budget_days SET reserved_usd = reserved_usd + ? "
                "WHERE day = ? AND reserved_usd + spent_usd + ? <= ?",
                (usd, key, usd, cap_usd),
            )
            if not held:
                return None
            row = await db.fetchone(
                "INSERT INTO budget_holds (day, usd, held_at, owner, expires_at) "
                f"VALUES (?, ?, ?, ?, {self._now} + CAST(? AS DOUBLE PRECISION)) RETURNING id",
                (key, usd, timestamp(), owner, ttl),
            )
            await db.execute(  # taken back long ago: no settle will come for them now
                "DELETE FROM budget_holds WHERE day < ? AND expires_at IS NULL",
                ((day - timedelta(days=KEEP_TAKEN_DAYS)).isoformat(),),
            )
        assert row is not None
        return int(row[0])

    async def _take_back(self, db: Connection, where: str, params: tuple[Any, ...]) -> float:
        """Within the caller's transaction, with the holds' day rows locked already: release
        the live holds matching `where` (reserved goes down by each, nothing is spent) and
        keep each row, its `usd` 0, so a settle that still comes counts what was spent."""
        rows = await db.fetchall(
            f"SELECT id, day, usd FROM budget_holds WHERE expires_at IS NOT NULL AND {where} "
            f"ORDER BY id{self._lock}",
            params,
        )
        if rows:
            await db.execute(
                "UPDATE budget_holds SET usd = 0, expires_at = NULL "
                f"WHERE id IN ({qmarks(len(rows))})",
                tuple(int(r[0]) for r in rows),
            )
        per_day: dict[str, float] = {}
        for r in rows:
            per_day[str(r[1])] = per_day.get(str(r[1]), 0.0) + float(r[2])
        for day, usd in sorted(per_day.items()):
            await db.execute(
                "UPDATE budget_days SET reserved_usd = CASE WHEN reserved_usd > ? THEN "
                "reserved_usd - ? ELSE 0 END WHERE day = ?",
                (usd, usd, day),
            )
        return sum(per_day.values())

    async def settle(self, hold: int, usd: float) -> None:
        """Replace a hold by what its request really cost (0: released); a hold already
        settled is left alone. A hold taken back (expired, or its owner died) holds nothing
        any more, but what its request cost is still added to what the day spent."""
        async with self._b.write() as db:
            await db.execute(  # the day's row first, as everywhere holds change
                "UPDATE budget_days SET reserved_usd = reserved_usd WHERE day = "
                "(SELECT day FROM budget_holds WHERE id = ?)",
                (hold,),
            )
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

    async def renew(self, holds: Collection[int], owner: str, ttl: float) -> set[int]:
        """Extend `owner`'s live `holds` to `ttl` seconds from the database's now; the ones
        renewed (the others were settled or taken back)."""
        if not holds:
            return set()
        ids = sorted(holds)  # a process's requests in flight: far fewer than a statement takes
        async with self._b.write() as db:
            rows = await db.fetchall(
                f"UPDATE budget_holds SET expires_at = {self._now} + CAST(? AS DOUBLE "
                "PRECISION) WHERE id IN (SELECT id FROM budget_holds WHERE id IN "
                f"({qmarks(len(ids))}) AND owner = ? AND expires_at IS NOT NULL "
                f"ORDER BY id{self._lock}) AND expires_at IS NOT NULL RETURNING id",
                (ttl, *ids, owner),
            )
        return {int(r[0]) for r in rows}

    async def owners(self) -> set[str]:
        """The processes that hold live holds."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT DISTINCT owner FROM budget_holds WHERE expires_at IS NOT NULL"
            )
        return {str(r[0]) for r in rows}

    async def take_back(self, owner: str) -> float:
        """Release every live hold of `owner`, a process known to be dead; the dollars freed."""
        async with self._b.write() as db:
            days = await db.fetchall(
                "SELECT DISTINCT day FROM budget_holds WHERE owner = ? "
                "AND expires_at IS NOT NULL ORDER BY day",
                (owner,),
            )
            for d in days:  # the days' rows first, in order, as everywhere holds change
                await db.execute(
                    "UPDATE budget_days SET reserved_usd = reserved_usd WHERE day = ?", (d[0],)
                )
            return await self._take_back(db, "owner = ?", (owner,))

    async def state(self, day: date) -> tuple[float, float]:
        """What `day` has spent and holds for requests in flight (holds past their expiry,
        to be taken back, not counted), in dollars."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT spent_usd, reserved_usd - COALESCE((SELECT SUM(usd) FROM budget_holds "
                f"WHERE day = ? AND expires_at < {self._now}), 0) FROM budget_days WHERE day = ?",
                (day.isoformat(), day.isoformat()),
            )
        return (float(row[0]), max(float(row[1]), 0.0)) if row else (0.0, 0.0)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def never_gone(owner: str) -> bool:
    """No owner is known to be dead: its holds wait for their expiry."""
    return False


class DailyAccount:
    """The daily budget as every paid request sees it (`scoring.spending.Account`): `cap_usd`
    a UTC day, held and settled in the store. Its holds belong to `owner` and last `ttl`
    seconds of the database's clock; while a request is in flight its hold is renewed every
    third of that, and a process `gone` judges dead has its holds taken back when a
    reservation finds no room."""

    def __init__(
        self,
        budget: Budget,
        cap_usd: float,
        clock: Callable[[], datetime] = utc_now,
        *,
        owner: str = "",
        ttl: float = HOLD_TTL,
        gone: Callable[[str], bool] = never_gone,
    ) -> None:
        self._budget = budget
        self.cap_usd = cap_usd
        self._clock = clock
        self.owner = owner or f"account:{secrets.token_hex(6)}"
        self.ttl = ttl
        self._gone = gone
        self._inflight: set[int] = set()
        self._renewal: asyncio.Task[None] | None = None

    def day(self) -> date:
        """The UTC day a request made now is charged to."""
        return self._clock().astimezone(UTC).date()

    async def reserve(self, usd: float) -> int | None:
        """Hold `usd` of today's budget (None: no room left, even after taking back the holds
        of processes known to be dead)."""
        day = self.day()
        hold = await self._budget.reserve(day, self.cap_usd, usd, owner=self.owner, ttl=self.ttl)
        if hold is None and await self._take_back_gone():
            hold = await self._budget.reserve(
                day, self.cap_usd, usd, owner=self.owner, ttl=self.ttl
            )
        if hold is not None:
            self._inflight.add(hold)
            if self._renewal is None or self._renewal.done():
                self._renewal = asyncio.create_task(self._renew())
        return hold

    async def settle(self, hold: int, usd: float) -> None:
        """Replace a hold by the request's real cost."""
        try:
            await self._budget.settle(hold, usd)
        finally:
            self._done(hold)

    async def release(self, hold: int) -> None:
        """Give a hold back: its request was not sent, or failed unpaid."""
        await self.settle(hold, 0.0)

    async def held_usd(self) -> float:
        """Dollars of today's budget held for requests in flight, by every process."""
        _, held = await self._budget.state(self.day())
        return held

    def _done(self, hold: int) -> None:
        self._inflight.discard(hold)
        if not self._inflight and self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None

    async def _take_back_gone(self) -> bool:
        gone = [o for o in await self._budget.owners() if o != self.owner and self._gone(o)]
        for owner in gone:
            usd = await self._budget.take_back(owner)
            log.info("budget: took back %s held by %s, which is no longer running", usd, owner)
        return bool(gone)

    async def _renew(self) -> None:
        """Keep this process's holds of requests in flight alive, every third of their ttl."""
        while self._inflight:
            await asyncio.sleep(self.ttl / 3)
            asked = set(self._inflight)
            try:
                renewed = await self._budget.renew(asked, self.owner, self.ttl)
            except StoreUnavailable as exc:
                log.warning("budget: could not renew the holds of requests in flight: %s", exc)
                continue
            lost = (asked - renewed) & self._inflight  # the others settled meanwhile
            if lost:
                log.warning(
                    "budget: %d hold(s) of requests still in flight expired (this process was "
                    "paused past %.0f s?) and were taken back; their cost counts when they end",
                    len(lost),
                    self.ttl,
                )
                self._inflight -= lost
