"""Where the database is: ARXIV_BOT_DB as a SQLite path or a PostgreSQL URL, the password
never shown, and `arxiv-bot migrate-db` moving a SQLite database to PostgreSQL whole."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import Settings
from bot.errors import SettingsError
from bot.models import AnnounceType, Criteria, Paper
from bot.store import TABLES, PostgresURL, Store, StoreUnavailable, parse_database
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "pw-never-shown-5b1e"
DAY = date(2025, 5, 2)


def with_password(url: str) -> str:
    """The test server's URL with a password in it (the server trusts loopback and ignores it)."""
    parsed = parse_database(url)
    assert isinstance(parsed, PostgresURL)
    return parsed.dsn().replace(f"{parsed.user}@", f"{parsed.user}:{PASSWORD}@", 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bot.sqlite3", Path("bot.sqlite3")),
        ("/var/lib/arxiv-bot/bot.sqlite3", Path("/var/lib/arxiv-bot/bot.sqlite3")),
        ("sqlite:///data/bot.sqlite3", Path("data/bot.sqlite3")),
        ("sqlite:////var/lib/bot.sqlite3", Path("/var/lib/bot.sqlite3")),
    ],
)
def test_sqlite_paths_and_urls_are_paths(value: str, expected: Path) -> None:
    assert Settings.from_env({"ARXIV_BOT_DB": value}).db == expected


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_is_a_server_with_its_password_masked(scheme: str) -> None:
    settings = Settings.from_env(
        {"ARXIV_BOT_DB": f"{scheme}://arxiv:{PASSWORD}@db.internal:6432/bot?sslmode=require"}
    )
    db = settings.db
    assert isinstance(db, PostgresURL)
    assert (db.host, db.port, db.database, db.user) == ("db.internal", 6432, "bot", "arxiv")
    assert str(db) == "postgresql://arxiv:***@db.internal:6432/bot?sslmode=require"
    for shown in (
        str(db),
        repr(db),
        repr(settings),
        str(settings),
        str(dataclasses.asdict(settings)),
    ):
        assert PASSWORD not in shown
    assert PASSWORD in db.dsn()  # for the driver only


def test_a_password_with_reserved_characters_reaches_the_driver_intact() -> None:
    db = parse_database("postgresql://me:p%40ss%2Fw0rd@localhost/bot")
    assert isinstance(db, PostgresURL)
    assert db.password is not None
    assert db.password.get_secret_value() == "p@ss/w0rd"
    assert parse_database(db.dsn()) == db


@pytest.mark.parametrize("value", ["mysql://root:hunter2@db/bot", "sqlite://bot.db", "redis://x"])
def test_any_other_url_is_refused_in_one_line_without_echoing_it(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"ARXIV_BOT_DB": value})
    problems = [line for line in str(info.value).splitlines() if line.startswith("  - ")]
    assert len(problems) == 1
    assert problems[0].startswith("  - ARXIV_BOT_DB: unsupported database URL scheme")
    assert "hunter2" not in str(info.value)


async def test_an_unreachable_server_is_one_masked_line() -> None:
    url = parse_database(f"postgresql://bot:{PASSWORD}@127.0.0.1:9/bot")
    with pytest.raises(StoreUnavailable) as info:
        async with Store.open(url):
            pass
    assert "postgresql://bot:***@127.0.0.1:9/bot" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert "\n" not in str(info.value)


async def test_a_missing_database_is_one_masked_line(postgres: str) -> None:
    url = parse_database(with_password(postgres))
    assert isinstance(url, PostgresURL)
    with pytest.raises(StoreUnavailable) as info:
        async with Store.open(url.with_database("no_such_database")):
            pass
    assert "does not exist" in str(info.value)
    assert PASSWORD not in str(info.value)


