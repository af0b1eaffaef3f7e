"""The LLM scorer: sends batches of papers to an OpenAI-compatible chat endpoint and turns the
replies into scores matched by our own arXiv ids.

What it guarantees:
- every reply is handed to the caller's `sink` as soon as it arrives (scores and the call's
  usage together), so a crash later in the run loses nothing already paid for;
- a paper the model skipped, or whose batch failed, is asked again in a later round (smaller
  batches), up to `rounds` times; an id the model invented is ignored;
- a malformed reply never aborts the run: the good part of a batch is kept;
- requests run concurrently under `concurrency`; the SDK retries 429/5xx honouring `Retry-After`;
- a refusal of the whole job (bad key, unknown model) stops the run with a ScoringError;
- with a `SpendingCap`, a batch is sent only if its estimated cost still fits under the cap, so
  the run stops at the cap instead of crossing it; what was not sent is reported as unscored.

It must not touch the store or decide which papers need scoring: the caller does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import openai
from openai import AsyncOpenAI

from bot.errors import ScoringError
from bot.models import Paper, Score, Usage
from scoring import prompt
from scoring.parse import parse_reply
from scoring.pricing import PriceTable

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Score], Usage], Awaitable[None]]
Progress = Callable[[int, int], None]
StructuredMode = Literal["auto", "on", "off"]
_ANSWER_TOKENS_PER_PAPER = 90


@dataclass(frozen=True, slots=True)
class ScoringReport:
    """What one scoring run achieved."""

    scored: int
    unscored: tuple[str, ...]
    usage: Usage
    problems: tuple[str, ...] = ()
    budget_reached: bool = False


@dataclass(slots=True)
class SpendingCap:
    """Dollars a run may still spend, shared by its concurrent batches: each batch reserves its
    estimated cost before it is sent and settles the real cost when the reply arrives."""

    limit_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    reached: bool = False

    def reserve(self, estimate_usd: float) -> bool:
        """Claim room for one request; False (and `reached`) when it would cross the cap."""
        if self.spent_usd + self.reserved_usd + estimate_usd > self.limit_usd:
            self.reached = True
            return False
        self.reserved_usd += estimate_usd
        return True

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        """Replace a reservation by what the request really cost."""
        self.reserved_usd = max(0.0, self.reserved_usd - estimate_usd)
        self.spent_usd += actual_usd


@dataclass(slots=True)
class _Run:
    """Mutable tallies of one run, shared by its concurrent batches."""

    total: int
    sink: Sink
    progress: Progress | None
    cap: SpendingCap | None = None
    examples: Sequence[Paper] = ()
    done: set[str] = field(default_factory=set)
    usage: Usage = field(default_factory=Usage)
    problems: list[str] = field(default_factory=list)

    async def accept(self, scores: Sequence[Score], usage: Usage) -> None:
        fresh = [s for s in scores if s.paper_id not in self.done]
        await self.sink(fresh, usage)
        self.done.update(s.paper_id for s in fresh)
        self.usage = self.usage + usage
        if self.progress is not None:
            self.progress(len(self.done), self.total)


class LLMScorer:
    """Scores papers against criteria with one model."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        prices: PriceTable,
        *,
        batch_size: int = 12,
        concurrency: int = 8,
        structured: StructuredMode = "auto",
        rounds: int = 3,
        round_pause: float = 2.0,
    ) -> None:
        self._client = client
        self.model = model
        self._prices = prices
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._structured = structured != "off"
        self._may_fall_back = structured == "auto"
        self._rounds = rounds
        self._round_pause = round_pause

    async def score(
        self,
        papers: Sequence[Paper],
        criteria_text: str,
        sink: Sink,
        progress: Progress | None = None,
        cap: SpendingCap | None = None,
        *,
        examples: Sequence[Paper] = (),
    ) -> ScoringReport:
        """Score every paper, handing each reply to `sink`; return what was and was not scored.
        `examples` (papers the team liked) join the system prefix shared by every request."""
        run = _Run(total=len(papers), sink=sink, progress=progress, cap=cap, examples=examples)
        pending = list(papers)
        size = self._batch_size
        for round_no in range(self._rounds):
            if not pending or (cap is not None and cap.reached):
                break
            if round_no:
                log.info("re-asking %d unscored papers (round %d)", len(pending), round_no + 1)
                await asyncio.sleep(self._round_pause * round_no)
            await self._round(pending, size, criteria_text, run)
            pending = [p for p in pending if p.id not in run.done]
            size = max(1, size // 2)
        return ScoringReport(
            scored=len(run.done),
            unscored=tuple(p.id for p in pending),
            usage=run.usage,
            problems=tuple(run.problems),
            budget_reached=cap is not None and cap.reached,
        )

    async def _round(
        self, papers: Sequence[Paper], size: int, criteria_text: str, run: _Run
    ) -> None:
        batches = [papers[i : i + size] for i in range(0, len(papers), size)]
        try:
            async with asyncio.TaskGroup() as group:
                for batch in batches:
                    group.create_task(self._batch(batch, criteria_text, run))
        except* ScoringError as eg:
            raise eg.exceptions[0] from None

    async def _batch(self, papers: Sequence[Paper], criteria_text: str, run: _Run) -> None:
        ids = [p.id for p in papers]
        # the reply is stored before the slot frees: with N requests in flight, at most N paid
        # replies can be lost to a crash, and the next request never overtakes a stored reply
        async with self._limit:
            estimate = self._estimate(papers, criteria_text, run) if run.cap is not None else 0.0
            if run.cap is not None and not run.cap.reserve(estimate):
                return
            text, usage = await self._ask(papers, criteria_text, run)
            if run.cap is not None:
                run.cap.settle(estimate, usage.cost_usd)
            if text is None:
                if usage.calls:
                    await run.accept([], usage)
                return
            reply = parse_reply(text, ids)
            run.problems.extend(reply.problems)
            for problem in reply.problems:
                log.warning("scoring reply: %s", problem)
            await run.accept(reply.scores, usage)

    async def _ask(
        self, papers: Sequence[Paper], criteria_text: str, run: _Run
    ) -> tuple[str | None, Usage]:
        """One request; returns the reply text (None when there is nothing to parse)."""
        structured = self._structured
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=prompt.messages(  # type: ignore[arg-type]
                    criteria_text, papers, structured=structured, examples=run.examples
                ),
                **prompt.request_options(self.model, structured=structured),
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ScoringError(
                f"the LLM endpoint refused the API key (HTTP {exc.status_code}); "
                "check OPENAI_API_KEY"
            ) from None
        except openai.NotFoundError:
            raise ScoringError(
                f"the LLM endpoint does not know model {self.model!r}; check ARXIV_BOT_MODEL "
                "and OPENAI_BASE_URL"
            ) from None
        except openai.BadRequestError as exc:
            if structured and self._may_fall_back and _about_response_format(exc):
                log.warning("endpoint rejects structured output; falling back to JSON text")
                self._structured = False
                return await self._ask(papers, criteria_text, run)
            return self._failed(run, papers, f"request rejected: {_short(exc)}")
        except openai.APIError as exc:
            return self._failed(run, papers, f"request failed: {_short(exc)}")
        return _reply_text(response), self._usage(response)

    def _estimate(self, papers: Sequence[Paper], criteria_text: str, run: _Run) -> float:
        """A generous dollar estimate of one request (liked-paper examples included): about 3
        characters a prompt token, and room for a full answer line per paper."""
        messages = prompt.messages(
            criteria_text, papers, structured=self._structured, examples=run.examples
        )
        chars = sum(len(str(m["content"])) for m in messages)
        prompt_tokens = chars // 3 + 16
        completion_tokens = _ANSWER_TOKENS_PER_PAPER * len(papers) + 16
        return self._prices.usage(self.model, prompt_tokens, 0, completion_tokens).cost_usd

    def _failed(self, run: _Run, papers: Sequence[Paper], why: str) -> tuple[None, Usage]:
        message = f"{len(papers)} papers not scored this round: {why}"
        log.warning("%s", message)
        run.problems.append(message)
        return None, Usage()

    def _usage(self, response: object) -> Usage:
        usage = getattr(response, "usage", None)
        if usage is None:
            return Usage(calls=1, priced=self._prices.price(self.model) is not None)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0)
        return self._prices.usage(
            self.model, int(usage.prompt_tokens or 0), cached, int(usage.completion_tokens or 0)
        )


def _reply_text(response: object) -> str | None:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return None
    message = choices[0].message
    return message.content if message.content else (message.refusal or None)


def _about_response_format(exc: openai.BadRequestError) -> bool:
    text = str(exc).lower()
    return "response_format" in text or "json_schema" in text or "structured" in text


def _short(exc: openai.APIError) -> str:
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status})" if status else kind
