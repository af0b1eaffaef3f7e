"""A feed whose items cannot be read is an error that says so, never "no announcement": parsing,
ingest (off the event loop) and `arxiv-bot digest` against the fake arXiv server."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.arxiv.feed import parse_feed
from bot.errors import FeedError, FeedUnreadable
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.synth import empty_rss_feed, rss_feed

DAY = date(2026, 9, 24)


def papers(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"2609.{i:05d}",
            "title": f"Paper {i}",
            "abstract": "An abstract.",
            "authors": ["Ada Lovelace"],
            "categories": ["cs.LG"],
            "primary_category": "cs.LG",
        }
        for i in range(1, n + 1)
    ]


def changed_format_feed(n: int = 20) -> bytes:
    """A day whose every item uses an announce type this parser does not know."""
    batch = papers(n)
    return rss_feed(batch, DAY, announce_types={str(p["id"]): "revised" for p in batch})


def test_feed_with_twenty_unreadable_items_says_none_could_be_read() -> None:
    with pytest.raises(FeedUnreadable) as raised:
        parse_feed(changed_format_feed(20))
    message = str(raised.value)
    assert message.startswith("arXiv's feed had 20 items and none could be read")
    assert "unknown announce type 'revised'" in message
    assert "holiday" not in message
    assert "\n" not in message
    assert isinstance(raised.value, FeedError)


def test_atom_feed_with_unreadable_entries_says_none_could_be_read() -> None:
    entry = (
        "<entry><id>urn:something-new:{n}</id><title>T{n}</title>"
        "<published>2026-09-24T00:00:00-04:00</published></entry>"
    )
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id>'
        "<updated>2026-09-24T05:00:00+00:00</updated>"
        + "".join(entry.format(n=n) for n in range(3))
        + "</feed>"
    ).encode()
    with pytest.raises(FeedUnreadable, match="had 3 items and none could be read"):
        parse_feed(body)


def test_feed_with_items_but_no_date_is_unreadable_not_a_quiet_day() -> None:
    body = rss_feed(papers(2), DAY)
    for stamp in (b"<pubDate>", b"<lastBuildDate>"):
        body = body.replace(stamp, stamp.replace(b"<", b"<x-"))
    body = body.replace(b"</pubDate>", b"</x-pubDate>").replace(
        b"</lastBuildDate>", b"</x-lastBuildDate>"
    )
    with pytest.raises(FeedUnreadable, match="2 items but no announcement date"):
        parse_feed(body)


def test_some_bad_items_are_skipped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    batch = papers(6)
    odd = {str(p["id"]): "revised" for p in batch[:5]}
    with caplog.at_level(logging.WARNING, logger="bot.arxiv.feed"):
        feed = parse_feed(rss_feed(batch, DAY, announce_types=odd))
    assert [i.paper.id for i in feed.items] == ["2609.00006"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Skipped 5 of 6 feed items" in warnings[0].getMessage()
    assert "2 more" in warnings[0].getMessage()


async def test_ingest_parses_the_feed_off_the_event_loop(
    core: Any, arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture
) -> None:
    batch = papers(3)
    arxiv.set_feed(rss_feed(batch, DAY, announce_types={"2609.00001": "revised"}))
    with caplog.at_level(logging.WARNING, logger="bot.arxiv.feed"):
        result = await core.service.ingest(("cs.LG", "cs.AI"))
    assert result.new == 2
    [warning] = [r for r in caplog.records if "Skipped" in r.getMessage()]
    assert warning.threadName != "MainThread"


async def test_ingest_of_an_unreadable_feed_raises_and_stores_nothing(
    core: Any, arxiv: FakeArxiv
) -> None:
    arxiv.set_feed(changed_format_feed(20))
    with pytest.raises(FeedUnreadable):
        await core.service.ingest(("cs.LG", "cs.AI"))
    assert await core.store.papers.latest_feed_day("cs.LG+cs.AI") is None


async def test_digest_with_an_unreadable_feed_exits_nonzero_and_does_not_speak_of_a_holiday(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    arxiv.set_feed(changed_format_feed(20))
    result = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), tmp_path, "digest")
    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("arxiv-bot: error: arXiv's feed had 20 items and none could be read")
    assert "holiday" not in result.err
    assert llm.calls == 0


async def test_digest_on_a_feed_without_items_still_says_no_announcement(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    arxiv.set_feed(empty_rss_feed(date(2026, 9, 26)))
    result = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), tmp_path, "digest")
    assert result.code == 0
    assert "no arXiv announcement today (weekend or holiday)" in result.err
