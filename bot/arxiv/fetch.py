"""Fetching a paper's full text from arXiv, politely: its HTML rendering
(`<base>/html/<id>v<version>`), else its PDF (`<base>/pdf/<id>v<version>`), one request at a
time per host and at least `delay` seconds apart, each body at most `max_bytes`.

`FullText` says where the text came from ("html", "pdf" or "abstract"); a paper arXiv does
not have at all (404 for both) raises `PaperMissing`. Parsing is `bot.arxiv.paper_text`'s (run off
the event loop); keeping the text once per paper version is the caller's.

It must not touch the store, the LLM or a platform.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from bot.arxiv.paper_text import PaperTextError, sections_from_html, sections_from_pdf
from bot.i18n import _
from bot.models import Section


class PaperMissing(PaperTextError):
    """arXiv answered 404 for both the HTML and the PDF of a paper version."""


MAX_BYTES = 20_000_000


@dataclass(frozen=True, slots=True)
class FullText:
    """A paper version's text in sections, and where it came from."""

    source: str  # "html", "pdf" or "abstract"
    sections: tuple[Section, ...]


class _Host:
    """One host's turn: a lock and when its last request ended."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.last = 0.0


class PaperFetcher:
    """Gets a paper version's full text from arXiv (see module docstring)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str = "https://arxiv.org",
        *,
        delay: float = 3.0,
        timeout: float = 30.0,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._delay = delay
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_bytes = max_bytes
        self._hosts: dict[str, _Host] = {}

    async def full_text(self, paper_id: str, version: int) -> FullText | None:
        """The paper's HTML sections, else its PDF's; None when arXiv has the paper but
        neither could be read (the caller falls back to the abstract); PaperMissing when
        arXiv has neither."""
        ref = f"{paper_id}v{version}"
        status, body = await self._get(f"{self._base}/html/{ref}")
        if status == 200 and body:
            try:
                html = body.decode("utf-8", "replace")
                return FullText("html", tuple(await asyncio.to_thread(sections_from_html, html)))
            except PaperTextError:
                pass
        html_missing = status == 404
        status, body = await self._get(f"{self._base}/pdf/{ref}")
        if status == 404 and html_missing:
            raise PaperMissing(_("arXiv has no paper arXiv:{ref}").format(ref=ref))
        if status == 200 and body:
            try:
                return FullText("pdf", tuple(await asyncio.to_thread(sections_from_pdf, body)))
            except PaperTextError:
                return None
        return None

    async def _get(self, url: str) -> tuple[int, bytes | None]:
        """One polite GET: status and body (None when too big or unreachable)."""
        host = self._hosts.setdefault(urlsplit(url).netloc, _Host())
        async with host.lock:
            wait = host.last + self._delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._read(url)
            except (aiohttp.ClientError, TimeoutError):
                return 0, None
            finally:
                host.last = time.monotonic()

    async def _read(self, url: str) -> tuple[int, bytes | None]:
        async with self._http.get(url, timeout=self._timeout) as resp:
            if resp.status != 200:
                return resp.status, None
            if (resp.content_length or 0) > self._max_bytes:
                return resp.status, None
            body = await resp.content.read(self._max_bytes + 1)
            return resp.status, body if len(body) <= self._max_bytes else None
