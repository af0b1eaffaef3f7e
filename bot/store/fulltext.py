"""Full-text search over the stored papers: the one query each engine writes its own way.

SQLite matches the FTS5 table `papers_fts` (porter stemming, diacritics folded) and orders by
bm25 with the title and authors weighing more than the abstract; PostgreSQL matches the
GIN-indexed `tsvector` kept in its `papers_fts` table (English stemming, stop words dropped;
title and authors weigh A, the abstract B) and orders by `ts_rank`. Both take the same input,
plain words every paper must contain (the commonest English words left out, as PostgreSQL
would), and rank title and author hits above abstract hits, so results agree roughly, not
exactly.

User text never reaches either query language as syntax: `words` holds only letters and
digits (see `query_words`), each one quoted for FTS5 and passed to `plainto_tsquery` as a bound
parameter on PostgreSQL.

This module must not hold any other query; `bot.store.papers.Papers.search` calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.store.backend import Backend

MAX_WORDS = 12
"""Words of a query kept; more rarely narrow a search and only slow it."""
MAX_WORD_CHARS = 40
_WORD = re.compile(r"\w+", re.UNICODE)
_COMMON = (
    "a an and are as at be been but by can do does for from had has have he her his how i if "
    "in into is it its me my no nor not of off on or our out over she so such than that the "
    "their them then there these they this those to too under up very was we were what when "
    "where which while who whom why will with you your"
)
COMMON_WORDS = frozenset(_COMMON.split())
"""Words too common to search for: every paper has them, and PostgreSQL's English
configuration drops them, so SQLite leaves them out too."""


def query_words(text: str) -> list[str]:
    """The searchable words of user text: runs of letters and digits (`_` splits them too), at
    most MAX_WORDS distinct ones of at most MAX_WORD_CHARS characters, lower-cased. Quotes,
    operators (`NEAR`, `AND`, `*`, `-`, `^`, `:`) and punctuation are separators, never syntax;
    COMMON_WORDS are left out; an empty list means there is nothing to search for."""
    words: list[str] = []
    for match in _WORD.finditer(text[:20_000]):
        for word in match.group().lower().split("_"):
            word = word[:MAX_WORD_CHARS]
            if word and word not in words and word not in COMMON_WORDS:
                words.append(word)
            if len(words) >= MAX_WORDS:
                return words
    return words


def fts5_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression requiring every word: each a quoted string, so a word such as
    `near` or `and` is a word, not an operator."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


async def search(backend: Backend, words: Sequence[str], limit: int) -> list[str]:
    """Ids of the papers containing every word, best match first (at most `limit`)."""
    if not words:
        return []
    async with backend.read() as db:
        if backend.dialect == "postgresql":
            rows = await db.fetchall(
                "SELECT p.id FROM papers_fts f JOIN papers p ON p.id = f.paper_id, "
                "plainto_tsquery('english', ?) AS q WHERE f.document @@ q "
                "ORDER BY ts_rank(f.document, q) DESC, p.first_seen DESC, p.id DESC LIMIT ?",
                (" ".join(words), limit),
            )
        else:
            rows = await db.fetchall(
                "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                "WHERE papers_fts MATCH ? "
                "ORDER BY bm25(papers_fts, 10.0, 1.0, 10.0), p.first_seen DESC, p.id DESC "
                "LIMIT ?",
                (fts5_query(words), limit),
            )
    return [str(r[0]) for r in rows]
