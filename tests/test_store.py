"""The store: migrations, announcements, replacements, content-addressed criteria, scores, usage,
digests, posts, likes, reactions, rankings, leases and platform events — each test on a fresh
SQLite file and on a fresh PostgreSQL database (the `database` fixture)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.models import AnnounceType, Paper, Score, ScoreKey, Usage
from bot.store import (
    MIGRATIONS,
    POSTGRES_MIGRATIONS,
    SQLITE_MIGRATIONS,
    DigestFrame,
    FeedFetch,
    RankingSet,
    Store,
)

DAY = date(2025, 5, 2)
CATS = "cs.LG+cs.AI"


def paper(pid: str, version: int = 1, title: str = "A title") -> Paper:
    return Paper(pid, title, "An abstract.", ("Ada Lovelace",), ("cs.LG",), version=version)


async def test_migrations_apply_on_open_and_reopen(database: str) -> None:
    db = database
    async with Store.open(db) as store:
        assert await store.schema_version() == len(MIGRATIONS)
    async with Store.open(db) as store:
        assert await store.schema_version() == len(MIGRATIONS)


async def test_announcements_are_keyed_by_id_and_survive_reopen(database: str) -> None:
    db = database
    async with Store.open(db) as store:
        await store.papers.save_announcements(
            DAY,
            CATS,
            [(paper("2505.00001"), AnnounceType.NEW), (paper("2505.00002"), AnnounceType.CROSS)],
        )
        # the same day fetched again is idempotent
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
    async with Store.open(db) as store:
        got = await store.papers.announced(DAY, CATS)
        assert [a.paper.id for a in got] == ["2505.00001", "2505.00002"]
        assert await store.papers.feed_fetched(DAY, CATS)
        assert await store.papers.latest_feed_day(CATS) == DAY
        later = date(2025, 5, 5)
        assert await store.papers.announced_before(["2505.00001", "2505.09999"], later) == {
            "2505.00001"
        }
        assert await store.papers.announced_before(["2505.00001"], DAY) == set()


async def test_replacements_update_known_papers_only(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        changed = await store.papers.apply_replacements(
            [paper("2505.00001", 2, "New title"), paper("2401.99999", 3)]
        )
        assert changed == 1
        got = await store.papers.get(["2505.00001", "2401.99999"])
        assert set(got) == {"2505.00001"}
        assert got["2505.00001"].title == "New title"
        assert got["2505.00001"].version == 2


async def test_enrichment_is_kept_and_only_missing_papers_are_listed(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(
            DAY,
            CATS,
            [(paper("2505.00001"), AnnounceType.NEW), (paper("2505.00002"), AnnounceType.NEW)],
        )
        assert await store.papers.unenriched(["2505.00001", "2505.00002"]) == [
            "2505.00001",
            "2505.00002",
        ]
        rich = Paper(
            "2505.00001",
            "A title",
            "An abstract.",
            ("Ada Lovelace",),
            ("cs.AI", "cs.LG"),
            primary_category="cs.AI",
            comment="10 pages",
        )
        await store.papers.save_enrichment([rich])
        assert await store.papers.unenriched(["2505.00001", "2505.00002"]) == ["2505.00002"]
        # a re-announcement of the same version keeps the enrichment
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        kept = (await store.papers.get(["2505.00001"]))["2505.00001"]
        assert kept.primary_category == "cs.AI"
        assert kept.comment == "10 pages"


async def test_a_paper_read_again_is_decoded_once_until_its_row_changes(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.store import query

    monkeypatch.setattr(query, "_known", {})
    async with Store.open(database) as store:
        await store.papers.save_announcements(
            DAY, CATS, [(paper(f"2505.0000{i}"), AnnounceType.NEW) for i in range(1, 4)]
        )
        first = (await store.papers.get(["2505.00001"]))["2505.00001"]
        announced = await store.papers.announced(DAY, CATS)
        assert announced[0].paper is first  # the same row: the same paper, not decoded again
        rich = replace(first, primary_category="cs.LG", comment="12 pages")
        await store.papers.save_enrichment([rich])
        again = (await store.papers.get(["2505.00001"]))["2505.00001"]
        assert again == rich
        assert again is not first
        monkeypatch.setattr(query, "KNOWN_PAPERS", 2)
        others = [replace(paper(f"2505.0000{i}"), comment="new") for i in (2, 3)]
        await store.papers.save_enrichment(others)
        got = await store.papers.get([f"2505.0000{i}" for i in range(1, 4)])
        assert set(got.values()) == {again, *others}
        assert len(query._known) == 2  # the oldest go


async def test_identical_criteria_share_an_id_and_channels_keep_versions(database: str) -> None:
    async with Store.open(database) as store:
        a = await store.channels.criteria("Sparse models.\n")
        b = await store.channels.criteria("Sparse models.\n")
        c = await store.channels.criteria("Diffusion.\n")
        assert a.id == b.id != c.id
        assert await store.channels.set_channel_criteria("team-a", a, "alice") == 1
        assert await store.channels.set_channel_criteria("team-a", c, "bob") == 2
        current = await store.channels.channel_criteria("team-a")
        assert current is not None
        assert current[0].id == c.id
        assert current[1] == 2
        assert await store.channels.channel_criteria("nobody") is None


async def test_scores_are_stored_once_per_key_with_their_usage(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        crit = await store.channels.criteria("x")
        assert crit.id is not None
        key = ScoreKey(crit.id, "gpt-4o", "1")
        usage = Usage(1, 1000, 256, 100, 0.002, 0.001)
        await store.scores.save([Score("2505.00001", 9, 8, "fits")], key, usage, DAY)
        await store.scores.save([Score("2505.00001", 1, 1, "ignored")], key, Usage(), DAY)
        assert await store.scores.get(["2505.00001"], key) == {
            "2505.00001": Score("2505.00001", 9, 8, "fits")
        }
        other = ScoreKey(crit.id, "gpt-4o", "2")
        assert await store.scores.get(["2505.00001"], other) == {}
        total = await store.stats.usage(day=DAY, model="gpt-4o", criteria_id=crit.id)
        assert total == usage
        assert await store.stats.usage(day=date(2025, 5, 5)) == Usage()


async def test_usage_ledger_filters_by_purpose(database: str) -> None:
    async with Store.open(database) as store:
        await store.stats.record_usage("explain", "gpt-4o", Usage(1, 10, 0, 5, 0.1, 0.2), day=DAY)
        await store.stats.record_usage("score", "gpt-4o", Usage(2, 20, 0, 6, 0.3, 0.4), day=DAY)
        assert (await store.stats.usage(purpose="explain")).calls == 1
        assert (await store.stats.usage(day=DAY)).calls == 3
        assert (await store.stats.usage()).cost_usd == pytest.approx(1.0)


async def test_digest_body_round_trips(database: str) -> None:
    async with Store.open(database) as store:
        await store.digests.save("console", DAY, "scored", {"papers": [1, 2]})
        assert await store.digests.get("console", DAY) == ("scored", {"papers": [1, 2]})
        assert await store.digests.get("console", date(2025, 5, 5)) is None


def test_both_dialects_have_every_migration() -> None:
    assert len(SQLITE_MIGRATIONS) == len(POSTGRES_MIGRATIONS) == len(MIGRATIONS)


async def test_announcements_keep_feed_order_and_replacing_a_day_keeps_it(database: str) -> None:
    ids = ["2505.00009", "2505.00001", "2505.00005"]
    async with Store.open(database) as store:
        await store.papers.save_announcements(
            DAY, CATS, [(paper(i), AnnounceType.NEW) for i in ids]
        )
        await store.papers.save_announcements(DAY, CATS, [(paper(ids[1]), AnnounceType.CROSS)])
        got = await store.papers.announced(DAY, CATS)
    assert [a.paper.id for a in got] == ids
    assert got[1].announce_type is AnnounceType.CROSS


async def test_digests_frames_states_and_the_digest_showing_a_paper(database: str) -> None:
    later = date(2025, 5, 5)
    async with Store.open(database) as store:
        frame = DigestFrame(3, "crit:3", ("2505.00001", "2505.00002"))
        await store.digests.save("C1", DAY, "scored", {"papers": [{"id": "2505.00001"}]}, frame)
        await store.digests.save("C1", later, "scored", {"papers": [{"id": "2505.00007"}]})
        await store.digests.save("C1", DAY, "scored", {"papers": [{"id": "2505.00001"}]})
        assert await store.digests.frame("C1", DAY) == frame  # kept when saved again without
        await store.digests.set_state("C1", DAY, "posting", error="Slack is down")
        await store.digests.set_state("C1", DAY, "posted")
        (record,) = await store.digests.records("C1", ["posted"])
        assert (record.day, record.attempts, record.last_error) == (DAY, 1, "Slack is down")
        assert [r.day for r in await store.digests.records()] == [later, DAY]
        shown = await store.digests.showing("C1", "2505.00001")
        assert shown == {"papers": [{"id": "2505.00001"}]}
        assert await store.digests.showing("C1", "2505.0000") is None  # a prefix is no match
        assert await store.digests.showing("C2", "2505.00001") is None


async def test_posts_likes_and_reactions_since_a_learning_reset(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(
            DAY, CATS, [(paper(f"2505.0000{n}"), AnnounceType.NEW) for n in range(1, 5)]
        )
        await store.digests.record_posted("C1", DAY, "parent", "m0", daily=True)
        for n in range(1, 4):
            await store.digests.record_posted("C1", DAY, f"2505.0000{n}", f"m{n}", daily=True)
        await store.digests.record_posted(
            "C1", DAY, "2505.00001", "m1", daily=True
        )  # recorded again
        assert await store.digests.thread_of("C1", DAY) == "m0"
        assert await store.digests.posted_paper("C1", "m2") == "2505.00002"
        assert await store.digests.posted_paper("C1", "m0") is None
        assert len(await store.digests.daily_posted("C1", DAY)) == 4
        assert await store.likes.set_like("C1", "ann", "2505.00001", 1)
        assert not await store.likes.set_like("C1", "ann", "2505.00001", 1)  # already recorded
        assert await store.likes.set_like("C1", "bob", "2505.00002", -1)
        assert [like.paper.id for like in await store.likes.recent("C1")] == ["2505.00001"]
        values = {r.paper.id: r.value for r in await store.rankings.reactions("C1")}
        assert values == {"2505.00001": 1, "2505.00002": -1, "2505.00003": 0}
        await store.rankings.reset_learning("C1")
        assert await store.rankings.reactions("C1") == []
        assert await store.likes.remove_like("C1", "ann", "2505.00001")
        assert not await store.likes.remove_like("C1", "ann", "2505.00001")
        assert (await store.rankings.learning_state("C1")).reset_at is not None


async def test_liked_papers_are_listed_once_with_everyone_who_likes_them(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(
            DAY, CATS, [(paper(f"2505.0000{n}"), AnnounceType.NEW) for n in range(1, 4)]
        )
        for user in ("ann", "bob", "cy"):
            await store.likes.set_like("C1", user, "2505.00001", 1)
        await store.likes.set_like("C1", "bob", "2505.00002", 1)
        await store.likes.set_like("C1", "dee", "2505.00003", -1)  # a 👎 is not a like
        await store.likes.set_like("C2", "ann", "2505.00003", 1)  # another channel
        liked = await store.likes.liked_papers("C1")
        assert [(lp.paper.id, sorted(lp.likers)) for lp in liked] == [
            ("2505.00002", ["bob"]),
            ("2505.00001", ["ann", "bob", "cy"]),
        ] or [(lp.paper.id, sorted(lp.likers)) for lp in liked] == [
            ("2505.00001", ["ann", "bob", "cy"]),
            ("2505.00002", ["bob"]),
        ]  # the same second: either order, each paper once
        ann = await store.likes.liked_papers("C1", "ann")
        assert [(lp.paper.id, len(lp.likers)) for lp in ann] == [("2505.00001", 3)]
        assert len(await store.likes.liked_papers("C1", limit=1)) == 1
        assert await store.likes.liked_papers("C3") == []


async def test_a_ranking_set_is_stored_once_and_places_a_paper(database: str) -> None:
    async with Store.open(database) as store:
        first = RankingSet("tfidf-1", ("2505.00003", "2505.00001"), (0.9, 0.412345678))
        second = RankingSet("tfidf-1", ("2505.00001",), (1.0,))
        assert await store.rankings.save_ranking_set(DAY, "crit:1", first) == RankingSet(
            "tfidf-1", ("2505.00003", "2505.00001"), (0.9, 0.41235)
        )
        assert (await store.rankings.save_ranking_set(DAY, "crit:1", second)).ids == first.ids
        await store.digests.save("C1", DAY, "scored", {}, DigestFrame(1, "crit:1", ("2505.00003",)))
        placed = await store.rankings.ranked_day("C1", "2505.00001")
        assert placed is not None
        assert (placed.row.rank, placed.row.sent, placed.ranked, placed.sent) == (2, False, 2, 1)
        assert await store.rankings.ranked_day("C1", "2505.0000") is None
        assert [r.paper_id for r in await store.rankings.ranking("C1", DAY)] == list(first.ids)
        assert await store.rankings.ranked_days("C1", date(2025, 5, 5)) == [DAY]
        assert await store.rankings.prune(date(2025, 5, 5)) == 1
        assert await store.rankings.ranking("C1", DAY) == []


async def test_channels_settings_events_and_explanations(database: str) -> None:
    async with Store.open(database) as store:
        row = await store.channels.get("C1", "slack")
        assert (row.overrides, row.subscribed) == ({}, False)
        await store.channels.set_channel_overrides("C1", {"time": "09:00"})
        await store.channels.set_subscribed("C1", True)
        assert [c.overrides for c in await store.channels.subscribed()] == [{"time": "09:00"}]
        await store.channels.record_event("C1", "ann", "subscribe", "")
        await store.channels.record_event("C1", "bob", "criteria", "v2")
        last = await store.channels.last_event("C1", ["subscribe", "criteria"])
        assert last is not None
        assert (last.user_id, last.detail) == ("bob", "v2")
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        crit = await store.channels.criteria("x")
        assert crit.id is not None
        key = ScoreKey(crit.id, "gpt-4o", "1")
        await store.scores.save_explanation(
            "2505.00001", key, "first", Usage(1, 10, 0, 5, 0.1, 0.2), DAY
        )
        await store.scores.save_explanation("2505.00001", key, "second", Usage(), DAY)
        assert await store.scores.explanation("2505.00001", key) == "second"
        assert (await store.stats.usage(purpose="explain")).calls == 1


async def test_leases_are_taken_renewed_and_released_by_their_owner(database: str) -> None:
    async with Store.open(database) as store:
        assert await store.work.take_lease("k", "a", 60.0)
        assert not await store.work.take_lease("k", "b", 60.0)  # held by a, unexpired
        assert await store.work.renew_lease("k", "a", 60.0)
        assert not await store.work.renew_lease("k", "b", 60.0)
        assert await store.work.take_lease("k", "b", 0.3, replacing="a")  # a is dead
        await store.work.release_lease("k", "a")  # not a's any more: kept
        held = await store.work.lease("k")
        assert held is not None
        assert held.owner == "b"
        assert held.expires_at - held.taken_at == pytest.approx(0.3, abs=0.01)
        assert abs(held.taken_at - time.time()) < 5  # the database's clock, in unix seconds
        assert await store.work.live_lease("k") == held
        await asyncio.sleep(0.4)
        assert await store.work.live_lease("k") is None  # expired by the database's clock
        assert await store.work.take_lease("k", "c", 60.0)  # b's expired
        await store.work.release_lease("k", "c")
        assert await store.work.leases() == []


async def test_a_platform_event_is_seen_once_and_forgotten_after_a_while(database: str) -> None:
    async with Store.open(database) as first, Store.open(database) as second:
        assert await first.work.first_sight("Ev1", 1000.0)
        assert not await second.work.first_sight("Ev1", 1001.0)  # another replica: a redelivery
        assert await second.work.first_sight("Ev2", 1002.0)
        assert await first.work.first_sight("Ev1", 1000.0 + 3601)  # forgotten after an hour


async def test_feed_fetches_are_recorded_and_replaced(database: str) -> None:
    at = datetime(2025, 5, 2, 4, 30, 0, 123456, tzinfo=UTC)
    async with Store.open(database) as store:
        await store.papers.record_fetch(CATS, at, None)
        await store.papers.record_fetch(CATS, at, DAY, (10, 2, 1))
        fetched = await store.papers.last_fetch(CATS)
        assert fetched == FeedFetch(at, DAY, 10, 2, 1)
        await store.papers.save_announcements(DAY, CATS, [(paper("2505.00001"), AnnounceType.NEW)])
        assert await store.papers.fresh_feed_day(CATS, at - timedelta(days=1)) == DAY
        counts = await store.stats.channel_counts("C1", CATS, at - timedelta(days=1))
        assert counts == {"seen": 1, "scored": 0, "posted": 0, "likes": 0}
