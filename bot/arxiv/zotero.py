"""A Zotero library or collection read through Zotero's Web API (v3) with `pyzotero`.

`read_library` returns the library's (or one collection's) top-level items as the API's JSON,
at most `limit` of them: a larger library is refused before its pages are read. Zotero's
answers become one user-facing `ZoteroError` each: a refused key (401/403), a library or
collection that does not exist (404), Zotero unreachable or answering garbage. The base URL is
a setting (`ARXIV_BOT_ZOTERO_URL`), so tests point it at a fake.

The key is a `Secret`: it goes to pyzotero's `Authorization` header and nowhere else; no error
or log line here carries it (pyzotero's own error text, which quotes the server's answer, is
never shown or logged). pyzotero is synchronous, so the whole read runs in a worker thread.
This module must not store anything or decide what is imported.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from bot.errors import BotError
from bot.i18n import _, number
from bot.secret import Secret

ZOTERO_URL = "https://api.zotero.org"
PAGE = 100  # items per request: the most Zotero's API returns at once
TIMEOUT_SECONDS = 30.0

_LIBRARY = re.compile(r"(users?|groups?):(\d{1,12})", re.IGNORECASE)
_COLLECTION = re.compile(r"[A-Z0-9]{8}")


class ZoteroError(BotError):
    """Zotero could not give the library: the message says why, for people."""


@dataclass(frozen=True, slots=True)
class ZoteroLibrary:
    """A Zotero library (`user` or `group` and its number), optionally one collection of it."""

    kind: str
    number: str
    collection: str | None = None

    @property
    def name(self) -> str:
        """How people write it: `user:123`, `group:45 collection ABCD1234`."""
        tail = f" collection {self.collection}" if self.collection else ""
        return f"{self.kind}:{self.number}{tail}"


def parse_library(text: str) -> ZoteroLibrary:
    """`user:123`, `group:45`, `users:123 collection ABCD1234` → a library; else ZoteroError."""
    words = text.split()
    m = _LIBRARY.fullmatch(words[0]) if words else None
    collection = None
    if len(words) == 3 and words[1].lower() == "collection":
        collection = words[2].upper()
    if m is None or len(words) not in (1, 3) or (len(words) == 3 and collection is None):
        raise ZoteroError(
            _(
                "say `/arxiv import zotero user:<id>` or `group:<id>`, optionally followed by "
                "`collection <KEY>` (the numbers are in Zotero's settings, under Feeds/API)"
            )
        )
    if collection is not None and not _COLLECTION.fullmatch(collection):
        raise ZoteroError(
            _("a Zotero collection key is 8 letters and digits, not {key}").format(
                key=repr(words[2][:20])
            )
        )
    return ZoteroLibrary(m.group(1).lower().rstrip("s"), m.group(2), collection)


async def read_library(
    library: ZoteroLibrary, key: Secret | None, *, base_url: str = ZOTERO_URL, limit: int
) -> list[dict[str, Any]]:
    """The library's (or collection's) top-level items, at most `limit` (more is refused)."""
    return await asyncio.to_thread(_read, library, key, base_url, limit)


def _read(
    library: ZoteroLibrary, key: Secret | None, base_url: str, limit: int
) -> list[dict[str, Any]]:
    import httpx
    from pyzotero import zotero, zotero_errors

    zotero.timeout = TIMEOUT_SECONDS  # pyzotero's only timeout is this module global
    zot = zotero.Zotero(library.number, library.kind, key.get_secret_value() if key else None)
    zot.endpoint = base_url.rstrip("/")
    try:
        return _pages(zot, library, limit)
    # `from None`: pyzotero's error text quotes the server's whole answer
    except zotero_errors.UserNotAuthorisedError:
        raise ZoteroError(_refused(library, key)) from None
    except zotero_errors.ResourceNotFoundError:
        where = f"{library.kind}:{library.number}"
        raise ZoteroError(
            _("Zotero has no collection {key} in {library} (check the collection key)").format(
                key=library.collection, library=where
            )
            if library.collection
            else _("Zotero has no library {library}").format(library=where)
        ) from None
    except (httpx.TransportError, zotero_errors.TooManyRetriesError) as exc:
        raise ZoteroError(
            _(
                "Zotero could not be reached at {url} ({error}); nothing was imported: try "
                "again later"
            ).format(url=zot.endpoint, error=type(exc).__name__)
        ) from None
    except (zotero_errors.PyZoteroError, ValueError):
        raise ZoteroError(
            _("Zotero answered with something unexpected; nothing was imported: try again later")
        ) from None
    finally:
        zot.client.close()


def _pages(zot: Any, library: ZoteroLibrary, limit: int) -> list[dict[str, Any]]:
    if library.collection:
        items = list(zot.collection_items_top(library.collection, limit=PAGE))
    else:
        items = list(zot.top(limit=PAGE))
    total = _total(zot)
    if total is not None and total > limit:
        raise ZoteroError(_too_many(library, total, limit))
    while zot.links and zot.links.get("next"):
        items.extend(zot.follow())
        if len(items) > limit:
            raise ZoteroError(_too_many(library, len(items), limit))
    return [item for item in items if isinstance(item, dict)]


def _total(zot: Any) -> int | None:
    try:
        return int(zot.request.headers.get("Total-Results", ""))
    except ValueError:
        return None


def _too_many(library: ZoteroLibrary, total: int, limit: int) -> str:
    return _(
        "{library} holds {count} items; an import takes at most {limit}: import a collection "
        "of it (`collection <KEY>`)"
    ).format(library=library.name, count=number(total), limit=number(limit))


def _refused(library: ZoteroLibrary, key: Secret | None) -> str:
    where = f"{library.kind}:{library.number}"
    if key is None or not len(key):
        return _(
            "Zotero refused to show {library} without a key: the library is private, so give a "
            "key that may read it"
        ).format(library=where)
    return _(
        "Zotero refused the key for {library} (403): check that it may read this library "
        "(zotero.org/settings/keys); nothing was imported"
    ).format(library=where)
