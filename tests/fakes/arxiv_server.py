"""A fake arXiv on 127.0.0.1: the RSS feed, the query API and papers' HTML and PDF full
texts (`/html/<id>v<n>`, `/pdf/<id>v<n>`), with fault injection.

This module owns `FakeArxiv`, an aiohttp server on an ephemeral port that serves whatever RSS
body a test set, answers API ``id_list`` queries (and ``ti:`` title searches) from a registry
of eval-day paper dicts (with ``start``/``max_results`` paging), and can fail or stall the
next requests of either kind. It records every request so tests can check batching and
spacing.

It must not reach the internet or decide anything the bot decides; it only answers like arXiv.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from tests.fakes.loopback import serve
from tests.fakes.synth import api_feed

PathKind = Literal["rss", "api", "html", "pdf"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received."""

    kind: PathKind
    path: str
    query: Mapping[str, str]
    at: float


@dataclass(frozen=True, slots=True)
class _Fault:
    """What to do instead of (or before) answering one request."""

    status: int | None = None
    retry_after: int | None = None
    body: bytes = b""
    stall_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Body:
    body: bytes
    status: int
    content_type: str


class FakeArxiv:
    """rss.arxiv.org and export.arxiv.org/api/query in one small local server."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` stamps recorded requests; pass a test's fake clock to check spacing."""
        self.requests: list[RecordedRequest] = []
        self._clock = clock
        self._feed = _Body(b"", 404, "text/plain")
        self._api_body: _Body | None = None
        self._papers: dict[str, Mapping[str, Any]] = {}
        self._faults: dict[PathKind, deque[_Fault]] = {
            "rss": deque(),
            "api": deque(),
            "html": deque(),
            "pdf": deque(),
        }
        self._documents: dict[tuple[str, str], _Body] = {}
        self._held: dict[str, asyncio.Event] = {}
        self.waiting = 0  # feed requests held right now
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def __aenter__(self) -> FakeArxiv:
        app = web.Application()
        app.router.add_get("/rss/{categories}", self._rss)
        app.router.add_get("/atom/{categories}", self._rss)
        app.router.add_get("/api/query", self._api)
        app.router.add_get("/html/{ref:.+}", self._html)
        app.router.add_get("/pdf/{ref:.+}", self._pdf)
        self._runner, self._port = await serve(app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # ends stalled handlers now, so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rss_url(self) -> str:
        """Base of the feed URL; the bot appends e.g. ``cs.LG+cs.AI``."""
        return f"http://127.0.0.1:{self._port}/rss/"

    @property
    def base_url(self) -> str:
        """What ARXIV_BOT_ARXIV_URL points at: `/html/` and `/pdf/` live under it."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The query API endpoint."""
        return f"http://127.0.0.1:{self._port}/api/query"

    # --- what the fake serves ---------------------------------------------------------------

    def set_feed(
        self, body: bytes, *, status: int = 200, content_type: str = "application/rss+xml"
    ) -> None:
        """Serve `body` for every feed path from now on."""
        self._feed = _Body(body, status, content_type)

    def add_papers(self, papers: Iterable[Mapping[str, Any]]) -> None:
        """Make papers (eval-day dicts) answerable by ``id_list`` queries."""
        self._papers.update((p["id"], p) for p in papers)

    def set_document(
        self, kind: Literal["html", "pdf"], ref: str, body: bytes, *, content_type: str = ""
    ) -> None:
        """Serve `body` at `/<kind>/<ref>` (ref as `2505.01234v1`); other refs are 404."""
        default = "text/html" if kind == "html" else "application/pdf"
        self._documents[(kind, ref)] = _Body(body, 200, content_type or default)

    def set_api_body(
        self, body: bytes | None, *, status: int = 200, content_type: str = "application/atom+xml"
    ) -> None:
        """Serve a raw (e.g. recorded) body for every API query; None returns to the registry."""
        self._api_body = None if body is None else _Body(body, status, content_type)

    def fail_next(
        self,
        path_kind: PathKind,
        count: int,
        status: int,
        *,
        retry_after: int | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next `count` requests of this kind with `status` (and `body`)."""
        fault = _Fault(status=status, retry_after=retry_after, body=body)
        self._faults[path_kind].extend([fault] * count)

    def heal(self, path_kind: PathKind) -> None:
        """Drop the faults still queued for this kind: its next requests are answered."""
        self._faults[path_kind].clear()

    def stall_next(self, path_kind: PathKind, count: int, seconds: float) -> None:
        """Wait `seconds` before answering each of the next `count` requests of this kind."""
        self._faults[path_kind].extend([_Fault(stall_seconds=seconds)] * count)

    def hold_feed(self, categories: str) -> asyncio.Event:
        """Keep every feed request of these categories (e.g. ``math.OC``) waiting until the
        returned event is set."""
        return self._held.setdefault(categories, asyncio.Event())

    def requests_of(self, kind: PathKind) -> list[RecordedRequest]:
        """The recorded requests of one kind, oldest first."""
        return [r for r in self.requests if r.kind == kind]

    def _title_search(self, search_query: str) -> list[Mapping[str, Any]]:
        """`ti:"words"`: the registered papers whose title has all the words (arXiv ranks
        by relevance; the fake keeps registration order)."""
        m = re.fullmatch(r'ti:"?(.*?)"?', search_query.strip())
        words = set(_title_words(m.group(1) if m else search_query))
        return [p for p in self._papers.values() if words <= set(_title_words(p["title"]))]

    # --- handlers ---------------------------------------------------------------------------

    async def _rss(self, request: web.Request) -> web.StreamResponse:
        held = self._held.get(request.match_info["categories"])
        if held is not None and not held.is_set():
            self.waiting += 1
            ends = [asyncio.create_task(held.wait()), asyncio.create_task(self._closing.wait())]
            try:
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.waiting -= 1
                for end in ends:
                    end.cancel()
        faulted = await self._apply_fault("rss", request)
        return faulted or _respond(self._feed)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        faulted = await self._apply_fault("api", request)
        if faulted is not None:
            return faulted
        if self._api_body is not None:
            return _respond(self._api_body)
        return _respond(_Body(self._answer_query(request.query), 200, "application/atom+xml"))

    async def _html(self, request: web.Request) -> web.StreamResponse:
        return await self._document("html", request)

    async def _pdf(self, request: web.Request) -> web.StreamResponse:
        return await self._document("pdf", request)

    async def _document(self, kind: PathKind, request: web.Request) -> web.StreamResponse:
        faulted = await self._apply_fault(kind, request)
        if faulted is not None:
            return faulted
        found = self._documents.get((kind, request.match_info["ref"]))
        return _respond(found or _Body(b"not found", 404, "text/plain"))

    async def _apply_fault(self, kind: PathKind, request: web.Request) -> web.Response | None:
        self.requests.append(
            RecordedRequest(kind, request.path, dict(request.query), self._clock())
        )
        if not self._faults[kind]:
            return None
        fault = self._faults[kind].popleft()
        if fault.stall_seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.stall_seconds)
        if fault.status is None:
            return None
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return web.Response(status=fault.status, body=fault.body, headers=headers)

    def _answer_query(self, query: Mapping[str, str]) -> bytes:
        ids = [_unversioned(i) for i in query.get("id_list", "").split(",") if i]
        found = [self._papers[i] for i in ids if i in self._papers]
        if not ids and query.get("search_query"):
            found = self._title_search(query["search_query"])
        start = int(query.get("start", "0"))
        size = int(query.get("max_results", "10"))
        # Like arXiv, totalResults counts the whole answer, not this page.
        return api_feed(
            found[start : start + size],
            total_results=len(found),
            query=f"search_query=&id_list={','.join(ids)}&start={start}&max_results={size}",
        )


def _title_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _respond(body: _Body) -> web.Response:
    return web.Response(body=body.body, status=body.status, content_type=body.content_type)


def _unversioned(arxiv_id: str) -> str:
    head, _, version = arxiv_id.rpartition("v")
    return head if head and version.isdigit() else arxiv_id
