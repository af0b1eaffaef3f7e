"""All storage of the bot: one SQLite file, one aiosqlite connection, WAL, migrations on open.

Every SQL statement of the project lives in this module, behind intent-named async methods. Callers
pass and receive the value types of `bot.models`; nothing outside this module builds SQL.

Durability rules: each method commits before it returns, so whatever a method reported as stored
survives a crash. Nothing here deletes papers, scores, usage or likes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.models import AnnounceType, Criteria, Paper, Score, ScoreKey, Usage

_CHUNK = 500  # stays well under SQLite's bound-parameter limit
BUSY_TIMEOUT_MS = 15_000  # another process's write (a migration, a day's scores) is waited for


_M001_INITIAL = """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,            -- JSON list
            categories TEXT NOT NULL,         -- JSON list, primary first when known
            primary_category TEXT,
            comment TEXT,
            enriched INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE feed_days (
            day TEXT NOT NULL,
            categories TEXT NOT NULL,         -- the feed's category set, e.g. cs.LG+cs.AI
            items INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (day, categories)
        );
        CREATE TABLE announcements (
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            announce_type TEXT NOT NULL,
            categories TEXT NOT NULL,
            PRIMARY KEY (day, paper_id, categories)
        );
        CREATE INDEX announcements_paper ON announcements(paper_id, day);
        CREATE TABLE criteria (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',   -- JSON overrides of the defaults
            subscribed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channel_criteria (
            channel_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (channel_id, version)
        );
        CREATE TABLE scores (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            relevance INTEGER NOT NULL,
            novelty INTEGER NOT NULL,
            comment TEXT NOT NULL,
            scored_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE digests (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            state TEXT NOT NULL,                 -- scored, posting, posted
            body TEXT NOT NULL,                  -- JSON of the rendered selection
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day)
        );
        CREATE TABLE posted_messages (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,                  -- 'parent' or a paper id
            message_id TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day, slot)
        );
        CREATE INDEX posted_messages_by_id ON posted_messages(message_id);
        CREATE TABLE likes (
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            value INTEGER NOT NULL,              -- 1 like, -1 explicit dislike
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, user_id, paper_id)
        );
        CREATE TABLE llm_usage (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            day TEXT,                            -- the announcement day the call served
            purpose TEXT NOT NULL,               -- score, explain, ...
            model TEXT NOT NULL,
            criteria_id INTEGER,
            calls INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            prompt_cost_usd REAL NOT NULL,
            completion_cost_usd REAL NOT NULL,
            priced INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX llm_usage_day ON llm_usage(day, model, criteria_id, purpose);
"""

_M002_CONVERSATION = """
        CREATE TABLE explanations (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE channel_events (
            id INTEGER PRIMARY KEY,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX channel_events_by_channel ON channel_events(channel_id, id);
        CREATE INDEX likes_by_channel ON likes(channel_id, updated_at);
"""

_M003_DELIVERY = """
        CREATE TABLE posted (
            channel_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,                  -- 'parent', 'notice' or a paper id
            daily INTEGER NOT NULL,              -- 1: the scheduled daily post; 0: an answer
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id)
        );
        INSERT INTO posted (channel_id, message_id, day, slot, daily, posted_at)
            SELECT channel_id, message_id, day, slot, 0, posted_at FROM posted_messages;
        DROP TABLE posted_messages;
        CREATE UNIQUE INDEX posted_daily_slot ON posted(channel_id, day, slot) WHERE daily = 1;
        ALTER TABLE digests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE digests ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
"""

_M004_RANKING = """
        CREATE TABLE rankings (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            model_version TEXT NOT NULL,         -- the local ranking method, e.g. tfidf-1
            score REAL NOT NULL,                 -- in (0, 1], higher ranks first
            rank INTEGER NOT NULL,               -- 1 is the best of the day's candidates
            sent INTEGER NOT NULL,               -- 1: among the top sent to the LLM
            PRIMARY KEY (channel_id, day, paper_id)
        );
        CREATE TABLE learning (
            channel_id TEXT PRIMARY KEY,
            reset_at TEXT,                       -- reactions before a reset are not learned from
            reset_like INTEGER NOT NULL DEFAULT 0,    -- highest likes rowid at the reset
            reset_posted INTEGER NOT NULL DEFAULT 0,  -- highest posted rowid at the reset
            learned_from INTEGER NOT NULL DEFAULT 0,  -- liked papers of the latest ranking
            verdicts INTEGER NOT NULL DEFAULT 0,      -- earlier LLM verdicts it learned from
            recall REAL,                         -- liked papers a held-out ranking sent on
            measured_day TEXT,
            updated_at TEXT NOT NULL
        );
"""

_M005_WORK = """
        CREATE TABLE work (
            key TEXT PRIMARY KEY,                -- a unit of work, e.g. score:3:gpt-4o:2
            owner TEXT NOT NULL,                 -- the process holding it (host:pid:nonce)
            taken_at REAL NOT NULL,              -- unix seconds
            expires_at REAL NOT NULL             -- taken over by anyone after this
        );
        CREATE TABLE feed_fetches (
            categories TEXT PRIMARY KEY,
            fetched_at TEXT NOT NULL,            -- the latest completed fetch of this feed
            day TEXT,                            -- its announcement day; NULL: no announcement
            new INTEGER NOT NULL DEFAULT 0,
            cross_lists INTEGER NOT NULL DEFAULT 0,
            replaced INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO feed_fetches (categories, fetched_at, day, new)
            SELECT categories, MAX(fetched_at), day, items FROM feed_days GROUP BY categories;
        CREATE TABLE ranking_sets (
            day TEXT NOT NULL,
            key TEXT NOT NULL,                   -- the ranking key (criteria, model, learning)
            model_version TEXT NOT NULL,
            ids TEXT NOT NULL,                   -- JSON array of paper ids, best first
            scores TEXT NOT NULL,                -- JSON array of scores, same order
            liked INTEGER NOT NULL DEFAULT 0,    -- liked papers it learned from
            verdicts INTEGER NOT NULL DEFAULT 0, -- earlier LLM verdicts it learned from
            created_at TEXT NOT NULL,
            PRIMARY KEY (day, key)
        );
        INSERT INTO ranking_sets (day, key, model_version, ids, scores, created_at)
            SELECT day, 'channel:' || channel_id, MAX(model_version), json_group_array(paper_id),
                   json_group_array(round(score, 5)), datetime('now')
            FROM (SELECT * FROM rankings ORDER BY channel_id, day, rank)
            GROUP BY channel_id, day;
        ALTER TABLE digests ADD COLUMN criteria_id INTEGER;
        ALTER TABLE digests ADD COLUMN ranking_key TEXT;
        ALTER TABLE digests ADD COLUMN sent_ids TEXT;    -- JSON: the papers sent to the LLM
        UPDATE digests SET ranking_key = 'channel:' || channel_id,
            sent_ids = (SELECT json_group_array(paper_id) FROM
                (SELECT paper_id FROM rankings r WHERE r.channel_id = digests.channel_id
                 AND r.day = digests.day AND r.sent = 1 ORDER BY r.rank))
            WHERE EXISTS (SELECT 1 FROM rankings r WHERE r.channel_id = digests.channel_id
                          AND r.day = digests.day);
        DROP TABLE rankings;
        CREATE INDEX posted_parent ON posted(channel_id, day) WHERE slot = 'parent';
"""

MIGRATIONS: tuple[str, ...] = (
    _M001_INITIAL,
    _M002_CONVERSATION,
    _M003_DELIVERY,
    _M004_RANKING,
    _M005_WORK,
)
"""SQL scripts applied in order on open, each in one transaction; the database's `user_version`
is the number applied. Append, never edit."""


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A stored digest's delivery state."""

    channel_id: str
    day: date
    state: str  # scored, posting, posted, missed
    attempts: int
    last_error: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """One entry of a channel's audit log."""

    id: int
    user_id: str
    action: str
    detail: str
    at: str


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A channel as stored: its platform, setting overrides and subscription."""

    id: str
    platform: str
    overrides: dict[str, Any]
    subscribed: bool


@dataclass(frozen=True, slots=True)
class CriteriaVersion:
    """One entry of a channel's criteria history."""

    version: int
    criteria: Criteria
    changed_by: str
    changed_at: str
    note: str


@dataclass(frozen=True, slots=True)
class Like:
    """A user's like of a paper in a channel."""

    paper: Paper
    user_id: str
    at: str


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One paper's place in a channel's local ranking of a day."""

    paper_id: str
    day: date
    model_version: str
    score: float
    rank: int
    sent: bool


@dataclass(frozen=True, slots=True)
class RankingSet:
    """A day's local ranking under one ranking key: paper ids best first, their scores, and
    what the model learned from."""

    model_version: str
    ids: tuple[str, ...]
    scores: tuple[float, ...]
    liked: int = 0
    verdicts: int = 0


@dataclass(frozen=True, slots=True)
class DigestFrame:
    """What a channel's digest of a day was decided on: the criteria, the ranking and the
    papers sent to the LLM. Once stored, rebuilding that day reuses it."""

    criteria_id: int | None
    ranking_key: str | None
    sent_ids: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Lease:
    """A unit of work held by one process until `expires_at` (unix seconds)."""

    key: str
    owner: str
    taken_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """The latest completed fetch of a feed: when, and the day it announced (None: nothing)."""

    fetched_at: datetime
    day: date | None
    new: int
    cross: int
    replaced: int


@dataclass(frozen=True, slots=True)
class RankedDay:
    """Where a paper stood in a channel's ranking of a day, and the size of that day."""

    row: RankingRow
    ranked: int
    sent: int


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a channel said about a paper since the last learning reset: 1 liked, -1 disliked
    (and nobody liked it), 0 posted and nobody reacted."""

    paper: Paper
    value: int


@dataclass(frozen=True, slots=True)
class LearningState:
    """A channel's personalisation: what the ranking learned from and how well it did."""

    learned_from: int = 0
    recall: float | None = None
    measured_day: date | None = None
    reset_at: str | None = None
    verdicts: int = 0


@dataclass(frozen=True, slots=True)
class Announcement:
    """A paper as announced on one day."""

    paper: Paper
    announce_type: AnnounceType


P = ParamSpec("P")
T = TypeVar("T")


def _serialized(
    method: Callable[Concatenate[Store, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Store, P], Coroutine[Any, Any, T]]:
    """Run a store method alone: one method's statements and its commit never interleave with
    another coroutine's on the shared connection (that interleaving breaks transactions and can
    make sqlite3 reject a reused statement)."""

    async def run(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._lock:
            return await method(self, *args, **kwargs)

    functools.update_wrapper(run, method)
    return run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _paper(row: aiosqlite.Row) -> Paper:
    return Paper(
        id=row["id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(json.loads(row["authors"])),
        categories=tuple(json.loads(row["categories"])),
        primary_category=row["primary_category"],
        comment=row["comment"],
    )


class Store:
    """The bot's database. Open with `async with Store.open(path) as store:`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Store]:
        """Open (creating if needed) and migrate the database."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await _migrate(db)
            yield cls(db)
        finally:
            await db.close()

    @_serialized
    async def schema_version(self) -> int:
        """The number of migrations applied."""
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # -- papers and announcements ------------------------------------------------------------

    @_serialized
    async def save_announcements(
        self, day: date, categories: str, items: Sequence[tuple[Paper, AnnounceType]]
    ) -> None:
        """Store a day's new and cross-listed papers and which day announced them, in one
        transaction. A paper we already know keeps its enrichment unless its version grew."""
        now = _now()
        await self._db.executemany(
            """
            INSERT INTO papers (id, version, title, abstract, authors, categories,
                                primary_category, comment, enriched, first_seen, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
            ON CONFLICT(id) DO UPDATE SET
                version = excluded.version, title = excluded.title,
                abstract = excluded.abstract, authors = excluded.authors,
                categories = CASE WHEN papers.enriched THEN papers.categories
                                  ELSE excluded.categories END,
                updated_at = excluded.updated_at
            WHERE excluded.version > papers.version
            """,
            [_paper_params(p, day, now) for p, _ in items],
        )
        await self._db.executemany(
            "INSERT INTO announcements (day, paper_id, announce_type, categories) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET announce_type = excluded.announce_type",
            [(day.isoformat(), p.id, t.value, categories) for p, t in items],
        )
        await self._db.execute(
            "INSERT OR REPLACE INTO feed_days (day, categories, items, fetched_at) "
            "VALUES (?, ?, ?, ?)",
            (day.isoformat(), categories, len(items), now),
        )
        await self._db.commit()

    @_serialized
    async def apply_replacements(self, papers: Sequence[Paper]) -> int:
        """Update papers we already know from a feed's replacements; unknown ids are ignored.
        Returns how many papers changed."""
        now = _now()
        changed = 0
        for p in papers:
            cur = await self._db.execute(
                "UPDATE papers SET version = ?, title = ?, abstract = ?, authors = ?, "
                "enriched = 0, updated_at = ? WHERE id = ? AND version < ?",
                (p.version, p.title, p.abstract, json.dumps(p.authors), now, p.id, p.version),
            )
            changed += cur.rowcount
        await self._db.commit()
        return changed

    @_serialized
    async def announced(self, day: date, categories: str) -> list[Announcement]:
        """The papers a day's feed announced, in feed order of id."""
        async with self._db.execute(
            "SELECT p.*, a.announce_type FROM announcements a JOIN papers p ON p.id = a.paper_id "
            "WHERE a.day = ? AND a.categories = ? ORDER BY a.rowid",
            (day.isoformat(), categories),
        ) as cur:
            rows = await cur.fetchall()
        return [Announcement(_paper(r), AnnounceType(r["announce_type"])) for r in rows]

    @_serialized
    async def announced_before(self, ids: Sequence[str], day: date) -> set[str]:
        """Which of these papers an earlier day already announced (they are not new today)."""
        found: set[str] = set()
        for part in _chunks(ids):
            async with self._db.execute(
                f"SELECT DISTINCT paper_id FROM announcements "
                f"WHERE day < ? AND paper_id IN ({_marks(len(part))})",
                (day.isoformat(), *part),
            ) as cur:
                found.update(r[0] for r in await cur.fetchall())
        return found

    @_serialized
    async def feed_fetched(self, day: date, categories: str) -> bool:
        """Whether the feed of this day and category set is already stored."""
        async with self._db.execute(
            "SELECT 1 FROM feed_days WHERE day = ? AND categories = ?",
            (day.isoformat(), categories),
        ) as cur:
            return await cur.fetchone() is not None

    @_serialized
    async def latest_feed_day(self, categories: str) -> date | None:
        """The newest announcement day stored for a category set."""
        async with self._db.execute(
            "SELECT MAX(day) FROM feed_days WHERE categories = ?", (categories,)
        ) as cur:
            row = await cur.fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    @_serialized
    async def fresh_feed_day(self, categories: str, fetched_since: datetime) -> date | None:
        """The newest stored announcement day whose feed was fetched after `fetched_since`."""
        async with self._db.execute(
            "SELECT MAX(day) FROM feed_days WHERE categories = ? AND fetched_at >= ?",
            (categories, fetched_since.astimezone(UTC).isoformat(timespec="seconds")),
        ) as cur:
            row = await cur.fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    @_serialized
    async def unenriched(self, ids: Sequence[str]) -> list[str]:
        """Which of these papers still lack the API's fields (primary category, comment)."""
        out: list[str] = []
        for part in _chunks(ids):
            async with self._db.execute(
                f"SELECT id FROM papers WHERE enriched = 0 AND id IN ({_marks(len(part))})",
                tuple(part),
            ) as cur:
                out.extend(r[0] for r in await cur.fetchall())
        return out

    @_serialized
    async def save_enrichment(self, papers: Iterable[Paper]) -> None:
        """Record the arXiv API's view of papers we know (primary category, comment, ...)."""
        now = _now()
        await self._db.executemany(
            "UPDATE papers SET categories = ?, primary_category = ?, comment = ?, "
            "authors = ?, enriched = 1, updated_at = ? WHERE id = ?",
            [
                (
                    json.dumps(p.categories),
                    p.primary_category,
                    p.comment,
                    json.dumps(p.authors),
                    now,
                    p.id,
                )
                for p in papers
            ],
        )
        await self._db.commit()

    @_serialized
    async def papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id (missing ids are absent from the result)."""
        out: dict[str, Paper] = {}
        for part in _chunks(ids):
            async with self._db.execute(
                f"SELECT * FROM papers WHERE id IN ({_marks(len(part))})", tuple(part)
            ) as cur:
                out.update((r["id"], _paper(r)) for r in await cur.fetchall())
        return out

    # -- criteria -----------------------------------------------------------------------------

    @_serialized
    async def criteria(self, text: str) -> Criteria:
        """The stored criteria with this exact text, created if new (content-addressed, so
        identical criteria share one id and one set of scores)."""
        c = Criteria(text=text)
        await self._db.execute(
            "INSERT OR IGNORE INTO criteria (sha256, text, created_at) VALUES (?, ?, ?)",
            (c.sha256, text, _now()),
        )
        await self._db.commit()
        async with self._db.execute("SELECT id FROM criteria WHERE sha256 = ?", (c.sha256,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return Criteria(text=text, id=int(row[0]))

    @_serialized
    async def channel_criteria(self, channel_id: str) -> tuple[Criteria, int] | None:
        """A channel's current criteria and its version number, or None if it has none."""
        async with self._db.execute(
            "SELECT c.id, c.text, cc.version FROM channel_criteria cc "
            "JOIN criteria c ON c.id = cc.criteria_id WHERE cc.channel_id = ? "
            "ORDER BY cc.version DESC LIMIT 1",
            (channel_id,),
        ) as cur:
            row = await cur.fetchone()
        return (Criteria(text=row[1], id=row[0]), int(row[2])) if row else None

    @_serialized
    async def set_channel_criteria(
        self, channel_id: str, criteria: Criteria, changed_by: str, note: str = ""
    ) -> int:
        """Make `criteria` the channel's current version; returns the new version number."""
        assert criteria.id is not None
        async with self._db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM channel_criteria WHERE channel_id = ?",
            (channel_id,),
        ) as cur:
            row = await cur.fetchone()
        version = (int(row[0]) if row else 0) + 1
        await self._db.execute(
            "INSERT INTO channel_criteria (channel_id, version, criteria_id, changed_by, "
            "changed_at, note) VALUES (?, ?, ?, ?, ?, ?)",
            (channel_id, version, criteria.id, changed_by, _now(), note),
        )
        await self._db.commit()
        return version

    # -- scores and usage -----------------------------------------------------------------------

    @_serialized
    async def scores(self, ids: Sequence[str], key: ScoreKey) -> dict[str, Score]:
        """The stored scores of these papers under one key."""
        out: dict[str, Score] = {}
        for part in _chunks(ids):
            async with self._db.execute(
                f"SELECT paper_id, relevance, novelty, comment FROM scores "
                f"WHERE criteria_id = ? AND model = ? AND prompt_version = ? "
                f"AND paper_id IN ({_marks(len(part))})",
                (key.criteria_id, key.model, key.prompt_version, *part),
            ) as cur:
                for r in await cur.fetchall():
                    out[r[0]] = Score(r[0], int(r[1]), int(r[2]), r[3])
        return out

    @_serialized
    async def verdicts(
        self, key: ScoreKey, exclude: Sequence[str] = (), limit: int = 3000
    ) -> list[tuple[Paper, Score]]:
        """The newest `limit` papers the LLM scored under one key, with their scores, leaving
        out `exclude` (the papers being ranked must not teach their own ranking)."""
        async with self._db.execute(
            "SELECT p.*, s.relevance, s.novelty, s.comment FROM scores s "
            "JOIN papers p ON p.id = s.paper_id "
            "WHERE s.criteria_id = ? AND s.model = ? AND s.prompt_version = ? "
            "ORDER BY s.scored_at DESC, s.paper_id LIMIT ?",
            (key.criteria_id, key.model, key.prompt_version, limit + len(exclude)),
        ) as cur:
            rows = await cur.fetchall()
        skip = set(exclude)
        out = [
            (_paper(r), Score(r["id"], int(r["relevance"]), int(r["novelty"]), r["comment"]))
            for r in rows
            if r["id"] not in skip
        ]
        return out[:limit]

    @_serialized
    async def save_scores(
        self, scores: Sequence[Score], key: ScoreKey, usage: Usage, day: date | None
    ) -> None:
        """Store one LLM reply's scores together with what the call cost, atomically."""
        now = _now()
        await self._db.executemany(
            "INSERT OR IGNORE INTO scores (paper_id, criteria_id, model, prompt_version, "
            "relevance, novelty, comment, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        await self._insert_usage(now, day, "score", key.model, key.criteria_id, usage)
        await self._db.commit()

    @_serialized
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
        await self._insert_usage(_now(), day, purpose, model, criteria_id, usage)
        await self._db.commit()

    async def _insert_usage(
        self,
        now: str,
        day: date | None,
        purpose: str,
        model: str,
        criteria_id: int | None,
        usage: Usage,
    ) -> None:
        if usage.calls == 0:
            return
        await self._db.execute(
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

    @_serialized
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
        async with self._db.execute(
            "SELECT COALESCE(SUM(calls),0), COALESCE(SUM(prompt_tokens),0), "
            "COALESCE(SUM(cached_tokens),0), COALESCE(SUM(completion_tokens),0), "
            "COALESCE(SUM(prompt_cost_usd),0), COALESCE(SUM(completion_cost_usd),0), "
            f"COALESCE(MIN(priced),1) FROM llm_usage {where}",
            params,
        ) as cur:
            row = await cur.fetchone()
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

    @_serialized
    async def save_digest(
        self, channel_id: str, day: date, state: str, body: Any, frame: DigestFrame | None = None
    ) -> None:
        """Keep a channel's digest of a day (JSON-serialisable body) and its delivery state; a
        `frame` records what the day was decided on (kept when None)."""
        f = frame or DigestFrame(None, None, None)
        sent = (
            json.dumps(list(f.sent_ids), separators=(",", ":")) if f.sent_ids is not None else None
        )
        await self._db.execute(
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
        await self._db.commit()

    @_serialized
    async def digest(self, channel_id: str, day: date) -> tuple[str, Any] | None:
        """A stored digest's state and body."""
        async with self._db.execute(
            "SELECT state, body FROM digests WHERE channel_id = ? AND day = ?",
            (channel_id, day.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        return (row[0], json.loads(row[1])) if row else None

    @_serialized
    async def digest_frame(self, channel_id: str, day: date) -> DigestFrame | None:
        """What a channel's digest of a day was decided on, if it was built."""
        return await self._frame(channel_id, day)

    async def _frame(self, channel_id: str, day: date) -> DigestFrame | None:
        async with self._db.execute(
            "SELECT criteria_id, ranking_key, sent_ids FROM digests "
            "WHERE channel_id = ? AND day = ?",
            (channel_id, day.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        sent = tuple(json.loads(row[2])) if row[2] is not None else None
        return DigestFrame(row[0], row[1], sent)

    @_serialized
    async def thread_of(self, channel_id: str, day: date) -> str | None:
        """The parent message of a day's digest already posted in a channel (the daily post's,
        or the newest `today`'s), or None."""
        async with self._db.execute(
            "SELECT message_id FROM posted WHERE channel_id = ? AND day = ? AND slot = 'parent' "
            "ORDER BY daily DESC, posted_at DESC LIMIT 1",
            (channel_id, day.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    # -- work leases and feed fetches -----------------------------------------------------------

    @_serialized
    async def take_lease(
        self, key: str, owner: str, now: float, expires_at: float, *, replacing: str = ""
    ) -> bool:
        """Take a unit of work for `owner` unless another owner holds an unexpired lease on it
        (`replacing` names a holder known to be dead, whose lease is taken at once); atomic
        across processes. True if `owner` holds it now."""
        cur = await self._db.execute(
            "INSERT INTO work (key, owner, taken_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, "
            "taken_at = excluded.taken_at, expires_at = excluded.expires_at "
            "WHERE work.expires_at < ? OR work.owner = excluded.owner OR work.owner = ?",
            (key, owner, now, expires_at, now, replacing),
        )
        await self._db.commit()
        return cur.rowcount > 0

    @_serialized
    async def lease(self, key: str) -> Lease | None:
        """Who holds a unit of work, if anyone."""
        async with self._db.execute(
            "SELECT key, owner, taken_at, expires_at FROM work WHERE key = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        return Lease(str(row[0]), str(row[1]), float(row[2]), float(row[3])) if row else None

    @_serialized
    async def renew_lease(self, key: str, owner: str, expires_at: float) -> bool:
        """Extend a lease `owner` still holds; False if it was lost (expired and taken)."""
        cur = await self._db.execute(
            "UPDATE work SET expires_at = ? WHERE key = ? AND owner = ?",
            (expires_at, key, owner),
        )
        await self._db.commit()
        return cur.rowcount > 0

    @_serialized
    async def release_lease(self, key: str, owner: str) -> None:
        """Give a unit of work back (only the owner's own lease)."""
        await self._db.execute("DELETE FROM work WHERE key = ? AND owner = ?", (key, owner))
        await self._db.commit()

    @_serialized
    async def leases(self) -> list[Lease]:
        """Every unit of work some process holds or held (expired leases included)."""
        async with self._db.execute(
            "SELECT key, owner, taken_at, expires_at FROM work ORDER BY key"
        ) as cur:
            rows = await cur.fetchall()
        return [Lease(str(r[0]), str(r[1]), float(r[2]), float(r[3])) for r in rows]

    @_serialized
    async def record_fetch(
        self,
        categories: str,
        at: datetime,
        day: date | None,
        counts: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        """Remember a completed feed fetch (its announcement day, or None for no announcement)."""
        await self._db.execute(
            "INSERT OR REPLACE INTO feed_fetches (categories, fetched_at, day, new, cross_lists, "
            "replaced) VALUES (?, ?, ?, ?, ?, ?)",
            (
                categories,
                at.astimezone(UTC).isoformat(timespec="microseconds"),
                day.isoformat() if day else None,
                *counts,
            ),
        )
        await self._db.commit()

    @_serialized
    async def last_fetch(self, categories: str) -> FeedFetch | None:
        """The latest completed fetch of a feed."""
        async with self._db.execute(
            "SELECT fetched_at, day, new, cross_lists, replaced FROM feed_fetches "
            "WHERE categories = ?",
            (categories,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        day = date.fromisoformat(row[1]) if row[1] else None
        return FeedFetch(datetime.fromisoformat(row[0]), day, int(row[2]), int(row[3]), int(row[4]))

    @_serialized
    async def set_digest_state(
        self, channel_id: str, day: date, state: str, *, error: str | None = None
    ) -> None:
        """Move a stored digest along scored → posting → posted (or 'missed'); an `error` counts
        a failed delivery attempt and keeps its one-line reason."""
        await self._db.execute(
            "UPDATE digests SET state = ?, updated_at = ?, "
            "attempts = attempts + ?, last_error = COALESCE(?, last_error) "
            "WHERE channel_id = ? AND day = ?",
            (state, _now(), int(error is not None), error, channel_id, day.isoformat()),
        )
        await self._db.commit()

    @_serialized
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
        async with self._db.execute(
            "SELECT channel_id, day, state, attempts, last_error, updated_at FROM digests "
            f"{where} ORDER BY day DESC, channel_id",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [DigestRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    # -- channels -----------------------------------------------------------------------------

    @_serialized
    async def channel(self, channel_id: str, platform: str) -> ChannelRow:
        """The channel's row, created (unsubscribed, no overrides) on first contact."""
        await self._db.execute(
            "INSERT OR IGNORE INTO channels (id, platform, created_at) VALUES (?, ?, ?)",
            (channel_id, platform, _now()),
        )
        await self._db.commit()
        async with self._db.execute(
            "SELECT id, platform, settings, subscribed FROM channels WHERE id = ?", (channel_id,)
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return ChannelRow(row[0], row[1], json.loads(row[2]), bool(row[3]))

    @_serialized
    async def set_channel_overrides(self, channel_id: str, overrides: dict[str, Any]) -> None:
        """Replace the channel's setting overrides."""
        await self._db.execute(
            "UPDATE channels SET settings = ? WHERE id = ?", (json.dumps(overrides), channel_id)
        )
        await self._db.commit()

    @_serialized
    async def set_subscribed(self, channel_id: str, subscribed: bool) -> None:
        """Start or stop the channel's daily post."""
        await self._db.execute(
            "UPDATE channels SET subscribed = ? WHERE id = ?", (int(subscribed), channel_id)
        )
        await self._db.commit()

    @_serialized
    async def subscribed_channels(self) -> list[ChannelRow]:
        """Every channel that wants the daily post."""
        async with self._db.execute(
            "SELECT id, platform, settings, subscribed FROM channels WHERE subscribed = 1 "
            "ORDER BY id"
        ) as cur:
            rows = await cur.fetchall()
        return [ChannelRow(r[0], r[1], json.loads(r[2]), True) for r in rows]

    @_serialized
    async def record_event(self, channel_id: str, user_id: str, action: str, detail: str) -> None:
        """The audit log: who changed what in a channel, and when."""
        await self._db.execute(
            "INSERT INTO channel_events (channel_id, user_id, action, detail, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (channel_id, user_id, action, detail, _now()),
        )
        await self._db.commit()

    @_serialized
    async def last_event(self, channel_id: str, actions: Sequence[str]) -> ChannelEvent | None:
        """The newest audit-log event of a channel among some actions."""
        async with self._db.execute(
            "SELECT id, user_id, action, detail, at FROM channel_events WHERE channel_id = ? "
            f"AND action IN ({_marks(len(actions))}) ORDER BY id DESC LIMIT 1",
            (channel_id, *actions),
        ) as cur:
            row = await cur.fetchone()
        return ChannelEvent(row[0], row[1], row[2], row[3], row[4]) if row else None

    @_serialized
    async def criteria_history(self, channel_id: str) -> list[CriteriaVersion]:
        """Every criteria version of a channel, newest first."""
        async with self._db.execute(
            "SELECT cc.version, c.id, c.text, cc.changed_by, cc.changed_at, cc.note "
            "FROM channel_criteria cc JOIN criteria c ON c.id = cc.criteria_id "
            "WHERE cc.channel_id = ? ORDER BY cc.version DESC",
            (channel_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [CriteriaVersion(r[0], Criteria(r[2], r[1]), r[3], r[4], r[5]) for r in rows]

    # -- explanations -----------------------------------------------------------------------

    @_serialized
    async def explanation(self, paper_id: str, key: ScoreKey) -> str | None:
        """A cached explanation of a paper's score under one key."""
        async with self._db.execute(
            "SELECT text FROM explanations WHERE paper_id = ? AND criteria_id = ? AND model = ? "
            "AND prompt_version = ?",
            (paper_id, key.criteria_id, key.model, key.prompt_version),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    @_serialized
    async def save_explanation(
        self, paper_id: str, key: ScoreKey, text: str, usage: Usage, day: date | None
    ) -> None:
        """Cache an explanation together with what it cost."""
        now = _now()
        await self._db.execute(
            "INSERT OR REPLACE INTO explanations (paper_id, criteria_id, model, prompt_version, "
            "text, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (paper_id, key.criteria_id, key.model, key.prompt_version, text, now),
        )
        await self._insert_usage(now, day, "explain", key.model, key.criteria_id, usage)
        await self._db.commit()

    # -- posted messages and likes ------------------------------------------------------------

    @_serialized
    async def record_posted(
        self, channel_id: str, day: date, slot: str, message_id: str, *, daily: bool = False
    ) -> None:
        """Remember a posted message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` marks the messages of the scheduled daily post (one per channel, day and slot)."""
        if daily:
            await self._db.execute(
                "DELETE FROM posted WHERE channel_id = ? AND day = ? AND slot = ? AND daily = 1",
                (channel_id, day.isoformat(), slot),
            )
        await self._db.execute(
            "INSERT OR REPLACE INTO posted (channel_id, message_id, day, slot, daily, posted_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (channel_id, message_id, day.isoformat(), slot, int(daily), _now()),
        )
        await self._db.commit()

    @_serialized
    async def daily_posted(self, channel_id: str, day: date) -> dict[str, str]:
        """The messages of a channel's daily post of a day that are recorded, by slot."""
        async with self._db.execute(
            "SELECT slot, message_id FROM posted WHERE channel_id = ? AND day = ? AND daily = 1",
            (channel_id, day.isoformat()),
        ) as cur:
            rows = await cur.fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    @_serialized
    async def posted_paper(self, channel_id: str, message_id: str) -> str | None:
        """The paper a posted card shows, or None for any other message."""
        async with self._db.execute(
            "SELECT slot FROM posted WHERE channel_id = ? AND message_id = ? "
            "AND slot != 'parent' AND slot NOT LIKE 'notice%'",
            (channel_id, message_id),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    @_serialized
    async def digest_showing(self, channel_id: str, paper_id: str) -> Any | None:
        """The newest stored digest of a channel that lists this paper (its JSON body)."""
        async with self._db.execute(
            "SELECT d.body FROM digests d, json_each(d.body, '$.papers') p "
            "WHERE d.channel_id = ? AND json_extract(p.value, '$.id') = ? "
            "ORDER BY d.day DESC LIMIT 1",
            (channel_id, paper_id),
        ) as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    @_serialized
    async def set_like(self, channel_id: str, user_id: str, paper_id: str, value: int) -> bool:
        """Record a like (1) or dislike (-1); returns False if it was already recorded."""
        cur = await self._db.execute(
            "INSERT INTO likes (channel_id, user_id, paper_id, value, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at WHERE likes.value != excluded.value",
            (channel_id, user_id, paper_id, value, _now()),
        )
        await self._db.commit()
        return cur.rowcount > 0

    @_serialized
    async def remove_like(self, channel_id: str, user_id: str, paper_id: str) -> bool:
        """Forget a user's like of a paper; returns False if there was none."""
        cur = await self._db.execute(
            "DELETE FROM likes WHERE channel_id = ? AND user_id = ? AND paper_id = ?",
            (channel_id, user_id, paper_id),
        )
        await self._db.commit()
        return cur.rowcount > 0

    @_serialized
    async def likes(
        self, channel_id: str, user_id: str | None = None, limit: int = 10
    ) -> list[Like]:
        """A channel's (or one user's) liked papers, newest first."""
        user_clause = "AND l.user_id = ?" if user_id is not None else ""
        params: tuple[Any, ...] = (channel_id, *((user_id,) if user_id else ()), limit)
        async with self._db.execute(
            "SELECT p.*, l.user_id AS liker, l.updated_at AS liked_at FROM likes l "
            f"JOIN papers p ON p.id = l.paper_id WHERE l.channel_id = ? AND l.value > 0 "
            f"{user_clause} ORDER BY l.updated_at DESC, l.rowid DESC LIMIT ?",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [Like(_paper(r), r["liker"], r["liked_at"]) for r in rows]

    # -- local ranking and learning -----------------------------------------------------------

    @_serialized
    async def save_ranking_set(self, day: date, key: str, ranking: RankingSet) -> RankingSet:
        """Keep a day's ranking under a ranking key, compactly (one row: ids and scores as packed
        arrays). The first ranking stored under a key wins, so a day once ranked stays as it
        was; returns the stored one."""
        await self._db.execute(
            "INSERT OR IGNORE INTO ranking_sets (day, key, model_version, ids, scores, liked, "
            "verdicts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        await self._db.commit()
        stored = await self._ranking_set(day, key)
        assert stored is not None
        return stored

    @_serialized
    async def ranking_set(self, day: date, key: str) -> RankingSet | None:
        """A day's stored ranking under a ranking key, best first."""
        return await self._ranking_set(day, key)

    async def _ranking_set(self, day: date, key: str) -> RankingSet | None:
        async with self._db.execute(
            "SELECT model_version, ids, scores, liked, verdicts FROM ranking_sets "
            "WHERE day = ? AND key = ?",
            (day.isoformat(), key),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return RankingSet(
            str(row[0]),
            tuple(json.loads(row[1])),
            tuple(float(x) for x in json.loads(row[2])),
            int(row[3]),
            int(row[4]),
        )

    @_serialized
    async def ranking(self, channel_id: str, day: date) -> list[RankingRow]:
        """The ranking a channel's digest of a day was built from, best first (empty when that
        digest was never built or its ranking was pruned)."""
        frame = await self._frame(channel_id, day)
        if frame is None or frame.ranking_key is None:
            return []
        ranked = await self._ranking_set(day, frame.ranking_key)
        if ranked is None:
            return []
        sent = set(frame.sent_ids or ())
        return [
            RankingRow(pid, day, ranked.model_version, score, n, pid in sent)
            for n, (pid, score) in enumerate(zip(ranked.ids, ranked.scores, strict=True), 1)
        ]

    @_serialized
    async def ranked_day(self, channel_id: str, paper_id: str) -> RankedDay | None:
        """The newest ranking of a channel's digests that placed this paper, with that day's
        totals."""
        async with self._db.execute(
            "SELECT d.day, d.sent_ids, r.model_version, r.scores, CAST(j.key AS INTEGER), "
            "json_array_length(r.ids) FROM digests d "
            "JOIN ranking_sets r ON r.day = d.day AND r.key = d.ranking_key, json_each(r.ids) j "
            "WHERE d.channel_id = ? AND j.value = ? ORDER BY d.day DESC LIMIT 1",
            (channel_id, paper_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        sent = json.loads(row[1]) if row[1] else []
        index = int(row[4])
        score = float(json.loads(row[3])[index])
        ranking_row = RankingRow(
            paper_id, date.fromisoformat(row[0]), str(row[2]), score, index + 1, paper_id in sent
        )
        return RankedDay(ranking_row, int(row[5]), len(sent))

    @_serialized
    async def ranked_days(self, channel_id: str, before: date, limit: int = 30) -> list[date]:
        """Days before `before` whose digest in this channel has a stored ranking, newest
        first."""
        async with self._db.execute(
            "SELECT d.day FROM digests d JOIN ranking_sets r "
            "ON r.day = d.day AND r.key = d.ranking_key "
            "WHERE d.channel_id = ? AND d.day < ? ORDER BY d.day DESC LIMIT ?",
            (channel_id, before.isoformat(), limit),
        ) as cur:
            rows = await cur.fetchall()
        return [date.fromisoformat(r[0]) for r in rows]

    @_serialized
    async def prune_rankings(self, before: date) -> int:
        """Forget the full rankings of days before `before` (what `explain` says of a paper that
        was never sent to the LLM); digests keep the papers they sent. Returns rows removed."""
        cur = await self._db.execute(
            "DELETE FROM ranking_sets WHERE day < ?", (before.isoformat(),)
        )
        await self._db.commit()
        return cur.rowcount

    @_serialized
    async def reactions(self, channel_id: str, limit: int = 2000) -> list[Reaction]:
        """What the channel liked, disliked, or was shown and ignored since its last learning
        reset, newest first: one entry per paper (a like by anyone wins over a dislike)."""
        async with self._db.execute(_REACTIONS, {"channel": channel_id, "limit": limit}) as cur:
            rows = await cur.fetchall()
        return [Reaction(_paper(r), int(r["reaction"])) for r in rows]

    @_serialized
    async def learning_state(self, channel_id: str) -> LearningState:
        """What the channel's ranking learned from and its last measured recall."""
        async with self._db.execute(
            "SELECT learned_from, recall, measured_day, reset_at, verdicts FROM learning "
            "WHERE channel_id = ?",
            (channel_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return LearningState()
        day = date.fromisoformat(row[2]) if row[2] else None
        return LearningState(int(row[0]), row[1], day, row[3], int(row[4]))

    @_serialized
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
        await self._db.execute(
            "INSERT INTO learning (channel_id, learned_from, verdicts, recall, measured_day, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(channel_id) DO UPDATE SET "
            "learned_from = excluded.learned_from, verdicts = excluded.verdicts, "
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
        await self._db.commit()

    @_serialized
    async def reset_learning(self, channel_id: str) -> None:
        """Forget what the channel's ranking learned: reactions so far are kept (nothing is
        deleted) but no longer learned from."""
        now = _now()
        await self._db.execute(
            "INSERT INTO learning (channel_id, reset_at, reset_like, reset_posted, learned_from, "
            "recall, measured_day, updated_at) VALUES (?, ?, "
            "(SELECT COALESCE(MAX(rowid), 0) FROM likes), "
            "(SELECT COALESCE(MAX(rowid), 0) FROM posted), 0, NULL, NULL, ?) "
            "ON CONFLICT(channel_id) DO UPDATE SET reset_at = excluded.reset_at, "
            "reset_like = excluded.reset_like, reset_posted = excluded.reset_posted, "
            "learned_from = 0, recall = NULL, measured_day = NULL, "
            "updated_at = excluded.updated_at",
            (channel_id, now, now),
        )
        await self._db.commit()

    @_serialized
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
        for name, (sql, params) in queries.items():
            async with self._db.execute(sql, params) as cur:
                row = await cur.fetchone()
            out[name] = int(row[0]) if row else 0
        return out


_REACTIONS = """
    WITH cut AS (
        SELECT COALESCE(MAX(reset_at), '') AS at, COALESCE(MAX(reset_like), 0) AS lk,
               COALESCE(MAX(reset_posted), 0) AS po
        FROM learning WHERE channel_id = :channel
    ),
    liked AS (
        SELECT l.paper_id, MAX(l.value) AS value, MAX(l.updated_at) AS at FROM likes l, cut
        WHERE l.channel_id = :channel AND (l.rowid > cut.lk OR l.updated_at > cut.at)
        GROUP BY l.paper_id
    ),
    shown AS (
        SELECT p.slot AS paper_id, 0 AS value, MAX(p.posted_at) AS at FROM posted p, cut
        WHERE p.channel_id = :channel AND p.slot != 'parent' AND p.slot NOT LIKE 'notice%'
          AND (p.rowid > cut.po OR p.posted_at > cut.at)
          AND p.slot NOT IN (SELECT paper_id FROM liked)
        GROUP BY p.slot
    ),
    everything AS (SELECT * FROM liked UNION ALL SELECT * FROM shown)
    SELECT pa.*, e.value AS reaction FROM everything e JOIN papers pa ON pa.id = e.paper_id
    ORDER BY e.at DESC, e.paper_id LIMIT :limit
"""


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


def _ranking_row(row: aiosqlite.Row) -> RankingRow:
    return RankingRow(
        str(row[0]),
        date.fromisoformat(row[1]),
        str(row[2]),
        float(row[3]),
        int(row[4]),
        bool(row[5]),
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


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply the missing migrations. Several processes may open a new database together: each
    takes the write lock (BEGIN IMMEDIATE) and reads `user_version` inside it, so exactly one
    applies a migration and the others find it done."""
    while True:
        async with db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        if (int(row[0]) if row else 0) >= len(MIGRATIONS):
            return
        await db.commit()
        await db.execute("BEGIN IMMEDIATE")
        try:
            async with db.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            applied = int(row[0]) if row else 0
            if applied < len(MIGRATIONS):
                for statement in _statements(MIGRATIONS[applied]):
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
