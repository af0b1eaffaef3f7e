"""The small pieces the query modules of `bot.store` share: the stored timestamp, `IN (...)`
lists cut to SQLite's bound-parameter limit, and a paper read back from its row.

A paper read back is decoded once: the rows of a day's papers are read by every channel's
build, and the same columns give the same (immutable) `Paper`, so the last `KNOWN_PAPERS`
decoded are kept by their row's columns and handed out again.

This module must not run SQL nor know any table beyond the `papers` row `paper_of` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.models import Paper
from bot.store.backend import Row

_CHUNK = 500  # stays well under SQLite's bound-parameter limit
KNOWN_PAPERS = 4096
"""How many decoded papers are kept (a day of the widest category sets, about 2,000
candidates, and then some; about 10 MB at most)."""
_known: dict[tuple[object, ...], Paper] = {}  # oldest first


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
    """A paper from a row holding the columns of `papers` (the one decoded before from the
    same columns, when it is still kept)."""
    columns = (
        row["id"],
        row["version"],
        row["title"],
        row["abstract"],
        row["authors"],
        row["categories"],
        row["primary_category"],
        row["comment"],
        row["journal_ref"],
    )
    paper = _known.get(columns)
    if paper is None:
        paper = _known[columns] = _decoded(row)
        while len(_known) > KNOWN_PAPERS:
            del _known[next(iter(_known))]
    return paper


def _decoded(row: Row) -> Paper:
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
