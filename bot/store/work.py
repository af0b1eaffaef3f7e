"""Work done once across processes sharing the database: leases on units of work (who does
one, until when), the platform events already seen (platforms redeliver to any replica) and the
counters of rate limits every replica shares.

Taking a lease is one atomic upsert, so two processes never both hold a live one. Lease times
come from the database's clock (PostgreSQL's `clock_timestamp()`, SQLite's clock of the one
connection that writes), never a process's: a replica whose clock runs ahead cannot see a live
lease as expired, nor one behind keep a dead one alive.

Every take-over of a lease grows its epoch (a fencing token, as in Kleppmann's "How to do
distributed locking"): a holder's writes name the (key, owner, epoch) it holds (`Fence`) and are
checked in the same transaction that makes them (`hold_fence`), so a process that paused past its
lease and woke up after another took the unit over has its writes refused instead of doubled.
Posting to a platform that cannot check a fence itself goes: record the intent under the fence
(`intend`), post, record the message under the fence (`bot.store.digests.record_posted`); an
intent left behind tells the next holder to ask the platform before posting that slot again.

Rate counters are kept per (scope, key, window) of the database's clock, each window a sixtieth
of its limit's seconds; a use is admitted when the uses of the last `per` seconds stay within the
limit, all of a use's limits checked and counted in one transaction behind a lock row per key,
so replicas together admit no more than one process would.

The pacing of posts (`bot.daily.pacer`) keeps one row per key (a channel, a workspace, the
bot), its next slot on the database's clock and how often a 429 held it: `pace` locks the rows
of a batch of posts in key order, lets the caller decide every post's slot from them in one
go, and writes the new states back in the same transaction, so replicas together post no
faster than one process would, at a handful of round trips per batch, not per post.

This module must not decide what a unit of work is, nor wait or retry: `bot.work` does, and
only it takes, renews and releases leases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from bot.store.backend import Backend, Connection, Row
from bot.store.query import chunks, qmarks
from bot.store.records import Fence, Lease

T = TypeVar("T")

PaceState = tuple[float | None, int]
"""A pacing key's stored state: its next slot in database unix seconds (None: never used) and
how often a 429 held it."""

_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
}
"""The database's time in unix seconds, as SQL."""

_LEASE = "SELECT key, owner, taken_at, expires_at, epoch FROM work"

Intent = Literal["stale", "clean", "unsure"]
"""What recording an intent found: the fence is stale (post nothing), the slot is clean, or a
previous holding left an intent on it (it may be on the platform: ask before posting)."""


def now_sql(dialect: str) -> str:
    """The database's time in unix seconds, as SQL of `dialect`."""
    return _NOW[dialect]


async def hold_fence(db: Connection, fence: Fence, now: str) -> bool:
    """Within the caller's write transaction: whether `fence` still holds its unit (no other
    process took it over), extending the lease to the fence's ttl from the database's now. The
    row it updates stays locked until the transaction ends, so a take-over waits for the write
    it fences (and a SQLite writer holds the file's write lock from here)."""
    changed = await db.execute(
        f"UPDATE work SET expires_at = {now} + CAST(? AS DOUBLE PRECISION) "
        "WHERE key = ? AND owner = ? AND epoch = ?",
        (fence.ttl, fence.key, fence.owner, fence.epoch),
    )
    return changed > 0


def _lease(r: Row) -> Lease:
    return Lease(str(r[0]), str(r[1]), float(r[2]), float(r[3]), int(r[4]))


@dataclass(frozen=True, slots=True)
class RateCheck:
    """One limit a use counts against: at most `count` uses of `key` in `per` seconds."""

    scope: str
    key: str
    count: int
    per: float


@dataclass(frozen=True, slots=True)
class Counted:
    """A use counted under one limit: where, to give it back."""

    scope: str
    key: str
    window_no: int


