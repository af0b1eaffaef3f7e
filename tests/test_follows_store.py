"""The follows store and the journal reference, each test on a fresh SQLite file and a fresh
PostgreSQL database: a follow is kept once per channel and key, up to a limit, removed with who
and when, and listed in its history; the arXiv API's journal reference survives a reopen."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from bot.digest.following import AUTHOR, KEYWORD, follow_key, parse_follow
from bot.models import AnnounceType, Follow, Paper
from bot.store import Store, parse_database
from bot.store.copy import copy_database

DAY = date(2025, 5, 2)


def follow(kind: str, text: str) -> tuple[Follow, str]:
    f = parse_follow(kind, text)
    return f, follow_key(f)


async def test_a_channel_follows_each_author_and_keyword_once(database: str) -> None:
    async with Store.open(database) as store:
        jane, key = follow(AUTHOR, "Jane Doe")
        first = await store.follows.add("c1", jane, key, "alice", limit=100)
        again = await store.follows.add("c1", *follow(AUTHOR, "jane doe"), "bob", limit=100)
        other = await store.follows.add("c2", jane, key, "carol", limit=100)
        word = await store.follows.add("c1", *follow(KEYWORD, '"diffusion model"'), "bob", 100)
    assert first.created
    assert first.active == 1
    assert first.follow is not None
    assert first.follow.added_by == "alice"
    assert not again.created
    assert again.follow == first.follow
    assert other.created  # channels follow on their own
    assert word.created
    assert word.active == 2
    async with Store.open(database) as store:  # kept across a reopen
        listed = await store.follows.active("c1")
    assert [(f.kind, f.text, f.added_by) for f in listed] == [
        ("author", "Jane Doe", "alice"),
        ("keyword", '"diffusion model"', "bob"),
    ]
    assert all(f.added_at.startswith("20") for f in listed)


async def test_people_following_the_same_author_at_once_add_it_once(database: str) -> None:
    async with Store.open(database) as store:
        jane, key = follow(AUTHOR, "Jane Doe")
        results = await asyncio.gather(
            *(store.follows.add("c", jane, key, f"user{n}", limit=100) for n in range(8))
        )
        assert sum(r.created for r in results) == 1
        assert len(await store.follows.active("c")) == 1


async def test_a_channel_at_its_limit_follows_nothing_more(database: str) -> None:
    async with Store.open(database) as store:
        for n in range(3):
            assert (await store.follows.add("c", *follow(KEYWORD, f"topic{n}"), "a", 3)).created
        full = await store.follows.add("c", *follow(KEYWORD, "one more"), "a", 3)
        same = await store.follows.add("c", *follow(KEYWORD, "topic1"), "a", 3)
    assert full.follow is None
    assert full.active == 3
    assert not full.created
    assert same.follow is not None
    assert not same.created


async def test_unfollow_keeps_who_removed_it_and_when_in_the_history(database: str) -> None:
    async with Store.open(database) as store:
        added = await store.follows.add("c", *follow(AUTHOR, "Jane Doe"), "alice", 100)
        assert added.follow is not None
        assert await store.follows.remove("c", added.follow.id, "bob")
        assert not await store.follows.remove("c", added.follow.id, "bob")  # once
        assert not await store.follows.remove("other", added.follow.id, "bob")
        assert await store.follows.active("c") == []
        again = await store.follows.add("c", *follow(AUTHOR, "Jane Doe"), "carol", 100)
        assert again.created  # following again after an unfollow is a new follow
        history = await store.follows.history("c")
    assert [(r.follow.added_by, r.removed_by) for r in history] == [
        ("carol", None),
        ("alice", "bob"),
    ]
    assert history[1].removed_at is not None


async def test_the_journal_reference_is_kept_with_the_paper(database: str) -> None:
    p = Paper("2505.00001", "T", "A.", ("A B",), ("cs.LG",))
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, "cs.LG", [(p, AnnounceType.NEW)])
        assert (await store.papers.get([p.id]))[p.id].journal_ref is None
        enriched = Paper(
            p.id,
            p.title,
            p.abstract,
            p.authors,
            p.categories,
            "cs.LG",
            "Accepted at ICML 2025",
            journal_ref="JMLR 26 (2025) 1-30",
        )
        await store.papers.save_enrichment([enriched])
    async with Store.open(database) as store:
        got = (await store.papers.get([p.id]))[p.id]
        shown = await store.papers.announced(DAY, "cs.LG")
    assert got.journal_ref == "JMLR 26 (2025) 1-30"
    assert shown[0].paper.journal_ref == "JMLR 26 (2025) 1-30"


async def test_migrate_db_copies_the_follows(database: str, tmp_path: Path) -> None:
    source = str(tmp_path / "source.sqlite3")
    async with Store.open(source) as store:
        await store.follows.add("c", *follow(AUTHOR, "Jane Doe"), "alice", 100)
        removed = await store.follows.add("c", *follow(KEYWORD, "graph"), "alice", 100)
        assert removed.follow is not None
        await store.follows.remove("c", removed.follow.id, "bob")
    tables = await copy_database(parse_database(source), parse_database(database))
    assert all(t.verified for t in tables)
    async with Store.open(database) as store:
        assert [f.text for f in await store.follows.active("c")] == ["Jane Doe"]
        assert len(await store.follows.history("c")) == 2
        added = await store.follows.add("c", *follow(KEYWORD, "new"), "carol", 100)
    assert added.created  # ids continue after the copied ones
