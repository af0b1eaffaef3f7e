"""The small pieces the query modules of `bot.store` share: the stored timestamp, `IN (...)`
lists cut to SQLite's bound-parameter limit, and a paper read back from its row.

This module must not run SQL nor know any table beyond the `papers` row `paper_of` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.models import Paper
from bot.store.backend import Row

_CHUNK = 500  # stays well under SQLite's bound-parameter limit


def timestamp() -> str:
    """Now, as the store keeps moments: UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    """`items` in slices small enough to bind as one `IN (...)` list."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def qmarks(n: int) -> str:
    """`n` comma-separated `?` marks, the inside of an `IN (...)` list."""
    return ",".join("?" * n)


def paper_of(row: Row) -> Paper:
    """A paper from a row holding the columns of `papers`."""
    return Paper(
        id=row["id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(json.loads(row["authors"])),
        categories=tuple(json.loads(row["categories"])),
        primary_category=row["primary_category"],
        comment=row["comment"],
        journal_ref=row["journal_ref"],
    )
