"""Installations of the bot in many workspaces: who installed it, one-use OAuth states, which
workspaces are paused, and forgetting a workspace.

A *workspace* is a platform's unit of installation (a Slack team, or a Slack Enterprise Grid
organisation for an org-wide install). A channel id of the form `WORKSPACE:CHANNEL` belongs to
that workspace; an id without a colon belongs to the platform's *home* workspace, the one a
single-token deployment served before it was offered to many (so ids stored then keep their
meaning). `workspace_of` is that rule, in one place.

The installation itself is stored as `sealed` text the caller encrypted: this module never sees
a token in the clear and has no key. Nothing here deletes a workspace's papers, likes or
criteria except `forget`, which an operator asks for by name.

This module must not import the rest of the bot beyond `bot.store.backend`, nor decrypt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.store.backend import Backend, Connection

WORKSPACE_RE = re.compile(r"^[A-Z0-9]{2,32}$")
"""What a workspace id looks like (Slack's T… and E… ids): nothing a LIKE pattern treats
specially."""

# Every table keyed by a channel id: what `forget` clears for a workspace's channels.
CHANNEL_TABLES: tuple[tuple[str, str], ...] = (
    ("channel_criteria", "channel_id"),
    ("digests", "channel_id"),
    ("posted", "channel_id"),
    ("likes", "channel_id"),
    ("imported", "channel_id"),
    ("imports", "channel_id"),
    ("zotero_keys", "channel_id"),
    ("channel_events", "channel_id"),
    ("learning", "channel_id"),
    ("follows", "channel_id"),
    ("weekly_messages", "channel_id"),
    ("weekly_posts", "channel_id"),
    ("channels", "id"),
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def workspace_of(channel_id: str, home: str | None) -> str | None:
    """The workspace a stored channel id belongs to: its prefix, or the home workspace."""
    workspace, colon, _ = channel_id.partition(":")
    return workspace if colon else home


@dataclass(frozen=True, slots=True)
class PausedWorkspace:
    """A paused workspace (uninstalled, or its token refused), why, and its channels."""

    platform: str
    workspace: str
    reason: str
    channels: int
    subscribed: int


@dataclass(frozen=True, slots=True)
class InstallationRow:
    """A stored installation: where it is, and the sealed (encrypted) installation."""

    platform: str
    workspace: str
    enterprise_id: str | None
    team_id: str | None
    sealed: str = field(repr=False)
    installed_at: str


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What `forget` deleted: rows per table."""

    rows: Mapping[str, int]

    @property
    def total(self) -> int:
        """All rows deleted."""
        return sum(self.rows.values())


class Installations:
    """The installation tables, on the store's backend (`Store.installations`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    # -- installations ----------------------------------------------------------------------

    async def save(self, row: InstallationRow) -> None:
        """Keep (or replace) a workspace's installation and end its pause: installing again
        is how a workspace comes back."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO installations (platform, workspace, enterprise_id, team_id, sealed, "
                "installed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, workspace) DO "
                "UPDATE SET enterprise_id = excluded.enterprise_id, team_id = excluded.team_id, "
                "sealed = excluded.sealed, installed_at = excluded.installed_at",
                (
                    row.platform,
                    row.workspace,
                    row.enterprise_id,
                    row.team_id,
                    row.sealed,
                    row.installed_at,
                ),
            )
            await db.execute(
                "DELETE FROM paused_workspaces WHERE platform = ? AND workspace = ?",
                (row.platform, row.workspace),
            )

    async def find(self, platform: str, workspace: str) -> InstallationRow | None:
        """A workspace's installation, if it is installed."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT platform, workspace, enterprise_id, team_id, sealed, installed_at "
                "FROM installations WHERE platform = ? AND workspace = ?",
                (platform, workspace),
            )
        if row is None:
            return None
        return InstallationRow(row[0], row[1], row[2], row[3], row[4], row[5])

    async def workspaces(self, platform: str) -> list[str]:
        """The workspaces where the bot is installed."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT workspace FROM installations WHERE platform = ? ORDER BY workspace",
                (platform,),
            )
        return [r[0] for r in rows]

    async def remove(self, platform: str, workspace: str, reason: str) -> bool:
        """Delete a workspace's installation and pause its channels (uninstalled, tokens
        revoked); True if it was installed. Its channels' data stays."""
        async with self._b.write() as db:
            removed = await db.execute(
                "DELETE FROM installations WHERE platform = ? AND workspace = ?",
                (platform, workspace),
            )
            await _pause(db, platform, workspace, reason)
        return removed > 0

    # -- pauses ------------------------------------------------------------------------------

    async def pause(self, platform: str, workspace: str, reason: str) -> bool:
        """Pause a workspace's daily posts (its token was refused); True if it was not paused
        already."""
        async with self._b.write() as db:
            return await _pause(db, platform, workspace, reason)

    async def paused(self) -> dict[tuple[str, str], str]:
        """Every paused workspace, (platform, workspace) → reason."""
        async with self._b.read() as db:
            return await _paused(db)

    async def paused_channels(self) -> list[PausedWorkspace]:
        """Every paused workspace with why, and how many of its channels the bot knows and how
        many of those want the daily post (they get none while it is paused)."""
        async with self._b.read() as db:
            paused = await _paused(db)
            if not paused:
                return []
            homes = await _homes(db)
            rows = await db.fetchall("SELECT id, platform, subscribed FROM channels")
        out = []
        for (platform, workspace), reason in sorted(paused.items()):
            own = [
                bool(r[2])
                for r in rows
                if r[1] == platform and workspace_of(str(r[0]), homes.get(platform)) == workspace
            ]
            out.append(PausedWorkspace(platform, workspace, reason, len(own), sum(own)))
        return out

    # -- home workspaces ---------------------------------------------------------------------

    async def note_home(self, platform: str, workspace: str) -> str:
        """Record the workspace a single-token deployment serves, once (the first one stays:
        it is the one its unprefixed channel ids were stored for); returns the home."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO home_workspaces (platform, workspace, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (platform) DO NOTHING",
                (platform, workspace, _now()),
            )
            row = await db.fetchone(
                "SELECT workspace FROM home_workspaces WHERE platform = ?", (platform,)
            )
        assert row is not None
        return str(row[0])

    async def homes(self) -> dict[str, str]:
        """Each platform's home workspace, where one was recorded."""
        async with self._b.read() as db:
            return await _homes(db)

    # -- OAuth states ------------------------------------------------------------------------

    async def issue_state(
        self,
        state: str,
        expires_at: float,
        now: float,
        *,
        client: str = "",
        per_client: int | None = None,
        live: int | None = None,
    ) -> str | None:
        """Keep a state the install page hands out to `client` (and drop the expired ones),
        unless `client` already holds `per_client` live states or `live` states are live in
        all; None when it is kept, else which cap refused it ('client' or 'live')."""
        async with self._b.write() as db:
            await db.execute("DELETE FROM oauth_states WHERE expires_at < ?", (now,))
            if live is not None:
                row = await db.fetchone("SELECT COUNT(*) FROM oauth_states")
                if row is not None and int(row[0]) >= live:
                    return "live"
            if per_client is not None:
                row = await db.fetchone(
                    "SELECT COUNT(*) FROM oauth_states WHERE client = ?", (client,)
                )
                if row is not None and int(row[0]) >= per_client:
                    return "client"
            await db.execute(
                "INSERT INTO oauth_states (state, expires_at, client) VALUES (?, ?, ?)",
                (state, expires_at, client),
            )
        return None

    async def consume_state(self, state: str, now: float) -> bool:
        """True once for a state that was issued and has not expired: any process sharing
        the database sees it used."""
        async with self._b.write() as db:
            used = await db.execute(
                "DELETE FROM oauth_states WHERE state = ? AND expires_at >= ?", (state, now)
            )
        return used > 0

    # -- forgetting --------------------------------------------------------------------------

    async def forget(self, platform: str, workspace: str) -> Forgotten:
        """Delete everything kept for a workspace's channels (criteria, digests, posts, likes,
        the audit log, learning), its installation and its pause, in one transaction. Shared
        papers and scores stay."""
        counts: dict[str, int] = {}
        async with self._b.write() as db:
            homes = await _homes(db)
            own = [
                str(r[0])
                for r in await db.fetchall(
                    "SELECT id FROM channels WHERE platform = ?", (platform,)
                )
                if workspace_of(str(r[0]), homes.get(platform)) == workspace
            ]
            for table, column in CHANNEL_TABLES:
                counts[table] = await _delete_channels(db, table, column, own)
                counts[table] += await db.execute(
                    f"DELETE FROM {table} WHERE {column} LIKE ?", (f"{workspace}:%",)
                )
            for table in ("installations", "paused_workspaces", "home_workspaces"):
                counts[table] = await db.execute(
                    f"DELETE FROM {table} WHERE platform = ? AND workspace = ?",
                    (platform, workspace),
                )
        return Forgotten(counts)


async def _pause(db: Connection, platform: str, workspace: str, reason: str) -> bool:
    return (
        await db.execute(
            "INSERT INTO paused_workspaces (platform, workspace, reason, paused_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (platform, workspace) DO NOTHING",
            (platform, workspace, reason, _now()),
        )
        > 0
    )


async def _paused(db: Connection) -> dict[tuple[str, str], str]:
    rows = await db.fetchall("SELECT platform, workspace, reason FROM paused_workspaces")
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}


async def _homes(db: Connection) -> dict[str, str]:
    rows = await db.fetchall("SELECT platform, workspace FROM home_workspaces")
    return {str(r[0]): str(r[1]) for r in rows}


async def _delete_channels(db: Connection, table: str, column: str, ids: Sequence[str]) -> int:
    deleted = 0
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        deleted += await db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", part)
    return deleted


def active(
    channels: Sequence[tuple[str, str]],
    paused: Mapping[tuple[str, str], str],
    homes: Mapping[str, str],
) -> list[bool]:
    """For each (platform, channel id): whether its workspace is not paused."""
    return [
        (platform, workspace_of(channel, homes.get(platform)) or "") not in paused
        for platform, channel in channels
    ]
