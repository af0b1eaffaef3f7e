"""All storage of the bot: SQLite (embedded, the default) or PostgreSQL (shared by replicas).

Every SQL statement of the project lives in this package, behind the intent-named async methods
of `Store`'s parts (`store.papers.announced(...)`, `store.likes.set_like(...)`); callers import
from here (`from bot.store import Store, Lease, ...`).

    url.py      what `ARXIV_BOT_DB` names: a SQLite path or a PostgreSQL URL (password masked)
    schema.py   the numbered migrations, one script per dialect
    backend.py  the two engines (aiosqlite, asyncpg): transactions, placeholders, migrating once
    store.py    opening the database and building its parts; the rules every query keeps
    papers.py   papers, the days that announced them, feed days and fetches, full-text search
    similar.py  the kept answers of `/arxiv similar`, shared by every caller and process
    paper_texts.py  papers' full texts, the kept answers of `ask` and each thread's turns
    channels.py channels, their setting overrides, criteria versions and audit log
    scores.py   the LLM's scores and cached explanations
    stats.py    the LLM usage ledger, the daily budget's account and a channel's counts
    digests.py  daily digests, their delivery state, the messages posted
    weekly.py   weekly posts and their messages
    rankings.py each day's local ranking and what a channel's ranking learns from
    likes.py    likes and dislikes, and the imported reading lists
    work.py     work leases, their fences and post intents, platform events seen, across
                processes
    follows.py  the authors and keywords channels follow, with who added or removed each
    installations.py  installations in many workspaces, OAuth states, paused workspaces
    query.py    the small pieces the query modules share (timestamps, `IN` lists, paper rows)
    records.py  the value types the queries return
    copy.py     copying a whole database to another (`arxiv-bot migrate-db`)

This package must not import the rest of the bot beyond `bot.models`, `bot.errors`,
`bot.safety` and `bot.secret`.
"""

from bot.store.backend import StoreUnavailable
from bot.store.follows import FollowAdded, FollowRecord, FollowStore
from bot.store.installations import Forgotten, InstallationRow, Installations, workspace_of
from bot.store.records import (
    Announcement,
    ChannelEvent,
    ChannelRow,
    CriteriaVersion,
    DigestFrame,
    DigestRecord,
    FeedFetch,
    Fence,
    ImportedPaper,
    ImportRecord,
    LearningState,
    Lease,
    Like,
    LikedPaper,
    RankedDay,
    RankingRow,
    RankingSet,
    Reaction,
)
from bot.store.schema import MIGRATIONS, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, TABLES
from bot.store.stats import Budget, DailyAccount
from bot.store.store import Store
from bot.store.url import Database, PostgresURL, describe, parse_database
from bot.store.work import Counted, RateCheck

__all__ = [
    "MIGRATIONS",
    "POSTGRES_MIGRATIONS",
    "SQLITE_MIGRATIONS",
    "TABLES",
    "Announcement",
    "Budget",
    "ChannelEvent",
    "ChannelRow",
    "Counted",
    "CriteriaVersion",
    "DailyAccount",
    "Database",
    "DigestFrame",
    "DigestRecord",
    "FeedFetch",
    "Fence",
    "FollowAdded",
    "FollowRecord",
    "FollowStore",
    "Forgotten",
    "ImportRecord",
    "ImportedPaper",
    "InstallationRow",
    "Installations",
    "LearningState",
    "Lease",
    "Like",
    "LikedPaper",
    "PostgresURL",
    "RankedDay",
    "RankingRow",
    "RankingSet",
    "RateCheck",
    "Reaction",
    "Store",
    "StoreUnavailable",
    "describe",
    "parse_database",
    "workspace_of",
]
