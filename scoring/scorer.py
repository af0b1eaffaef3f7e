"""The LLM scorer: sends batches of papers to an OpenAI-compatible chat endpoint and turns the
replies into scores matched by our own arXiv ids.

What it guarantees:
- every reply is handed to the caller's `sink` as soon as it arrives (scores and the call's
  usage together), so a crash later in the run loses nothing already paid for;
- a paper the model skipped, or whose batch failed, is asked again in a later round (smaller
  batches), up to `rounds` times; an id the model invented is ignored;
- a malformed reply never aborts the run: the good part of a batch is kept;
- requests run concurrently under `concurrency`; the SDK retries 429/5xx honouring `Retry-After`;
- a reply of the wrong shape (no choices, `message: null`, usage as text...) is a failed request
  for its papers, asked again in the next round; `content` given as a list of parts is read;
- until the endpoint has answered once in a run, connection errors are retried here (quietly,
  without the SDK's retries) for at most `unreachable_after` seconds from the run's start, then
  the run stops with `LLMUnavailable`; a refused key (401/403) raises it at once, and an
  unknown model a plain ScoringError. `LLMUnavailable` names the endpoint, never the key;
- with a budget `account`, every request goes through `scoring.spending.paid`: it is sent only
  once its worst-case cost is held in the account (shared by every run, process and replica),
  and the hold is settled to the reply's real cost. The first request the budget has no room
  for ends the run (`budget_reached`); what was not sent is reported as unscored.

It must not touch the store or decide which papers need scoring: the caller does.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import openai
from openai import AsyncOpenAI

from bot.errors import LLMKeyMissing, LLMUnavailable, ScoringError
from bot.models import Paper, Score, Usage
from scoring import prompt
from scoring.completion import Completion, read_completion
from scoring.parse import parse_reply
from scoring.pricing import PriceTable
from scoring.spending import Account, BudgetSpent, paid, worst_case_usd

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Score], Usage], Awaitable[None]]
Progress = Callable[[int, int], None]
StructuredMode = Literal["auto", "on", "off"]
UNREACHABLE_AFTER: Final = 10.0  # seconds of connection errors before a run gives up
_FIRST_PAUSE: Final = 0.25  # between connection attempts, doubling
_MIN_CONNECT_TIMEOUT: Final = 1.0
_MAX_RETRY_AFTER: Final = 60.0
_ERRNO: Final = re.compile(r"^\[Errno -?\d+\]\s*")


@dataclass(frozen=True, slots=True)
class ScoringReport:
    """What one scoring run achieved."""

    scored: int
    unscored: tuple[str, ...]
    usage: Usage
    problems: tuple[str, ...] = ()
    budget_reached: bool = False


@dataclass(slots=True)
class _Run:
    """Mutable tallies of one run, shared by its concurrent batches."""

    total: int
    sink: Sink
    progress: Progress | None
    account: Account | None = None
    examples: Sequence[Paper] = ()
    budget_reached: bool = False  # the account had no room for a request
    language: str = "en"
    done: set[str] = field(default_factory=set)
    usage: Usage = field(default_factory=Usage)
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    answered: bool = False  # the endpoint sent an HTTP response (of any status) in this run

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
        batch_size: int = 50,
        concurrency: int = 8,
        structured: StructuredMode = "auto",
        rounds: int = 3,
        round_pause: float = 2.0,
        unreachable_after: float = UNREACHABLE_AFTER,
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
        self._unreachable_after = unreachable_after
        self.endpoint = public_url(str(client.base_url))

    @property
    def can_score(self) -> bool:
        """Yes: it has a client."""
        return True

    async def score(
        self,
        papers: Sequence[Paper],
        criteria_text: str,
        sink: Sink,
        progress: Progress | None = None,
        *,
        account: Account | None = None,
        examples: Sequence[Paper] = (),
        language: str = "en",
    ) -> ScoringReport:
        """Score every paper, handing each reply to `sink`; return what was and was not scored.
        `examples` (papers the team liked) join the system prefix shared by every request;
        `account` is the budget every request is held in."""
        run = _Run(
            total=len(papers),
            sink=sink,
            progress=progress,
            account=account,
            examples=examples,
            language=language,
        )
        pending = list(papers)
        size = self._batch_size
        for round_no in range(self._rounds):
            if not pending or run.budget_reached:
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
            budget_reached=run.budget_reached,
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
            if run.budget_reached:
                return
            worst = await self._worst_case(papers, criteria_text, run) if run.account else 0.0
            try:
                text, usage = await paid(
                    run.account, worst, lambda: self._ask(papers, criteria_text, run)
                )
            except BudgetSpent:
                run.budget_reached = True
                return
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
        request: dict[str, Any] = {
            "model": self.model,
            "messages": await self._messages(papers, criteria_text, run, structured=structured),
            **prompt.request_options(self.model, structured=structured, papers=len(papers)),
        }
        try:
            body = await self._send(request, run)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMUnavailable(
                self.endpoint, f"refused the API key (HTTP {exc.status_code})", refused=True
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
        completion = read_completion(body)
        usage = self._usage(completion)
        if completion.text is None:
            return self._failed(run, papers, completion.problem or "no reply text", usage)
        return completion.text, usage

    async def _send(self, request: dict[str, Any], run: _Run) -> bytes:
        """The body of one successful (HTTP 200) request.

        Until the endpoint has answered once in this run, each attempt goes out without the
        SDK's retries and with its connect timeout bounded by the time left, so a dead endpoint
        costs `unreachable_after` seconds, not the SDK's backoff times the batches and rounds.
        Once anything has answered, the SDK's retries apply as configured (less one used here).
        """
        client = self._client
        pause = _FIRST_PAUSE
        while not run.answered:
            try:
                raw = await self._probing(run).chat.completions.with_raw_response.create(**request)
            except openai.APIConnectionError as exc:
                if not run.answered:
                    await self._still_unreachable(run, exc, pause)
                    pause *= 2
                    continue
                # another request got through meanwhile: an ordinary failure, for the SDK
                client = self._retrying(exc)
                await asyncio.sleep(pause)
            except openai.APIStatusError as exc:
                run.answered = True
                if not _sdk_retries(exc):
                    raise
                client = self._retrying(exc)
                await asyncio.sleep(_retry_after(exc, pause))
            else:
                run.answered = True
                return bytes(raw.content)
        raw = await client.chat.completions.with_raw_response.create(**request)
        run.answered = True
        return bytes(raw.content)

    def _probing(self, run: _Run) -> AsyncOpenAI:
        """The client for one attempt before the endpoint has answered: no SDK retries, and no
        waiting for a connection beyond the time left."""
        left = run.started + self._unreachable_after - time.monotonic()
        connect = max(left, _MIN_CONNECT_TIMEOUT)
        return self._client.with_options(
            max_retries=0, timeout=_with_connect_timeout(self._client.timeout, connect)
        )

    def _retrying(self, exc: openai.APIError) -> AsyncOpenAI:
        """The client to send a request again after one attempt failed in `_send`: the SDK's
        retries, one fewer; `exc` again when none are configured."""
        if self._client.max_retries <= 0:
            raise exc
        return self._client.with_options(max_retries=self._client.max_retries - 1)

    async def _still_unreachable(
        self, run: _Run, exc: openai.APIConnectionError, pause: float
    ) -> None:
        """Wait before the next connection attempt, or give up with LLMUnavailable once
        `unreachable_after` seconds have passed since the run started."""
        reason = self._connection_reason(exc)
        elapsed = time.monotonic() - run.started
        left = self._unreachable_after - elapsed
        log.info("LLM endpoint %s not reachable after %.1f s: %s", self.endpoint, elapsed, reason)
        if left <= 0:
            raise LLMUnavailable(self.endpoint, f"{reason}; gave up after {elapsed:.0f} s")
        await asyncio.sleep(min(pause, left))

    def _connection_reason(self, exc: openai.APIConnectionError) -> str:
        """What went wrong with the connection, in a few words and without the key."""
        text = connection_reason(exc)
        key = self._client.api_key
        return text.replace(key, "***") if key else text

    async def _worst_case(self, papers: Sequence[Paper], criteria_text: str, run: _Run) -> float:
        """The most one request may cost (liked-paper examples included): its prompt, counted
        generously, and every output token it allows."""
        messages = await self._messages(papers, criteria_text, run, structured=self._structured)
        bound = prompt.max_output_tokens(self.model, len(papers))
        return worst_case_usd(self._prices, self.model, messages, bound)

    async def _messages(
        self, papers: Sequence[Paper], criteria_text: str, run: _Run, *, structured: bool
    ) -> list[dict[str, str]]:
        """One request's chat messages, built in a worker thread: each paper's lead sentences
        cost about 4 ms of CPU for a batch of 44, and a round's batches start together, so on
        the event loop their prompts would be built back to back in one of its turns."""
        return await asyncio.to_thread(
            prompt.messages,
            criteria_text,
            papers,
            structured=structured,
            examples=run.examples,
            language=run.language,
        )

    def _failed(
        self, run: _Run, papers: Sequence[Paper], why: str, usage: Usage | None = None
    ) -> tuple[None, Usage]:
        """A request that gave nothing to parse; its papers wait for the next round. `usage`
        keeps a paid reply on the ledger even when it could not be read."""
        message = f"{len(papers)} papers not scored this round: {why}"
        log.warning("%s", message)
        run.problems.append(message)
        return None, usage or Usage()

    def _usage(self, completion: Completion) -> Usage:
        if not completion.has_usage:
            return Usage(calls=1, priced=self._prices.price(self.model) is not None)
        return self._prices.usage(
            self.model,
            completion.prompt_tokens,
            completion.cached_tokens,
            completion.completion_tokens,
        )


def connection_reason(exc: BaseException) -> str:
    """A connection failure in a few words: the innermost cause the HTTP stack chained to it
    (refused, host not found, timed out) rather than its generic wrappers."""
    if isinstance(exc, openai.APITimeoutError):
        return "no answer within the request timeout (ARXIV_BOT_LLM_TIMEOUT)"
    inner: BaseException = exc
    for _ in range(10):  # the stack nests a few wrappers; a cycle must not hang us
        cause = inner.__cause__ or inner.__context__
        if cause is None:
            break
        inner = cause
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, socket.gaierror):
        return "host name not found"
    if isinstance(inner, TimeoutError):
        return "connection timed out"
    text = _ERRNO.sub("", " ".join(str(inner).split()))
    return text[:120] or type(inner).__name__


def public_url(url: str) -> str:
    """An endpoint URL fit to print: no user, password, query or fragment (where keys hide)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(an unparsable OPENAI_BASE_URL)"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path.rstrip("/"), "", ""))


