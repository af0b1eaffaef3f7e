"""The papers the bot knows: the papers themselves, which day's feed announced each, the feed
days stored and each feed's latest fetch, and full-text search over them.

A paper is one row, whatever number of feeds and days announce it; a newer version replaces
its text. Nothing here deletes a paper or an announcement.

Full-text search is the one query each engine writes its own way (see "Full-text search"
below). This module must not read or write scores, digests or anything a channel decided.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from bot.models import AnnounceType, Paper
from bot.safety import spell_undecomposed
from bot.store.backend import Backend, Connection
from bot.store.query import chunks, paper_of, qmarks, timestamp
from bot.store.records import Announcement, FeedFetch


class Papers:
    """Papers, announcements, feed days and fetches (`Store.papers`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def save_announcements(
        self, day: date, categories: str, items: Sequence[tuple[Paper, AnnounceType]]
    ) -> None:
        """Store a day's new and cross-listed papers and which day announced them, in one
        transaction. A paper we already know keeps its enrichment unless its version grew."""
        now = timestamp()
        async with self._b.write() as db:
            await db.executemany(
                """
                INSERT INTO papers (id, version, title, abstract, authors, categories,
                                    primary_category, comment, enriched, first_seen, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    version = excluded.version, title = excluded.title,
                    abstract = excluded.abstract, authors = excluded.authors,
                    categories = CASE WHEN papers.enriched = 1 THEN papers.categories
                                      ELSE excluded.categories END,
                    updated_at = excluded.updated_at
                WHERE excluded.version > papers.version
                """,
                [_paper_params(p, day, now) for p, _ in items],
            )
            await db.executemany(
                "INSERT INTO announcements (day, paper_id, announce_type, categories) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (day, paper_id, categories) "
                "DO UPDATE SET announce_type = excluded.announce_type",
                [(day.isoformat(), p.id, t.value, categories) for p, t in items],
            )
            await db.execute(
                "INSERT INTO feed_days (day, categories, items, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day, categories) DO UPDATE SET items = excluded.items, "
                "fetched_at = excluded.fetched_at",
                (day.isoformat(), categories, len(items), now),
            )

    async def apply_replacements(self, papers: Sequence[Paper]) -> int:
        """Update papers we already know from a feed's replacements; unknown ids are ignored.
        Returns how many papers changed."""
        now = timestamp()
        changed = 0
        async with self._b.write() as db:
            for p in papers:
                changed += await db.execute(
                    "UPDATE papers SET version = ?, title = ?, abstract = ?, authors = ?, "
                    "enriched = 0, updated_at = ? WHERE id = ? AND version < ?",
                    (p.version, p.title, p.abstract, json.dumps(p.authors), now, p.id, p.version),
                )
        return changed

    async def announced(self, day: date, categories: str) -> list[Announcement]:
        """The papers a day's feed announced, in feed order of id."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, a.announce_type FROM announcements a "
                "JOIN papers p ON p.id = a.paper_id "
                "WHERE a.day = ? AND a.categories = ? ORDER BY a.rowid",
                (day.isoformat(), categories),
            )
        return [Announcement(paper_of(r), AnnounceType(r["announce_type"])) for r in rows]

    async def announced_before(self, ids: Sequence[str], day: date) -> set[str]:
        """Which of these papers an earlier day already announced (they are not new today)."""
        found: set[str] = set()
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    f"SELECT DISTINCT paper_id FROM announcements "
                    f"WHERE day < ? AND paper_id IN ({qmarks(len(part))})",
                    (day.isoformat(), *part),
                )
                found.update(r[0] for r in rows)
        return found

    async def feed_fetched(self, day: date, categories: str) -> bool:
        """Whether the feed of this day and category set is already stored."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT 1 FROM feed_days WHERE day = ? AND categories = ?",
                (day.isoformat(), categories),
            )
        return row is not None

    async def latest_feed_day(self, categories: str) -> date | None:
        """The newest announcement day stored for a category set."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT MAX(day) FROM feed_days WHERE categories = ?", (categories,)
            )
        return date.fromisoformat(row[0]) if row and row[0] else None

    async def fresh_feed_day(self, categories: str, fetched_since: datetime) -> date | None:
        """The newest stored announcement day whose feed was fetched after `fetched_since`."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT MAX(day) FROM feed_days WHERE categories = ? AND fetched_at >= ?",
                (categories, fetched_since.astimezone(UTC).isoformat(timespec="seconds")),
            )
        return date.fromisoformat(row[0]) if row and row[0] else None

    async def feed_days(self, categories: str, limit: int = 10) -> list[date]:
        """The newest stored announcement days of a category set, newest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT day FROM feed_days WHERE categories = ? ORDER BY day DESC LIMIT ?",
                (categories, limit),
            )
        return [date.fromisoformat(r[0]) for r in rows]

    async def unenriched(self, ids: Sequence[str]) -> list[str]:
        """Which of these papers still lack the API's fields (primary category, comment)."""
        out: list[str] = []
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    f"SELECT id FROM papers WHERE enriched = 0 AND id IN ({qmarks(len(part))})",
                    tuple(part),
                )
                out.extend(r[0] for r in rows)
        return out

    async def save_enrichment(self, papers: Iterable[Paper]) -> None:
        """Record the arXiv API's view of papers we know (primary category, comment, journal
        reference, ...)."""
        now = timestamp()
        async with self._b.write() as db:
            await db.executemany(
                "UPDATE papers SET categories = ?, primary_category = ?, comment = ?, "
                "journal_ref = ?, authors = ?, enriched = 1, updated_at = ? WHERE id = ?",
                [
                    (
                        json.dumps(p.categories),
                        p.primary_category,
                        p.comment,
                        p.journal_ref,
                        json.dumps(p.authors),
                        now,
                        p.id,
                    )
                    for p in papers
                ],
            )

    async def save_looked_up(self, papers: Iterable[Paper]) -> None:
        """Keep papers the arXiv API returned for a link someone shared (no feed announced
        them): stored as enriched, with no announcement; a paper already known is kept."""
        now = timestamp()
        async with self._b.write() as db:
            await db.executemany(
                """
                INSERT INTO papers (id, version, title, abstract, authors, categories,
                                    primary_category, comment, journal_ref, enriched,
                                    first_seen, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """,
                [
                    (
                        p.id,
                        p.version,
                        p.title,
                        p.abstract,
                        json.dumps(p.authors),
                        json.dumps(p.categories),
                        p.primary_category,
                        p.comment,
                        p.journal_ref,
                        now[:10],
                        now,
                    )
                    for p in papers
                ],
            )

    async def get(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id (missing ids are absent from the result)."""
        out: dict[str, Paper] = {}
        async with self._b.read() as db:
            for part in chunks(ids):
                rows = await db.fetchall(
                    f"SELECT * FROM papers WHERE id IN ({qmarks(len(part))})", tuple(part)
                )
                out.update((r["id"], paper_of(r)) for r in rows)
        return out

    async def search(self, terms: Sequence[Term], limit: int = 10) -> list[Paper]:
        """Stored papers containing every term, a word or a phrase (title, abstract or
        authors), best match first; `terms` come from `query_terms`."""
        ids = await full_text_search(self._b, terms, limit)
        found = await self.get(ids)
        return [found[i] for i in ids if i in found]

    async def record_fetch(
        self,
        categories: str,
        at: datetime,
        day: date | None,
        counts: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        """Remember a completed feed fetch (its announcement day, or None for no announcement)."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO feed_fetches (categories, fetched_at, day, new, cross_lists, "
                "replaced) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (categories) DO UPDATE SET "
                "fetched_at = excluded.fetched_at, day = excluded.day, new = excluded.new, "
                "cross_lists = excluded.cross_lists, replaced = excluded.replaced",
                (
                    categories,
                    at.astimezone(UTC).isoformat(timespec="microseconds"),
                    day.isoformat() if day else None,
                    *counts,
                ),
            )

    async def last_fetch(self, categories: str) -> FeedFetch | None:
        """The latest completed fetch of a feed."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT fetched_at, day, new, cross_lists, replaced FROM feed_fetches "
                "WHERE categories = ?",
                (categories,),
            )
        if row is None:
            return None
        day = date.fromisoformat(row[1]) if row[1] else None
        return FeedFetch(datetime.fromisoformat(row[0]), day, int(row[2]), int(row[3]), int(row[4]))


async def add_known(db: Connection, papers: Sequence[Paper], now: str) -> None:
    """Store papers read from the arXiv API (an import, say) inside the caller's transaction;
    a paper already stored is left as it is (a feed's text and enrichment win)."""
    await db.executemany(
        "INSERT INTO papers (id, version, title, abstract, authors, categories, "
        "primary_category, comment, enriched, first_seen, updated_at, journal_ref) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [(*_paper_params(p, date.fromisoformat(now[:10]), now), p.journal_ref) for p in papers],
    )


def _paper_params(p: Paper, day: date, now: str) -> tuple[Any, ...]:
    return (
        p.id,
        p.version,
        p.title,
        p.abstract,
        json.dumps(p.authors),
        json.dumps(p.categories),
        p.primary_category,
        p.comment,
        day.isoformat(),
        now,
    )


# Full-text search
#
# Full-text search over the stored papers: the one query each engine writes its own way.
#
# SQLite matches the FTS5 table `papers_fts` (porter stemming, diacritics folded) and orders by
# bm25 with the title and authors weighing more than the abstract; PostgreSQL matches the
# GIN-indexed `tsvector` kept in its `papers_fts` table (English stemming, stop words dropped;
# title and authors weigh A, the abstract B) and orders by `ts_rank`. Both take the same input,
# plain words and quoted phrases every paper must contain (the commonest English words left out,
# as PostgreSQL would, except inside a phrase), folded as the index is (migration 12), and rank
# title and author hits above abstract hits, so results agree roughly, not exactly.
#
# User text never reaches either query language as syntax: `terms` hold only letters and
# digits (see `query_terms`), each term quoted for FTS5 and passed to `plainto_tsquery` or
# `phraseto_tsquery` as a bound parameter on PostgreSQL.
#
# `Papers.search` calls it.

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


Term = tuple[str, ...]
"""A query term: one word, or the words of a quoted phrase in order."""
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]*)[\"“”„«»]?")


