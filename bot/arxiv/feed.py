"""Parse one arXiv announcement feed (RSS 2.0 or its Atom flavour) into a `FeedDay`.

This module owns reading rss.arxiv.org's XML: ids and versions, announce types, authors,
categories, the announcement day, de-duplication inside one feed, and turning a broken or
non-feed body into a one-line `FeedError`. Bad items are skipped with one warning for the feed;
a feed with items of which none can be read (or with items but no date) raises
`FeedUnreadable`: only a feed without items means "no announcement".

It must not do I/O (fetching lives elsewhere) or enrich papers: the feed does not say a
paper's primary category, so `primary_category` stays None for the API step to fill.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import date, datetime
from email.utils import parsedate_to_datetime

# defusedxml ships no type information; the ignore stays harmless if stubs are ever installed.
from defusedxml import DefusedXmlException  # type: ignore[import-untyped,unused-ignore]
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped,unused-ignore]

from bot.arxiv.texclean import collapse_whitespace, strip_announce_prefix, tex_to_unicode
from bot.errors import FeedError, FeedUnreadable
from bot.models import AnnounceType, FeedDay, FeedItem, Paper

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z-]+)?/\d{7})(?:v(?P<version>\d+))?"
)
_DESCRIPTION_ID = re.compile(r"arXiv:(\S+)")
_DESCRIPTION_TYPE = re.compile(r"Announce\s+Type:\s*([A-Za-z-]+)")
_HTML_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html)", re.IGNORECASE
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_LAST_AND = re.compile(r"(?:^|\s+)and\s+")
_PROBLEMS_SHOWN = 3
_PROBLEM_CHARS = 160
_STEP = 16_384  # bytes of XML per parser call

# When one paper appears twice in a feed, the more telling announcement wins.
_PREFERENCE = {
    AnnounceType.NEW: 0,
    AnnounceType.CROSS: 1,
    AnnounceType.REPLACE: 2,
    AnnounceType.REPLACE_CROSS: 3,
}


class _BadItem(ValueError):
    """One item cannot be used; the rest of the feed still can."""


_ItemParser = Callable[[ET.Element], FeedItem]


def parse_feed(content: bytes) -> FeedDay:
    """Parse an arXiv RSS 2.0 or Atom announcement feed; raise `FeedError` if it is not one."""
    root = _parse_xml(content)
    if root.tag == "rss":
        return _rss_day(root)
    if root.tag == f"{ATOM}feed":
        return _atom_day(root)
    if _local_name(root.tag).lower() == "html":
        raise FeedError(_html_message(content))
    root_name = _local_name(root.tag)
    raise FeedError(f"arXiv returned XML that is neither RSS nor Atom (root <{root_name}>)")


def parse_arxiv_id(text: str) -> tuple[str, int] | None:
    """``2609.26811v2`` → (``2609.26811``, 2); old ``math/0501001`` ids too; version 1 if absent."""
    match = _ID.fullmatch(text.strip())
    if match is None:
        return None
    version = match.group("version")
    return match.group("id"), int(version) if version else 1


def split_authors(creators: str) -> tuple[str, ...]:
    """``A, B and C`` (or ``A, B, and C``) → (``A``, ``B``, ``C``), TeX accents resolved."""
    parts = [p for p in creators.split(",") if p.strip()]
    if parts:
        parts[-1:] = _LAST_AND.split(parts[-1])
    names = (tex_to_unicode(p) for p in parts)
    return tuple(n for n in names if n)


# --- XML and error pages -------------------------------------------------------------------


def _parse_xml(content: bytes) -> ET.Element:
    if not content.strip():
        raise FeedError("arXiv returned an empty body instead of a feed")
    if _HTML_START.match(content):
        raise FeedError(_html_message(content))
    try:
        root = _parse_in_steps(content)
    except ET.ParseError as err:
        if re.search(rb"<html[\s>]", content, re.IGNORECASE):
            raise FeedError(_html_message(content)) from None
        line, column = err.position
        reason = str(err).split(":")[0]
        raise FeedError(
            f"arXiv's feed is malformed XML ({reason} at line {line}, column {column})"
        ) from None
    except DefusedXmlException as err:
        raise FeedError(f"arXiv's feed uses forbidden XML constructs ({err!r})") from None
    return root


def _parse_in_steps(content: bytes) -> ET.Element:
    """The document's root, parsed `_STEP` bytes at a time. One call over a 2 MB feed holds
    the interpreter lock for its whole length; in steps, the event loop's thread gets a turn
    between them while a worker thread parses."""
    parser = SafeET.DefusedXMLParser(target=ET.TreeBuilder())
    for start in range(0, len(content), _STEP):
        parser.feed(content[start : start + _STEP])
    root: ET.Element = parser.close()
    return root


def _html_message(content: bytes) -> str:
    message = "arXiv returned an HTML page instead of a feed"
    match = _HTML_TITLE.search(content)
    if match is None:
        return message
    title = collapse_whitespace(html.unescape(match.group(1).decode("utf-8", "replace")))
    return f"{message}: {title[:120]}" if title else message


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "") if found is not None else ""


# --- RSS 2.0 --------------------------------------------------------------------------------


def _rss_day(root: ET.Element) -> FeedDay:
    channel = root.find("channel")
    if channel is None:
        raise FeedError("arXiv's RSS feed has no <channel>")
    items = channel.findall("item")
    stamps = [_text(channel, "pubDate"), *(_text(i, "pubDate") for i in items)]
    day = _first_date(_rfc822_date(s) for s in [*stamps, _text(channel, "lastBuildDate")])
    return _feed_day(day, items, _rss_item)


def _rss_item(item: ET.Element) -> FeedItem:
    description = _text(item, "description")
    arxiv_id, version = _item_id(_text(item, "guid"), _text(item, "link"), description)
    creators = _text(item, f"{DC}creator")
    paper = Paper(
        id=arxiv_id,
        title=_title(_text(item, "title")),
        abstract=tex_to_unicode(strip_announce_prefix(description)),
        authors=split_authors(creators),
        categories=_unique(c.text.strip() for c in item.findall("category") if c.text),
        version=version,
    )
    return FeedItem(paper=paper, announce_type=_announce_type(item, description))


def _rfc822_date(stamp: str) -> date | None:
    """The calendar date in the stamp's own offset (arXiv's midnight in New York)."""
    try:
        return parsedate_to_datetime(stamp.strip()).date()
    except (TypeError, ValueError, IndexError):
        return None


# --- Atom -----------------------------------------------------------------------------------


def _atom_day(root: ET.Element) -> FeedDay:
    entries = root.findall(f"{ATOM}entry")
    stamps = [*(_text(e, f"{ATOM}published") for e in entries), _text(root, f"{ATOM}updated")]
    day = _first_date(_iso_date(s) for s in stamps)
    return _feed_day(day, entries, _atom_entry)


def _atom_entry(entry: ET.Element) -> FeedItem:
    summary = _text(entry, f"{ATOM}summary")
    link = next((e.get("href", "") for e in entry.findall(f"{ATOM}link")), "")
    arxiv_id, version = _item_id(_text(entry, f"{ATOM}id"), link, summary)
    terms = (c.get("term", "").strip() for c in entry.findall(f"{ATOM}category"))
    paper = Paper(
        id=arxiv_id,
        title=_title(_text(entry, f"{ATOM}title")),
        abstract=tex_to_unicode(strip_announce_prefix(summary)),
        authors=_atom_authors(entry),
        categories=_unique(t for t in terms if t),
        version=version,
    )
    return FeedItem(paper=paper, announce_type=_announce_type(entry, summary))


def _atom_authors(entry: ET.Element) -> tuple[str, ...]:
    creators = _text(entry, f"{DC}creator")
    if creators.strip():
        return split_authors(creators)
    names = (_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author"))
    return tuple(n for n in (tex_to_unicode(n) for n in names) if n)


def _iso_date(stamp: str) -> date | None:
    try:
        return datetime.fromisoformat(stamp.strip()).date()
    except ValueError:
        return None


# --- shared item logic ----------------------------------------------------------------------


def _feed_day(day: date | None, elements: list[ET.Element], parse: _ItemParser) -> FeedDay:
    """The feed's items read one by one; a feed with items must yield some, and a date."""
    items, problems = _parse_items(elements, parse)
    if elements and not items:
        raise FeedUnreadable(
            f"arXiv's feed had {len(elements)} items and none could be read "
            f"(the first: {problems[0]}); arXiv may have changed its feed format"
        )
    if problems:
        extra = len(problems) - _PROBLEMS_SHOWN
        more = f"; … {extra} more" if extra > 0 else ""
        logger.warning(
            "Skipped %d of %d feed items: %s%s",
            len(problems),
            len(elements),
            "; ".join(problems[:_PROBLEMS_SHOWN]),
            more,
        )
    if items and day is None:
        raise FeedUnreadable(f"arXiv's feed had {len(elements)} items but no announcement date")
    return FeedDay(day=day, items=_dedupe(items))


