"""Enrich feed papers through arXiv's query API, using the `arxiv` package's client.

This module owns the API's manners and failures: `id_list` batches, at least `delay_seconds`
between any two requests (batches and retries alike, on an injected clock and sleep), a timeout
on every HTTP request, exponential backoff on 406/429/5xx, connection errors and timeouts, and
`ArxivUnavailable` once attempts run out. It turns API entries into `Paper`s and drops arXiv's
error entries. Only what the feed lacks is cleaned of TeX (the comment, the journal reference)
or cheap to clean (author names): titles and abstracts come back as arXiv wrote them,
whitespace collapsed, because the feed already gave the store clean ones and cleaning them
again cost a second of CPU a day.

It must not parse the RSS feed, store anything or call arXiv without going through `fetch`.
The `arxiv` client is synchronous, so each request runs in a worker thread, and so does what
follows it: reading the answer (the client's own lxml parser since arxiv 4.0, 30-40 ms of CPU
for 100 entries) and building its papers (TeX cleaning). The event loop only waits for the
papers. That thread never keeps the interpreter lock long: beside it, another thread waits
1-2 ms for the lock whether an answer holds 10 entries or 200 (`python -m bench.api_answer`),
so the page size (`batch_size`) is no lever on the loop's stalls.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import arxiv
import requests
from requests.adapters import HTTPAdapter

from bot.arxiv.feed import parse_arxiv_id
from bot.arxiv.texclean import collapse_whitespace, tex_to_unicode
from bot.errors import ArxivUnavailable, FeedError
from bot.models import Paper

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# 406 is here because export.arxiv.org answered it to ordinary queries in September 2026.
_RETRYABLE_STATUSES = frozenset({406, 408, 425, 429})
_MAX_RETRY_AFTER = 300.0
_ERROR_ENTRY = "/api/errors"

_TimeoutArg = float | tuple[float | None, float | None] | None


class UnreadableAnswer(Exception):
    """arXiv answered 200 with something the `arxiv` parser choked on (e.g. a garbled date)."""


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout and remembers the last response's ``Retry-After``.

    The `arxiv` client's `requests.Session` sends without a timeout, so a server that accepts
    the connection and never answers would hang a worker thread forever.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout
        self.retry_after: float | None = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: _TimeoutArg = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        self.retry_after = None
        response = super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


class ArxivApi:
    """Fetches papers by id from arXiv's API, politely and with retries."""

    def __init__(
        self,
        api_url: str,
        *,
        batch_size: int = 100,
        delay_seconds: float = 3.0,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_seconds: float = 5.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self._api_url = api_url
        self._batch_size = batch_size
        self._delay = delay_seconds
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._turn = asyncio.Lock()  # concurrent fetches still take turns with the spacing

    async def fetch(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Papers for the given ids (versions ignored), keyed by id without version.

        Ids arXiv does not know are simply absent. Raises `ArxivUnavailable` when a batch keeps
        failing, `FeedError` when arXiv refuses the query itself.
        """
        wanted = unversioned_ids(ids)
        if not wanted:
            return {}
        client, adapter = self._new_client()
        try:
            papers: dict[str, Paper] = {}
            for batch in batches(wanted, self._batch_size):
                papers.update(await self._fetch_batch(client, adapter, batch))
            return papers
        finally:
            client._session.close()

    def _new_client(self) -> tuple[Any, _TimeoutAdapter]:
        # The library must neither sleep nor retry: both happen here, on the injected clock.
        client = arxiv.Client(page_size=self._batch_size, delay_seconds=0, num_retries=0)
        client.query_url_format = self._api_url + "?{}"
        adapter = _TimeoutAdapter(self._timeout)
        # `_session` is private, but the client offers no other way to set a timeout.
        client._session.mount("http://", adapter)
        client._session.mount("https://", adapter)
        return client, adapter

    async def search_title(self, title: str, max_results: int = 5) -> list[Paper]:
        """Papers whose title has these words (arXiv's `ti:` search), best match first; the
        caller decides which, if any, is the one it meant. Same manners and errors as
        `fetch`."""
        words = " ".join(re.findall(r"[^\W_]+", title))
        if not words:
            return []
        client, adapter = self._new_client()
        try:
            search = arxiv.Search(query=f'ti:"{words}"', max_results=max_results)
            found = await self._attempts(adapter, lambda: self._request(client, search))
            return list(found.values())  # dicts keep the answer's order: best match first
        finally:
            client._session.close()

    async def _fetch_batch(
        self, client: Any, adapter: _TimeoutAdapter, batch: Sequence[str]
    ) -> dict[str, Paper]:
        search = arxiv.Search(id_list=list(batch), max_results=len(batch))
        return await self._attempts(adapter, lambda: self._request(client, search))

    async def _attempts(
        self, adapter: _TimeoutAdapter, request: Callable[[], Awaitable[dict[str, Paper]]]
    ) -> dict[str, Paper]:
        reason = "no attempt made"
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await request()
            except arxiv.HTTPError as err:
                if not is_retryable_status(err.status):
                    raise FeedError(f"arXiv API refused the query: HTTP {err.status}") from None
                reason = f"HTTP {err.status}"
            except requests.RequestException as err:
                reason = describe_network_error(err)
            except UnreadableAnswer:
                reason = "unreadable answer"
            logger.warning(
                "arXiv API attempt %d/%d failed: %s", attempt, self._max_attempts, reason
            )
            if attempt < self._max_attempts:
                await self._sleep(self._pause(attempt, adapter.retry_after))
        raise ArxivUnavailable(
            f"arXiv API unavailable: {reason} after {self._max_attempts} attempts"
        )

    async def _request(self, client: Any, search: Any) -> dict[str, Paper]:
        async with self._turn:
            await self._wait_turn()
            try:
                return await asyncio.to_thread(papers_found, client, search)
            finally:
                self._last_request = self._clock()

    async def _wait_turn(self) -> None:
        """Keep `delay_seconds` between requests, as arXiv's terms of use ask."""
        if self._last_request is None:
            return
        remaining = self._delay - (self._clock() - self._last_request)
        if remaining > 0:
            await self._sleep(remaining)

    def _pause(self, attempt: int, retry_after: float | None) -> float:
        backoff = self._backoff * 2.0 ** (attempt - 1)
        return backoff if retry_after is None else max(backoff, retry_after)


def papers_found(client: Any, search: Any) -> dict[str, Paper]:
    """One blocking query and the papers it found (run in a thread, answer read and papers
    built there too)."""
    return papers_from_results(run_search(client, search))


def run_search(client: Any, search: Any) -> list[Any]:
    """One blocking query (run in a thread): an `id_list` batch or a title search."""
    found: list[Any] = []
    try:
        found.extend(client.results(search))
    except arxiv.UnexpectedEmptyPageError:
        # arXiv may count ids it does not have in totalResults, so the client asks for a
        # further page that comes back empty: everything found is already in hand.
        logger.info("arXiv API reported more results than it returned (%d kept)", len(found))
    except ValueError as err:
        raise UnreadableAnswer(str(err)) from err
    return found


def papers_from_results(results: Sequence[Any]) -> dict[str, Paper]:
    """Cleaned papers keyed by id; arXiv's error entries and unparseable ids are dropped."""
    papers: dict[str, Paper] = {}
    for result in results:
        paper = paper_from_result(result)
        if paper is not None:
            papers[paper.id] = paper
    return papers


def paper_from_result(result: Any) -> Paper | None:
    """One `arxiv.Result` as a `Paper`, or None for an error entry. Title and abstract are
    not cleaned of TeX (the feed's cleaned ones are kept); authors, comment and journal
    reference are."""
    entry_id = str(result.entry_id)
    parsed = parse_arxiv_id(entry_id.rpartition("/abs/")[2]) if "/abs/" in entry_id else None
    if parsed is None:
        if _ERROR_ENTRY in entry_id:
            logger.warning("arXiv API error entry: %s", collapse_whitespace(str(result.summary)))
        else:
            logger.warning("arXiv API entry with an unexpected id: %r", entry_id)
        return None
    primary = str(result.primary_category or "") or None
    return Paper(
        id=parsed[0],
        title=collapse_whitespace(str(result.title)),
        abstract=collapse_whitespace(str(result.summary)),
        authors=tuple(tex_to_unicode(str(a.name)) for a in result.authors),
        categories=primary_first(primary, [str(c) for c in result.categories]),
        primary_category=primary,
        comment=tex_to_unicode(str(result.comment)) if result.comment else None,
        version=parsed[1],
        journal_ref=tex_to_unicode(str(result.journal_ref)) if result.journal_ref else None,
    )


def primary_first(primary: str | None, categories: Sequence[str]) -> tuple[str, ...]:
    """Categories without repeats, the primary one first."""
    ordered = [primary, *categories] if primary else list(categories)
    return tuple(dict.fromkeys(ordered))


def unversioned_ids(ids: Sequence[str]) -> list[str]:
    """Ids without versions, de-duplicated in order; malformed ids are dropped with a warning.

    A malformed id would make arXiv answer the whole batch with a single error entry.
    """
    clean: dict[str, None] = {}
    for raw in ids:
        parsed = parse_arxiv_id(raw)
        if parsed is None:
            logger.warning("Not an arXiv id, not querying it: %r", raw)
        else:
            clean[parsed[0]] = None
    return list(clean)


def batches(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most `size` ids."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def is_retryable_status(status: int) -> bool:
    """Rate limits, arXiv's spurious 406 and server errors are worth another try."""
    return status in _RETRYABLE_STATUSES or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (the delta-seconds form), capped; else None."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, _MAX_RETRY_AFTER)


def describe_network_error(err: requests.RequestException) -> str:
    """A short reason without the URL-laden repr requests produces."""
    if isinstance(err, requests.Timeout):
        return "request timed out"
    if isinstance(err, requests.ConnectionError):
        return "connection failed"
    return f"request failed ({type(err).__name__})"