class WorkLeases:
    """Work leases and platform events seen (`Store.work`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend
        self._now = _NOW[backend.dialect]

    async def take_lease(self, key: str, owner: str, ttl: float, *, replacing: str = "") -> int:
        """Take a unit of work for `owner` for `ttl` seconds of the database's clock unless
        another owner holds an unexpired lease on it (`replacing` names a holder known to be
        dead, whose lease is taken at once); atomic across processes. The lease's epoch if
        `owner` holds it now (it grows when another owner's lease is taken over), else 0."""
        now = self._now
        async with self._b.write() as db:
            row = await db.fetchone(
                "INSERT INTO work (key, owner, taken_at, expires_at, epoch) VALUES (?, ?, "
                f"{now}, {now} + CAST(? AS DOUBLE PRECISION), 1) "
                "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, "
                "taken_at = excluded.taken_at, expires_at = excluded.expires_at, "
                "epoch = work.epoch + CASE WHEN work.owner = excluded.owner THEN 0 ELSE 1 END "
                f"WHERE work.expires_at < {now} OR work.owner = excluded.owner "
                "OR work.owner = ? RETURNING epoch",
                (key, owner, ttl, replacing),
            )
        return int(row[0]) if row else 0

    async def intend(self, fence: Fence, slot: str) -> Intent:
        """Record that the holder of `fence` is about to post `slot`, in one transaction with
        the fence's check (which also extends its lease): "stale" when another process took
        the unit over (nothing is recorded), "unsure" when an earlier holding left an intent
        on this slot that was never confirmed, else "clean"."""
        async with self._b.write() as db:
            if not await hold_fence(db, fence, self._now):
                return "stale"
            prior = await db.fetchall(  # one row at most: in one trip (`backend`)
                "SELECT owner FROM post_intents WHERE key = ? AND slot = ?", (fence.key, slot)
            )
            await db.execute(
                "INSERT INTO post_intents (key, slot, owner, epoch) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key, slot) DO UPDATE SET owner = excluded.owner, "
                "epoch = excluded.epoch",
                (fence.key, slot, fence.owner, fence.epoch),
            )
        return "unsure" if prior else "clean"

    async def still_holds(self, fence: Fence) -> bool:
        """Whether `fence` still holds its unit (no other process took it over), extending its
        lease: the last check before a post whose intent is recorded (one statement)."""
        async with self._b.write() as db:
            return await hold_fence(db, fence, self._now)

    async def intents(self, key: str) -> set[str]:
        """The slots of a unit with an intent recorded and never confirmed."""
        async with self._b.read() as db:
            rows = await db.fetchall("SELECT slot FROM post_intents WHERE key = ?", (key,))
        return {str(r[0]) for r in rows}

    async def expired_leases(self, prefix: str) -> list[Lease]:
        """The leases whose keys start with `prefix` that expired by the database's clock
        (their holder died or stalled: any process may take them over)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                f"{_LEASE} WHERE substr(key, 1, ?) = ? AND expires_at < {self._now} ORDER BY key",
                (len(prefix), prefix),
            )
        return [_lease(r) for r in rows]

    async def live_lease(self, key: str) -> Lease | None:
        """Who holds a unit of work now, by the database's clock (None: nobody, or a lease
        that expired)."""
        async with self._b.read() as db:
            row = await db.fetchone(f"{_LEASE} WHERE key = ? AND expires_at > {self._now}", (key,))
        return _lease(row) if row else None

    async def lease(self, key: str) -> Lease | None:
        """Who holds a unit of work, if anyone."""
        async with self._b.read() as db:
            row = await db.fetchone(f"{_LEASE} WHERE key = ?", (key,))
        return _lease(row) if row else None

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
            rows = await db.fetchall(f"{_LEASE} ORDER BY key")
        return [_lease(r) for r in rows]

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

    async def count_use(
        self, checks: Sequence[RateCheck]
    ) -> tuple[list[Counted], tuple[int, float] | None]:
        """Count one use under every limit if all of them admit it now (by the database's
        clock), atomically across processes; otherwise count nothing and say which limit
        (its index) refused for the longest, and for how many seconds."""
        order = sorted(range(len(checks)), key=lambda i: (checks[i].scope, checks[i].key))
        async with self._b.write() as db:
            # a DML first: SQLite's write lock (and PostgreSQL's row locks below) from here on
            await db.execute(f"DELETE FROM rate_counts WHERE expires_at < {self._now}")
            row = await db.fetchone(f"SELECT {self._now}")
            now = float(row[0]) if row else 0.0
            worst: tuple[int, float] | None = None
            for i in order:  # one order everywhere: two replicas never wait on each other
                wait = await _wait(db, checks[i], now)
                if wait > 0 and (worst is None or wait > worst[1]):
                    worst = (i, wait)
            if worst is not None:
                return [], worst
            counted = [await _count(db, checks[i], now) for i in order]
        return counted, None

    async def uncount(self, counted: Sequence[Counted]) -> None:
        """Give back uses counted by `count_use` (what they admitted spent nothing)."""
        async with self._b.write() as db:
            await self.uncount_in(db, counted)

    @staticmethod
    async def uncount_in(db: Connection, counted: Sequence[Counted]) -> None:
        for c in counted:
            await db.execute(
                "UPDATE rate_counts SET hits = hits - 1 WHERE scope = ? AND key = ? "
                "AND window_no = ? AND hits > 0",
                (c.scope, c.key, c.window_no),
            )

    async def pace(
        self,
        keys: Iterable[str],
        decide: Callable[[Mapping[str, PaceState], float], tuple[Mapping[str, PaceState], T]],
    ) -> T:
        """Within one transaction: lock the pacing rows of `keys` (made on first use) in key
        order, ask `decide` for their new states given the current ones and the database's
        now, write those and return what `decide` returned beside them."""
        ordered = sorted(set(keys))
        async with self._b.write() as db:
            await db.executemany(  # a DML first: SQLite's write lock from here on
                "INSERT INTO pacing (key, tat, holds) VALUES (?, NULL, 0) "
                "ON CONFLICT(key) DO NOTHING",
                [(k,) for k in ordered],
            )
            lock = " FOR UPDATE" if self._b.dialect == "postgresql" else ""
            states: dict[str, PaceState] = {}
            now = 0.0
            for part in chunks(ordered):
                rows = await db.fetchall(
                    f"SELECT key, tat, holds, {self._now} FROM pacing "
                    f"WHERE key IN ({qmarks(len(part))}) ORDER BY key{lock}",
                    part,
                )
                for r in rows:
                    states[str(r[0])] = (None if r[1] is None else float(r[1]), int(r[2]))
                    now = max(now, float(r[3]))
            changed, result = decide(states, now)
            await db.executemany(
                "UPDATE pacing SET tat = ?, holds = ? WHERE key = ?",
                [(tat, holds, k) for k, (tat, holds) in sorted(changed.items())],
            )
        return result

    async def prune_pacing(self, idle: float) -> int:
        """Forget the pacing of keys unused for `idle` seconds (a fresh key is as good)."""
        async with self._b.write() as db:
            return await db.execute(
                f"DELETE FROM pacing WHERE tat IS NULL OR tat < {self._now} - "
                "CAST(? AS DOUBLE PRECISION)",
                (idle,),
            )


BUCKETS = 60
"""Each limit's window is counted in this many buckets: a use counts from its bucket's start, so
a limit holds to within 1/60 of its window (one second of a minute)."""


def _width(check: RateCheck) -> float:
    return check.per / BUCKETS


async def _wait(db: Connection, check: RateCheck, now: float) -> float:
    """Seconds until one more use fits `check` (0: now). Takes the key's lock row first, so
    uses of one key are counted one transaction at a time across processes."""
    await db.execute(
        "INSERT INTO rate_counts (scope, key, window_no, hits, expires_at) VALUES (?, ?, -1, 0, ?) "
        "ON CONFLICT(scope, key, window_no) DO UPDATE SET expires_at = excluded.expires_at",
        (check.scope, check.key, now + check.per),
    )
    width = _width(check)
    rows = await db.fetchall(
        "SELECT window_no, hits FROM rate_counts WHERE scope = ? AND key = ? AND window_no >= 0 "
        "AND window_no > ? ORDER BY window_no",
        (check.scope, check.key, int((now - check.per) // width)),
    )
    left = sum(int(r[1]) for r in rows)
    for r in rows:  # the oldest uses leave the window first
        if left < check.count:
            break
        left -= int(r[1])
        gone_at = int(r[0]) * width + check.per
        if left < check.count:
            return max(0.0, gone_at - now)
    return 0.0


async def _count(db: Connection, check: RateCheck, now: float) -> Counted:
    """Count one use of `check` in its current bucket."""
    width = _width(check)
    bucket = int(now // width)
    await db.execute(
        "INSERT INTO rate_counts (scope, key, window_no, hits, expires_at) VALUES (?, ?, ?, 1, ?) "
        "ON CONFLICT(scope, key, window_no) DO UPDATE SET hits = rate_counts.hits + 1",
        (check.scope, check.key, bucket, (bucket + 1) * width + check.per),
    )
    return Counted(check.scope, check.key, bucket)
