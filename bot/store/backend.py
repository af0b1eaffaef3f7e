"""The two database engines under the store: SQLite through aiosqlite, PostgreSQL through asyncpg.

A thin dialect layer, not an ORM: the store writes portable SQL with `?` placeholders and asks a
backend for a transaction (`write`) or a read (`read`); each backend runs the statements its own
way and applies the migrations of `bot.store.schema` when it opens.

- SQLite: one connection shared by the process (WAL, busy timeout), one store call at a time
  (an asyncio lock), a commit at the end of each write. Several processes opening a new file
  migrate it once: BEGIN IMMEDIATE, then `user_version` read inside the write lock.
- PostgreSQL: a small asyncpg pool; each write is one transaction on one pooled connection, so
  calls of one process run in parallel. `?` becomes `$1, $2, …`. Several replicas starting
  together migrate once under `pg_advisory_lock`, versions kept in `schema_migrations`.

This module must not hold queries of the bot's data (those live in `bot.store`'s parts), nor let
a database password reach a message: connection failures are reported with the URL masked.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiosqlite

from bot.errors import BotError
from bot.store.schema import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from bot.store.url import Database, PostgresURL

if TYPE_CHECKING:
    import asyncpg

BUSY_TIMEOUT_MS = 15_000  # another process's write (a migration, a day's scores) is waited for
POOL_SIZE = 8  # connections per process on PostgreSQL; replicas x this stays under max_connections
MIGRATION_LOCK = 0x61727869  # pg_advisory_lock key of migrations ("arxi")


class StoreUnavailable(BotError):
    """The database cannot be opened (server down, wrong credentials, missing database).
    `transient`: it may open in a moment (a lock held by another process, a server that does
    not answer), so a long-running bot waits for it rather than giving up."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Row(Protocol):
    """A result row: columns by position or by name."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Connection(Protocol):
    """Statements on one connection, inside the store call that holds it."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per parameter row."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, if any."""
        ...


class Backend(Protocol):
    """An open database: reads, writes (one transaction each), its dialect and its schema."""

    dialect: str  # 'sqlite' or 'postgresql'

    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads (no transaction is kept open)."""
        ...

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection in one transaction, committed on exit, rolled back on an error."""
        ...

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        ...

    async def columns(self, table: str) -> list[tuple[str, type]]:
        """A table's columns with the Python type each holds (int, float or str)."""
        ...

    async def after_copy(self, table: str) -> None:
        """Let new rows of a table copied with its ids get ids after the copied ones."""
        ...

    async def close(self) -> None:
        """Release the connections."""
        ...


async def open_backend(db: Database | str) -> Backend:
    """Open (creating if needed) and migrate a database."""
    if isinstance(db, PostgresURL):
        return await PostgresBackend.open(db)
    return await SQLiteBackend.open(str(db))


# -- SQLite ---------------------------------------------------------------------------------------


class _SQLiteConnection:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self._db.execute(sql, tuple(params))
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._db.executemany(sql, [tuple(r) for r in rows])

    # Each await here is a trip to aiosqlite's thread and back, and one connection serves the
    # whole process, so the fewer trips a call takes, the more store calls a second: all of a
    # query's rows come back in the trip that runs it (one trip, not three).

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._db.execute(sql, tuple(params)) as cur:
            row: Row | None = await cur.fetchone()
            return row


class SQLiteBackend:
    """One SQLite file, one connection, one store call at a time."""

    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._conn = _SQLiteConnection(db)
        # One call's statements and its commit never interleave with another coroutine's on the
        # shared connection (that breaks transactions and can make sqlite3 reject a statement).
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SQLiteBackend:
        """Open and migrate the file; what makes that impossible (not a database, a folder,
        no permission, a read-only or full disk, a lock held too long) is one line naming
        ARXIV_BOT_DB."""
        try:
            if path != ":memory:":
                _check_file(Path(path))
            db = await aiosqlite.connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(_sqlite_reason(path, exc)) from None
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await _migrate_sqlite(db)
        except (OSError, sqlite3.Error) as exc:
            await db.close()
            locked = "database is locked" in str(exc).lower()
            raise StoreUnavailable(_sqlite_reason(path, exc), transient=locked) from None
        except BaseException:
            await db.close()
            raise
        return cls(db)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        async with self._lock:
            try:
                yield self._conn
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def schema_version(self) -> int:
        async with self.read() as db:
            row = await db.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def columns(self, table: str) -> list[tuple[str, type]]:
        async with self.read() as db:
            rows = await db.fetchall(f"SELECT name, type FROM pragma_table_info('{table}')")
        return [(str(r[0]), _python_type(str(r[1]))) for r in rows]

    async def after_copy(self, table: str) -> None:
        return None  # SQLite's next rowid is always past the largest one

    async def close(self) -> None:
        await self._db.close()


