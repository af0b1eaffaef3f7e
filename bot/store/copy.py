"""Copying a whole database into another: `arxiv-bot migrate-db FROM TO`.

Both databases are opened (and so migrated to the same schema); the target must be empty.
Each table is copied in one transaction, in an order that satisfies its references, with its
ids (and the `rowid` order the store reads), values converted to the target column's type;
then rows are counted on both sides. A mismatch is an error; nothing is deleted from the source.

The target is marked a copy in progress before the first row (`store_copy`) and complete only
after the last table is verified, so a copy that stopped (a crash, a kill, a value the target
cannot hold) leaves a target that says so: the bot refuses to start on it
(`incomplete_copy_problem`), and `migrate-db` refuses to copy into it again unless told to
redo it (`redo=True`: the half-copied rows are deleted first).

This module must not change the source, nor print: it returns one result per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.errors import BotError
from bot.store.backend import Backend, open_backend
from bot.store.schema import ROWID_TABLES, TABLES
from bot.store.url import Database, describe

_BATCH = 1000


class CopyError(BotError):
    """The copy cannot start (target not empty) or did not arrive whole (counts differ)."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table's copy: rows read from the source and rows found in the target after it."""

    table: str
    source_rows: int
    target_rows: int

    @property
    def verified(self) -> bool:
        """Whether every row arrived."""
        return self.source_rows == self.target_rows


async def copy_database(
    source: Database, target: Database, *, redo: bool = False
) -> list[TableCopy]:
    """Copy every table of `source` into the empty `target`; raises CopyError if the target
    has data or a table's counts differ afterwards. With `redo`, a target an earlier copy left
    unfinished is emptied and copied again."""
    if describe(source) == describe(target):
        raise CopyError("FROM and TO are the same database")
    src = await open_backend(source)
    try:
        dst = await open_backend(target)
        try:
            started = await _copy_state(dst)
            if started is not None and started[1] is None:
                if not redo:
                    raise CopyError(
                        f"{describe(target)} holds a copy that stopped before the end (started "
                        f"{started[0]}): run `arxiv-bot migrate-db FROM TO --redo` to empty it "
                        "and copy again"
                    )
                await _empty(dst)
            elif started is not None:
                raise CopyError(
                    f"{describe(target)} is already a complete copy (finished {started[1]}): "
                    "migrate-db copies into an empty database"
                )
            return await _copy(src, dst, describe(source), describe(target))
        finally:
            await dst.close()
    finally:
        await src.close()


async def incomplete_copy_problem(backend: Backend) -> str | None:
    """Why the bot must not start on this database: a `migrate-db` into it stopped before the
    end (None when it is no copy, or a complete one)."""
    state = await _copy_state(backend)
    if state is None or state[1] is not None:
        return None
    return (
        f"this database is a copy that stopped before the end (migrate-db started {state[0]}): "
        "run `arxiv-bot migrate-db FROM TO --redo` to copy it again, or point ARXIV_BOT_DB at "
        "the source"
    )


async def _copy_state(backend: Backend) -> tuple[str, str | None] | None:
    async with backend.read() as db:
        row = await db.fetchone("SELECT started_at, completed_at FROM store_copy WHERE id = 1")
    if row is None:
        return None
    return str(row[0]), None if row[1] is None else str(row[1])


async def _empty(backend: Backend) -> None:
    """Delete what an unfinished copy wrote (tables in the reverse of their copy order)."""
    async with backend.write() as db:
        for table in reversed(TABLES):
            await db.execute(f"DELETE FROM {table}")
        await db.execute("DELETE FROM store_copy")


async def _copy(src: Backend, dst: Backend, source_name: str, target_name: str) -> list[TableCopy]:
    for table in TABLES:
        if await _count(dst, table):
            raise CopyError(
                f"{target_name} already has rows in {table}: migrate-db copies into an empty "
                "database"
            )
    async with dst.write() as db:
        await db.execute(
            "INSERT INTO store_copy (id, source, started_at) VALUES (1, ?, ?)",
            (source_name, _now()),
        )
    done: list[TableCopy] = []
    for table in TABLES:
        columns = await dst.columns(table)
        if table in ROWID_TABLES and "rowid" not in {name for name, _ in columns}:
            columns = [("rowid", int), *columns]
        rows = await _read(src, table, [name for name, _ in columns])
        await _write(dst, table, columns, rows)
        await dst.after_copy(table)
        done.append(TableCopy(table, len(rows), await _count(dst, table)))
        if not done[-1].verified:
            raise CopyError(
                f"{table}: {len(rows)} rows read but {done[-1].target_rows} found after the copy"
            )
    async with dst.write() as db:
        await db.execute("UPDATE store_copy SET completed_at = ? WHERE id = 1", (_now(),))
    return done


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def _count(backend: Backend, table: str) -> int:
    async with backend.read() as db:
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


async def _read(backend: Backend, table: str, names: Sequence[str]) -> list[tuple[Any, ...]]:
    order = " ORDER BY rowid" if table in ROWID_TABLES else ""
    async with backend.read() as db:
        rows = await db.fetchall(f"SELECT {', '.join(names)} FROM {table}{order}")
    return [tuple(r[i] for i in range(len(names))) for r in rows]


async def _write(
    backend: Backend,
    table: str,
    columns: Sequence[tuple[str, type]],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    names = ", ".join(name for name, _ in columns)
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    kinds = [kind for _, kind in columns]
    async with backend.write() as db:
        for start in range(0, len(rows), _BATCH):
            try:
                batch = [
                    tuple(None if v is None else kind(v) for v, kind in zip(r, kinds, strict=True))
                    for r in rows[start : start + _BATCH]
                ]
            except (TypeError, ValueError) as exc:
                raise CopyError(
                    f"{table}: a value the target's column cannot hold ({exc}); nothing of "
                    "this table was written"
                ) from None
            await db.executemany(sql, batch)
