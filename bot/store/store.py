"""The bot's queries: every read and write of its data, behind intent-named async methods.

Callers pass and receive the value types of `bot.models` and `bot.store.records`; nothing
outside the `bot.store` package builds SQL. The same statements run on SQLite and PostgreSQL
(`bot.store.backend` runs them): `?` placeholders, `ON CONFLICT` upserts with their target,
no `INSERT OR …`, no JSON functions (packed JSON columns are read in Python), and `rowid` where
insertion order matters (a column of that name on PostgreSQL).

Durability rules: each method commits before it returns, so whatever a method reported as stored
survives a crash; a write that fails is rolled back whole. Nothing here deletes papers, scores,
usage or likes.

This module must not ask which engine runs it: a query that only one dialect can run belongs
in `bot.store.backend` (or its JSON part in Python here), and parameters keep the column's
type (asyncpg refuses an int for a TEXT column where SQLite would store it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.models import AnnounceType, Criteria, Paper, Score, ScoreKey, Usage
from bot.store import fulltext
from bot.store.backend import Backend, Connection, Row, open_backend
from bot.store.follows import FollowStore
from bot.store.installations import Installations, active
from bot.store.records import (
    Announcement,
    ChannelEvent,
    ChannelRow,
    CriteriaVersion,
    DigestFrame,
    DigestRecord,
    FeedFetch,
    LearningState,
    Lease,
    Like,
    LikedPaper,
    RankedDay,
    RankingRow,
    RankingSet,
    Reaction,
)
from bot.store.similar import SimilarStore
from bot.store.url import PostgresURL, parse_database

_CHUNK = 500  # stays well under SQLite's bound-parameter limit


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _paper(row: Row) -> Paper:
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


class Store:
    """The bot's database. Open with `async with Store.open(db) as store:`, where `db` is a
    SQLite path or a PostgreSQL URL (`bot.store.url`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend
        self.follows = FollowStore(backend)
        """The authors and keywords channels follow (`bot.store.follows`)."""
        self.similar = SimilarStore(backend)
        """The kept answers of `/arxiv similar` (`bot.store.similar`)."""

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str | PostgresURL) -> AsyncIterator[Store]:
        """Open (creating if needed) and migrate the database."""
        backend = await open_backend(parse_database(path))
        try:
            yield cls(backend)
        finally:
            await backend.close()

    @property
    def installations(self) -> Installations:
        """Installations in many workspaces, OAuth states, paused workspaces."""
        return Installations(self._b)

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        return await self._b.schema_version()

    # -- papers and announcements ------------------------------------------------------------

    async def save_announcements(
        self, day: date, categories: str, items: Sequence[tuple[Paper, AnnounceType]]
    ) -> None:
        """Store a day's new and cross-listed papers and which day announced them, in one
        transaction. A paper we already know keeps its enrichment unless its version grew."""
        now = _now()
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
        now = _now()
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
        return [Announcement(_paper(r), AnnounceType(r["announce_type"])) for r in rows]

    async def announced_before(self, ids: Sequence[str], day: date) -> set[str]:
        """Which of these papers an earlier day already announced (they are not new today)."""
        found: set[str] = set()
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    f"SELECT DISTINCT paper_id FROM announcements "
                    f"WHERE day < ? AND paper_id IN ({_marks(len(part))})",
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

    async def unenriched(self, ids: Sequence[str]) -> list[str]:
        """Which of these papers still lack the API's fields (primary category, comment)."""
        out: list[str] = []
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    f"SELECT id FROM papers WHERE enriched = 0 AND id IN ({_marks(len(part))})",
                    tuple(part),
                )
                out.extend(r[0] for r in rows)
        return out

    async def save_enrichment(self, papers: Iterable[Paper]) -> None:
        """Record the arXiv API's view of papers we know (primary category, comment, journal
        reference, ...)."""
        now = _now()
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

    async def papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id (missing ids are absent from the result)."""
        out: dict[str, Paper] = {}
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    f"SELECT * FROM papers WHERE id IN ({_marks(len(part))})", tuple(part)
                )
                out.update((r["id"], _paper(r)) for r in rows)
        return out

    # -- criteria -----------------------------------------------------------------------------

    async def criteria(self, text: str) -> Criteria:
        """The stored criteria with this exact text, created if new (content-addressed, so
        identical criteria share one id and one set of scores)."""
        c = Criteria(text=text)
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO criteria (sha256, text, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (c.sha256, text, _now()),
            )
            row = await db.fetchone("SELECT id FROM criteria WHERE sha256 = ?", (c.sha256,))
        assert row is not None
        return Criteria(text=text, id=int(row[0]))

    async def channel_criteria(self, channel_id: str) -> tuple[Criteria, int] | None:
        """A channel's current criteria and its version number, or None if it has none."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT c.id, c.text, cc.version FROM channel_criteria cc "
                "JOIN criteria c ON c.id = cc.criteria_id WHERE cc.channel_id = ? "
                "ORDER BY cc.version DESC LIMIT 1",
                (channel_id,),
            )
        return (Criteria(text=row[1], id=row[0]), int(row[2])) if row else None

    async def set_channel_criteria(
        self, channel_id: str, criteria: Criteria, changed_by: str, note: str = ""
    ) -> int:
        """Make `criteria` the channel's current version; returns the new version number.
        Processes setting a channel's criteria at once each get a version of their own (a
        number taken meanwhile by another process is skipped, not an error)."""
        assert criteria.id is not None
        while True:
            async with self._b.write() as db:
                row = await db.fetchone(
                    "SELECT COALESCE(MAX(version), 0) FROM channel_criteria WHERE channel_id = ?",
                    (channel_id,),
                )
                version = (int(row[0]) if row else 0) + 1
                added = await db.execute(
                    "INSERT INTO channel_criteria (channel_id, version, criteria_id, changed_by, "
                    "changed_at, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (channel_id, version, criteria.id, changed_by, _now(), note),
                )
            if added:
                return version

    # -- scores and usage -----------------------------------------------------------------------

    async def scores(self, ids: Sequence[str], key: ScoreKey) -> dict[str, Score]:
        """The stored scores of these papers under one key."""
        out: dict[str, Score] = {}
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    f"SELECT paper_id, relevance, novelty, comment FROM scores "
                    f"WHERE criteria_id = ? AND model = ? AND prompt_version = ? "
                    f"AND paper_id IN ({_marks(len(part))})",
                    (key.criteria_id, key.model, key.prompt_version, *part),
                )
                for r in rows:
                    out[r[0]] = Score(r[0], int(r[1]), int(r[2]), r[3])
        return out

    async def verdicts(
        self, key: ScoreKey, exclude: Sequence[str] = (), limit: int = 3000
    ) -> list[tuple[Paper, Score]]:
        """The newest `limit` papers the LLM scored under one key, with their scores, leaving
        out `exclude` (the papers being ranked must not teach their own ranking)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, s.relevance, s.novelty, s.comment AS verdict FROM scores s "
                "JOIN papers p ON p.id = s.paper_id "
                "WHERE s.criteria_id = ? AND s.model = ? AND s.prompt_version = ? "
                "ORDER BY s.scored_at DESC, s.paper_id LIMIT ?",
                (key.criteria_id, key.model, key.prompt_version, limit + len(exclude)),
            )
        skip = set(exclude)
        out = [
            (_paper(r), Score(r["id"], int(r["relevance"]), int(r["novelty"]), r["verdict"]))
            for r in rows
            if r["id"] not in skip
        ]
        return out[:limit]

    async def save_scores(
        self, scores: Sequence[Score], key: ScoreKey, usage: Usage, day: date | None
    ) -> None:
        """Store one LLM reply's scores together with what the call cost, atomically."""
        now = _now()
        async with self._b.write() as db:
            await db.executemany(
                "INSERT INTO scores (paper_id, criteria_id, model, prompt_version, relevance, "
                "novelty, comment, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [
                    (
                        s.paper_id,
                        key.criteria_id,
                        key.model,
                        key.prompt_version,
                        s.relevance,
                        s.novelty,
                        s.comment,
                        now,
                    )
                    for s in scores
                ],
            )
            await _insert_usage(db, now, day, "score", key.model, key.criteria_id, usage)

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
            await _insert_usage(db, _now(), day, purpose, model, criteria_id, usage)

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

    # -- digests ----------------------------------------------------------------------------

    async def save_digest(
        self, channel_id: str, day: date, state: str, body: Any, frame: DigestFrame | None = None
    ) -> None:
        """Keep a channel's digest of a day (JSON-serialisable body) and its delivery state; a
        `frame` records what the day was decided on (kept when None)."""
        f = frame or DigestFrame(None, None, None)
        sent = (
            json.dumps(list(f.sent_ids), separators=(",", ":")) if f.sent_ids is not None else None
        )
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO digests (channel_id, day, state, body, updated_at, criteria_id, "
                "ranking_key, sent_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(channel_id, day) DO UPDATE SET body = excluded.body, "
                "updated_at = excluded.updated_at, "
                "criteria_id = COALESCE(excluded.criteria_id, digests.criteria_id), "
                "ranking_key = COALESCE(excluded.ranking_key, digests.ranking_key), "
                "sent_ids = COALESCE(excluded.sent_ids, digests.sent_ids)",
                (
                    channel_id,
                    day.isoformat(),
                    state,
                    json.dumps(body),
                    _now(),
                    f.criteria_id,
                    f.ranking_key,
                    sent,
                ),
            )

    async def digest(self, channel_id: str, day: date) -> tuple[str, Any] | None:
        """A stored digest's state and body."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT state, body FROM digests WHERE channel_id = ? AND day = ?",
                (channel_id, day.isoformat()),
            )
        return (row[0], json.loads(row[1])) if row else None

    async def digest_frame(self, channel_id: str, day: date) -> DigestFrame | None:
        """What a channel's digest of a day was decided on, if it was built."""
        async with self._b.read() as db:
            return await _frame(db, channel_id, day)

    async def thread_of(self, channel_id: str, day: date) -> str | None:
        """The parent message of a day's digest already posted in a channel (the daily post's,
        or the newest `today`'s), or None."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT message_id FROM posted WHERE channel_id = ? AND day = ? "
                "AND slot = 'parent' ORDER BY daily DESC, posted_at DESC LIMIT 1",
                (channel_id, day.isoformat()),
            )
        return str(row[0]) if row else None

    # -- work leases, platform events and feed fetches ----------------------------------------

    async def take_lease(
        self, key: str, owner: str, now: float, expires_at: float, *, replacing: str = ""
    ) -> bool:
        """Take a unit of work for `owner` unless another owner holds an unexpired lease on it
        (`replacing` names a holder known to be dead, whose lease is taken at once); atomic
        across processes. True if `owner` holds it now."""
        async with self._b.write() as db:
            changed = await db.execute(
                "INSERT INTO work (key, owner, taken_at, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, "
                "taken_at = excluded.taken_at, expires_at = excluded.expires_at "
                "WHERE work.expires_at < ? OR work.owner = excluded.owner OR work.owner = ?",
                (key, owner, now, expires_at, now, replacing),
            )
        return changed > 0

    async def lease(self, key: str) -> Lease | None:
        """Who holds a unit of work, if anyone."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT key, owner, taken_at, expires_at FROM work WHERE key = ?", (key,)
            )
        return Lease(str(row[0]), str(row[1]), float(row[2]), float(row[3])) if row else None

    async def renew_lease(self, key: str, owner: str, expires_at: float) -> bool:
        """Extend a lease `owner` still holds; False if it was lost (expired and taken)."""
        async with self._b.write() as db:
            changed = await db.execute(
                "UPDATE work SET expires_at = ? WHERE key = ? AND owner = ?",
                (expires_at, key, owner),
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

    async def set_digest_state(
        self, channel_id: str, day: date, state: str, *, error: str | None = None
    ) -> None:
        """Move a stored digest along scored → posting → posted (or 'missed'); an `error` counts
        a failed delivery attempt and keeps its one-line reason."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE digests SET state = ?, updated_at = ?, "
                "attempts = attempts + ?, last_error = COALESCE(?, last_error) "
                "WHERE channel_id = ? AND day = ?",
                (state, _now(), int(error is not None), error, channel_id, day.isoformat()),
            )

    async def digest_records(
        self, channel_id: str | None = None, states: Sequence[str] = ()
    ) -> list[DigestRecord]:
        """Stored digests (optionally of one channel, in some states), newest day first."""
        clauses: list[str] = []
        params: list[Any] = []
        if channel_id is not None:
            clauses.append("channel_id = ?")
            params.append(channel_id)
        if states:
            clauses.append(f"state IN ({_marks(len(states))})")
            params.extend(states)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT channel_id, day, state, attempts, last_error, updated_at FROM digests "
                f"{where} ORDER BY day DESC, channel_id",
                params,
            )
        return [DigestRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    # -- channels -----------------------------------------------------------------------------

    async def channel(self, channel_id: str, platform: str) -> ChannelRow:
        """The channel's row, created (unsubscribed, no overrides) on first contact."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO channels (id, platform, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (channel_id, platform, _now()),
            )
            row = await db.fetchone(
                "SELECT id, platform, settings, subscribed FROM channels WHERE id = ?",
                (channel_id,),
            )
        assert row is not None
        return ChannelRow(row[0], row[1], json.loads(row[2]), bool(row[3]))

    async def set_channel_overrides(self, channel_id: str, overrides: dict[str, Any]) -> None:
        """Replace the channel's setting overrides."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE channels SET settings = ? WHERE id = ?", (json.dumps(overrides), channel_id)
            )

    async def set_subscribed(self, channel_id: str, subscribed: bool) -> None:
        """Start or stop the channel's daily post."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE channels SET subscribed = ? WHERE id = ?", (int(subscribed), channel_id)
            )

    async def subscribed_channels(self) -> list[ChannelRow]:
        """Every channel that wants the daily post, except those of a paused workspace
        (uninstalled, or its token refused) until it is installed again."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT id, platform, settings, subscribed FROM channels WHERE subscribed = 1 "
                "ORDER BY id"
            )
        paused = await self.installations.paused()
        if paused:
            homes = await self.installations.homes()
            keep = active([(r[1], r[0]) for r in rows], paused, homes)
            rows = [r for r, kept in zip(rows, keep, strict=True) if kept]
        return [ChannelRow(r[0], r[1], json.loads(r[2]), True) for r in rows]

    async def record_event(self, channel_id: str, user_id: str, action: str, detail: str) -> None:
        """The audit log: who changed what in a channel, and when."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO channel_events (channel_id, user_id, action, detail, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (channel_id, user_id, action, detail, _now()),
            )

    async def last_event(self, channel_id: str, actions: Sequence[str]) -> ChannelEvent | None:
        """The newest audit-log event of a channel among some actions."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT id, user_id, action, detail, at FROM channel_events WHERE channel_id = ? "
                f"AND action IN ({_marks(len(actions))}) ORDER BY id DESC LIMIT 1",
                (channel_id, *actions),
            )
        return ChannelEvent(row[0], row[1], row[2], row[3], row[4]) if row else None

    async def criteria_history(self, channel_id: str) -> list[CriteriaVersion]:
        """Every criteria version of a channel, newest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT cc.version, c.id, c.text, cc.changed_by, cc.changed_at, cc.note "
                "FROM channel_criteria cc JOIN criteria c ON c.id = cc.criteria_id "
                "WHERE cc.channel_id = ? ORDER BY cc.version DESC",
                (channel_id,),
            )
        return [CriteriaVersion(r[0], Criteria(r[2], r[1]), r[3], r[4], r[5]) for r in rows]

    # -- explanations -----------------------------------------------------------------------

    async def explanation(self, paper_id: str, key: ScoreKey) -> str | None:
        """A cached explanation of a paper's score under one key."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT text FROM explanations WHERE paper_id = ? AND criteria_id = ? "
                "AND model = ? AND prompt_version = ?",
                (paper_id, key.criteria_id, key.model, key.prompt_version),
            )
        return str(row[0]) if row else None

    async def save_explanation(
        self, paper_id: str, key: ScoreKey, text: str, usage: Usage, day: date | None
    ) -> None:
        """Cache an explanation together with what it cost."""
        now = _now()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO explanations (paper_id, criteria_id, model, prompt_version, text, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (paper_id, criteria_id, model, prompt_version) DO UPDATE SET "
                "text = excluded.text, created_at = excluded.created_at",
                (paper_id, key.criteria_id, key.model, key.prompt_version, text, now),
            )
            await _insert_usage(db, now, day, "explain", key.model, key.criteria_id, usage)

    # -- posted messages and likes ------------------------------------------------------------

    async def record_posted(
        self, channel_id: str, day: date, slot: str, message_id: str, *, daily: bool = False
    ) -> None:
        """Remember a posted message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` marks the messages of the scheduled daily post (one per channel, day and slot).
        A message recorded again replaces its row (and counts as new for learning)."""
        async with self._b.write() as db:
            if daily:
                await db.execute(
                    "DELETE FROM posted WHERE channel_id = ? AND day = ? AND slot = ? "
                    "AND daily = 1",
                    (channel_id, day.isoformat(), slot),
                )
            await db.execute(
                "DELETE FROM posted WHERE channel_id = ? AND message_id = ?",
                (channel_id, message_id),
            )
            await db.execute(
                "INSERT INTO posted (channel_id, message_id, day, slot, daily, posted_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (channel_id, message_id, day.isoformat(), slot, int(daily), _now()),
            )

    async def daily_posted(self, channel_id: str, day: date) -> dict[str, str]:
        """The messages of a channel's daily post of a day that are recorded, by slot."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT slot, message_id FROM posted WHERE channel_id = ? AND day = ? "
                "AND daily = 1",
                (channel_id, day.isoformat()),
            )
        return {str(r[0]): str(r[1]) for r in rows}

    async def posted_paper(self, channel_id: str, message_id: str) -> str | None:
        """The paper a posted card shows, or None for any other message."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT slot FROM posted WHERE channel_id = ? AND message_id = ? "
                "AND slot != 'parent' AND slot NOT LIKE 'notice%'",
                (channel_id, message_id),
            )
        return str(row[0]) if row else None

    async def digest_showing(self, channel_id: str, paper_id: str) -> Any | None:
        """The newest stored digest of a channel that lists this paper (its JSON body)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT body FROM digests WHERE channel_id = ? AND body LIKE ? ORDER BY day DESC",
                (channel_id, f"%{paper_id}%"),  # a prefilter: the match is decided below
            )
        for row in rows:
            body = json.loads(row[0])
            papers = body.get("papers") if isinstance(body, dict) else None
            if isinstance(papers, list) and any(
                isinstance(p, dict) and p.get("id") == paper_id for p in papers
            ):
                return body
        return None

    async def set_like(self, channel_id: str, user_id: str, paper_id: str, value: int) -> bool:
        """Record a like (1) or dislike (-1); returns False if it was already recorded."""
        async with self._b.write() as db:
            changed = await db.execute(
                "INSERT INTO likes (channel_id, user_id, paper_id, value, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id, user_id, paper_id) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at "
                "WHERE likes.value != excluded.value",
                (channel_id, user_id, paper_id, value, _now()),
            )
        return changed > 0

    async def remove_like(self, channel_id: str, user_id: str, paper_id: str) -> bool:
        """Forget a user's like of a paper; returns False if there was none."""
        async with self._b.write() as db:
            changed = await db.execute(
                "DELETE FROM likes WHERE channel_id = ? AND user_id = ? AND paper_id = ?",
                (channel_id, user_id, paper_id),
            )
        return changed > 0

    async def likes(
        self, channel_id: str, user_id: str | None = None, limit: int = 10
    ) -> list[Like]:
        """A channel's (or one user's) liked papers, newest first."""
        user_clause = "AND l.user_id = ?" if user_id is not None else ""
        params: tuple[Any, ...] = (channel_id, *((user_id,) if user_id else ()), limit)
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT p.*, l.user_id AS liker, l.updated_at AS liked_at FROM likes l "
                f"JOIN papers p ON p.id = l.paper_id WHERE l.channel_id = ? AND l.value > 0 "
                f"{user_clause} ORDER BY l.updated_at DESC, l.rowid DESC LIMIT ?",
                params,
            )
        return [Like(_paper(r), r["liker"], r["liked_at"]) for r in rows]

    async def liked_papers(
        self, channel_id: str, user_id: str | None = None, limit: int = 15
    ) -> list[LikedPaper]:
        """The papers liked in a channel (or by one user), each once, most recently liked
        first, with everyone in the channel who likes it (newest first)."""
        mine = "AND user_id = ? " if user_id is not None else ""
        params: tuple[Any, ...] = (channel_id, *((user_id,) if user_id else ()), limit)
        async with self._b.read() as db:
            top = await db.fetchall(
                "SELECT paper_id, MAX(updated_at) AS last_at FROM likes WHERE channel_id = ? "
                f"AND value > 0 {mine}GROUP BY paper_id ORDER BY last_at DESC, paper_id LIMIT ?",
                params,
            )
            ids = [str(row[0]) for row in top]
            marks = ", ".join("?" for _ in ids)
            who = (
                await db.fetchall(
                    "SELECT paper_id, user_id FROM likes WHERE channel_id = ? AND value > 0 "
                    f"AND paper_id IN ({marks}) ORDER BY updated_at DESC, user_id",
                    (channel_id, *ids),
                )
                if ids
                else []
            )
        likers: dict[str, list[str]] = {}
        for row in who:
            likers.setdefault(str(row[0]), []).append(str(row[1]))
        papers = await self.papers(ids)
        return [
            LikedPaper(papers[pid], tuple(likers.get(pid, ())), str(row[1]))
            for row in top
            if (pid := str(row[0])) in papers
        ]

    # -- local ranking and learning -----------------------------------------------------------

    async def save_ranking_set(self, day: date, key: str, ranking: RankingSet) -> RankingSet:
        """Keep a day's ranking under a ranking key, compactly (one row: ids and scores as packed
        arrays). The first ranking stored under a key wins, so a day once ranked stays as it
        was; returns the stored one."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO ranking_sets (day, key, model_version, ids, scores, liked, "
                "verdicts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    day.isoformat(),
                    key,
                    ranking.model_version,
                    json.dumps(ranking.ids, separators=(",", ":")),
                    json.dumps([round(x, 5) for x in ranking.scores], separators=(",", ":")),
                    ranking.liked,
                    ranking.verdicts,
                    _now(),
                ),
            )
            stored = await _ranking_set(db, day, key)
        assert stored is not None
        return stored

    async def ranking_set(self, day: date, key: str) -> RankingSet | None:
        """A day's stored ranking under a ranking key, best first."""
        async with self._b.read() as db:
            return await _ranking_set(db, day, key)

    async def ranking(self, channel_id: str, day: date) -> list[RankingRow]:
        """The ranking a channel's digest of a day was built from, best first (empty when that
        digest was never built or its ranking was pruned)."""
        async with self._b.read() as db:
            frame = await _frame(db, channel_id, day)
            if frame is None or frame.ranking_key is None:
                return []
            ranked = await _ranking_set(db, day, frame.ranking_key)
        if ranked is None:
            return []
        sent = set(frame.sent_ids or ())
        return [
            RankingRow(pid, day, ranked.model_version, score, n, pid in sent)
            for n, (pid, score) in enumerate(zip(ranked.ids, ranked.scores, strict=True), 1)
        ]

    async def ranked_day(self, channel_id: str, paper_id: str) -> RankedDay | None:
        """The newest ranking of a channel's digests that placed this paper, with that day's
        totals."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT d.day, d.sent_ids, r.model_version, r.ids, r.scores FROM digests d "
                "JOIN ranking_sets r ON r.day = d.day AND r.key = d.ranking_key "
                "WHERE d.channel_id = ? AND r.ids LIKE ? ORDER BY d.day DESC",
                (channel_id, f"%{paper_id}%"),  # a prefilter: the match is decided below
            )
        for row in rows:
            ids: list[str] = json.loads(row[3])
            if paper_id not in ids:
                continue
            index = ids.index(paper_id)
            sent = json.loads(row[1]) if row[1] else []
            score = float(json.loads(row[4])[index])
            day = date.fromisoformat(row[0])
            ranking_row = RankingRow(paper_id, day, str(row[2]), score, index + 1, paper_id in sent)
            return RankedDay(ranking_row, len(ids), len(sent))
        return None

    async def ranked_days(self, channel_id: str, before: date, limit: int = 30) -> list[date]:
        """Days before `before` whose digest in this channel has a stored ranking, newest
        first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT d.day FROM digests d JOIN ranking_sets r "
                "ON r.day = d.day AND r.key = d.ranking_key "
                "WHERE d.channel_id = ? AND d.day < ? ORDER BY d.day DESC LIMIT ?",
                (channel_id, before.isoformat(), limit),
            )
        return [date.fromisoformat(r[0]) for r in rows]

    async def prune_rankings(self, before: date) -> int:
        """Forget the full rankings of days before `before` (what `explain` says of a paper that
        was never sent to the LLM); digests keep the papers they sent. Returns rows removed."""
        async with self._b.write() as db:
            return await db.execute("DELETE FROM ranking_sets WHERE day < ?", (before.isoformat(),))

    async def reactions(self, channel_id: str, limit: int = 2000) -> list[Reaction]:
        """What the channel liked, disliked, or was shown and ignored since its last learning
        reset, newest first: one entry per paper (a like by anyone wins over a dislike)."""
        async with self._b.read() as db:
            rows = await db.fetchall(_REACTIONS, (channel_id, channel_id, channel_id, limit))
        return [Reaction(_paper(r), int(r["reaction"])) for r in rows]

    async def learning_state(self, channel_id: str) -> LearningState:
        """What the channel's ranking learned from and its last measured recall."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT learned_from, recall, measured_day, reset_at, verdicts FROM learning "
                "WHERE channel_id = ?",
                (channel_id,),
            )
        if row is None:
            return LearningState()
        day = date.fromisoformat(row[2]) if row[2] else None
        return LearningState(int(row[0]), row[1], day, row[3], int(row[4]))

    async def save_learning(
        self,
        channel_id: str,
        learned_from: int,
        verdicts: int,
        recall: float | None = None,
        measured_day: date | None = None,
    ) -> None:
        """Record how many liked papers and earlier LLM verdicts the latest ranking learned
        from and, when measured, the recall of a held-out day's liked papers."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO learning (channel_id, learned_from, verdicts, recall, "
                "measured_day, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(channel_id) "
                "DO UPDATE SET learned_from = excluded.learned_from, "
                "verdicts = excluded.verdicts, "
                "recall = COALESCE(excluded.recall, learning.recall), "
                "measured_day = COALESCE(excluded.measured_day, learning.measured_day), "
                "updated_at = excluded.updated_at",
                (
                    channel_id,
                    learned_from,
                    verdicts,
                    recall,
                    measured_day.isoformat() if measured_day else None,
                    _now(),
                ),
            )

    async def reset_learning(self, channel_id: str) -> None:
        """Forget what the channel's ranking learned: reactions so far are kept (nothing is
        deleted) but no longer learned from."""
        now = _now()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO learning (channel_id, reset_at, reset_like, reset_posted, "
                "learned_from, recall, measured_day, updated_at) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(rowid), 0) FROM likes), "
                "(SELECT COALESCE(MAX(rowid), 0) FROM posted), 0, NULL, NULL, ?) "
                "ON CONFLICT(channel_id) DO UPDATE SET reset_at = excluded.reset_at, "
                "reset_like = excluded.reset_like, reset_posted = excluded.reset_posted, "
                "learned_from = 0, recall = NULL, measured_day = NULL, "
                "updated_at = excluded.updated_at",
                (channel_id, now, now),
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

    # -- search, past days, the weekly post -------------------------------------------------

    async def search_papers(self, words: Sequence[str], limit: int = 10) -> list[Paper]:
        """Stored papers containing every word (title, abstract or authors), best match first;
        `words` come from `bot.store.fulltext.query_words`."""
        ids = await fulltext.search(self._b, words, limit)
        found = await self.papers(ids)
        return [found[i] for i in ids if i in found]

    async def channel_scores(self, channel_id: str, ids: Sequence[str]) -> dict[str, Score]:
        """Each paper's score under the newest of this channel's criteria versions that has
        one (any model or prompt); papers the channel never had scored are left out."""
        out: dict[str, Score] = {}
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    "SELECT s.paper_id, s.relevance, s.novelty, s.comment FROM scores s "
                    "JOIN channel_criteria cc ON cc.criteria_id = s.criteria_id "
                    f"WHERE cc.channel_id = ? AND s.paper_id IN ({_marks(len(part))}) "
                    "ORDER BY cc.version DESC, s.scored_at DESC",
                    (channel_id, *part),
                )
                for r in rows:
                    out.setdefault(r[0], Score(r[0], int(r[1]), int(r[2]), r[3]))
        return out

    async def like_counts(self, channel_id: str, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(likes, dislikes) of each paper in a channel that anyone reacted to."""
        out: dict[str, tuple[int, int]] = {}
        async with self._b.read() as db:
            for part in _chunks(ids):
                rows = await db.fetchall(
                    "SELECT paper_id, SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END) FROM likes "
                    f"WHERE channel_id = ? AND paper_id IN ({_marks(len(part))}) "
                    "GROUP BY paper_id",
                    (channel_id, *part),
                )
                out.update({str(r[0]): (int(r[1]), int(r[2])) for r in rows})
        return out

    async def feed_days(self, categories: str, limit: int = 10) -> list[date]:
        """The newest stored announcement days of a category set, newest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT day FROM feed_days WHERE categories = ? ORDER BY day DESC LIMIT ?",
                (categories, limit),
            )
        return [date.fromisoformat(r[0]) for r in rows]

    async def weekly_post(self, channel_id: str, week: str) -> tuple[str, Any] | None:
        """A channel's weekly post of an ISO week: its state and frozen body."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT state, body FROM weekly_posts WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        return (str(row[0]), json.loads(row[1])) if row else None

    async def freeze_weekly_post(
        self, channel_id: str, week: str, state: str, body: Any
    ) -> tuple[str, Any]:
        """Keep a week's post as decided unless one is kept already; returns the kept one (the
        first decision stands, so a restart posts the same papers)."""
        now = _now()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO weekly_posts (channel_id, week, state, body, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id, week) DO NOTHING",
                (channel_id, week, state, json.dumps(body), now, now),
            )
            row = await db.fetchone(
                "SELECT state, body FROM weekly_posts WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        assert row is not None
        return str(row[0]), json.loads(row[1])

    async def set_weekly_state(self, channel_id: str, week: str, state: str) -> None:
        """Move a week's post to another state (posting, posted, ...)."""
        async with self._b.write() as db:
            await db.execute(
                "UPDATE weekly_posts SET state = ?, updated_at = ? WHERE channel_id = ? "
                "AND week = ?",
                (state, _now(), channel_id, week),
            )

    async def last_weekly_week(self, channel_id: str, state: str) -> str | None:
        """The newest ISO week whose weekly post in this channel reached `state`."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT MAX(week) FROM weekly_posts WHERE channel_id = ? AND state = ?",
                (channel_id, state),
            )
        return str(row[0]) if row and row[0] else None

    async def weekly_posted(self, channel_id: str, week: str) -> dict[str, str]:
        """The messages of a week's post that are recorded, by slot ('parent' or a paper)."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT slot, message_id FROM weekly_messages WHERE channel_id = ? AND week = ?",
                (channel_id, week),
            )
        return {str(r[0]): str(r[1]) for r in rows}

    async def record_weekly_posted(
        self, channel_id: str, week: str, slot: str, message_id: str
    ) -> None:
        """Record a message of a week's post the moment the platform returned its id."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO weekly_messages (channel_id, week, slot, message_id, posted_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id, week, slot) DO NOTHING",
                (channel_id, week, slot, message_id, _now()),
            )


# Positional parameters: the channel three times, then the limit.
_REACTIONS = """
    WITH cut AS (
        SELECT COALESCE(MAX(reset_at), '') AS at, COALESCE(MAX(reset_like), 0) AS lk,
               COALESCE(MAX(reset_posted), 0) AS po
        FROM learning WHERE channel_id = ?
    ),
    liked AS (
        SELECT l.paper_id, MAX(l.value) AS value, MAX(l.updated_at) AS at FROM likes l, cut
        WHERE l.channel_id = ? AND (l.rowid > cut.lk OR l.updated_at > cut.at)
        GROUP BY l.paper_id
    ),
    shown AS (
        SELECT p.slot AS paper_id, 0 AS value, MAX(p.posted_at) AS at FROM posted p, cut
        WHERE p.channel_id = ? AND p.slot != 'parent' AND p.slot NOT LIKE 'notice%'
          AND (p.rowid > cut.po OR p.posted_at > cut.at)
          AND p.slot NOT IN (SELECT paper_id FROM liked)
        GROUP BY p.slot
    ),
    everything AS (SELECT * FROM liked UNION ALL SELECT * FROM shown)
    SELECT pa.*, e.value AS reaction FROM everything e JOIN papers pa ON pa.id = e.paper_id
    ORDER BY e.at DESC, e.paper_id LIMIT ?
"""


async def _frame(db: Connection, channel_id: str, day: date) -> DigestFrame | None:
    row = await db.fetchone(
        "SELECT criteria_id, ranking_key, sent_ids FROM digests WHERE channel_id = ? AND day = ?",
        (channel_id, day.isoformat()),
    )
    if row is None:
        return None
    sent = tuple(json.loads(row[2])) if row[2] is not None else None
    return DigestFrame(row[0], row[1], sent)


async def _ranking_set(db: Connection, day: date, key: str) -> RankingSet | None:
    row = await db.fetchone(
        "SELECT model_version, ids, scores, liked, verdicts FROM ranking_sets "
        "WHERE day = ? AND key = ?",
        (day.isoformat(), key),
    )
    if row is None:
        return None
    return RankingSet(
        str(row[0]),
        tuple(json.loads(row[1])),
        tuple(float(x) for x in json.loads(row[2])),
        int(row[3]),
        int(row[4]),
    )


async def _insert_usage(
    db: Connection,
    now: str,
    day: date | None,
    purpose: str,
    model: str,
    criteria_id: int | None,
    usage: Usage,
) -> None:
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
