"""Where the database is: a SQLite file or a PostgreSQL server, read from `ARXIV_BOT_DB`.

`parse_database` turns the setting into a `Path` (SQLite: a plain path or `sqlite:///path`) or a
`PostgresURL` (`postgresql://` or `postgres://`), and refuses any other scheme with one line.
A `PostgresURL` keeps its password as a `Secret`: its `str`, `repr` and every message print
the URL with the password masked; only `dsn()`, which goes to the driver, holds it in clear.

This module must not open connections or files, nor echo a rejected value (it may hold a
password): errors name the scheme only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from bot.secret import Secret

POSTGRES_SCHEMES = ("postgresql", "postgres")
SQLITE_PREFIX = "sqlite:///"
MASK = "***"


@dataclass(frozen=True, slots=True)
class PostgresURL:
    """A PostgreSQL server and database; the password never prints."""

    host: str
    port: int
    database: str
    user: str = ""
    password: Secret | None = None
    query: str = ""

    def dsn(self) -> str:
        """The URL with the password, for the driver only."""
        secret = self.password.get_secret_value() if self.password else None
        return self._url(quote(secret, safe="") if secret is not None else None)

    def with_database(self, database: str) -> PostgresURL:
        """The same server and credentials, another database."""
        return PostgresURL(self.host, self.port, database, self.user, self.password, self.query)

    def _url(self, password: str | None) -> str:
        auth = quote(self.user, safe="") if self.user else ""
        if password is not None:
            auth += ":" + password
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?{self.query}" if self.query else ""
        return f"postgresql://{auth}{'@' if auth else ''}{host}:{self.port}/{self.database}{query}"

    def __str__(self) -> str:
        return self._url(MASK if self.password is not None else None)

    def __repr__(self) -> str:
        return f"PostgresURL({str(self)!r})"


Database = Path | PostgresURL
"""A database the store opens: a SQLite file or a PostgreSQL database."""


def parse_database(value: str | Path | PostgresURL) -> Database:
    """`ARXIV_BOT_DB` as a database; raises ValueError (naming the scheme only) for an
    unsupported URL."""
    if isinstance(value, Path | PostgresURL):
        return value
    text = value.strip()
    if text.startswith(SQLITE_PREFIX):
        path = text.removeprefix(SQLITE_PREFIX)
        if not path:
            raise ValueError("sqlite:/// needs a file path, e.g. sqlite:///arxiv-bot.sqlite3")
        return Path(path)
    scheme, sep, _ = text.partition("://")
    if not sep:
        return Path(text)
    if scheme.lower() not in POSTGRES_SCHEMES:
        raise ValueError(
            f"unsupported database URL scheme {scheme[:20]!r}: use a SQLite path, "
            "sqlite:///path or postgresql://user:password@host:port/db"
        )
    return _postgres(text)


def _postgres(text: str) -> PostgresURL:
    parts = urlsplit(text)
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError("the PostgreSQL URL has an invalid port") from None
    user = unquote(parts.username or "")
    database = unquote(parts.path.lstrip("/")) or user or "postgres"
    password = Secret(unquote(parts.password)) if parts.password is not None else None
    return PostgresURL(parts.hostname or "localhost", port, database, user, password, parts.query)


def describe(db: Database) -> str:
    """The database for messages: a path, or the URL with its password masked."""
    return str(db)