def _parse_items(
    elements: Iterable[ET.Element], parse: _ItemParser
) -> tuple[list[FeedItem], list[str]]:
    """The items that could be read, and a short note for each one that could not."""
    items: list[FeedItem] = []
    problems: list[str] = []
    for position, element in enumerate(elements, start=1):
        try:
            items.append(parse(element))
        except ValueError as err:  # _BadItem, or text no cleaning could make sense of
            problems.append(f"item {position}: {str(err)[:_PROBLEM_CHARS]}")
    return items, problems


def _item_id(guid: str, link: str, description: str) -> tuple[str, int]:
    """The id from the guid (``oai:arXiv.org:<id>v<n>``), else the description, else the link.

    The description comes before the link because only it still carries the version.
    """
    in_description = _DESCRIPTION_ID.search(description)
    candidates = (
        guid.rpartition("oai:arXiv.org:")[2] if "oai:arXiv.org:" in guid else "",
        in_description.group(1) if in_description else "",
        link.rpartition("/abs/")[2] if "/abs/" in link else "",
    )
    for candidate in candidates:
        parsed = parse_arxiv_id(candidate)
        if parsed is not None:
            return parsed
    raise _BadItem(f"no arXiv id in guid {guid!r} or link {link!r}")


def _title(raw: str) -> str:
    title = tex_to_unicode(raw)
    if not title:
        raise _BadItem("no title")
    return title


def _announce_type(element: ET.Element, description: str) -> AnnounceType:
    raw = _text(element, f"{ARXIV}announce_type").strip()
    if not raw:
        found = _DESCRIPTION_TYPE.search(description)
        raw = found.group(1) if found else ""
    try:
        return AnnounceType(raw.lower())
    except ValueError:
        raise _BadItem(f"unknown announce type {raw!r}") from None


def _dedupe(items: Iterable[FeedItem]) -> tuple[FeedItem, ...]:
    """One item per id, in first-seen order; `new` beats `cross` beats replacements."""
    kept: dict[str, FeedItem] = {}
    for item in items:
        seen = kept.get(item.paper.id)
        if seen is None or _PREFERENCE[item.announce_type] < _PREFERENCE[seen.announce_type]:
            kept[item.paper.id] = item
    return tuple(kept.values())


def _first_date(dates: Iterable[date | None]) -> date | None:
    return next((d for d in dates if d is not None), None)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
