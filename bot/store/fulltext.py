"""Full-text search over the stored papers: the one query each engine writes its own way.

SQLite matches the FTS5 table `papers_fts` (porter stemming, diacritics folded) and orders by
bm25 with the title and authors weighing more than the abstract; PostgreSQL matches the GIN-indexed
tsvector of `bot.store.schema.PG_SEARCH_DOCUMENT` (English stemming, stop words dropped) and
orders by `ts_rank`. Both take the same input, a list of plain words every paper must contain,
and rank title and author hits above abstract hits, so results agree roughly, not exactly.

User text never reaches either query language as syntax: `words` holds only letters and
digits (see `query_words`), each one quoted for FTS5 and passed to `plainto_tsquery` as a bound
parameter on PostgreSQL.

This module must not hold any other query; `bot.store.store.Store.search_papers` calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.store.backend import Backend
from bot.store.schema import PG_SEARCH_DOCUMENT

MAX_WORDS = 12
"""Words of a query kept; more rarely narrow a search and only slow it."""
MAX_WORD_CHARS = 40
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(text: str) -> list[str]:
    """The searchable words of user text: runs of letters and digits (`_` splits them too), at
    most MAX_WORDS distinct ones of at most MAX_WORD_CHARS characters, lower-cased. Quotes,
    operators (`NEAR`, `AND`, `*`, `-`, `^`, `:`) and punctuation are separators, never syntax;
    an empty list means there is nothing to search for."""
    words: list[str] = []
    for match in _WORD.finditer(text[:20_000]):
        for word in match.group().lower().split("_"):
            word = word[:MAX_WORD_CHARS]
            if word and word not in words:
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
                f"SELECT id FROM papers, plainto_tsquery('english', ?) AS q "
                f"WHERE {PG_SEARCH_DOCUMENT} @@ q "
                f"ORDER BY ts_rank({PG_SEARCH_DOCUMENT}, q) DESC, first_seen DESC, id DESC "
                "LIMIT ?",
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
