"""A stand-in OpenAI chat-completions server for tests and benchmarks, on 127.0.0.1, port 0.

This module owns `FakeOpenAI`: an aiohttp server that speaks enough of OpenAI's HTTP protocol
(`POST /v1/chat/completions`, `GET /v1/models`, OpenAI-shaped errors and headers) for the real
`openai.AsyncOpenAI` client to work against it unchanged. Papers are answered by a policy, by
default the reference picks recorded in `shared/eval/labels/<day>.json`; faults queued with
`enqueue` break upcoming requests one by one; token usage, prompt caching included, is counted
deterministically from text lengths. It also offers the Batch API (`/v1/files` and
`/v1/batches`): a batch moves validating → in_progress → completed (or expired, failed,
cancelled) as it is polled, following a `BatchPlan`, with partial results and an error file;
`offers_batches=False` plays a server without the endpoint (404).

It must not reach the internet, sleep in ways that block the loop, or keep secrets: the
`Authorization` header is checked for presence only, and neither the key nor any other
credential header is logged or stored in the recorded requests.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol

from aiohttp import web

from tests.fakes.loopback import serve

DEFAULT_MODEL: Final = "gpt-4o-mini"
UNRELATED_COMMENT: Final = ""  # the prompt asks for no comment on an unrelated paper
UNRELATED_SCORE: Final = 3
LONG_KEYS: Final = ("id", "comment", "tldr", "relevance", "novelty")  # a reply's fields by default
CHARS_PER_TOKEN: Final = 4
CACHE_MIN_TOKENS: Final = 1024
CACHE_BLOCK_TOKENS: Final = 128
SYSTEM_FINGERPRINT: Final = "fp_f4ke0pena1"
MAX_BODY_BYTES: Final = 64 * 1024 * 1024

_ASKED_ID: Final = re.compile(r"^ARXIVID: (\S+)$", re.MULTILINE)
_REASONING_MODEL: Final = re.compile(r"^(o\d|gpt-5)")
_SECRET_HEADER: Final = re.compile(r"authorization|key|cookie|token|secret", re.IGNORECASE)
_NO_KEY_MESSAGE: Final = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


# Faults: each one queued with `FakeOpenAI.enqueue` spoils exactly one upcoming request.


@dataclass(frozen=True, slots=True)
class RateLimited:
    """429 with `Retry-After` and `retry-after-ms`; openai 3.x ignores a delay of 0 and backs
    off 0.375–0.5 s instead, so fast tests pass a small positive delay."""

    retry_after: float = 0.0


@dataclass(frozen=True, slots=True)
class ServerError:
    """A 5xx; `retry_after` (not sent by default) lets tests skip the SDK's 0.5 s backoff."""

    status: int = 500
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Stall:
    """Wait this long before answering, to trip a client timeout."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Truncated:
    """Cut the reply in the middle of its second paper object, `finish_reason: "length"`."""


@dataclass(frozen=True, slots=True)
class SkipIds:
    """Leave the last `n` asked papers out of the reply."""

    n: int = 1


@dataclass(frozen=True, slots=True)
class InventId:
    """Add a tempting answer (9/9) for a paper that was not asked about."""

    paper_id: str = "9999.99999"


@dataclass(frozen=True, slots=True)
class Garbage:
    """Reply with this text as the content instead of any JSON."""

    text: str = "I'm sorry, I can't help with that."


@dataclass(frozen=True, slots=True)
class Refusal:
    """A structured-output refusal: `content` null and `refusal` set, as OpenAI sends it."""

    text: str = "I'm sorry, I can't assist with that request."


@dataclass(frozen=True, slots=True)
class WrongShape:
    """HTTP 200 with exactly this JSON body instead of a completion (`{"choices": "zzz"}`,
    `{"choices": [{}]}`, a bare list...), as a broken compatible server might send."""

    body: Any = None


@dataclass(frozen=True, slots=True)
class NotJson:
    """HTTP 200 with this text as an HTML body, as a proxy's error page arrives."""

    text: str = "<html><body>Bad gateway</body></html>"


@dataclass(frozen=True, slots=True)
class ContentParts:
    """The right answer, with `content` as a list of text parts, as some servers send it."""


@dataclass(frozen=True, slots=True)
class UsageAs:
    """The right answer, with every usage count replaced by `value` ("12", "lots", null...)."""

    value: Any = "lots"


