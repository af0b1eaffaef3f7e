"""A fake Zotero Web API (v3) on 127.0.0.1, answering the paths pyzotero calls to read a
library: `/{users|groups}/{id}/items/top` and `/{users|groups}/{id}/collections/{KEY}/items/top`,
paged with `start`/`limit`, `Total-Results` and a `Link: <…>; rel="next"` header, as Zotero does.

This module owns `FakeZotero`: libraries a test adds (items as the API's JSON), each public or
behind one key (sent as `Authorization: Bearer KEY` or `Zotero-API-Key`); a wrong or missing
key on a private library is 403 "Forbidden", a collection it lacks 404. It records each request
(path, query, whether a key came) but never the key itself. It must not reach the internet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve


@dataclass(slots=True)
class _Library:
    key: str | None  # None: public
    items: list[dict[str, Any]] = field(default_factory=list)
    collections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ZoteroRequest:
    """One request the fake received (never the key it carried)."""

    path: str
    query: Mapping[str, str]
    keyed: bool


def zotero_item(key: str, title: str, **fields: str) -> dict[str, Any]:
    """An item as the Web API returns it (`{"key", "version", "data": {...}}`); `fields` are
    Zotero's names (`url`, `DOI`, `extra`, `archiveID`, `itemType`, ...)."""
    data: dict[str, Any] = {"key": key, "itemType": "journalArticle", "title": title, **fields}
    return {"key": key, "version": 1, "library": {"type": "user"}, "data": data}


class FakeZotero:
    """api.zotero.org's read paths in one small local server."""

    def __init__(self) -> None:
        self.requests: list[ZoteroRequest] = []
        self._libraries: dict[tuple[str, str], _Library] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def __aenter__(self) -> FakeZotero:
        app = web.Application()
        app.router.add_get("/{kind}/{number}/items/top", self._top)
        app.router.add_get("/{kind}/{number}/collections/{collection}/items/top", self._top)
        self._runner, self._port = await serve(app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """What ARXIV_BOT_ZOTERO_URL points at."""
        return f"http://127.0.0.1:{self._port}"

    def add_library(
        self,
        kind: str,
        number: str,
        items: Iterable[dict[str, Any]],
        *,
        key: str | None = None,
        collections: Mapping[str, Iterable[dict[str, Any]]] | None = None,
    ) -> None:
        """A library (`kind` is `users` or `groups`) with its top-level items and collections."""
        self._libraries[(kind, number)] = _Library(
            key, list(items), {k: list(v) for k, v in (collections or {}).items()}
        )

    async def _top(self, request: web.Request) -> web.Response:
        given = _key_of(request)
        self.requests.append(ZoteroRequest(request.path, dict(request.query), given is not None))
        library = self._libraries.get((request.match_info["kind"], request.match_info["number"]))
        if library is None:
            return web.Response(status=404, text="Not found")
        if library.key is not None and given != library.key:
            return web.Response(status=403, text="Forbidden")
        items = library.items
        collection = request.match_info.get("collection")
        if collection is not None:
            if collection not in library.collections:
                return web.Response(status=404, text="Collection not found")
            items = library.collections[collection]
        start = int(request.query.get("start", "0"))
        limit = min(100, int(request.query.get("limit", "25")))
        page = items[start : start + limit]
        headers = {"Total-Results": str(len(items)), "Zotero-API-Version": "3"}
        if start + limit < len(items):
            url = request.url.with_query({"start": str(start + limit), "limit": str(limit)})
            headers["Link"] = f'<{url}>; rel="next"'
        return web.json_response(page, headers=headers)


def _key_of(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    return request.headers.get("Zotero-API-Key")
