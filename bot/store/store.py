"""The bot's database: opening and closing it, and one part per concern holding its queries.

    store.papers         papers, the days that announced them, feed fetches, full-text search
    store.channels       channels, their settings, criteria versions and audit log
    store.scores         LLM scores and cached explanations
    store.stats          the LLM usage ledger and a channel's counts
    store.budget         the daily budget's account: holds and settlements across processes
    store.digests        daily digests, their delivery state, the messages posted
    store.weekly         weekly posts and their messages
    store.rankings       each day's local ranking and what a channel's ranking learns from
    store.likes          likes and dislikes
    store.imports        the channels' imported reading lists
    store.work           work leases and platform events seen, across processes
    store.follows        the authors and keywords channels follow
    store.installations  installations in many workspaces, OAuth states, paused workspaces

Every part keeps the same rules. Callers pass and receive the value types of `bot.models` and
`bot.store.records`; nothing outside the `bot.store` package builds SQL. The same statements
run on SQLite and PostgreSQL (`bot.store.backend` runs them): `?` placeholders, `ON CONFLICT`
upserts with their target, no `INSERT OR …`, no JSON functions (packed JSON columns are read in
Python), and `rowid` where insertion order matters (a column of that name on PostgreSQL).
Parameters keep the column's type (asyncpg refuses an int for a TEXT column where SQLite would
store it). Each method commits before it returns, so whatever a method reported as stored
survives a crash; a write that fails is rolled back whole. Nothing deletes papers, scores or
usage; a like goes only when its person removes it (or an operator forgets a workspace).

This module must not hold queries of its own: a new query goes in the part owning its tables
(or a new part, built here), and a query that only one engine can run belongs in
`bot.store.backend` (or, for full-text search, `bot.store.papers`). No part asks which engine
runs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.store.backend import Backend, StoreUnavailable, open_backend
from bot.store.channels import Channels
from bot.store.copy import incomplete_copy_problem
from bot.store.digests import Digests
from bot.store.follows import FollowStore
from bot.store.installations import Installations
from bot.store.likes import Imports, Likes
from bot.store.paper_texts import PaperTexts
from bot.store.papers import Papers
from bot.store.rankings import Rankings
from bot.store.scores import Scores
from bot.store.similar import SimilarStore
from bot.store.stats import Budget, Stats
from bot.store.url import PostgresURL, parse_database
from bot.store.weekly import WeeklyPosts
from bot.store.work import WorkLeases


class Store:
    """The bot's database. Open with `async with Store.open(db) as store:`, where `db` is a
    SQLite path or a PostgreSQL URL (`bot.store.url`); its parts share one backend."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend
        self.installations = Installations(backend)
        """Installations in many workspaces, OAuth states, paused workspaces."""
        self.papers = Papers(backend)
        """Papers, announcements, feed days and fetches, full-text search."""
        self.channels = Channels(backend, self.installations)
        """Channels, their setting overrides, criteria versions and audit log."""
        self.scores = Scores(backend)
        """LLM scores and cached explanations."""
        self.stats = Stats(backend)
        """The LLM usage ledger and a channel's counts."""
        self.budget = Budget(backend)
        """The daily budget's account, held and settled across processes."""
        self.digests = Digests(backend)
        """Daily digests, their delivery state and the messages posted."""
        self.weekly = WeeklyPosts(backend)
        """Weekly posts and their messages."""
        self.rankings = Rankings(backend)
        """Each day's local ranking and what a channel's ranking learns from."""
        self.likes = Likes(backend, self.papers)
        """Likes and dislikes."""
        self.imports = Imports(backend, self.papers)
        """The channels' imported reading lists (`bot.store.likes`)."""
        self.work = WorkLeases(backend)
        """Work leases and platform events seen, across processes (`bot.work`)."""
        self.follows = FollowStore(backend)
        """The authors and keywords channels follow (`bot.store.follows`)."""
        self.similar = SimilarStore(backend)
        """The kept answers of `/arxiv similar` (`bot.store.similar`)."""
        self.paper_texts = PaperTexts(backend)
        """Papers' full texts and the kept answers of `/arxiv ask` (`bot.store.paper_texts`)."""

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str | PostgresURL) -> AsyncIterator[Store]:
        """Open (creating if needed) and migrate the database."""
        backend = await open_backend(parse_database(path))
        try:
            problem = await incomplete_copy_problem(backend)
            if problem is not None:
                raise StoreUnavailable(problem)
            yield cls(backend)
        finally:
            await backend.close()

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        return await self._b.schema_version()
