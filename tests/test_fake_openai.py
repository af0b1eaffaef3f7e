"""The real `openai.AsyncOpenAI` client against `FakeOpenAI`, its replies read by `parse_reply`.

These tests pin both the fake's protocol and what openai 3.x does with it (retries, timeouts,
error types), which the scorer relies on.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from bot.models import Score
from scoring import prompt
from scoring.parse import parse_reply
from tests.fakes.openai_server import (
    UNRELATED_COMMENT,
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
    fake_tldr,
    load_labels,
    shared_dir,
)

DAY = "2025-05-02"
PICKS = ("2505.00326", "2505.00347", "2505.00661")
OTHER = "2505.00001"
MODEL = "gpt-4o-mini"
# Long enough (1500 tokens) for OpenAI-style prefix caching, which starts at 1024 tokens.
SYSTEM = ("You rate arXiv papers against the team's criteria. " * 120)[:6000]
SCHEMA_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {
        "name": "paper_scores",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"papers": {"type": "array", "items": {"type": "object"}}},
            "required": ["papers"],
            "additionalProperties": False,
        },
    },
}
FAST_RETRY = 0.01  # openai 3.x treats a Retry-After of 0 as "unspecified" and backs off ~0.5 s


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.from_labels(DAY, model=MODEL) as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=2) as c:
        yield c


def _messages(ids: tuple[str, ...]) -> list[Any]:
    papers = "\n\n".join(
        f"ARXIVID: {i}\nTITLE: Title {i}\nAUTHORS: A. Author\nABSTRACT: Abstract of {i}."
        for i in ids
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": papers}]


async def _ask(
    client: openai.AsyncOpenAI, ids: tuple[str, ...] = (*PICKS, OTHER), **options: Any
) -> Any:
    options.setdefault("response_format", SCHEMA_FORMAT)
    return await client.chat.completions.create(
        model=MODEL, messages=_messages(ids), temperature=0, **options
    )


def _cached(completion: Any) -> int:
    return int(completion.usage.prompt_tokens_details.cached_tokens)


def _label_scores(ids: tuple[str, ...]) -> tuple[Score, ...]:
    labels = load_labels(DAY)
    return tuple(
        Score(
            i,
            labels[i]["relevance"],
            labels[i]["novelty"],
            labels[i]["comment"],
            fake_tldr(labels[i]["comment"]),
        )
        for i in ids
    )


ALL_SCORES = (*_label_scores(PICKS), Score(OTHER, 3, 3, UNRELATED_COMMENT))


# Answers


async def test_structured_answer_follows_the_days_labels(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    completion = await _ask(client)
    content = completion.choices[0].message.content
    assert json.loads(content)["papers"][0].keys() == {
        "id",
        "comment",
        "tldr",
        "relevance",
        "novelty",
    }
    assert parse_reply(content, (*PICKS, OTHER)).scores == ALL_SCORES
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == MODEL
    assert completion.system_fingerprint
    assert fake.asked_ids == [[*PICKS, OTHER]]
    assert fake.requests[0]["response_format"] == SCHEMA_FORMAT
    assert fake.requests[0]["temperature"] == 0


@pytest.mark.parametrize("response_format", [openai.NOT_GIVEN, {"type": "json_object"}])
async def test_without_a_schema_the_answer_is_jsonl(
    client: openai.AsyncOpenAI, response_format: Any
) -> None:
    completion = await _ask(client, response_format=response_format)
    lines = completion.choices[0].message.content.splitlines()
    assert [json.loads(line)["ARXIVID"] for line in lines] == [*PICKS, OTHER]
    assert json.loads(lines[0]).keys() == {"ARXIVID", "COMMENT", "TLDR", "RELEVANCE", "NOVELTY"}
    assert parse_reply(completion.choices[0].message.content, (*PICKS, OTHER)).scores == ALL_SCORES


async def test_models_are_listed(client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert (await client.models.retrieve(MODEL)).owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-nonexistent")


# Usage


async def test_usage_is_counted_from_text_and_the_prefix_is_cached_the_second_time(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    first = await _ask(client)
    second = await _ask(client, ids=PICKS[:1])
    prompt_chars = len(SYSTEM) + len(_messages(PICKS[:1])[1]["content"])
    usage = second.usage
    assert usage.prompt_tokens == math.ceil(prompt_chars / 4)
    assert usage.completion_tokens == math.ceil(len(second.choices[0].message.content) / 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert _cached(first) == 0
    assert _cached(second) == 1500 // 128 * 128
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert (fake.calls, fake.total_cached_tokens) == (2, 1408)
    assert fake.total_prompt_tokens == first.usage.prompt_tokens + usage.prompt_tokens
    assert fake.total_completion_tokens == first.usage.completion_tokens + usage.completion_tokens


async def test_a_short_prefix_is_never_cached(client: openai.AsyncOpenAI) -> None:
    messages = [{"role": "system", "content": "short"}, _messages(PICKS)[1]]
    for _ in range(2):
        completion = await client.chat.completions.create(model=MODEL, messages=messages)
    assert _cached(completion) == 0


# Faults and retries


async def test_a_rate_limit_is_retried_by_the_sdk(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(RateLimited(retry_after=FAST_RETRY))
    completion = await _ask(client)
    assert parse_reply(completion.choices[0].message.content, PICKS).scores == ALL_SCORES[:3]
    assert [h["x-stainless-retry-count"] for h in fake.request_headers] == ["0", "1"]
    assert (len(fake.requests), fake.calls) == (2, 1)


async def test_a_rate_limit_says_when_to_retry(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(RateLimited(retry_after=0))
    with pytest.raises(openai.RateLimitError) as caught:
        await _ask(client.with_options(max_retries=0))
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert (error.response.headers["retry-after"], error.response.headers["retry-after-ms"]) == (
        "0",
        "0",
    )
    assert str(error.request_id).startswith("req_")


async def test_a_server_error_is_retried_until_it_succeeds(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(ServerError(500, retry_after=FAST_RETRY), ServerError(503, FAST_RETRY))
    completion = await _ask(client)
    assert completion.choices[0].message.content
    assert len(fake.requests) == 3


async def test_server_errors_beyond_the_retry_budget_surface(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(*[ServerError(retry_after=FAST_RETRY)] * 3)
    with pytest.raises(openai.InternalServerError) as caught:
        await _ask(client)
    assert caught.value.type == "server_error"
    assert (len(fake.requests), fake.calls, fake.pending_faults) == (3, 0, 0)


async def test_a_stall_trips_the_client_timeout(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(Stall(30))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await _ask(client.with_options(timeout=0.1, max_retries=0))
    assert time.monotonic() - started < 1
    assert (await _ask(client)).choices[0].message.content
    assert fake.calls == 1


async def test_a_request_without_a_key_is_refused(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await _ask(client, extra_headers={"Authorization": openai.Omit()})
    assert caught.value.status_code == 401
    assert caught.value.type == "invalid_request_error"
    assert (fake.unauthorized, fake.requests) == (1, [])


async def test_the_key_is_never_recorded(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    await _ask(client)
    assert "sk-test" not in json.dumps([fake.requests, fake.request_headers])
    assert fake.request_headers[0]["user-agent"].startswith("AsyncOpenAI/Python")


async def test_a_server_without_json_schema_refuses_it(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(RejectSchema())
    with pytest.raises(openai.BadRequestError) as caught:
        await _ask(client)
    assert caught.value.param == "response_format"
    assert "json_schema" in caught.value.message
    assert (await _ask(client)).choices[0].message.content  # the fault is used up


async def test_the_schema_switch_refuses_every_schema_request_but_not_jsonl(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.reject_json_schema = True
    with pytest.raises(openai.BadRequestError):
        await _ask(client)
    completion = await _ask(client, response_format={"type": "json_object"})
    assert parse_reply(completion.choices[0].message.content, PICKS).scores == ALL_SCORES[:3]


async def test_a_truncated_reply_keeps_the_first_paper(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.enqueue(Truncated())
    completion = await _ask(client)
    assert completion.choices[0].finish_reason == "length"
    parsed = parse_reply(completion.choices[0].message.content, (*PICKS, OTHER))
    assert parsed.scores == ALL_SCORES[:1]
    assert parsed.problems[0].startswith("reply cut off at char ")


async def test_a_reply_over_max_tokens_is_cut(client: openai.AsyncOpenAI) -> None:
    completion = await _ask(client, max_tokens=60)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 60
    assert len(parse_reply(completion.choices[0].message.content, PICKS).scores) < 3


async def test_skipped_and_invented_ids(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.enqueue(SkipIds(2), InventId("9999.99999"))
    skipped = parse_reply((await _ask(client)).choices[0].message.content, (*PICKS, OTHER))
    invented = parse_reply((await _ask(client)).choices[0].message.content, (*PICKS, OTHER))
    assert skipped.scores == ALL_SCORES[:2]
    assert skipped.problems == (f"no score for 2 of 4 papers: {PICKS[2]}, {OTHER}",)
    assert invented.scores == ALL_SCORES
    assert invented.problems == ('dropped id not asked for: "9999.99999"',)


async def test_garbage_and_refusals(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.enqueue(Garbage(), Refusal())
    garbage = (await _ask(client)).choices[0].message
    refusal = (await _ask(client)).choices[0].message
    assert parse_reply(garbage.content, PICKS).problems == (
        "no paper scores in reply: \"I'm sorry, I can't help with that.\"",
    )
    assert (refusal.content, refusal.refusal) == (None, Refusal().text)


async def test_reasoning_models_refuse_temperature(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="o4-mini", messages=_messages(PICKS), temperature=0
        )
    assert caught.value.param == "temperature"
    completion = await client.chat.completions.create(model="o4-mini", messages=_messages(PICKS))
    assert completion.model == "o4-mini"


async def test_concurrent_requests_wait_together(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.latency = 0.15
    started = time.monotonic()
    completions = await asyncio.gather(*[_ask(client, ids=(p,)) for p in PICKS * 3])
    assert time.monotonic() - started < 0.6  # nine requests, one latency: nothing blocks the loop
    assert all(c.choices[0].message.content for c in completions)
    assert fake.calls == 9
    assert sorted(ids[0] for ids in fake.asked_ids) == sorted(PICKS * 3)


# Labels


def test_the_shared_dir_is_found_beside_the_repo() -> None:
    assert (shared_dir() / "eval" / "labels" / f"{DAY}.json").is_file()
    assert set(PICKS) <= load_labels(DAY).keys()


def test_the_shared_dir_can_be_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    labels = tmp_path / "eval" / "labels"
    labels.mkdir(parents=True)
    pick = {"relevance": 10, "novelty": 9, "comment": "Moved."}
    (labels / "2030-01-01.json").write_text(json.dumps({"selected": {"1": pick}}))
    monkeypatch.setenv("ARXIV_BOT_SHARED_DIR", str(tmp_path))
    assert load_labels("2030-01-01") == {"1": pick}


async def test_the_prompts_short_schema_is_answered_in_short_keys_and_read_back(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fmt = prompt.request_options(MODEL, structured=True)["response_format"]
    completion = await _ask(client, response_format=fmt)
    content = completion.choices[0].message.content
    assert json.loads(content)["papers"][0].keys() == {"id", "c", "t", "r", "n"}
    assert parse_reply(content, (*PICKS, OTHER)).scores == ALL_SCORES
