"""`/arxiv import` through the console adapter against the fake arXiv (the real `arxiv` client)
and a fake Zotero Web API (the real `pyzotero` client): ids and links, BibTeX text and files,
Zotero libraries and collections (the key typed at a hidden prompt, or given as Discord's
`key` option), the replies to bad input, and `import undo`. Imported papers
show under `likes` and `stats` as imported and teach the ranking as likes do."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from adapters.console import ConsoleAdapter
from adapters.discord import DiscordAdapter
from bot.__main__ import open_core
from bot.conversation.import_commands import MAX_ENTRIES
from tests.fakes.discord_server import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.synth import load_eval_day
from tests.fakes.zotero_server import FakeZotero, zotero_item

KEY = "zotero-key-s3cr3t-value"


class Session:
    """One console user in one channel; `say` returns what the bot printed."""

    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter

    async def say(self, line: str) -> str:
        out = io.StringIO()
        self.adapter.out = out
        await self.adapter.line(line)
        return out.getvalue()


def typed(key: str) -> Callable[[str], Awaitable[str]]:
    """What the user types at the console's hidden key prompt."""

    async def answer(prompt: str) -> str:
        assert "not shown" in prompt
        return key

    return answer


@pytest.fixture
async def zotero() -> AsyncIterator[FakeZotero]:
    async with FakeZotero() as server:
        yield server


@pytest.fixture
async def bot(make_settings: Any, day_feed: list[dict[str, Any]], zotero: FakeZotero) -> Any:
    token_key = Fernet.generate_key().decode()
    settings = make_settings(
        ARXIV_BOT_ADMINS="", ARXIV_BOT_ZOTERO_URL=zotero.url, ARXIV_BOT_TOKEN_KEY=token_key
    )
    async with open_core(settings) as core:
        yield core


def session(core: Any, key: str = KEY, channel: str = "team") -> Session:
    return Session(
        ConsoleAdapter(
            core.conversation, channel_id=channel, user_id="alice", ask_secret=typed(key)
        )
    )


def bib(key: str, title: str, **fields: str) -> str:
    body = "".join(f",\n  {name} = {{{value}}}" for name, value in fields.items())
    return f"@article{{{key},\n  title = {{{title}}}{body}\n}}\n"


async def test_five_pasted_ids_are_listed_under_likes_as_imported(
    bot: Any, day_feed: list[dict[str, Any]]
) -> None:
    papers = day_feed[:5]
    ids = [p["id"] for p in papers]
    pasted = (
        f"{ids[0]} arXiv:{ids[1]}v1, https://arxiv.org/abs/{ids[2]}v2\n"
        f"<https://arxiv.org/pdf/{ids[3]}|pdf> {ids[4]}"
    )
    s = session(bot)

    reply = await s.say(f"import {pasted}")
    likes = await s.say("likes")
    stats = await s.say("stats")

    assert "Imported 5 papers into this channel's reading list" in reply
    assert "Could not match" not in reply
    assert "Imported reading list (5" in likes
    for paper in papers:
        line = next(x for x in likes.splitlines() if f"/abs/{paper['id']}" in x)
        assert "(imported " in line
    assert "imported: 5 papers in the reading list" in stats
    reactions = await bot.store.rankings.reactions("team")
    assert {r.paper.id for r in reactions if r.value == 1} == set(ids)  # taught like likes


async def test_bibtex_with_two_arxiv_entries_and_one_without_imports_two_and_names_the_third(
    bot: Any, day_feed: list[dict[str, Any]]
) -> None:
    a, b = day_feed[0], day_feed[1]
    text = (
        bib("first", a["title"], eprint=a["id"], archivePrefix="arXiv")
        + bib("second", "Whatever the bib says", url=f"https://arxiv.org/abs/{b['id']}v1")
        + bib("third", "A Workshop Paper Nobody Put On arXiv", booktitle="Some Workshop")
    )
    s = session(bot)

    reply = await s.say(f"import {text}")
    likes = await s.say("likes")

    assert "Imported 2 papers" in reply
    assert "Could not match 1: `third (A Workshop Paper Nobody Put On arXiv)`" in reply
    assert f"/abs/{a['id']}" in likes
    assert f"/abs/{b['id']}" in likes
    assert "Imported reading list (2" in likes


