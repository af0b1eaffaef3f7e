"""Work done once across processes sharing the database: leases on units of work (who does
one, until when) and the platform events already seen (platforms redeliver to any replica).

Taking a lease is one atomic upsert, so two processes never both hold a live one. Lease times
come from the database's clock (PostgreSQL's `clock_timestamp()`, SQLite's clock of the one
connection that writes), never a process's: a replica whose clock runs ahead cannot see a live
lease as expired, nor one behind keep a dead one alive.

This module must not decide what a unit of work is, nor wait or retry: `bot.work` does, and
only it takes, renews and releases leases.
"""

from __future__ import annotations

from bot.store.backend import Backend
from bot.store.records import Lease

_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
}
"""The database's time in unix seconds, as SQL."""


class WorkLeases:
    """Work leases and platform events seen (`Store.work`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend
        self._now = _NOW[backend.dialect]

    async def take_lease(self, key: str, owner: str, ttl: float, *, replacing: str = "") -> bool:
        """Take a unit of work for `owner` for `ttl` seconds of the database's clock unless
        another owner holds an unexpired lease on it (`replacing` names a holder known to be
        dead, whose lease is taken at once); atomic across processes. True if `owner` holds
        it now."""
        now = self._now
        async with self._b.write() as db:
            changed = await db.execute(
                f"INSERT INTO work (key, owner, taken_at, expires_at) VALUES (?, ?, {now}, "
                f"{now} + CAST(? AS DOUBLE PRECISION)) "
                "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, "
                "taken_at = excluded.taken_at, expires_at = excluded.expires_at "
                f"WHERE work.expires_at < {now} OR work.owner = excluded.owner "
                "OR work.owner = ?",
                (key, owner, ttl, replacing),
            )
        return changed > 0

    async def live_lease(self, key: str) -> Lease | None:
        """Who holds a unit of work now, by the database's clock (None: nobody, or a lease
        that expired)."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT key, owner, taken_at, expires_at FROM work "
                f"WHERE key = ? AND expires_at > {self._now}",
                (key,),
            )
        return Lease(str(row[0]), str(row[1]), float(row[2]), float(row[3])) if row else None

    async def lease(self, key: str) -> Lease | None:
        """Who holds a unit of work, if anyone."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT key, owner, taken_at, expires_at FROM work WHERE key = ?", (key,)
            )
        return Lease(str(row[0]), str(row[1]), float(row[2]), float(row[3])) if row else None

    async def renew_lease(self, key: str, owner: str, ttl: float) -> bool:
        """Extend a lease `owner` still holds to `ttl` seconds from the database's now; False
        if it was lost (expired and taken)."""
        async with self._b.write() as db:
            changed = await db.execute(
                f"UPDATE work SET expires_at = {self._now} + CAST(? AS DOUBLE PRECISION) "
                "WHERE key = ? AND owner = ?",
                (ttl, key, owner),
            )
        return changed > 0

    async def release_lease(self, key: str, owner: str) -> None:
        """Give a unit of work back (only the owner's own lease)."""
        async with self._b.write() as db:
            await db.execute("DELETE FROM work WHERE key = ? AND owner = ?", (key, owner))

    async def leases(self) -> list[Lease]:
        """Every unit of work some process holds or held (expired leases included)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT key, owner, taken_at, expires_at FROM work ORDER BY key"
            )
        return [Lease(str(r[0]), str(r[1]), float(r[2]), float(r[3])) for r in rows]

    async def first_sight(self, event_id: str, now: float, keep: float = 3600.0) -> bool:
        """Whether this is the first time any process sharing the database sees a platform
        event (platforms redeliver events they think were lost, to any replica). Ids are
        remembered for `keep` seconds; older ones are forgotten here."""
        async with self._b.write() as db:
            await db.execute("DELETE FROM events WHERE seen_at < ?", (now - keep,))
            added = await db.execute(
                "INSERT INTO events (id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (event_id, now),
            )
        return added > 0
