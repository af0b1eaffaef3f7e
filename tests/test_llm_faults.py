"""Replies of the wrong shape and an LLM that is down or refuses the key, through the real
`openai` client against the fake server (and a closed port): the scorer never raises for a bad
reply, and gives up on a dead endpoint quickly, naming it and never the key."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from openai import AsyncOpenAI

from bot.errors import BotError, LLMUnavailable, ScoringError
from bot.models import Paper, Score, Usage
from scoring.completion import read_completion, token_count
from scoring.explain import Explainer
from scoring.pricing import PriceTable
from scoring.scorer import LLMScorer, ScoringReport, public_url
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import (
    ContentParts,
    FakeOpenAI,
    NotJson,
    ServerError,
    UsageAs,
    WrongShape,
)
from tests.fakes.synth import load_eval_day

DAY = "2025-05-02"

WRONG_SHAPES = [
    {"choices": [{"message": None}]},
    {"choices": "zzz"},
    {"choices": [{}]},
    {"choices": []},
    {"choices": [{"message": {"content": None}}]},
    {"choices": [{"message": {"content": 42}}], "usage": "many"},
    {"choices": [17]},
    {"id": "chatcmpl-1"},
    [],
    "zzz",
    None,
]


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

    async def __call__(self, scores: Sequence[Score], usage: Usage) -> None:
        self.scores.update((s.paper_id, s) for s in scores)
        self.usage = self.usage + usage


@pytest.fixture
async def client(llm: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        api_key=TEST_KEY, base_url=llm.base_url, max_retries=2, timeout=5.0
    ) as c:
        yield c


def scorer(client: AsyncOpenAI, **options: Any) -> LLMScorer:
    kw: dict[str, Any] = {"batch_size": 5, "concurrency": 4, "round_pause": 0.0}
    kw.update(options)
    return LLMScorer(client, "gpt-4o", PriceTable(), **kw)


async def run(s: LLMScorer, papers: list[Paper]) -> tuple[ScoringReport, Recorder]:
    sink = Recorder()
    return await s.score(papers, "Model compression.", sink), sink


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the reply's envelope, read from literal bodies --


@pytest.mark.parametrize("body", WRONG_SHAPES)
def test_wrong_shape_bodies_read_as_no_text_with_a_problem(body: object) -> None:
    completion = read_completion(json.dumps(body))
    assert completion.text is None
    assert completion.problem
    assert len(completion.problem) < 120


def test_content_parts_read_as_their_text_joined() -> None:
    body = {
        "choices": [
            {"message": {"content": [{"type": "text", "text": "ab"}, "c", {"type": "image"}]}}
        ]
    }
    assert read_completion(json.dumps(body)).text == "abc"


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        (12, 12),
        ("12", 12),
        (" 12 ", 12),
        ("12.0", 12),
        (12.7, 12),
        ("lots", 0),
        ("1e999", 0),
        ("-5", 0),
        (-5, 0),
        (None, 0),
        (True, 0),
        ([3], 0),
        (float("nan"), 0),
        (10**30, 10_000_000),
    ],
)
def test_usage_counts_of_any_kind_become_whole_tokens(raw: object, tokens: int) -> None:
    assert token_count(raw) == tokens


def test_endpoint_is_printed_without_credentials() -> None:
    url = "https://user:sk-secret@llm.example:8443/v1/?api-key=sk-secret#frag"
    assert public_url(url) == "https://llm.example:8443/v1"


# -- HTTP 200 replies of the wrong shape, through the real client --


@pytest.mark.parametrize("body", WRONG_SHAPES)
async def test_wrong_shape_reply_is_a_failed_request_retried_not_a_crash(
    client: AsyncOpenAI, llm: FakeOpenAI, body: object
) -> None:
    llm.enqueue(WrongShape(body))
    report, sink = await run(scorer(client, concurrency=1), day_papers(5))
    assert report.scored == 5
    assert report.unscored == ()
    assert any("not scored this round" in p for p in report.problems)
    assert sink.usage.calls == llm.calls  # the broken reply is still on the ledger


async def test_html_page_with_status_200_is_a_failed_request(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.enqueue(NotJson())
    report, _ = await run(scorer(client, concurrency=1), day_papers(5))
    assert report.scored == 5
    assert any("not JSON" in p for p in report.problems)


async def test_replies_that_stay_malformed_leave_their_papers_unscored(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.enqueue(*[WrongShape({"choices": [{"message": None}]})] * 20)
    report, sink = await run(scorer(client, rounds=2), day_papers(6))
    assert report.scored == 0
    assert sorted(report.unscored) == sorted(p.id for p in day_papers(6))
    assert sink.scores == {}


async def test_content_given_as_a_list_of_parts_is_scored(
    client: AsyncOpenAI, llm: FakeOpenAI
) -> None:
    llm.enqueue(ContentParts())
    report, _ = await run(scorer(client), day_papers(5))
    assert report.scored == 5
    assert report.problems == ()
    assert llm.calls == 1


@pytest.mark.parametrize(
    ("value", "prompt_tokens"), [("1234", 1234), ("lots", 0), (None, 0), (-3, 0), ([], 0)]
)
async def test_usage_counts_sent_as_text_or_garbage_never_crash(
    client: AsyncOpenAI, llm: FakeOpenAI, value: object, prompt_tokens: int
) -> None:
    llm.enqueue(UsageAs(value))
    report, sink = await run(scorer(client), day_papers(5))
    assert report.scored == 5
    assert sink.usage.calls == 1
    assert sink.usage.prompt_tokens == prompt_tokens


# -- the endpoint down or refusing the key --


async def test_llm_down_gives_up_after_the_set_time_naming_the_endpoint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    async with AsyncOpenAI(api_key=TEST_KEY, base_url=base_url, max_retries=4) as c:
        start = time.monotonic()
        with caplog.at_level(logging.INFO), pytest.raises(LLMUnavailable) as raised:
            await run(scorer(c, unreachable_after=1.0, concurrency=8), day_papers(40))
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 3.0
    error = raised.value
    assert isinstance(error, ScoringError)
    assert error.endpoint == base_url
    assert not error.refused
    message = str(error)
    assert base_url in message
    assert "OPENAI_BASE_URL" in message
    assert "\n" not in message
    assert TEST_KEY not in message
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert TEST_KEY not in caplog.text


async def test_refused_key_stops_at_once_naming_openai_api_key() -> None:
    async with FakeOpenAI(valid_key="sk-the-right-one") as fake:
        c = AsyncOpenAI(api_key=TEST_KEY, base_url=fake.base_url, max_retries=2)
        async with c:
            with pytest.raises(LLMUnavailable) as raised:
                await run(scorer(c, concurrency=1), day_papers(20))
    assert raised.value.refused
    assert "OPENAI_API_KEY" in str(raised.value)
    assert "HTTP 401" in str(raised.value)
    assert TEST_KEY not in str(raised.value)
    assert TEST_KEY[-4:] not in str(raised.value)
    assert fake.unauthorized == 1


async def test_an_endpoint_that_answers_with_errors_is_not_called_unreachable(
    llm: FakeOpenAI,
) -> None:
    async with AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url, max_retries=1) as c:
        llm.enqueue(*[ServerError(503, retry_after=0.01)] * 30)
        report, _ = await run(scorer(c, unreachable_after=0.5, rounds=2), day_papers(6))
    assert report.scored == 0
    assert len(report.unscored) == 6


@pytest.mark.parametrize(
    "fault",
    [WrongShape({"choices": [{"message": None}]}), WrongShape("zzz"), NotJson(), UsageAs("x")],
)
async def test_explain_with_a_malformed_reply_says_try_again_later(
    client: AsyncOpenAI, llm: FakeOpenAI, fault: Any
) -> None:
    paper = day_papers(1)[0]
    llm.enqueue(fault)
    explainer = Explainer(client, "gpt-4o", PriceTable())
    if isinstance(fault, UsageAs):  # the answer itself is fine: only the usage is garbage
        text, usage = await explainer.explain(paper, Score(paper.id, 8, 7, "fits"), "c")
        assert text
        assert usage.prompt_tokens == 0
        return
    with pytest.raises(BotError, match="try again later"):
        await explainer.explain(paper, Score(paper.id, 8, 7, "fits"), "c")