async def _bot(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    result = await run_cli(env, cwd, *args)
    return result.code, result.out, result.err


async def test_logs_and_status_never_show_the_password(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
    tmp_path: Path,
    postgres: str,
) -> None:
    env = bot_env(
        arxiv, llm, Path(), ARXIV_BOT_DB=with_password(postgres), ARXIV_BOT_LLM_SHARE="0.3"
    )
    code, out, err = await _bot(env, tmp_path, "-v", "digest")
    assert code == 0, err
    code, status, err2 = await _bot(env, tmp_path, "status")
    assert code == 0, err2
    assert "database: postgresql://postgres:***@127.0.0.1:" in status
    for text in (out, err, status, err2):
        assert PASSWORD not in text


async def _fill(store: Store) -> None:
    """Rows in the tables a digest run does not touch: posts, likes, learning, events, leases."""
    await store.channels.get("C1", "slack")
    await store.channels.set_subscribed("C1", True)
    await store.channels.record_event("C1", "ann", "subscribe", "")
    await store.papers.save_announcements(
        DAY,
        "cs.LG",
        [
            (Paper(f"2505.9000{n}", "T", "A", ("X",), ("cs.LG",)), AnnounceType.NEW)
            for n in range(3)
        ],
    )
    for n in range(3):
        await store.digests.record_posted("C1", DAY, f"2505.9000{n}", f"m{n}", daily=True)
    await store.likes.set_like("C1", "ann", "2505.90002", 1)
    await store.likes.set_like("C1", "bob", "2505.90000", -1)
    await store.rankings.save_learning("C1", 1, 10, 0.5, DAY)
    await store.work.take_lease("deliver:C1", "host:1:aa", 60.0)
    await store.work.first_sight("Ev1", 1.0e12)


async def _snapshot(store: Store) -> dict[str, Any]:
    return {
        "announced": await store.papers.announced(DAY, "cs.LG+cs.AI"),
        "reactions": await store.rankings.reactions("C1"),
        "likes": await store.likes.recent("C1"),
        "usage": await store.stats.usage(),
        "digest": await store.digests.get("console", DAY),
        "ranking": await store.rankings.ranking("console", DAY),
        "leases": await store.work.leases(),
        "criteria": await store.channels.criteria_history("console"),
        "learning": await store.rankings.learning_state("C1"),
    }


async def test_migrate_db_copies_a_sqlite_database_to_postgresql_and_verifies_counts(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
    tmp_path: Path,
    postgres: str,
) -> None:
    sqlite = tmp_path / "bot.sqlite3"
    env = bot_env(arxiv, llm, sqlite, ARXIV_BOT_LLM_SHARE="0.3")
    code, first, err = await _bot(env, tmp_path, "digest")
    assert code == 0, err
    async with Store.open(sqlite) as store:
        await _fill(store)
        before = await _snapshot(store)
    target = with_password(postgres)

    code, out, err = await _bot({}, tmp_path, "migrate-db", str(sqlite), target)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"copying {sqlite} to postgresql://postgres:***@")
    assert [line.split(":")[0] for line in lines[1:]] == list(TABLES)
    assert all(line.endswith(": ok") for line in lines[1:])
    assert PASSWORD not in out + err

    async with Store.open(postgres) as store:
        assert await _snapshot(store) == before
        added = await store.channels.criteria("Something new.\n")  # ids go on after the copied ones
        assert added.id is not None
        assert added.id > max(v.criteria.id or 0 for v in before["criteria"])
        assert await store.channels.criteria(before["criteria"][0].criteria.text) == Criteria(
            before["criteria"][0].criteria.text, before["criteria"][0].criteria.id
        )
    calls = llm.calls
    env_pg = bot_env(arxiv, llm, Path(), ARXIV_BOT_DB=postgres, ARXIV_BOT_LLM_SHARE="0.3")
    code, again, err = await _bot(env_pg, tmp_path, "digest", "--day", DAY.isoformat())
    assert (code, again) == (0, first), err
    assert llm.calls == calls  # the stored day, rebuilt from PostgreSQL: no LLM request

    code, out, err = await _bot({}, tmp_path, "migrate-db", str(sqlite), target)
    assert code == 1
    assert "is already a complete copy" in err
    assert len(err.strip().splitlines()) == 1


async def test_an_interrupted_migrate_db_leaves_a_target_the_bot_refuses_until_it_is_redone(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    source, target = tmp_path / "old.sqlite3", tmp_path / "new.sqlite3"
    code, _, err = await _bot(
        bot_env(arxiv, llm, source, ARXIV_BOT_LLM_SHARE="0.3"), tmp_path, "digest"
    )
    assert code == 0, err
    # a value the copy cannot carry, halfway down the tables
    with closing(sqlite3.connect(source)) as db, db:
        db.execute(
            "UPDATE scores SET relevance = 'high' WHERE rowid = (SELECT min(rowid) FROM scores)"
        )

    code, out, err = await _bot({}, tmp_path, "migrate-db", str(source), str(target))
    assert code == 1
    assert err.count("\n") == 1
    assert "scores: a value the target's column cannot hold" in err
    assert "Traceback" not in err

    with pytest.raises(StoreUnavailable, match=r"copy that stopped before the end.*--redo"):
        async with Store.open(target):
            pass
    code, _, err = await _bot(
        bot_env(arxiv, llm, target), tmp_path, "digest", "--day", DAY.isoformat()
    )
    assert code != 0
    assert "copy that stopped before the end" in err
    assert "Traceback" not in err

    code, _, err = await _bot({}, tmp_path, "migrate-db", str(source), str(target))
    assert code == 1
    assert "stopped before the end" in err
    assert "--redo" in err

    with closing(sqlite3.connect(source)) as db, db:
        db.execute("UPDATE scores SET relevance = 7 WHERE relevance = 'high'")
    code, out, err = await _bot({}, tmp_path, "migrate-db", "--redo", str(source), str(target))
    assert code == 0, err
    assert all(line.endswith(": ok") for line in out.splitlines()[1:])
    async with Store.open(target) as store:  # complete: the bot opens it
        assert await store.papers.announced(DAY, "cs.LG+cs.AI")