async def _migrate_sqlite(db: aiosqlite.Connection) -> None:
    """Apply the missing migrations. Several processes may open a new database together: each
    takes the write lock (BEGIN IMMEDIATE) and reads `user_version` inside it, so exactly one
    applies a migration and the others find it done."""
    while True:
        async with db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        if (int(row[0]) if row else 0) >= len(SQLITE_MIGRATIONS):
            return
        await db.commit()
        await db.execute("BEGIN IMMEDIATE")
        try:
            async with db.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            applied = int(row[0]) if row else 0
            if applied < len(SQLITE_MIGRATIONS):
                for statement in _statements(SQLITE_MIGRATIONS[applied]):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {applied + 1}")
            await db.commit()
        except BaseException:
            await db.rollback()
            raise


def _statements(script: str) -> list[str]:
    """A migration script cut into single statements (aiosqlite's executescript would commit
    the open transaction first)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            stripped = pending.strip()
            if stripped.rstrip(";").strip():
                out.append(stripped)
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


# -- PostgreSQL -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def to_numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …` (outside quoted strings)."""
    out: list[str] = []
    n = 0
    for i, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        if i % 2:  # a quoted literal
            out.append(part)
            continue
        pieces = part.split("?")
        for j, piece in enumerate(pieces):
            if j:
                n += 1
                out.append(f"${n}")
            out.append(piece)
    return "".join(out)


def _changed(status: str) -> int:
    """Rows changed, from a command status such as 'INSERT 0 1' or 'UPDATE 3'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresConnection:
    def __init__(self, conn: asyncpg.pool.PoolConnectionProxy[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _changed(await self._conn.execute(to_numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            await self._conn.executemany(to_numbered(sql), batch)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._conn.fetch(to_numbered(sql), *params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self._conn.fetchrow(to_numbered(sql), *params)
        return row


class PostgresBackend:
    """A PostgreSQL database through a small connection pool; calls run in parallel."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool[Any], url: PostgresURL) -> None:
        self._pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: PostgresURL) -> PostgresBackend:
        try:
            import asyncpg  # loaded only where the database is PostgreSQL
        except ImportError:
            raise StoreUnavailable(
                f"the database {url} is PostgreSQL, which needs the postgres extra: "
                "pip install 'arxiv-team-bot[postgres]'"
            ) from None

        try:
            pool = await asyncpg.create_pool(url.dsn(), min_size=1, max_size=POOL_SIZE)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            down = isinstance(exc, OSError | asyncpg.CannotConnectNowError)
            raise StoreUnavailable(
                f"cannot open the database {url}: {_reason(exc, url)}", transient=down
            ) from None
        try:
            async with pool.acquire() as conn:
                await _migrate_postgres(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn:
            yield _PostgresConnection(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresConnection(conn)

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(_VERSION) or 0)

    async def columns(self, table: str) -> list[tuple[str, type]]:
        async with self.read() as db:
            rows = await db.fetchall(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position",
                (table,),
            )
        return [(str(r[0]), _python_type(str(r[1]))) for r in rows]

    async def after_copy(self, table: str) -> None:
        async with self.write() as db:
            rows = await db.fetchall(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = ? AND is_identity = 'YES'",
                (table,),
            )
            for row in rows:
                column = str(row[0])
                await db.fetchone(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
                )

    async def close(self) -> None:
        await self._pool.close()


_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"


async def _migrate_postgres(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> None:
    """Apply the missing migrations, each in one transaction. Replicas starting together queue
    on one advisory lock, so exactly one applies each migration and the others find it done."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = int(await conn.fetchval(_VERSION) or 0)
        for version in range(applied + 1, len(POSTGRES_MIGRATIONS) + 1):
            async with conn.transaction():
                await conn.execute(POSTGRES_MIGRATIONS[version - 1])
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    version,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                )
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


def _python_type(declared: str) -> type:
    """What a column holds, from its declared SQL type."""
    kind = declared.upper()
    if "INT" in kind:
        return int
    if "REAL" in kind or "DOUBLE" in kind or "FLOAT" in kind:
        return float
    return str


def _reason(exc: BaseException, url: PostgresURL) -> str:
    """A driver error in one line, never with the password in it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if url.password is not None and url.password.get_secret_value():
        text = text.replace(url.password.get_secret_value(), "***")
    return text[:200]


def _check_file(path: Path) -> None:
    """Refuse what SQLite cannot open before it tries (a failed open leaves aiosqlite's worker
    thread behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_file():
        raise sqlite3.OperationalError("unable to open database file")
    if path.exists() and not os.access(path, os.R_OK):
        raise sqlite3.OperationalError("unable to open database file")


def _sqlite_reason(path: str, exc: BaseException) -> str:
    """One line for a SQLite file that cannot be used."""
    message = str(exc).strip() or type(exc).__name__
    hints = {
        "file is not a database": "it is not a SQLite database (corrupt, or another kind of file)",
        "unable to open database file": "it cannot be opened (a folder, or no permission)",
        "attempt to write a readonly database": "it is read-only",
        "database or disk is full": "the disk is full",
        "database is locked": "another process held it locked for too long",
    }
    why = next((hint for key, hint in hints.items() if key in message.lower()), message)
    return f"cannot use the database ARXIV_BOT_DB={path}: {why}"
