"""The real `arxiv.Client` against FakeArxiv: batching, spacing, retries, timeouts, fixtures."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.arxiv import api as api_module
from bot.arxiv.api import ArxivApi, is_retryable_status, parse_retry_after
from bot.arxiv.texclean import collapse_whitespace, tex_to_unicode
from bot.errors import ArxivUnavailable, FeedError
from bot.models import Paper
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.synth import api_feed, fixture, load_eval_day


class FakeTime:
    """An injected clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def fake(fake_time: FakeTime) -> AsyncIterator[FakeArxiv]:
    async with FakeArxiv(clock=fake_time.clock) as server:
        yield server


@pytest.fixture(autouse=True)
def library_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """All waiting goes through the injected sleep; a real 3 s sleep would fail the test."""

    def forbidden(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called")

    monkeypatch.setattr(time, "sleep", forbidden)


def make_api(fake: FakeArxiv, fake_time: FakeTime, **options: Any) -> ArxivApi:
    return ArxivApi(fake.api_url, sleep=fake_time.sleep, clock=fake_time.clock, **options)


@pytest.fixture(scope="module")
def eval_papers() -> list[dict[str, Any]]:
    return load_eval_day("2025-05-26")


# --- batching and spacing -------------------------------------------------------------------


async def test_batches_of_ids_spaced_by_the_delay(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    papers = eval_papers[:250]
    fake.add_papers(papers)
    ids = [f"{p['id']}v1" if n % 2 else p["id"] for n, p in enumerate(papers)]

    found = await make_api(fake, fake_time, batch_size=100, delay_seconds=3.0).fetch(ids)

    assert set(found) == {p["id"] for p in papers}
    calls = fake.requests_of("api")
    assert [len(c.query["id_list"].split(",")) for c in calls] == [100, 100, 50]
    assert all("v" not in c.query["id_list"] for c in calls)
    assert fake_time.sleeps == [3.0, 3.0]
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert all(gap >= 3.0 for gap in gaps)


async def test_enrichment_cleans_what_the_feed_lacks_with_primary_category_first(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    source = next(p for p in eval_papers if p["comment"] and len(p["categories"]) > 1)
    tex = next(p for p in eval_papers if "$" in p["title"])
    fake.add_papers([source, tex])

    found = await make_api(fake, fake_time).fetch([source["id"], tex["id"]])

    paper = found[source["id"]]
    assert paper == Paper(
        id=source["id"],
        title=collapse_whitespace(source["title"]),
        abstract=collapse_whitespace(source["abstract"]),
        authors=tuple(source["authors"]),
        categories=tuple(source["categories"]),
        primary_category=source["primary_category"],
        comment=tex_to_unicode(source["comment"]),
        version=1,
    )
    assert paper.categories[0] == paper.primary_category
    # the feed's cleaned title and abstract are the ones kept: no second cleaning here
    assert found[tex["id"]].title == collapse_whitespace(tex["title"])


async def test_the_journal_reference_is_kept_and_cleaned_of_tex(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    with_ref = {**eval_papers[0], "journal_ref": 'Proc. of the J\\"ulich Conf. 12 (2025)'}
    without = eval_papers[1]
    fake.add_papers([with_ref, without])

    found = await make_api(fake, fake_time).fetch([with_ref["id"], without["id"]])

    assert found[with_ref["id"]].journal_ref == "Proc. of the Jülich Conf. 12 (2025)"
    assert found[without["id"]].journal_ref is None


async def test_a_batch_is_read_and_built_into_papers_off_the_event_loop(
    fake: FakeArxiv,
    fake_time: FakeTime,
    eval_papers: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading a 100-entry answer (the `arxiv` client's parser) and building its papers (TeX
    cleaning) is 30-40 ms of CPU: done on the loop it would hold every Slack acknowledgement
    that long."""
    papers = eval_papers[:100]
    fake.add_papers(papers)
    threads: dict[str, set[int]] = {"read": set(), "built": set()}
    read, build = api_module.run_search, api_module.papers_from_results

    def reading(client: Any, search: Any) -> list[Any]:
        threads["read"].add(threading.get_ident())
        return read(client, search)

    def building(results: Any) -> dict[str, Paper]:
        threads["built"].add(threading.get_ident())
        return build(results)

    monkeypatch.setattr(api_module, "run_search", reading)
    monkeypatch.setattr(api_module, "papers_from_results", building)

    found = await make_api(fake, fake_time).fetch([p["id"] for p in papers])

    assert len(found) == 100
    loop_thread = threading.get_ident()
    assert threads["read"]
    assert loop_thread not in threads["read"]
    assert threads["built"]
    assert loop_thread not in threads["built"]


async def test_spacing_holds_across_fetch_calls(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.add_papers(eval_papers[:2])
    api = make_api(fake, fake_time, delay_seconds=3.0)
    await api.fetch([eval_papers[0]["id"]])
    fake_time.now += 1.0
    await api.fetch([eval_papers[1]["id"]])
    assert fake_time.sleeps == [2.0]


async def test_nothing_to_fetch_makes_no_request(fake: FakeArxiv, fake_time: FakeTime) -> None:
    assert await make_api(fake, fake_time).fetch(["not-an-id", ""]) == {}
    assert fake.requests == []


async def test_unknown_ids_are_simply_absent(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.add_papers(eval_papers[:1])
    found = await make_api(fake, fake_time).fetch([eval_papers[0]["id"], "2609.99999"])
    assert list(found) == [eval_papers[0]["id"]]


# --- retries --------------------------------------------------------------------------------


async def test_429_then_success_honours_retry_after(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.add_papers(eval_papers[:3])
    fake.fail_next("api", 1, 429, retry_after=7)

    found = await make_api(fake, fake_time, backoff_seconds=5.0).fetch(
        [p["id"] for p in eval_papers[:3]]
    )

    assert len(found) == 3
    assert len(fake.requests_of("api")) == 2
    assert fake_time.sleeps == [7.0]


@pytest.mark.parametrize("status", [406, 429, 500, 502, 503])
async def test_retryable_statuses_back_off(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]], status: int
) -> None:
    fake.add_papers(eval_papers[:1])
    fake.fail_next("api", 2, status, body=b"<html>busy</html>")

    found = await make_api(fake, fake_time, backoff_seconds=5.0, delay_seconds=3.0).fetch(
        [eval_papers[0]["id"]]
    )

    assert list(found) == [eval_papers[0]["id"]]
    assert fake_time.sleeps == [5.0, 10.0]


async def test_503_storm_gives_up_with_a_clear_message(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.add_papers(eval_papers[:1])
    fake.fail_next("api", 50, 503)

    with pytest.raises(ArxivUnavailable) as raised:
        await make_api(fake, fake_time, max_attempts=4, backoff_seconds=5.0).fetch(
            [eval_papers[0]["id"]]
        )

    assert str(raised.value) == "arXiv API unavailable: HTTP 503 after 4 attempts"
    assert len(fake.requests_of("api")) == 4
    assert fake_time.sleeps == [5.0, 10.0, 20.0]


async def test_client_errors_are_not_retried(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.fail_next("api", 1, 400)
    with pytest.raises(FeedError, match="refused the query: HTTP 400") as raised:
        await make_api(fake, fake_time).fetch(["2609.00001"])
    assert not isinstance(raised.value, ArxivUnavailable)
    assert len(fake.requests_of("api")) == 1


async def test_a_stall_longer_than_the_timeout_is_retried(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.add_papers(eval_papers[:1])
    fake.stall_next("api", 1, 5.0)

    found = await make_api(fake, fake_time, timeout=0.2).fetch([eval_papers[0]["id"]])

    assert list(found) == [eval_papers[0]["id"]]
    assert len(fake.requests_of("api")) == 2


async def test_stalls_until_attempts_run_out(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.stall_next("api", 2, 5.0)
    started = time.monotonic()
    with pytest.raises(ArxivUnavailable, match=r"^arXiv API unavailable: request timed out"):
        await make_api(fake, fake_time, timeout=0.2, max_attempts=2).fetch(["2609.00001"])
    assert time.monotonic() - started < 3.0


async def test_connection_refused_is_unavailable(fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = ArxivApi(
        f"http://127.0.0.1:{port}/api/query",
        max_attempts=2,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    with pytest.raises(ArxivUnavailable, match="connection failed after 2 attempts"):
        await api.fetch(["2609.00001"])


# --- what arXiv sends back ------------------------------------------------------------------


async def test_error_entries_never_become_papers(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    fake.set_api_body(api_feed(eval_papers[:1], errors=["incorrect id format for 2609.1"]))
    found = await make_api(fake, fake_time).fetch([eval_papers[0]["id"], "2609.00001"])
    assert list(found) == [eval_papers[0]["id"]]

    fake.set_api_body(api_feed([], errors=["incorrect id format for 2609.1"]))
    assert await make_api(fake, fake_time).fetch(["2609.00001"]) == {}


async def test_garbled_answer_is_retried_then_unavailable(
    fake: FakeArxiv, fake_time: FakeTime, eval_papers: list[dict[str, Any]]
) -> None:
    garbled = api_feed(eval_papers[:1]).replace(b"<published>2025", b"<published>next week 2025")
    fake.set_api_body(garbled)
    with pytest.raises(ArxivUnavailable, match="unreadable answer after 2 attempts"):
        await make_api(fake, fake_time, max_attempts=2).fetch([eval_papers[0]["id"]])


async def test_recorded_old_format(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.set_api_body(fixture("arxiv_api/xiv_cs.RO_query_2025-10-17_old_format.xml"))
    found = await make_api(fake, fake_time).fetch(["2510.14968", "2510.14827"])

    rdd = found["2510.14968"]
    assert rdd.title == (
        "RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long-Horizon Tasks"
    )
    assert rdd.comment == (
        "39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
        "Project Website: rdd-neurips.github.io"
    )
    assert rdd.primary_category == "cs.RO"
    assert rdd.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG", "cs.SY", "eess.SY")
    assert rdd.authors == ("Mingxuan Yan", "Yuping Wang", "Zechun Liu", "Jiachen Li")
    assert rdd.abstract.startswith("To tackle long-horizon tasks, recent hierarchical")
    assert "\n" not in rdd.abstract
    assert found["2510.14827"].comment is None


async def test_recorded_id_list_answer_with_tex(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.set_api_body(fixture("arxiv_api/zoia_id_list_1601.00001_old_format.xml"))
    paper = (await make_api(fake, fake_time).fetch(["1601.00001v1"]))["1601.00001"]
    assert paper.abstract.startswith(r"We extend the Landauer-B\"uttiker probe formalism")
    assert "distinct $I$-$V$ characteristics" in paper.abstract  # as written, lines joined
    assert paper.primary_category == "cond-mat.mes-hall"
    assert paper.version == 1


async def test_recorded_new_format(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.set_api_body(
        fixture("arxiv_api/new_format_query_abs_coding_agent_2026-09-27_trimmed_abridged.xml")
    )
    found = await make_api(fake, fake_time).fetch(["2609.30266", "2609.30233"])

    traces, planning = found["2609.30266"], found["2609.30233"]
    assert traces.title == "LLM Agents Can Easily Tamper With Their Own Traces"
    assert traces.categories == ("cs.CR", "cs.AI")
    assert traces.primary_category == "cs.CR"
    assert traces.comment is None
    assert planning.comment == "9 pages, 4 figures, 3 tables"
    assert planning.primary_category == "cs.RO"
    assert planning.authors[-1] == "Tomás Lozano-Pérez"


async def test_recorded_new_format_without_primary_category(
    fake: FakeArxiv, fake_time: FakeTime
) -> None:
    fake.set_api_body(
        fixture("arxiv_api/new_format_query_cat_cs.AI_2026-09-29_one_entry_abridged.xml")
    )
    paper = (await make_api(fake, fake_time).fetch(["2609.35770"]))["2609.35770"]
    assert paper.primary_category is None
    assert paper.categories == ("cs.CV",)
    assert paper.authors == ("Toshi",)


async def test_recorded_empty_result(fake: FakeArxiv, fake_time: FakeTime) -> None:
    fake.set_api_body(fixture("arxiv_api/handmade_empty_result_old_format.xml"))
    assert await make_api(fake, fake_time).fetch(["2609.00001"]) == {}


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("100000", 300.0), ("-1", None), ("soon", None), (None, None)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(406, True), (429, True), (500, True), (503, True), (400, False), (404, False)],
)
def test_is_retryable_status(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
