"""The LLM scorer with the real `openai` client against the fake server: batching, concurrency,
every kind of bad reply, rate limits, and refusal of the whole job."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from bot.errors import ScoringError
from bot.models import Paper, Score, Usage
from bot.store import DailyAccount, Store
from scoring import prompt
from scoring.pricing import PriceTable
from scoring.scorer import LLMScorer, ScoringReport
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import (
    FakeOpenAI,
    Garbage,
    InventId,
    RateLimited,
    Refusal,
    RejectSchema,
    ServerError,
    SkipIds,
    Stall,
    Truncated,
    load_labels,
)
from tests.fakes.synth import load_eval_day

DAY = "2025-05-02"


def day_papers(n: int) -> list[Paper]:
    return [
        Paper(p["id"], p["title"], p["abstract"], tuple(p["authors"]))
        for p in load_eval_day(DAY)[:n]
    ]


class Recorder:
    """A sink that keeps what the scorer hands over, as the store would."""

    def __init__(self) -> None:
        self.scores: dict[str, Score] = {}
        self.usage = Usage()
        self.batches = 0

    async def __call__(self, scores: Sequence[Score], usage: Usage) -> None:
        for s in scores:
            assert s.paper_id not in self.scores, "a paper was handed over twice"
            self.scores[s.paper_id] = s
        self.usage = self.usage + usage
        self.batches += 1


@pytest.fixture
async def client(llm: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        api_key=TEST_KEY, base_url=llm.base_url, max_retries=2, timeout=2.0
    ) as c:
        yield c


def scorer(client: AsyncOpenAI, **options: object) -> LLMScorer:
    kw: dict[str, object] = {"batch_size": 5, "concurrency": 4, "round_pause": 0.0}
    kw.update(options)
    return LLMScorer(client, "gpt-4o", PriceTable(), **kw)  # type: ignore[arg-type]


async def run(s: LLMScorer, papers: list[Paper]) -> tuple[ScoringReport, Recorder]:
    sink = Recorder()
    report = await s.score(papers, "Model compression.", sink)
    return report, sink


async def run_with(
    s: LLMScorer, papers: list[Paper], account: DailyAccount
) -> tuple[ScoringReport, Recorder]:
    sink = Recorder()
    report = await s.score(papers, "Model compression.", sink, account=account)
    return report, sink


async def test_every_paper_is_scored_once_with_usage(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    papers = day_papers(23)
    report, sink = await run(scorer(client), papers)
    assert report.scored == 23
    assert report.unscored == ()
    assert report.problems == ()
    assert set(sink.scores) == {p.id for p in papers}
    assert llm.calls == 5  # 23 papers in batches of 5
    assert sink.usage == report.usage
    assert report.usage.calls == 5
    assert report.usage.prompt_tokens == llm.total_prompt_tokens
    assert report.usage.cached_tokens == llm.total_cached_tokens
    assert report.usage.cost_usd > 0


async def test_reference_scores_come_through(client: AsyncOpenAI) -> None:
    labels = load_labels(DAY)
    papers = [p for p in day_papers(300) if p.id in labels][:4]
    _, sink = await run(scorer(client), papers)
    for p in papers:
        assert sink.scores[p.id].relevance == labels[p.id]["relevance"]
        assert sink.scores[p.id].comment == labels[p.id]["comment"]


async def test_skipped_papers_are_asked_again(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    llm.enqueue(SkipIds(2))
    report, _sink = await run(scorer(client), day_papers(5))
    assert report.scored == 5
    assert not report.unscored
    assert len(llm.asked_ids) == 2
    assert llm.asked_ids[1] == llm.asked_ids[0][-2:]


async def test_invented_ids_are_ignored(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    llm.enqueue(InventId("9999.99999"))
    report, sink = await run(scorer(client), day_papers(5))
    assert "9999.99999" not in sink.scores
    assert report.scored == 5
    assert any("9999.99999" in p for p in report.problems)


async def test_truncated_reply_keeps_its_good_part(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    llm.enqueue(Truncated())
    report, sink = await run(scorer(client), day_papers(5))
    assert report.scored == 5
    # the first paper survived the cut and was not asked again
    reasked = [pid for batch in llm.asked_ids[1:] for pid in batch]
    assert sorted(reasked) == sorted(llm.asked_ids[0][1:])
    assert sink.usage.calls == llm.calls


@pytest.mark.parametrize("fault", [Garbage(), Refusal()])
async def test_garbage_or_refusal_is_retried_not_fatal(
    client: AsyncOpenAI, llm: FakeOpenAI, fault: object
) -> None:
    llm.enqueue(fault)  # type: ignore[arg-type]
    report, sink = await run(scorer(client), day_papers(5))
    assert report.scored == 5
    assert report.problems  # the bad reply is reported
    assert sink.usage.calls == llm.calls  # the bad reply's tokens are still on the ledger


async def test_rate_limit_and_server_errors_are_retried(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.enqueue(RateLimited(retry_after=0.05), ServerError(500, retry_after=0.05))
    report, _ = await run(scorer(client, concurrency=1), day_papers(10))
    assert report.scored == 10
    assert report.problems == ()
    assert llm.calls == 2


async def test_a_batch_that_keeps_failing_is_reported_unscored(
    llm: FakeOpenAI,
) -> None:
    async with AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url, max_retries=0) as c:
        llm.enqueue(*[ServerError(503)] * 50)
        report, sink = await run(scorer(c, batch_size=4, rounds=3, concurrency=1), day_papers(6))
    # rounds of 4+2, then 2+2+2, then 1 x 6 papers: 11 requests, all refused
    assert llm.pending_faults == 50 - 11
    assert report.scored == 0
    assert sink.scores == {}
    assert len(report.unscored) == 6
    assert any("not scored" in p for p in report.problems)


async def test_timeout_is_a_failed_batch_retried_later(llm: FakeOpenAI) -> None:
    async with AsyncOpenAI(
        api_key=TEST_KEY, base_url=llm.base_url, max_retries=0, timeout=0.3
    ) as c:
        llm.enqueue(Stall(5))
        report, _ = await run(scorer(c, concurrency=1), day_papers(5))
    assert report.scored == 5


async def test_schema_rejection_falls_back_to_jsonl(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    llm.reject_json_schema = True
    report, _ = await run(scorer(client), day_papers(10))
    assert report.scored == 10
    assert "response_format" not in llm.requests[-1]
    assert "JSONL" in llm.requests[-1]["messages"][0]["content"]


async def test_structured_off_never_sends_a_schema(client: AsyncOpenAI, llm: FakeOpenAI) -> None:
    await run(scorer(client, structured="off"), day_papers(3))
    assert all("response_format" not in r for r in llm.requests)


async def test_schema_rejection_without_fallback_leaves_papers_unscored(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.enqueue(RejectSchema())
    report, _ = await run(scorer(client, structured="on", rounds=1), day_papers(3))
    assert report.unscored
    assert report.scored == 0


async def test_bad_key_stops_the_run_with_a_clear_message(llm: FakeOpenAI) -> None:
    async with AsyncOpenAI(
        api_key="wrong",
        base_url=llm.base_url,
        max_retries=0,
        default_headers={"Authorization": "Basic nothing"},
    ) as c:
        with pytest.raises(ScoringError, match="refused the API key"):
            await run(scorer(c), day_papers(20))


async def test_reasoning_models_are_sent_no_temperature(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    s = LLMScorer(client, "o4-mini", PriceTable(), batch_size=5)
    await s.score(day_papers(2), "c", Recorder())
    assert "temperature" not in llm.requests[-1]
    assert llm.requests[-1]["reasoning_effort"] == "low"


async def test_requests_run_concurrently_under_the_limit(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.latency = 0.2
    import time

    start = time.monotonic()
    report, _ = await run(scorer(client, batch_size=1, concurrency=8), day_papers(16))
    elapsed = time.monotonic() - start
    assert report.scored == 16
    # 16 requests of 0.2 s at 8 in flight take about 0.4 s, far from 3.2 s sequentially
    assert elapsed < 2.0


async def test_prompts_are_built_off_the_event_loop(
    client: AsyncOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round's batches start together: built on the loop, their prompts (each paper's lead
    sentences, about 4 ms for 44 papers) would hold it back to back in one turn."""
    threads: list[int] = []
    build = prompt.messages

    def building(*args: Any, **kwargs: Any) -> list[dict[str, str]]:
        threads.append(threading.get_ident())
        return build(*args, **kwargs)

    monkeypatch.setattr(prompt, "messages", building)
    async with Store.open(tmp_path / "bot.sqlite3") as store:
        report, _ = await run_with(scorer(client), day_papers(12), DailyAccount(store.budget, 1.0))

    assert report.scored == 12
    assert len(threads) == 2 * 3  # each of the 3 batches: its worst case, then its request
    assert threading.get_ident() not in threads