@dataclass(frozen=True, slots=True)
class RejectSchema:
    """400 for a json_schema response_format, as servers without structured output answer;
    a request without one is answered normally and still uses up this fault."""


Fault = (
    RateLimited
    | ServerError
    | Stall
    | Truncated
    | SkipIds
    | InventId
    | Garbage
    | Refusal
    | RejectSchema
    | WrongShape
    | NotJson
    | ContentParts
    | UsageAs
)


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """How the fake's batches behave: `polls` retrievals spent in_progress before the batch
    ends as `outcome` (completed, expired or failed); `finish` requests answered (None: all;
    an expired batch's unanswered ones go to its error file); `errors` request indexes
    answered with an error line."""

    polls: int = 0
    outcome: str = "completed"
    finish: int | None = None
    errors: frozenset[int] = frozenset()


@dataclass(slots=True)
class _Batch:
    id: str
    input_file_id: str
    created_at: int
    status: str = "validating"
    polls: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    cancel: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    total: int = 0
    done: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The fake model's judgement of one paper."""

    paper_id: str
    relevance: int
    novelty: int
    comment: str
    tldr: str = ""


_LANGUAGE_LINE: Final = re.compile(r"Write every comment and tldr in [^\n]*?\(([A-Za-z_]+)\)")


def asked_language(system: str) -> str | None:
    """The language code the scoring prompt asks its text in; None for English (no line)."""
    match = _LANGUAGE_LINE.search(system)
    return match.group(1) if match else None


def fake_tldr(comment: str) -> str:
    """The fake model's TL;DR of a paper: its comment's first sentence, cut short."""
    return comment.split(".")[0][:80]


def with_tldr(verdicts: Sequence[Verdict], language: str | None) -> list[Verdict]:
    """Each verdict with a one-line TL;DR from its comment, tagged `[de]` when the prompt asked
    for German, so a test sees the language the card's text was asked in."""
    tag = f"[{language}] " if language else ""
    return [
        Verdict(
            v.paper_id,
            v.relevance,
            v.novelty,
            f"{tag}{v.comment}" if v.comment and tag else v.comment,
            v.tldr or (f"{tag}{fake_tldr(v.comment)}" if v.comment else ""),
        )
        for v in verdicts
    ]


class Answerer(Protocol):
    """A policy that judges the papers of one request."""

    def answer(self, paper_ids: Sequence[str]) -> list[Verdict]:
        """One verdict per asked id, in the order asked."""
        ...


@dataclass(frozen=True, slots=True)
class LabelAnswerer:
    """Answers from a day's reference picks; every other paper is judged unrelated (3/3)."""

    selected: Mapping[str, Mapping[str, Any]]

    def answer(self, paper_ids: Sequence[str]) -> list[Verdict]:
        """Recorded relevance, novelty and comment for picks, the unrelated verdict otherwise."""
        return [self._verdict(paper_id) for paper_id in paper_ids]

    def _verdict(self, paper_id: str) -> Verdict:
        label = self.selected.get(paper_id)
        if label is None:
            return Verdict(paper_id, UNRELATED_SCORE, UNRELATED_SCORE, UNRELATED_COMMENT)
        return Verdict(
            paper_id, int(label["relevance"]), int(label["novelty"]), str(label["comment"])
        )