def _with_connect_timeout(timeout: object, connect: float) -> openai.Timeout:
    """The client's timeout with the connect phase bounded by `connect` seconds."""
    if isinstance(timeout, openai.Timeout):
        bounded = min(connect, timeout.connect) if timeout.connect is not None else connect
        return openai.Timeout(
            connect=bounded, read=timeout.read, write=timeout.write, pool=timeout.pool
        )
    total = float(timeout) if isinstance(timeout, int | float) else None
    return openai.Timeout(total, connect=min(connect, total) if total else connect)


def _sdk_retries(exc: openai.APIStatusError) -> bool:
    """Whether the SDK would retry this status (it honours `x-should-retry` first)."""
    should = str(exc.response.headers.get("x-should-retry") or "")
    if should in ("true", "false"):
        return should == "true"
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500


def _retry_after(exc: openai.APIStatusError, default: float) -> float:
    """The pause a status error asks for (`retry-after-ms`, `retry-after` in seconds)."""
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if 0 < seconds <= _MAX_RETRY_AFTER:
            return seconds
    return default


def _about_response_format(exc: openai.BadRequestError) -> bool:
    text = str(exc).lower()
    return "response_format" in text or "json_schema" in text or "structured" in text


def _short(exc: openai.APIError) -> str:
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status})" if status else kind


