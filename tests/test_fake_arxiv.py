"""FakeArxiv itself: the parts the API tests do not already exercise (RSS, paging, faults)."""

from __future__ import annotations

import time
from datetime import date

import aiohttp
import pytest

from bot.arxiv.feed import parse_feed
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.synth import load_eval_day, rss_feed


async def test_serves_the_feed_for_any_categories_and_records_requests() -> None:
    papers = load_eval_day("2025-05-02")[:5]
    async with FakeArxiv() as fake, aiohttp.ClientSession() as http:
        assert fake.rss_url.startswith("http://127.0.0.1:")
        assert fake.rss_url.endswith("/rss/")
        fake.set_feed(rss_feed(papers, date(2025, 5, 2)))
        async with http.get(fake.rss_url + "cs.LG+cs.AI") as response:
            assert response.status == 200
            assert response.content_type == "application/rss+xml"
            body = await response.read()
    assert [i.paper.id for i in parse_feed(body).items] == [p["id"] for p in papers]
    assert [(r.kind, r.path) for r in fake.requests] == [("rss", "/rss/cs.LG+cs.AI")]


async def test_faults_come_first_then_normal_answers() -> None:
    async with FakeArxiv() as fake, aiohttp.ClientSession() as http:
        fake.set_feed(b"<html><title>Oops</title></html>", status=200, content_type="text/html")
        fake.fail_next("rss", 1, 503, retry_after=30, body=b"busy")
        async with http.get(fake.rss_url + "cs.LG") as first:
            assert (first.status, first.headers["Retry-After"]) == (503, "30")
            assert await first.read() == b"busy"
        async with http.get(fake.rss_url + "cs.LG") as second:
            assert (second.status, second.content_type) == (200, "text/html")


async def test_api_paging_is_honoured() -> None:
    papers = load_eval_day("2025-05-02")[:5]
    ids = ",".join(p["id"] for p in papers)
    async with FakeArxiv() as fake, aiohttp.ClientSession() as http:
        fake.add_papers(papers)
        query = {"id_list": ids, "start": "3", "max_results": "10"}
        async with http.get(fake.api_url, params=query) as response:
            body = await response.text()
    assert body.count("<entry>") == 2
    assert "<opensearch:totalResults>5</opensearch:totalResults>" in body
    assert fake.requests[0].query["start"] == "3"


async def test_leaving_releases_stalled_requests_at_once() -> None:
    started = time.monotonic()
    async with FakeArxiv() as fake:
        fake.stall_next("rss", 1, 30.0)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1))
        async with session:
            with pytest.raises(TimeoutError):
                await session.get(fake.rss_url + "cs.LG")
    assert time.monotonic() - started < 5.0
