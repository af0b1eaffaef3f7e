"""Ingest: fetch the day's arXiv announcement feed, store it, and enrich papers from the API.

One combined RSS request covers every configured category. The announcement day comes from the
feed; a feed without items (weekends, holidays) is a normal "no announcement" result, while a
feed whose items cannot be read is an error (`FeedUnreadable`). Parsing runs in a worker thread,
off the event loop. `new` and `cross` items are stored as the day's announcements; `replace`
items only update papers we already know.
Enrichment through the arXiv API is best effort: if the API is down the digest still works with
the feed's fields, and the papers are enriched on a later run.

This module must not score, select or render anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from bot.arxiv.categories import categories_key
from bot.arxiv.feed import parse_feed
from bot.errors import ArxivUnavailable, FeedError
from bot.models import AnnounceType, FeedDay

if TYPE_CHECKING:
    import aiohttp

    from bot.arxiv.api import ArxivApi
    from bot.store import Store

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_FEED_BYTES = 64 * 1024 * 1024  # a real daily feed is a few MB; anything larger is not one
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one feed fetch found and stored."""

    day: date | None
    new: int = 0
    cross: int = 0
    replaced: int = 0

    @property
    def announced(self) -> bool:
        """False on days without an announcement."""
        return self.day is not None and (self.new + self.cross) > 0


class FeedClient:
    """Downloads the RSS feed with a timeout, retrying 429/5xx and network errors with backoff
    (honouring `Retry-After`)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = 30.0,
        attempts: int = 4,
        backoff: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/") + "/"
        import aiohttp  # loaded when a feed is fetched, not when the command line starts

        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep

    def url(self, categories: Sequence[str]) -> str:
        """The one combined feed URL for a set of categories."""
        return self._base_url + "+".join(categories)

    async def fetch(self, categories: Sequence[str]) -> bytes:
        """The feed's body; raises ArxivUnavailable after the last failed attempt."""
        import aiohttp

        url = self.url(categories)
        why, wait = "no attempt made", 0.0
        for attempt in range(self._attempts):
            if attempt:
                log.warning("arXiv feed: %s; retrying in %.0fs", why, wait)
                await self._sleep(wait)
            backoff = self._backoff * 2**attempt
            try:
                body, status, retry_after = await self._get(url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                why, wait = _describe_network_error(exc), backoff
                continue
            if status == 200:
                return body
            if status not in RETRY_STATUSES:
                raise FeedError(f"arXiv answered HTTP {status} for {url}")
            why = f"HTTP {status}"
            wait = retry_after if retry_after is not None else backoff
        raise ArxivUnavailable(
            f"arXiv is unavailable: {why} after {self._attempts} attempts ({url})"
        )

    async def _get(self, url: str) -> tuple[bytes, int, float | None]:
        async with self._http.get(url, timeout=self._timeout) as resp:
            if resp.content_length and resp.content_length > MAX_FEED_BYTES:
                raise FeedError(f"arXiv's feed is {resp.content_length:,} bytes, too large")
            body = bytearray()
            async for chunk in resp.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise FeedError("arXiv's feed is larger than 64 MB; refusing to parse it")
            return bytes(body), resp.status, _retry_after(resp.headers.get("Retry-After"))


class Ingestor:
    """Fetches, parses and stores a day's announcements; enriches papers from the API."""

    def __init__(
        self,
        store: Store,
        feed: FeedClient,
        api: ArxivApi | None,
    ) -> None:
        self._store = store
        self._feed = feed
        self._api = api
        self._locks: dict[str, asyncio.Lock] = {}

    async def fetch(self, categories: Sequence[str]) -> IngestResult:
        """Fetch and store today's feed. Nothing stored is touched if the feed is unusable.
        Channels reading the same categories share one request at a time."""
        key = categories_key(categories)
        async with self._locks.setdefault(key, asyncio.Lock()):
            body = await self._feed.fetch(categories)
            # TeX cleaning of a few thousand items takes CPU seconds: keep the loop answering
            feed_day = await asyncio.to_thread(parse_feed, body)
            if feed_day.is_empty or feed_day.day is None:
                log.info("arXiv feed %s: no announcement (day %s)", key, feed_day.day)
                return IngestResult(day=None)
            return await self._store_day(feed_day, key)

    async def _store_day(self, feed_day: FeedDay, key: str) -> IngestResult:
        assert feed_day.day is not None
        announced = [
            (i.paper, i.announce_type) for i in feed_day.items if not i.announce_type.is_replacement
        ]
        replacements = [i.paper for i in feed_day.items if i.announce_type.is_replacement]
        await self._store.papers.save_announcements(feed_day.day, key, announced)
        replaced = await self._store.papers.apply_replacements(replacements)
        result = IngestResult(
            day=feed_day.day,
            new=sum(1 for _, t in announced if t is AnnounceType.NEW),
            cross=sum(1 for _, t in announced if t is AnnounceType.CROSS),
            replaced=replaced,
        )
        log.info(
            "arXiv feed %s: %d new, %d cross-lists, %d replacements of known papers",
            result.day,
            result.new,
            result.cross,
            result.replaced,
        )
        return result

    async def enrich(self, ids: Sequence[str]) -> int:
        """Fill primary category and comment from the arXiv API for papers that lack them.
        Best effort: returns how many papers were enriched, 0 when the API is unavailable."""
        if self._api is None:
            return 0
        todo = await self._store.papers.unenriched(ids)
        if not todo:
            return 0
        try:
            found = await self._api.fetch(todo)
        except FeedError as exc:
            log.warning("enrichment skipped, will retry next run: %s", exc)
            return 0
        await self._store.papers.save_enrichment(found.values())
        return len(found)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _describe_network_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"network error ({type(exc).__name__})"