async def test_a_bibtex_entry_without_an_id_is_matched_by_its_title_on_arxiv(
    bot: Any, day_feed: list[dict[str, Any]]
) -> None:
    paper = day_feed[3]
    reply = await session(bot).say(f"import {bib('k', paper['title'], year='2025')}")
    assert "Imported 1 paper " in reply
    assert await bot.store.imports.count("team") == 1
    assert {p.paper.id for p in await bot.store.imports.recent("team")} == {paper["id"]}


async def test_bibtex_with_no_arxiv_entries_imports_nothing_and_says_so(bot: Any) -> None:
    text = bib("a", "Not On arXiv One", journal="J. Nowhere") + bib("b", "Not On arXiv Two")
    reply = await session(bot).say(f"import {text}")
    assert "Nothing imported: none of its entries names an arXiv paper." in reply
    assert "Could not match 2: `a (Not On arXiv One)`, `b (Not On arXiv Two)`." in reply
    assert await bot.store.imports.count("team") == 0


async def test_a_bibtex_file_of_5000_entries_is_refused_whole(
    bot: Any, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "huge.bib"
    path.write_text("".join(bib(f"k{n}", f"T {n}", eprint=day_feed[0]["id"]) for n in range(5000)))
    reply = await session(bot).say(f"import file {path}")
    assert f"that BibTeX holds 5,000 entries; one import takes at most {MAX_ENTRIES:,}" in reply
    assert await bot.store.imports.count("team") == 0


async def test_a_bibtex_file_is_imported_from_the_console(
    bot: Any, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "team.bib"
    path.write_text(
        bib("x", "X", eprint=day_feed[5]["id"]) + bib("y", "Y", eprint=day_feed[6]["id"])
    )
    assert "Imported 2 papers" in await session(bot).say(f"import file {path}")
    missing = await session(bot).say(f"import file {tmp_path / 'nope.bib'}")
    assert "cannot read" in missing
    assert "No such file" in missing


async def test_import_undo_takes_back_the_latest_import_whole(
    bot: Any, day_feed: list[dict[str, Any]]
) -> None:
    first, second = [p["id"] for p in day_feed[:2]], [p["id"] for p in day_feed[2:5]]
    s = session(bot)
    await s.say("import " + " ".join(first))
    again = await s.say("import " + " ".join([*second, first[0]]))
    assert "Imported 3 papers" in again
    assert "1 paper was imported already." in again

    undone = await s.say("import undo")
    likes = await s.say("likes")

    assert "Took back the import of 3 papers" in undone
    assert "the reading list now holds 2 papers" in undone
    assert all(f"/abs/{pid}" in likes for pid in first)
    assert not any(f"/abs/{pid}" in likes for pid in second)
    await s.say("import undo")
    assert "nothing to undo" in await s.say("import undo")
    assert "Imported reading list" not in await s.say("likes")


async def test_pasted_text_without_ids_and_arxiv_down_import_nothing(
    bot: Any, day_feed: list[dict[str, Any]], arxiv: Any
) -> None:
    s = session(bot)
    assert "no arXiv id or link found" in await s.say("import some words only")
    arxiv.fail_next("api", 1, 400)
    down = await s.say(f"import {day_feed[0]['id']}")
    assert "arXiv could not be asked" in down
    assert "nothing was imported" in down
    assert await bot.store.imports.count("team") == 0


# -- Zotero --


def library_items(day_feed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Three papers Zotero knows the arXiv id of (a link, the DOI, `extra`), a note, and a
    book with none."""
    return [
        zotero_item("AAAA0001", "One", url=f"https://arxiv.org/abs/{day_feed[0]['id']}"),
        zotero_item("AAAA0002", "Two", DOI=f"10.48550/arXiv.{day_feed[1]['id']}"),
        zotero_item("AAAA0003", "Three", extra=f"arXiv: {day_feed[2]['id']}"),
        zotero_item("AAAA0004", "a note", itemType="note"),
        zotero_item("AAAA0005", "A Printed Book Of Tables", itemType="book"),
    ]


async def test_a_private_zotero_library_is_imported_with_the_key_given_privately(
    bot: Any, day_feed: list[dict[str, Any]], zotero: FakeZotero, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    zotero.add_library("users", "4711", library_items(day_feed), key=KEY)

    reply = await session(bot).say("import zotero user:4711")

    assert "Imported 3 papers" in reply
    assert "Could not match 1: `A Printed Book Of Tables`." in reply
    assert KEY not in reply
    assert KEY not in caplog.text
    assert zotero.requests[-1].keyed
    assert zotero.requests[-1].path == "/users/4711/items/top"
    kept = await bot.store.imports.zotero_key("team")
    assert kept is not None
    assert kept[0] == "user:4711"
    assert KEY not in kept[1]  # sealed
    # the kept key serves the next import of the same library
    zotero.add_library(
        "users",
        "4711",
        [
            *library_items(day_feed),
            zotero_item("AAAA0006", "Four", url=f"https://arxiv.org/abs/{day_feed[3]['id']}"),
        ],
        key=KEY,
    )
    assert "Imported 1 paper " in await session(bot, key="").say("import zotero user:4711")


async def test_a_zotero_collection_is_read_page_by_page(
    bot: Any, day_feed: list[dict[str, Any]], zotero: FakeZotero
) -> None:
    items = [
        zotero_item(f"C{n:07d}", p["title"], url=f"https://arxiv.org/abs/{p['id']}")
        for n, p in enumerate(day_feed[:150])
    ]
    zotero.add_library("groups", "42", [], key=KEY, collections={"ABCD2345": items})

    reply = await session(bot).say("import zotero group:42 collection ABCD2345")

    assert "Imported 150 papers" in reply
    assert [r.query.get("start", "0") for r in zotero.requests] == ["0", "100"]
    assert zotero.requests[0].path == "/groups/42/collections/ABCD2345/items/top"


async def test_zotero_refusals_and_outages_get_a_clear_reply_and_import_nothing(
    bot: Any, day_feed: list[dict[str, Any]], zotero: FakeZotero, make_settings: Any
) -> None:
    zotero.add_library("users", "4711", library_items(day_feed), key=KEY)

    refused = await session(bot, key="wrong-key").say("import zotero user:4711")
    no_key = await session(bot, key="").say("import zotero user:4711")
    missing = await session(bot).say("import zotero user:4711 collection ZZZZ9999")
    bad_library = await session(bot).say("import zotero me")

    assert "Zotero refused the key for user:4711 (403)" in refused
    assert "wrong-key" not in refused
    assert "Zotero refused to show user:4711 without a key" in no_key
    assert "Zotero has no collection ZZZZ9999 in user:4711" in missing
    assert "say `/arxiv import zotero user:<id>`" in bad_library
    async with open_core(
        make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_ZOTERO_URL="http://127.0.0.1:9")
    ) as down:
        unreachable = await session(down).say("import zotero user:4711")
    assert "Zotero could not be reached at http://127.0.0.1:9" in unreachable
    assert await bot.store.imports.count("team") == 0


# -- Discord: the key as an option only its user sees --


async def test_discord_import_zotero_with_the_key_option_answers_only_its_user(
    make_settings: Any,
    day_feed: list[dict[str, Any]],
    zotero: FakeZotero,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    zotero.add_library("users", "4711", library_items(day_feed), key=KEY)
    async with FakeDiscord("discord-token-never-shown-00aa") as fake:
        settings = make_settings(
            ARXIV_BOT_ADMINS="",
            ARXIV_BOT_ZOTERO_URL=zotero.url,
            DISCORD_BOT_TOKEN="discord-token-never-shown-00aa",
            ARXIV_BOT_DISCORD_API_URL=fake.api_url,
            ARXIV_BOT_DISCORD_GATEWAY_URL=fake.gateway_url,
            ARXIV_BOT_DISCORD_GUILDS=str(GUILD_ID),
        )
        async with open_core(settings) as core:
            bot = DiscordAdapter.from_settings(settings, core.conversation, guild_ready_timeout=0.2)
            await bot.start()
            try:
                options = [
                    {"type": 3, "name": "action", "value": "zotero"},
                    {"type": 3, "name": "value", "value": "user:4711"},
                    {"type": 3, "name": "key", "value": KEY},
                ]
                token = await fake.slash_command("import", options)
                await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
            finally:
                await bot.close()
            assert await core.store.imports.count(str(CHANNEL_ID)) == 3
    defer = next(c for c in fake.callbacks if c["token"] == token)
    assert defer["data"]["flags"] & 64  # the invocation with its key is the user's own
    (answer,) = [f for f in fake.followups if f["token"] == token]
    assert "Imported 3 papers" in answer["content"]
    assert answer["flags"] & 64
    assert KEY not in answer["content"]
    assert KEY not in caplog.text


# -- the warm-up an import shortens --


def test_imported_papers_count_one_for_one_as_verdicts_of_the_warm_up() -> None:
    from scoring import share
    from scoring.warm_start import imported_positives

    assert imported_positives(19) == 0  # too few to say anything
    assert imported_positives(20) == 20
    assert imported_positives(500) == 40  # at most the whole warm-up
    cold = share.decide_share(0.3, imported_positives(0))
    warm = share.decide_share(0.3, imported_positives(27))
    assert cold.share == 0.6  # the warm-up's cap (ARXIV_BOT_WARMUP_SHARE)
    assert round(warm.share, 2) == 0.40
    assert warm.reason == "warm-up"
    uncapped = share.decide_share(0.3, imported_positives(27), warmup_cap=1.0)
    assert round(uncapped.share, 2) == 0.53
    done = share.decide_share(0.3, imported_positives(40))
    assert (done.share, done.reason) == (0.3, "base")  # 40 imported papers end the warm-up


async def test_a_channel_that_imported_twenty_papers_sends_less_of_its_first_day(
    make_settings: Any, day_feed: list[dict[str, Any]], arxiv: Any
) -> None:
    earlier = load_eval_day("2025-04-28")
    arxiv.add_papers(earlier)
    settings = make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0.3")
    async with open_core(settings) as core:
        fresh, warm = session(core, channel="fresh"), session(core, channel="warm")
        imported = await warm.say("import " + " ".join(p["id"] for p in earlier[:20]))
        assert "Imported 20 papers" in imported
        await fresh.say("today")
        await warm.say("today")
        cold_day = await core.conversation.today_digest(fresh.adapter.caller)
        warm_day = await core.conversation.today_digest(warm.adapter.caller)
    assert cold_day is not None
    assert cold_day.share is not None
    assert warm_day is not None
    assert warm_day.share is not None
    assert round(cold_day.share.share, 2) == 0.6  # rounded up to whole papers
    assert round(warm_day.share.share, 2) == 0.45
    assert warm_day.counts.sent < cold_day.counts.sent


# -- the store, on both engines --


async def test_an_import_is_one_transaction_teaches_as_likes_and_undoes_whole(
    database: str,
) -> None:
    from bot.models import Paper
    from bot.store import Store

    papers = [Paper(f"2501.0000{n}", f"Title {n}", "Abstract.", ("A. Author",)) for n in range(3)]
    async with Store.open(database) as store:
        first, already = await store.imports.add("team", "alice", "ids", papers[:2])
        second, again = await store.imports.add("team", "bob", "bibtex", papers[1:])
        nothing, all_there = await store.imports.add("team", "bob", "ids", papers[:1])
        assert first is not None
        assert (first.papers, already) == (2, 0)
        assert second is not None
        assert (second.papers, again) == (1, 1)
        assert (nothing, all_there) == (None, 1)
        assert await store.imports.count("team") == 3
        assert await store.imports.count("other") == 0
        liked = {r.paper.id: r.value for r in await store.rankings.reactions("team")}
        assert liked == {p.id: 1 for p in papers}
        assert (await store.papers.get([papers[0].id]))[papers[0].id].title == "Title 0"

        undone = await store.imports.undo("team")
        assert undone is not None
        assert undone.id == second.id
        assert [p.paper.id for p in await store.imports.recent("team")] == [
            p.id for p in papers[:2]
        ]
        await store.rankings.reset_learning("team")
        assert await store.rankings.reactions("team") == []  # a reset forgets imports too
        await store.imports.save_zotero_key("team", "user:1", "sealed-1")
        await store.imports.save_zotero_key("team", "user:2", "sealed-2")
        assert await store.imports.zotero_key("team") == ("user:2", "sealed-2")


async def test_an_import_right_after_a_learning_reset_is_learned_from(database: str) -> None:
    from bot.models import Paper
    from bot.store import Store

    paper = Paper("2501.00009", "Title", "Abstract.", ("A. Author",))
    async with Store.open(database) as store:
        await store.rankings.reset_learning("team")
        await store.imports.add("team", "alice", "ids", [paper])  # within the reset's second
        assert [r.paper.id for r in await store.rankings.reactions("team")] == [paper.id]


async def test_more_pasted_ids_than_an_import_takes_are_refused_whole(bot: Any) -> None:
    ids = " ".join(f"2501.{n:05d}" for n in range(501))
    reply = await session(bot).say(f"import {ids}")
    assert "that is 501 arXiv ids; one import takes at most 500" in reply
    assert await bot.store.imports.count("team") == 0
