"""The digest service in-process against the fake servers: bad feeds lose nothing, replacements,
cross-lists, papers announced twice, partial LLM outages and criteria changes."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from adapters.markdown import render_markdown
from bot.__main__ import CONSOLE_CHANNEL, digest_options, open_service
from bot.config.settings import Settings
from bot.digest.notes import note_text
from bot.digest.service import DigestService
from bot.errors import ArxivUnavailable, FeedError
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, ServerError, Stall
from tests.fakes.synth import load_eval_day, rss_feed

DAY = date(2025, 5, 2)
CRITERIA = "Model compression, sparsity and mixture-of-experts.\n"


async def build_today(settings: Settings, criteria: str = CRITERIA) -> Any:
    async with open_service(settings) as service:
        await service.use_criteria(CONSOLE_CHANNEL, criteria, "test")
        return await service.today(CONSOLE_CHANNEL, digest_options(settings))


def paper(pid: str, title: str = "A study", abstract: str = "Plain.", **kw: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "title": title,
        "abstract": abstract,
        "authors": ["Ada Lovelace"],
        "categories": kw.get("categories", ["cs.LG"]),
        "primary_category": kw.get("categories", ["cs.LG"])[0],
        "comment": None,
        "announce_type_inferred": "new_or_cross",
    }


async def stored_ids(settings: Settings, day: date = DAY) -> list[str]:
    async with open_service(settings) as service:
        store = service._store  # the test inspects what the service persisted
        return [
            a.paper.id for a in await store.papers.announced(day, "+".join(settings.categories))
        ]


@pytest.mark.parametrize(
    ("body", "content_type", "error", "message"),
    [
        (b"<rss><channel><item><title>cut", "application/rss+xml", FeedError, "malformed XML"),
        (
            b"<html><head><title>503 Service Unavailable</title></head></html>",
            "text/html",
            FeedError,
            "HTML page",
        ),
        (b"", "application/rss+xml", FeedError, "empty"),
    ],
)
async def test_an_unusable_feed_is_a_clear_error_and_keeps_what_is_stored(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    make_settings: Any,
    body: bytes,
    content_type: str,
    error: type[Exception],
    message: str,
) -> None:
    settings = make_settings()
    arxiv.set_feed(rss_feed([paper("2505.00001"), paper("2505.00002")], DAY))
    await build_today(settings)
    calls = llm.calls

    arxiv.set_feed(body, content_type=content_type)
    with pytest.raises(error, match=message):
        await build_today(settings)

    assert await stored_ids(settings) == ["2505.00001", "2505.00002"]
    assert llm.calls == calls


async def test_arxiv_503_storm_gives_up_with_a_clear_error(
    arxiv: FakeArxiv, make_settings: Any
) -> None:
    arxiv.fail_next("rss", 10, 503, retry_after=0)
    with pytest.raises(ArxivUnavailable, match="HTTP 503 after 2 attempts"):
        await build_today(make_settings(ARXIV_BOT_ARXIV_ATTEMPTS="2"))


async def test_a_429_with_retry_after_is_waited_out(arxiv: FakeArxiv, make_settings: Any) -> None:
    arxiv.set_feed(rss_feed([paper("2505.00001")], DAY))
    arxiv.fail_next("rss", 1, 429, retry_after=0)
    outcome = await build_today(make_settings())
    assert outcome.digest is not None
    assert outcome.digest.counts.announced == 1


async def test_hostile_text_stays_literal_and_harmless(
    arxiv: FakeArxiv, make_settings: Any
) -> None:
    hostile = paper(
        "2505.00003",
        title="Sparse <MoE> & $\\alpha$-experts @channel",
        abstract="We show x < y & z > w for $\\alpha$. <!everyone> <script>x</script>",
    )
    arxiv.set_feed(rss_feed([hostile], DAY))
    outcome = await build_today(make_settings())
    async with open_service(make_settings()) as service:
        stored = (await service._store.papers.get(["2505.00003"]))["2505.00003"]
    assert stored.title == "Sparse <MoE> & α-experts @channel"
    assert stored.abstract == "We show x < y & z > w for α. <!everyone> <script>x</script>"
    assert outcome.digest is not None


async def test_a_feed_of_2000_items_is_ingested_and_scored(
    arxiv: FakeArxiv, llm: FakeOpenAI, make_settings: Any
) -> None:
    papers = [paper(f"2505.{i:05d}", title=f"Paper {i}") for i in range(2000)]
    arxiv.set_feed(rss_feed(papers, DAY))
    outcome = await build_today(make_settings(ARXIV_BOT_BATCH_SIZE="50", ARXIV_BOT_ENRICH="false"))
    assert outcome.digest.counts.announced == 2000
    assert outcome.digest.counts.scored == 2000
    assert llm.calls == 40


async def test_replacements_update_known_papers_and_never_add_new_ones(
    arxiv: FakeArxiv, make_settings: Any
) -> None:
    settings = make_settings(ARXIV_BOT_ENRICH="false")
    arxiv.set_feed(rss_feed([paper("2505.00001", title="Old title")], DAY))
    await build_today(settings)

    later = date(2025, 5, 5)
    feed = rss_feed(
        [paper("2505.00001", title="New title"), paper("2401.00009"), paper("2505.00100")],
        later,
        announce_types={"2505.00001": "replace", "2401.00009": "replace"},
    )
    feed = re.sub(rb"arXiv:2505\.00001v1", b"arXiv:2505.00001v2", feed)
    feed = feed.replace(b"oai:arXiv.org:2505.00001v1", b"oai:arXiv.org:2505.00001v2")
    arxiv.set_feed(feed)
    outcome = await build_today(settings)

    assert outcome.ingest.replaced == 1
    assert await stored_ids(settings, later) == ["2505.00100"]
    async with open_service(settings) as service:
        known = await service._store.papers.get(["2505.00001", "2401.00009"])
    assert set(known) == {"2505.00001"}
    assert known["2505.00001"].title == "New title"
    assert outcome.digest.counts.replaced == 1


async def test_a_paper_announced_again_later_is_not_considered_twice(
    arxiv: FakeArxiv, llm: FakeOpenAI, make_settings: Any
) -> None:
    settings = make_settings(ARXIV_BOT_ENRICH="false")
    arxiv.set_feed(rss_feed([paper("2505.00001"), paper("2505.00002")], DAY))
    await build_today(settings)
    calls = llm.calls
    arxiv.set_feed(
        rss_feed(
            [paper("2505.00001", categories=["cs.CL", "cs.LG"]), paper("2505.00200")],
            date(2025, 5, 5),
        )
    )
    outcome = await build_today(settings)
    assert outcome.digest.counts.announced == 2
    assert outcome.digest.counts.considered == 1
    assert llm.calls == calls + 1
    assert llm.asked_ids[-1] == ["2505.00200"]


async def test_cross_lists_can_be_left_out(arxiv: FakeArxiv, make_settings: Any) -> None:
    papers = [paper("2505.00001"), paper("2505.00002", categories=["cs.CV", "cs.LG"])]
    arxiv.set_feed(rss_feed(papers, DAY))
    outcome = await build_today(
        make_settings(ARXIV_BOT_CROSS_LISTS="false", ARXIV_BOT_ENRICH="false")
    )
    assert outcome.digest.counts.announced == 2
    assert outcome.digest.counts.considered == 1


async def test_llm_outage_posts_what_is_scored_with_an_honest_note(
    arxiv: FakeArxiv, llm: FakeOpenAI, make_settings: Any
) -> None:
    settings = make_settings(
        ARXIV_BOT_BATCH_SIZE="10",
        ARXIV_BOT_LLM_RETRIES="0",
        ARXIV_BOT_ENRICH="false",
        ARXIV_BOT_CONCURRENCY="1",
    )
    papers = load_eval_day("2025-05-02")[:30]
    arxiv.set_feed(rss_feed(papers, DAY))
    # batches of 10, 5, 2 over three rounds: the third batch of ten fails in every round
    llm.enqueue(Stall(0), Stall(0), *[ServerError(503)] * (1 + 2 + 5))

    first = await build_today(settings)

    assert first.digest.counts.scored == 20
    assert first.digest.counts.unscored == 10
    note = "10 of 30 papers could not be scored; they will be retried on the next run."
    assert [note_text(n) for n in first.digest.notes] == [note]
    assert note in render_markdown(first.digest)

    second = await build_today(settings)
    assert second.digest.counts.scored == 30
    assert second.digest.notes == ()
    assert second.digest.run_usage.calls == 1


async def test_changed_criteria_rescore_and_old_scores_stay(
    arxiv: FakeArxiv, llm: FakeOpenAI, make_settings: Any
) -> None:
    settings = make_settings(ARXIV_BOT_ENRICH="false")
    arxiv.set_feed(rss_feed([paper("2505.00001"), paper("2505.00002")], DAY))
    first = await build_today(settings)
    calls = llm.calls
    second = await build_today(settings, criteria="Graph neural networks.\n")
    assert second.digest.criteria_version == first.digest.criteria_version + 1
    assert llm.calls > calls
    calls = llm.calls
    back = await build_today(settings)  # the first criteria again: their scores are reused
    assert llm.calls == calls
    assert back.digest.criteria_version == second.digest.criteria_version + 1


async def test_build_of_an_unknown_day_is_none(make_settings: Any) -> None:
    async with open_service(make_settings()) as service:
        assert isinstance(service, DigestService)
        await service.use_criteria(CONSOLE_CHANNEL, CRITERIA, "test")
        assert (
            await service.build(CONSOLE_CHANNEL, date(2020, 1, 1), digest_options(make_settings()))
            is None
        )