def fold_word(word: str) -> str:
    """A word as the index holds it: lower case, without accents, and the letters Unicode does
    not take apart spelled out (`Søgaard` → `sogaard`), as migration 12 folds the index."""
    spelled = unicodedata.normalize("NFKD", spell_undecomposed(word))
    return "".join(c for c in spelled if not unicodedata.combining(c)).lower()


def _words_of(text: str) -> list[str]:
    found: list[str] = []
    for match in _WORD.finditer(text):
        found += [fold_word(w)[:MAX_WORD_CHARS] for w in match.group().split("_") if w]
    return [w for w in found if w]


def query_terms(text: str) -> list[Term]:
    """The searchable terms of user text: each quoted phrase (`"mixture of experts"`, its words
    in order, common words kept, since a phrase is matched as written) and each other word,
    folded (`fold_word`), at most MAX_WORDS distinct terms. Runs of letters and digits are the
    words (`_` splits them too); quotes mark phrases, and operators (`NEAR`, `AND`, `*`, `-`,
    `^`, `:`) and punctuation are separators, never syntax. COMMON_WORDS alone are left out,
    and so is a phrase of nothing else; an empty list means there is nothing to search for."""
    terms: list[Term] = []
    text = text[:20_000]
    at = 0
    pieces: list[tuple[str, bool]] = []
    for m in _QUOTED.finditer(text):
        pieces += [(text[at : m.start()], False), (m.group(1), True)]
        at = m.end()
    pieces.append((text[at:], False))
    for piece, quoted in pieces:
        words = _words_of(piece)
        found: list[Term]
        if quoted and len(words) > 1:
            found = [tuple(words)] if not all(w in COMMON_WORDS for w in words) else []
        else:
            found = [(w,) for w in words if w not in COMMON_WORDS]
        for term in found:
            if term not in terms:
                terms.append(term)
            if len(terms) >= MAX_WORDS:
                return terms
    return terms


