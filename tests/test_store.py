"""The store: migrations, announcements, replacements, content-addressed criteria, scores, usage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.models import AnnounceType, Paper, Score, ScoreKey, Usage
from bot.store import MIGRATIONS, Store

DAY = date(2025, 5, 2)
CATS = "cs.LG+cs.AI"


def paper(pid: str, version: int = 1, title: str = "A title") -> Paper:
    return Paper(pid, title, "An abstract.", ("Ada Lovelace",), ("cs.LG",), version=version)


async def test_migrations_apply_on_open_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with Store.open(db) as store:
        assert await store.schema_version() == len(MIGRATIONS)
    async with Store.open(db) as store:
        assert await store.schema_version() == len(MIGRATIONS)


async def test_announcements_are_keyed_by_id_and_survive_reopen(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with Store.open(db) as store:
        await store.save_announcements(
            DAY,
            CATS,
            [(paper("2505.00001"), AnnounceType.NEW), (paper("2505.00002"), AnnounceType.CROSS)],
        )
        # the same day fetched again is idempotent
        await store.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
    async with Store.open(db) as store:
        got = await store.announced(DAY, CATS)
        assert [a.paper.id for a in got] == ["2505.00001", "2505.00002"]
        assert await store.feed_fetched(DAY, CATS)
        assert await store.latest_feed_day(CATS) == DAY
        later = date(2025, 5, 5)
        assert await store.announced_before(["2505.00001", "2505.09999"], later) == {"2505.00001"}
        assert await store.announced_before(["2505.00001"], DAY) == set()


async def test_replacements_update_known_papers_only() -> None:
    async with Store.open(":memory:") as store:
        await store.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        changed = await store.apply_replacements(
            [paper("2505.00001", 2, "New title"), paper("2401.99999", 3)]
        )
        assert changed == 1
        got = await store.papers(["2505.00001", "2401.99999"])
        assert set(got) == {"2505.00001"}
        assert got["2505.00001"].title == "New title"
        assert got["2505.00001"].version == 2


async def test_enrichment_is_kept_and_only_missing_papers_are_listed() -> None:
    async with Store.open(":memory:") as store:
        await store.save_announcements(
            DAY,
            CATS,
            [(paper("2505.00001"), AnnounceType.NEW), (paper("2505.00002"), AnnounceType.NEW)],
        )
        assert await store.unenriched(["2505.00001", "2505.00002"]) == ["2505.00001", "2505.00002"]
        rich = Paper(
            "2505.00001",
            "A title",
            "An abstract.",
            ("Ada Lovelace",),
            ("cs.AI", "cs.LG"),
            primary_category="cs.AI",
            comment="10 pages",
        )
        await store.save_enrichment([rich])
        assert await store.unenriched(["2505.00001", "2505.00002"]) == ["2505.00002"]
        # a re-announcement of the same version keeps the enrichment
        await store.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        kept = (await store.papers(["2505.00001"]))["2505.00001"]
        assert kept.primary_category == "cs.AI"
        assert kept.comment == "10 pages"


async def test_identical_criteria_share_an_id_and_channels_keep_versions() -> None:
    async with Store.open(":memory:") as store:
        a = await store.criteria("Sparse models.\n")
        b = await store.criteria("Sparse models.\n")
        c = await store.criteria("Diffusion.\n")
        assert a.id == b.id != c.id
        assert await store.set_channel_criteria("team-a", a, "alice") == 1
        assert await store.set_channel_criteria("team-a", c, "bob") == 2
        current = await store.channel_criteria("team-a")
        assert current is not None
        assert current[0].id == c.id
        assert current[1] == 2
        assert await store.channel_criteria("nobody") is None


async def test_scores_are_stored_once_per_key_with_their_usage() -> None:
    async with Store.open(":memory:") as store:
        await store.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        crit = await store.criteria("x")
        assert crit.id is not None
        key = ScoreKey(crit.id, "gpt-4o", "1")
        usage = Usage(1, 1000, 256, 100, 0.002, 0.001)
        await store.save_scores([Score("2505.00001", 9, 8, "fits")], key, usage, DAY)
        await store.save_scores([Score("2505.00001", 1, 1, "ignored")], key, Usage(), DAY)
        assert await store.scores(["2505.00001"], key) == {
            "2505.00001": Score("2505.00001", 9, 8, "fits")
        }
        other = ScoreKey(crit.id, "gpt-4o", "2")
        assert await store.scores(["2505.00001"], other) == {}
        total = await store.usage(day=DAY, model="gpt-4o", criteria_id=crit.id)
        assert total == usage
        assert await store.usage(day=date(2025, 5, 5)) == Usage()


async def test_usage_ledger_filters_by_purpose() -> None:
    async with Store.open(":memory:") as store:
        await store.record_usage("explain", "gpt-4o", Usage(1, 10, 0, 5, 0.1, 0.2), day=DAY)
        await store.record_usage("score", "gpt-4o", Usage(2, 20, 0, 6, 0.3, 0.4), day=DAY)
        assert (await store.usage(purpose="explain")).calls == 1
        assert (await store.usage(day=DAY)).calls == 3
        assert (await store.usage()).cost_usd == pytest.approx(1.0)


async def test_digest_body_round_trips() -> None:
    async with Store.open(":memory:") as store:
        await store.save_digest("console", DAY, "scored", {"papers": [1, 2]})
        assert await store.digest("console", DAY) == ("scored", {"papers": [1, 2]})
        assert await store.digest("console", date(2025, 5, 5)) is None