@dataclass(frozen=True, slots=True)
class Tokens:
    """Deterministic token counts of one answered request."""

    prompt: int
    completion: int
    cached: int


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake model says: content or a refusal, and why it stopped."""

    content: str | None
    refusal: str | None = None
    finish_reason: str = "stop"


def shared_dir() -> Path:
    """The shared fixtures: `$ARXIV_BOT_SHARED_DIR`, else the `shared/` folder beside the repo."""
    override = os.environ.get("ARXIV_BOT_SHARED_DIR")
    # tests/fakes/ -> tests/ -> repo -> the folder holding both the repo and shared/
    return Path(override) if override else Path(__file__).resolve().parents[3] / "shared"


def load_labels(day: str) -> dict[str, dict[str, Any]]:
    """The reference picks of `day` (YYYY-MM-DD): arXiv id -> relevance, novelty, comment..."""
    path = shared_dir() / "eval" / "labels" / f"{day}.json"
    selected: dict[str, dict[str, Any]] = json.loads(path.read_text("utf-8"))["selected"]
    return selected


class FakeOpenAI:
    """An OpenAI chat-completions server on 127.0.0.1; use as `async with FakeOpenAI() as fake`.

    `requests`, `asked_ids` and `request_headers` record every authenticated chat request (the
    headers without credentials); `calls` and the `total_*` counters cover answered ones only,
    as a bill would.
    """

    def __init__(
        self,
        answerer: Answerer | None = None,
        *,
        model: str = DEFAULT_MODEL,
        latency: float = 0.0,
        reject_json_schema: bool = False,
        valid_key: str | None = None,
        offers_batches: bool = True,
        batch_plan: BatchPlan | None = None,
    ) -> None:
        self.offers_batches = offers_batches
        self.batch_plan = batch_plan or BatchPlan()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.batch_calls = 0
        self.answerer: Answerer = answerer or LabelAnswerer({})
        self.valid_key = valid_key  # when set, any other key gets OpenAI's 401
        self.model = model
        self.latency = latency
        self.reject_json_schema = reject_json_schema
        self.requests: list[dict[str, Any]] = []
        self.asked_ids: list[list[str]] = []
        self.request_headers: list[dict[str, str]] = []
        self.calls = 0
        self.unauthorized = 0
        self.total_prompt_tokens = 0
        self.total_completion_tokens = 0
        self.total_cached_tokens = 0
        self._faults: deque[Fault] = deque()
        self._seen_prefixes: set[str] = set()
        self._serial = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @classmethod
    def from_labels(cls, day: str, **options: Any) -> FakeOpenAI:
        """A fake that answers like the reference pipeline did on `day`."""
        return cls(LabelAnswerer(load_labels(day)), **options)

    @property
    def base_url(self) -> str:
        """The `base_url` to give `openai.AsyncOpenAI`."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not running; use it with `async with`")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def pending_faults(self) -> int:
        """Faults queued but not yet used up by a request."""
        return len(self._faults)

    def enqueue(self, *faults: Fault) -> None:
        """Spoil the next requests, one fault each, in order of arrival."""
        self._faults.extend(faults)

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model}", self._get_model)
        if self.offers_batches:
            app.router.add_post("/v1/files", self._upload)
            app.router.add_get("/v1/files/{file}/content", self._file_content)
            app.router.add_post("/v1/batches", self._create_batch)
            app.router.add_get("/v1/batches", self._list_batches)
            app.router.add_get("/v1/batches/{batch}", self._retrieve_batch)
            app.router.add_post("/v1/batches/{batch}/cancel", self._cancel_batch)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        # A client that gives up (timeout) cancels its handler, and closing does not wait
        # for stalled handlers, so a Stall(60) costs a test nothing.
        self._runner, self._port = await serve(
            app, handler_cancellation=True, shutdown_timeout=0.05
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._port = None

    async def _chat_completions(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            self.unauthorized += 1
            return _error(401, _NO_KEY_MESSAGE)
        if self.valid_key is not None and _bearer(request) != self.valid_key:
            self.unauthorized += 1
            return _error(401, _wrong_key_message(_bearer(request)), code="invalid_api_key")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        self._record(body, request)
        invalid = _invalid_request(body)
        if invalid is not None:
            return invalid
        fault = self._faults.popleft() if self._faults else None
        failed = self._error_response(fault, body)
        if failed is not None:
            return failed
        if isinstance(fault, WrongShape | NotJson):
            return self._malformed(fault)
        return await self._answer(body, fault)

    def _malformed(self, fault: WrongShape | NotJson) -> web.Response:
        """A 200 that is not a completion; billed as a call without tokens."""
        self._count(Tokens(0, 0, 0))
        if isinstance(fault, NotJson):
            return web.Response(text=fault.text, content_type="text/html")
        return web.json_response(fault.body, headers=_common_headers())

    def _record(self, body: dict[str, Any], request: web.Request) -> None:
        self.requests.append(body)
        self.asked_ids.append(asked_ids(body))
        self.request_headers.append(
            {k.lower(): v for k, v in request.headers.items() if not _SECRET_HEADER.search(k)}
        )

    def _error_response(self, fault: Fault | None, body: Mapping[str, Any]) -> web.Response | None:
        """The error response a fault or the schema switch calls for, if any."""
        if isinstance(fault, RateLimited):
            return _rate_limited(str(body.get("model")), fault.retry_after)
        if isinstance(fault, ServerError):
            return _server_error(fault)
        wants_schema = _response_format_type(body) == "json_schema"
        if wants_schema and (self.reject_json_schema or isinstance(fault, RejectSchema)):
            return _error(
                400,
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported "
                "by this server.",
                param="response_format",
                code="unsupported_parameter",
            )
        return None

    async def _answer(self, body: dict[str, Any], fault: Fault | None) -> web.Response:
        system = _system_text(body)
        # Marked on arrival, not on completion, so cached counts depend on request order only,
        # never on timing: of 8 concurrent first requests, exactly the first is uncached.
        warm = system in self._seen_prefixes
        self._seen_prefixes.add(system)
        delay = self.latency + (fault.seconds if isinstance(fault, Stall) else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        ids = asked_ids(body)
        structured = _response_format_type(body) == "json_schema"
        verdicts = with_tldr(self.answerer.answer(ids), asked_language(system))
        reply = make_reply(verdicts, fault, structured, _max_tokens(body), schema_keys(body))
        if not ids and fault is None and not structured:
            # a question about a paper (`ask`) lists no ids: the model answers in prose
            reply = Reply(QUESTION_ANSWER)
        tokens = count_tokens(body, reply, warm=warm)
        self._count(tokens)
        payload = completion_body(
            serial=self._serial,
            model=str(body["model"]),
            reply=reply,
            tokens=tokens,
            created=int(time.time()),
        )
        return web.json_response(reshape(payload, fault), headers=_common_headers())

    def _count(self, tokens: Tokens) -> None:
        self._serial += 1
        self.calls += 1
        self.total_prompt_tokens += tokens.prompt
        self.total_completion_tokens += tokens.completion
        self.total_cached_tokens += tokens.cached

    async def _list_models(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            self.unauthorized += 1
            return _error(401, _NO_KEY_MESSAGE)
        return web.json_response({"object": "list", "data": [_model_card(self.model)]})

    async def _get_model(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            self.unauthorized += 1
            return _error(401, _NO_KEY_MESSAGE)
        name = request.match_info["model"]
        if name != self.model:
            message = f"The model '{name}' does not exist or you do not have access to it."
            return _error(404, message, param="model", code="model_not_found")
        return web.json_response(_model_card(name))

    # -- the Batch API ----------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        form = await request.post()
        upload = form.get("file")
        if form.get("purpose") != "batch" or not isinstance(upload, web.FileField):
            return _error(400, "Expected a file and purpose 'batch'.", param="file")
        data = upload.file.read()
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = data
        return web.json_response(_file_card(file_id, len(data), upload.filename, "batch"))

    async def _file_content(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        data = self.files.get(request.match_info["file"])
        if data is None:
            return _error(404, "No such File object.")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _create_batch(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        body = json.loads(await request.read())
        if body.get("input_file_id") not in self.files:
            return _error(400, "Invalid input_file_id.", param="input_file_id")
        if body.get("endpoint") != "/v1/chat/completions":
            return _error(400, "This fake batches chat completions only.", param="endpoint")
        batch = _Batch(f"batch_{uuid.uuid4().hex[:24]}", body["input_file_id"], int(time.time()))
        batch.metadata = dict(body.get("metadata") or {})
        batch.total = len(_jsonl(self.files[batch.input_file_id]))
        self.batches[batch.id] = batch
        return web.json_response(_batch_card(batch))

    async def _list_batches(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        data = [_batch_card(b) for b in reversed(self.batches.values())]  # newest first
        return web.json_response(
            {"object": "list", "data": data, "has_more": False, "first_id": None, "last_id": None}
        )

    async def _retrieve_batch(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        batch = self.batches.get(request.match_info["batch"])
        if batch is None:
            return _error(404, "No such Batch object.")
        self._advance(batch)
        return web.json_response(_batch_card(batch))

    async def _cancel_batch(self, request: web.Request) -> web.Response:
        if not _has_bearer(request):
            return _error(401, _NO_KEY_MESSAGE)
        batch = self.batches.get(request.match_info["batch"])
        if batch is None:
            return _error(404, "No such Batch object.")
        if batch.status not in ("completed", "failed", "expired", "cancelled"):
            batch.status, batch.cancel = "cancelling", True
        return web.json_response(_batch_card(batch))

    def _advance(self, batch: _Batch) -> None:
        """One poll's worth of progress, as the plan says."""
        plan = self.batch_plan
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", plan.finish if plan.finish is not None else 0)
        elif batch.status == "validating":
            batch.status = "in_progress"
            if plan.polls == 0:
                self._advance(batch)
        elif batch.status == "in_progress":
            batch.polls += 1
            if batch.polls > plan.polls or plan.polls == 0:
                if plan.outcome == "failed":
                    batch.status = "failed"
                else:
                    self._finish(batch, plan.outcome, plan.finish)

    def _finish(self, batch: _Batch, status: str, finish: int | None) -> None:
        """Answer the batch's requests (the first `finish` of them) into its output file;
        errors and unanswered requests go to its error file."""
        requests = _jsonl(self.files[batch.input_file_id])
        answered = len(requests) if finish is None else min(finish, len(requests))
        out: list[str] = []
        errors: list[str] = []
        for n, line in enumerate(requests):
            custom_id = line.get("custom_id")
            if n >= answered:
                if status != "cancelled":
                    errors.append(_batch_error(custom_id, "batch_expired", "not done in time"))
                continue
            if n in self.batch_plan.errors:
                errors.append(_batch_error(custom_id, "server_error", "The server had an error."))
                continue
            out.append(json.dumps(self._batch_answer(line)))
        batch.done, batch.failed = len(out), len(errors)
        batch.status = status
        if out:
            batch.output_file_id = self._store_file("\n".join(out) + "\n")
        if errors:
            batch.error_file_id = self._store_file("\n".join(errors) + "\n")

    def _batch_answer(self, line: Mapping[str, Any]) -> dict[str, Any]:
        body = line.get("body") or {}
        system = _system_text(body)
        warm = system in self._seen_prefixes
        self._seen_prefixes.add(system)
        ids = asked_ids(body)
        structured = _response_format_type(body) == "json_schema"
        verdicts = with_tldr(self.answerer.answer(ids), asked_language(system))
        reply = make_reply(verdicts, None, structured, _max_tokens(body), schema_keys(body))
        tokens = count_tokens(body, reply, warm=warm)
        self._serial += 1
        self.batch_calls += 1
        self.asked_ids.append(ids)
        self.total_prompt_tokens += tokens.prompt
        self.total_completion_tokens += tokens.completion
        self.total_cached_tokens += tokens.cached
        payload = completion_body(
            serial=self._serial,
            model=str(body.get("model")),
            reply=reply,
            tokens=tokens,
            created=int(time.time()),
        )
        return {
            "id": f"batch_req_{self._serial}",
            "custom_id": line.get("custom_id"),
            "response": {"status_code": 200, "request_id": f"req_{self._serial}", "body": payload},
            "error": None,
        }

    def _store_file(self, text: str) -> str:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = text.encode("utf-8")
        return file_id

    async def _unknown_route(self, request: web.Request) -> web.Response:
        return _error(404, f"Invalid URL ({request.method} {request.path})")


# Pure helpers: request reading, reply shaping, token counting, response bodies.


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text, whether `content` is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def asked_ids(body: Mapping[str, Any]) -> list[str]:
    """The ids listed as `ARXIVID: <id>` lines in the last user message."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    return _ASKED_ID.findall(message_text(users[-1])) if users else []


def _system_text(body: Mapping[str, Any]) -> str:
    """The leading system (or developer) message, the prefix OpenAI's prompt cache keys on."""
    messages = body.get("messages") or []
    first = messages[0] if messages else {}
    return message_text(first) if first.get("role") in ("system", "developer") else ""


def count_tokens(body: Mapping[str, Any], reply: Reply, *, warm: bool) -> Tokens:
    """Four characters a token; a warm system prefix is cached in 128-token blocks from 1024."""
    prompt_chars = sum(len(message_text(m)) for m in body.get("messages") or [])
    reply_chars = len(reply.content or reply.refusal or "")
    return Tokens(
        prompt=_tokens(prompt_chars),
        completion=_tokens(reply_chars),
        cached=cached_tokens(_system_text(body)) if warm else 0,
    )


def cached_tokens(system: str) -> int:
    """Tokens OpenAI would serve from cache for a repeated `system` prefix."""
    blocks = _tokens(len(system)) // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS
    return blocks if blocks >= CACHE_MIN_TOKENS else 0


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


QUESTION_ANSWER = "The excerpts answer this in the sections given."
"""What the fake model says to a request that asks about no paper id (a question)."""


def make_reply(
    verdicts: list[Verdict],
    fault: Fault | None,
    structured: bool,
    max_tokens: int | None,
    keys: Sequence[str] = LONG_KEYS,
) -> Reply:
    """The fake model's reply to one request, spoiled as `fault` asks; a structured reply
    names its fields as the request's schema does (`keys`, see `schema_keys`)."""
    if isinstance(fault, Garbage):
        return Reply(fault.text)
    if isinstance(fault, Refusal):
        return Reply(None, refusal=fault.text)
    if isinstance(fault, SkipIds):
        verdicts = verdicts[: max(0, len(verdicts) - fault.n)]
    if isinstance(fault, InventId):
        verdicts = [*verdicts, Verdict(fault.paper_id, 9, 9, "A breakthrough on every criterion.")]
    text, spans = render_structured(verdicts, keys) if structured else render_jsonl(verdicts)
    if isinstance(fault, Truncated):
        return Reply(text[: _middle_of_second(spans, len(text))], finish_reason="length")
    if max_tokens is not None and _tokens(len(text)) > max_tokens:
        return Reply(text[: max_tokens * CHARS_PER_TOKEN], finish_reason="length")
    return Reply(text)


def reshape(payload: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
    """A completion body with its content split into parts, or its usage counts replaced, as
    `ContentParts` and `UsageAs` ask."""
    if isinstance(fault, ContentParts):
        message = payload["choices"][0]["message"]
        text = message["content"] or ""
        half = len(text) // 2
        message["content"] = [
            {"type": "text", "text": text[:half]},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}},
            {"type": "text", "text": text[half:]},
        ]
    if isinstance(fault, UsageAs):
        usage = payload["usage"]
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            usage[key] = fault.value
        usage["prompt_tokens_details"]["cached_tokens"] = fault.value
    return payload


Spans = tuple[tuple[int, int], ...]


def schema_keys(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The names a strict structured reply gives a paper's id, comment, TL;DR, relevance and
    novelty, in that order (`id`, `c`, `t`, `r`, `n` name them by their first letter);
    `LONG_KEYS` when the schema does not say."""
    fmt: Any = body.get("response_format")
    try:
        props = fmt["json_schema"]["schema"]["properties"]["papers"]["items"]["properties"]
    except (KeyError, TypeError):
        return LONG_KEYS
    names = [str(k) for k in props] if isinstance(props, Mapping) else []
    wanted = {"i": "id", "c": "comment", "t": "tldr", "r": "relevance", "n": "novelty"}
    if sorted(n[:1].lower() for n in names) != sorted(wanted):
        return LONG_KEYS
    by_field = {wanted[n[:1].lower()]: n for n in names}
    return tuple(by_field[f] for f in LONG_KEYS)


def render_structured(
    verdicts: Sequence[Verdict], keys: Sequence[str] = LONG_KEYS
) -> tuple[str, Spans]:
    """`{"papers":[...]}` as strict structured output writes it (fields named `keys`: id,
    comment, relevance, novelty), and where each paper sits."""
    pieces = [
        json.dumps(
            dict(zip(keys, (v.paper_id, v.comment, v.tldr, v.relevance, v.novelty), strict=True)),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for v in verdicts
    ]
    return _joined('{"papers":[', pieces, ",", "]}")


def render_jsonl(verdicts: Sequence[Verdict]) -> tuple[str, Spans]:
    """One `{"ARXIVID", "COMMENT", "RELEVANCE", "NOVELTY"}` line a paper, as the old tool asked."""
    pieces = [
        json.dumps(
            {
                "ARXIVID": v.paper_id,
                "COMMENT": v.comment,
                "TLDR": v.tldr,
                "RELEVANCE": v.relevance,
                "NOVELTY": v.novelty,
            },
            ensure_ascii=False,
        )
        for v in verdicts
    ]
    return _joined("", pieces, "\n", "")


def _joined(prefix: str, pieces: Sequence[str], sep: str, suffix: str) -> tuple[str, Spans]:
    spans: list[tuple[int, int]] = []
    at = len(prefix)
    for piece in pieces:
        spans.append((at, at + len(piece)))
        at += len(piece) + len(sep)
    return prefix + sep.join(pieces) + suffix, tuple(spans)


def _middle_of_second(spans: Spans, length: int) -> int:
    """Where to cut: mid second paper, mid the only one, or mid the text without papers."""
    if not spans:
        return length // 2
    start, end = spans[1] if len(spans) > 1 else spans[0]
    return (start + end) // 2


def completion_body(
    *, serial: int, model: str, reply: Reply, tokens: Tokens, created: int
) -> dict[str, Any]:
    """A `chat.completion` shaped like the live API's (see the recorded snapshots)."""
    return {
        "id": f"chatcmpl-F4ke{serial:024d}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.content,
                    "refusal": reply.refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
            "total_tokens": tokens.prompt + tokens.completion,
            "prompt_tokens_details": {"cached_tokens": tokens.cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _response_format_type(body: Mapping[str, Any]) -> str:
    response_format = body.get("response_format")
    return str(response_format.get("type")) if isinstance(response_format, Mapping) else "text"


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) and value > 0 else None


def _invalid_request(body: Mapping[str, Any]) -> web.Response | None:
    """OpenAI's 400 for a request it would refuse before running the model."""
    if not isinstance(body.get("model"), str):
        return _error(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "'messages' must be a non-empty array.", param="messages")
    if not all(isinstance(m, Mapping) and isinstance(m.get("role"), str) for m in messages):
        return _error(400, "Each message must be an object with a 'role'.", param="messages")
    if body.get("stream"):
        return _error(400, "This fake does not stream; call without stream=True.", param="stream")
    if _REASONING_MODEL.match(body["model"]):
        return _reasoning_refusal(body)
    return None


def _reasoning_refusal(body: Mapping[str, Any]) -> web.Response | None:
    """Reasoning models refuse a temperature other than 1 and the old `max_tokens` name."""
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return _error(
            400,
            f"Unsupported value: 'temperature' does not support {temperature} with this model. "
            "Only the default (1) value is supported.",
            param="temperature",
            code="unsupported_value",
        )
    if "max_tokens" in body:
        return _error(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    return None


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def _wrong_key_message(key: str) -> str:
    """OpenAI's 401 text, which shows the start and end of the key it refused."""
    masked = f"{key[:3]}{'*' * max(len(key) - 7, 0)}{key[-4:]}"
    return (
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )


def _has_bearer(request: web.Request) -> bool:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(key.strip())


def _rate_limited(model: str, retry_after: float) -> web.Response:
    message = (
        f"Rate limit reached for {model} in organization org-fake on tokens per min (TPM): "
        f"Limit 30000, Used 30000, Requested 1000. Please try again in {retry_after:g}s."
    )
    headers = _retry_headers(retry_after)
    return _error(429, message, error_type="tokens", code="rate_limit_exceeded", headers=headers)


def _server_error(fault: ServerError) -> web.Response:
    message = "The server had an error while processing your request. Sorry about that!"
    headers = _retry_headers(fault.retry_after) if fault.retry_after is not None else {}
    return _error(fault.status, message, error_type="server_error", code=None, headers=headers)


def _retry_headers(seconds: float) -> dict[str, str]:
    return {"retry-after": f"{seconds:g}", "retry-after-ms": str(round(seconds * 1000))}


def _error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An error in OpenAI's `{"error": {message, type, param, code}}` shape."""
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return web.json_response(body, status=status, headers={**_common_headers(), **(headers or {})})


def _common_headers() -> dict[str, str]:
    return {
        "x-request-id": f"req_{uuid.uuid4().hex}",
        "openai-version": "2020-10-01",
        "openai-processing-ms": "1",
    }


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def _batch_error(custom_id: object, code: str, message: str) -> str:
    return json.dumps(
        {
            "id": f"batch_req_{uuid.uuid4().hex[:12]}",
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": message},
        }
    )


def _file_card(file_id: str, size: int, filename: str, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def _batch_card(batch: _Batch) -> dict[str, Any]:
    """A `batch` object shaped like the live API's."""
    errors = (
        {"object": "list", "data": [{"code": "invalid_request", "message": "validation failed"}]}
        if batch.status == "failed"
        else None
    )
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": errors,
        "input_file_id": batch.input_file_id,
        "completion_window": "24h",
        "status": batch.status,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "created_at": batch.created_at,
        "request_counts": {
            "total": batch.total,
            "completed": batch.done,
            "failed": batch.failed,
        },
        "metadata": batch.metadata,
    }


def _model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1721172741, "owned_by": "system"}