class Scorer(Protocol):
    """What the digest service needs of a scorer: its model and `score`."""

    @property
    def model(self) -> str:
        """The model scores are made (and stored) under."""
        ...

    @property
    def can_score(self) -> bool:
        """Whether `score` can make new scores (False without a key)."""
        ...

    async def score(
        self,
        papers: Sequence[Paper],
        criteria_text: str,
        sink: Sink,
        progress: Progress | None = None,
        *,
        account: Account | None = None,
        examples: Sequence[Paper] = (),
        language: str = "en",
    ) -> ScoringReport:
        """Score the papers (see `LLMScorer.score`)."""
        ...


class NoKeyScorer:
    """Stands in for the LLM when no OPENAI_API_KEY is set: scores already stored are used as
    ever, and asking for a new one raises `LLMKeyMissing` (the caller shows the day ranked
    locally instead)."""

    def __init__(self, model: str) -> None:
        self._model = model

    @property
    def model(self) -> str:
        """The model the stored scores were made under."""
        return self._model

    @property
    def can_score(self) -> bool:
        """No: there is no key."""
        return False

    async def score(
        self,
        papers: Sequence[Paper],
        criteria_text: str,
        sink: Sink,
        progress: Progress | None = None,
        *,
        account: Account | None = None,
        examples: Sequence[Paper] = (),
        language: str = "en",
    ) -> ScoringReport:
        """Never scores: there is no key."""
        raise LLMKeyMissing()