def shown_terms(terms: Sequence[Term]) -> str:
    """Terms as a person reads them: `"mixture of experts" routing`."""
    return " ".join(f'"{" ".join(t)}"' if len(t) > 1 else t[0] for t in terms)


def fts5_query(terms: Sequence[Term]) -> str:
    """An FTS5 MATCH expression requiring every term: each a quoted string (a phrase's words in
    order), so a word such as `near` or `and` is a word, not an operator."""
    return " ".join('"' + " ".join(t).replace('"', '""') + '"' for t in terms)


def _pg_query(terms: Sequence[Term]) -> tuple[str, tuple[str, ...]]:
    """PostgreSQL's tsquery over `terms` (the single words together, each phrase on its own)
    and its parameters: user text only ever goes in as bound parameters."""
    words = " ".join(t[0] for t in terms if len(t) == 1)
    phrases = [" ".join(t) for t in terms if len(t) > 1]
    parts = (["plainto_tsquery('english', ?)"] if words else []) + [
        "phraseto_tsquery('english', ?)" for _ in phrases
    ]
    return " && ".join(parts), ((words,) if words else ()) + tuple(phrases)


async def full_text_search(backend: Backend, terms: Sequence[Term], limit: int) -> list[str]:
    """Ids of the papers containing every term, best match first (at most `limit`)."""
    if not terms:
        return []
    async with backend.read() as db:
        if backend.dialect == "postgresql":
            query, params = _pg_query(terms)
            rows = await db.fetchall(
                "SELECT p.id FROM papers_fts f JOIN papers p ON p.id = f.paper_id, "
                f"(SELECT {query} AS q) AS t WHERE f.document @@ t.q "
                "ORDER BY ts_rank(f.document, t.q) DESC, p.first_seen DESC, p.id DESC LIMIT ?",
                (*params, limit),
            )
        else:
            rows = await db.fetchall(
                "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                "WHERE papers_fts MATCH ? "
                "ORDER BY bm25(papers_fts, 10.0, 1.0, 10.0), p.first_seen DESC, p.id DESC "
                "LIMIT ?",
                (fts5_query(terms), limit),
            )
    return [str(r[0]) for r in rows]
