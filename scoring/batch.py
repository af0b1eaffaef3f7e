"""Scoring through OpenAI's Batch API (half price) for the scheduled daily scoring.

`BatchScorer.score` writes the papers' requests as one JSONL file (the same prompt and request
options as the synchronous scorer, `scoring.prompt`), uploads it (`files`), creates a batch
(`batches`), polls it until it ends or until `until`, and parses every answered request with
the synchronous scorer's reply parser (`scoring.parse`), handing each reply's scores and its
usage (at batch prices) to the caller's `sink` as the results are read. A batch still running
at `until` is cancelled and whatever it finished is kept; papers it did not answer, and those
in its error file, are reported unscored so that the caller scores them at once.

With a budget `account`, the whole batch's worst case (every request's prompt and output
bound, at batch prices) is held before it is submitted (`scoring.spending.paid`) and settled to
what it really cost once it is collected; a budget without room for it leaves every paper to
the synchronous scorer, which stops at the budget in its turn.

Whether the endpoint offers batches is asked once (`available`): OpenAI-compatible servers
without the endpoint answer 404, and then every call reports all papers unscored.

It must not touch the store, decide which papers need scoring, or sleep except through the
injected `sleep`; interactive commands never come here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import openai
from openai import AsyncOpenAI

from bot.models import Paper, Score, Usage
from scoring import prompt
from scoring.parse import parse_reply
from scoring.pricing import PriceTable
from scoring.spending import Account, BudgetSpent, paid, worst_case_usd

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Score], Usage], Awaitable[None]]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

ENDPOINT: Final = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
ABANDONED = frozenset({"failed", "expired", "cancelled", "cancelling"})
HURRY_CHECK = 2.0  # seconds between asking whether a command is waiting for the scores

Hurry = Callable[[], Awaitable[bool]]
"""Whether someone (an interactive command) is waiting for the batch's scores right now."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What one batch achieved: the papers it scored, what it cost, its final state, and the
    papers left for the synchronous scorer."""

    scored: int
    unscored: tuple[str, ...]
    usage: Usage
    status: str
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class _Tally:
    done: set[str] = field(default_factory=set)
    usage: Usage = field(default_factory=Usage)
    problems: list[str] = field(default_factory=list)


class BatchScorer:
    """Scores papers through the Batch API with one model (see the module docstring)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        prices: PriceTable,
        *,
        batch_size: int = 50,
        structured: bool = True,
        poll_seconds: float = 60.0,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self.model = model
        self._prices = prices
        self._batch_size = batch_size
        self._structured = structured
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep
        self._available: bool | None = None

    async def available(self) -> bool:
        """Whether the endpoint offers batches; asked once, then remembered."""
        if self._available is None:
            try:
                await self._client.batches.list(limit=1)
                self._available = True
            except (openai.NotFoundError, openai.BadRequestError, openai.PermissionDeniedError):
                log.info("the LLM endpoint offers no Batch API; scoring synchronously")
                self._available = False
            except openai.APIError as exc:  # unsure: try again next time, score at once now
                log.warning("could not ask the LLM endpoint about batches: %s", exc)
                return False
        return self._available

    async def score(
        self,
        papers: Sequence[Paper],
        criteria_text: str,
        sink: Sink,
        *,
        until: datetime,
        examples: Sequence[Paper] = (),
        language: str = "en",
        hurry: Hurry | None = None,
        account: Account | None = None,
    ) -> BatchReport:
        """Score `papers` in one batch, storing results through `sink`, until `until` at the
        latest, its cost held in `account`; the report names the papers left for the
        synchronous scorer."""
        everything = tuple(p.id for p in papers)
        if not papers or self._clock() >= until or not await self.available():
            return BatchReport(0, everything, Usage(), "skipped")
        chunks = [papers[i : i + self._batch_size] for i in range(0, len(papers), self._batch_size)]
        unit = _unit(self.model, criteria_text, chunks, examples, language)

        async def run() -> tuple[tuple[Any, _Tally], Usage]:
            batch = await self._resumable(unit)
            if batch is None:
                batch = await self._submit(chunks, criteria_text, examples, unit, language)
            else:
                log.info(
                    "batch %s for these papers is already %s: resuming", batch.id, batch.status
                )
            batch = await self._wait(batch, until, hurry)
            tally = await self._collect(batch, chunks, sink)
            return (batch, tally), tally.usage

        worst = self._worst_case(chunks, criteria_text, examples) if account else 0.0
        try:
            (batch, tally), _ = await paid(account, worst, run)
        except BudgetSpent:
            log.info("the daily LLM budget has no room for a batch of %d papers", len(papers))
            return BatchReport(0, everything, Usage(), "budget")
        except openai.APIError as exc:
            log.warning("batch scoring failed, scoring synchronously: %s", exc)
            return BatchReport(0, everything, Usage(), "error", (str(exc),))
        left = tuple(pid for pid in everything if pid not in tally.done)
        log.info(
            "batch %s %s: %d of %d papers scored, %d left for synchronous scoring",
            batch.id,
            batch.status,
            len(tally.done),
            len(everything),
            len(left),
        )
        return BatchReport(len(tally.done), left, tally.usage, batch.status, tuple(tally.problems))

    def _worst_case(
        self, chunks: Sequence[Sequence[Paper]], criteria_text: str, examples: Sequence[Paper]
    ) -> float:
        """The most the batch may cost: each request's prompt and output bound, batch prices."""
        return sum(
            worst_case_usd(
                self._prices,
                self.model,
                prompt.messages(
                    criteria_text, chunk, structured=self._structured, examples=examples
                ),
                prompt.max_output_tokens(self.model, len(chunk)),
                batch=True,
            )
            for chunk in chunks
        )

    async def _resumable(self, unit: str) -> Any | None:
        """A batch of exactly this work that an earlier run submitted and did not collect (the
        process stopped while it ran): resumed, not paid for twice."""
        page = await self._client.batches.list(limit=100)
        for batch in page.data:
            metadata = batch.metadata or {}
            if metadata.get("unit") == unit and batch.status not in ABANDONED:
                return batch
        return None

    async def _submit(
        self,
        chunks: Sequence[Sequence[Paper]],
        criteria_text: str,
        examples: Sequence[Paper],
        unit: str,
        language: str = "en",
    ) -> Any:
        lines = [
            json.dumps(
                {
                    "custom_id": f"chunk-{n}",
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": {
                        "model": self.model,
                        "messages": prompt.messages(
                            criteria_text,
                            chunk,
                            structured=self._structured,
                            examples=examples,
                            language=language,
                        ),
                        **prompt.request_options(
                            self.model, structured=self._structured, papers=len(chunk)
                        ),
                    },
                },
                ensure_ascii=False,
            )
            for n, chunk in enumerate(chunks)
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        uploaded = await self._client.files.create(file=("scoring.jsonl", data), purpose="batch")
        return await self._client.batches.create(
            input_file_id=uploaded.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"purpose": "arxiv-bot daily scoring", "unit": unit},
        )

    async def _wait(self, batch: Any, until: datetime, hurry: Hurry | None) -> Any:
        """Poll until the batch ends; at `until`, or as soon as `hurry()` says someone is
        waiting for these scores now, cancel it and keep what it finished."""
        polled = self._clock()
        while True:
            batch = await self._client.batches.retrieve(batch.id)
            if batch.status in TERMINAL:
                return batch
            while True:
                left = (until - self._clock()).total_seconds()
                if left <= 0 or (hurry is not None and await hurry()):
                    why = "someone needs the scores now" if left > 0 else "its deadline came"
                    log.info("batch %s not done and %s: cancelling it", batch.id, why)
                    await self._client.batches.cancel(batch.id)
                    return await self._client.batches.retrieve(batch.id)
                since = (self._clock() - polled).total_seconds()
                if since >= self._poll:
                    polled = self._clock()
                    break
                await self._sleep(min(self._poll - since, left, HURRY_CHECK))

    async def _collect(self, batch: Any, chunks: Sequence[Sequence[Paper]], sink: Sink) -> _Tally:
        tally = _Tally()
        by_id = {f"chunk-{n}": chunk for n, chunk in enumerate(chunks)}
        if batch.status == "failed":
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            tally.problems += [f"batch failed: {getattr(e, 'message', e)}" for e in errors]
        if batch.output_file_id:
            for line in await self._lines(batch.output_file_id):
                await self._accept(line, by_id, sink, tally)
        if batch.error_file_id:
            for line in await self._lines(batch.error_file_id):
                tally.problems.append(f"batch request {line.get('custom_id')}: {_error(line)}")
        return tally

    async def _lines(self, file_id: str) -> list[dict[str, Any]]:
        content = await self._client.files.content(file_id)
        out: list[dict[str, Any]] = []
        for raw in content.text.splitlines():
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    log.warning("unreadable line in batch file %s", file_id)
        return out

    async def _accept(
        self,
        line: dict[str, Any],
        by_id: dict[str, Sequence[Paper]],
        sink: Sink,
        tally: _Tally,
    ) -> None:
        chunk = by_id.get(str(line.get("custom_id")))
        response = line.get("response") or {}
        body = response.get("body") or {}
        if chunk is None or response.get("status_code") != 200 or not isinstance(body, dict):
            tally.problems.append(f"batch request {line.get('custom_id')}: {_error(line)}")
            return
        usage = self._usage(body.get("usage") or {})
        text = _reply_text(body)
        ids = [p.id for p in chunk]
        reply = parse_reply(text, ids) if text else None
        scores = [s for s in reply.scores if s.paper_id not in tally.done] if reply else []
        if reply is not None:
            tally.problems.extend(reply.problems)
        await sink(scores, usage)
        tally.done.update(s.paper_id for s in scores)
        tally.usage = tally.usage + usage

    def _usage(self, usage: dict[str, Any]) -> Usage:
        details = usage.get("prompt_tokens_details") or {}
        return self._prices.usage(
            self.model,
            int(usage.get("prompt_tokens") or 0),
            int(details.get("cached_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            batch=True,
        )


def _reply_text(body: dict[str, Any]) -> str | None:
    choices = body.get("choices") or []
    if not choices:
        return None
    message = choices[0].get("message") or {}
    content = message.get("content") or message.get("refusal")
    return str(content) if content else None


def _error(line: dict[str, Any]) -> str:
    error = line.get("error") or ((line.get("response") or {}).get("body") or {}).get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "failed")
    return "failed"


def _unit(
    model: str,
    criteria_text: str,
    chunks: Sequence[Sequence[Paper]],
    examples: Sequence[Paper],
    language: str = "en",
) -> str:
    """What a batch does, as a short key kept in its metadata: the same papers in the same
    requests under the same criteria, model, examples and language (English adds nothing, so
    its keys are what they were)."""
    parts = [model, criteria_text, *("|".join(p.id for p in c) for c in chunks)]
    parts.append("|".join(p.id for p in examples))
    if language != "en":
        parts.append(language)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
