"""Realistic arXiv payloads built from the evaluation days in ``shared/eval/days``.

This module owns synthesising bytes in arXiv's real formats: the RSS 2.0 announcement feed (the
structure of ``shared/fixtures/arxiv_rss/rss_*.xml``), an empty weekend feed, and the 2026 API
Atom format (``shared/fixtures/arxiv_api/new_format_*.xml``), error entries included.

It must not parse anything or touch the network; tests parse its output with the bot's own code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax import saxutils
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_CATEGORIES = ("cs.LG", "cs.AI")
_RSS_NAMESPACES = (
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
)
_API_NAMESPACES = (
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom"'
)
# Characters XML 1.0 cannot carry at all; arXiv never sends them, so neither do we.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LICENSE = "http://creativecommons.org/licenses/by/4.0/"
_API_PUBLISHED = datetime(2025, 1, 15, 17, 59, 54, tzinfo=UTC)


def shared_dir() -> Path:
    """``shared/`` beside the checkout, or ``$ARXIV_BOT_SHARED_DIR``."""
    override = os.environ.get("ARXIV_BOT_SHARED_DIR")
    # parents: [0] fakes, [1] tests, [2] the checkout, [3] the folder holding shared/
    return Path(override) if override else Path(__file__).resolve().parents[3] / "shared"


def fixture(relative: str) -> bytes:
    """A recorded response from ``shared/fixtures``, e.g. ``arxiv_rss/rss_….xml``."""
    return (shared_dir() / "fixtures" / relative).read_bytes()


def load_eval_day(day: str) -> list[dict[str, Any]]:
    """Every paper of one evaluation day (``YYYY-MM-DD``), as the JSONL dicts."""
    path = shared_dir() / "eval" / "days" / f"{day}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def eval_days() -> list[str]:
    """The names of all evaluation days, oldest first."""
    return sorted(p.stem for p in (shared_dir() / "eval" / "days").glob("*.jsonl"))


# --- RSS ------------------------------------------------------------------------------------


def rss_feed(
    papers: Iterable[Mapping[str, Any]],
    day: date,
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    announce_types: Mapping[str, str] | None = None,
) -> bytes:
    """The day's RSS 2.0 feed for `categories`, as rss.arxiv.org writes it."""
    overrides = announce_types or {}
    items = "".join(
        _rss_item(p, day, overrides.get(p["id"]) or announce_type(p, categories)) for p in papers
    )
    return _rss_document(day, categories, items)


def empty_rss_feed(day: date, *, categories: Sequence[str] = DEFAULT_CATEGORIES) -> bytes:
    """A feed with a channel and no items, as on weekends and holidays."""
    return _rss_document(day, categories, "")


def announce_type(paper: Mapping[str, Any], categories: Sequence[str]) -> str:
    """`new` for a paper whose primary category is listed, `cross` otherwise or if seen late."""
    if paper.get("announce_type_inferred") == "late_first_seen":
        return "cross"
    return "new" if paper.get("primary_category") in categories else "cross"


def _rss_document(day: date, categories: Sequence[str], items: str) -> bytes:
    names = ", ".join(categories)
    url = f"http://rss.arxiv.org/rss/{'+'.join(categories)}"
    built = datetime.combine(day, time(8, 58, 5), tzinfo=UTC)
    return _document(
        f'<rss {_RSS_NAMESPACES} version="2.0">\n  <channel>\n'
        f"    <title>{escape(names)} updates on arXiv.org</title>\n"
        f"    <link>{escape(url)}</link>\n"
        f"    <description>{escape(names)} updates on the arXiv.org e-print archive."
        "</description>\n"
        f'    <atom:link href={quoteattr(url)} rel="self" type="application/rss+xml"/>\n'
        "    <docs>http://www.rssboard.org/rss-specification</docs>\n"
        "    <language>en-us</language>\n"
        f"    <lastBuildDate>{format_datetime(built)}</lastBuildDate>\n"
        "    <managingEditor>rss-help@arxiv.org</managingEditor>\n"
        f"    <pubDate>{_announce_stamp(day)}</pubDate>\n"
        "    <skipDays>\n      <day>Sunday</day>\n      <day>Saturday</day>\n    </skipDays>\n"
        f"{items}  </channel>\n</rss>\n"
    )


def _rss_item(paper: Mapping[str, Any], day: date, kind: str) -> str:
    arxiv_id = paper["id"]
    description = f"arXiv:{arxiv_id}v1 Announce Type: {kind} \nAbstract: {paper['abstract']}"
    categories = "".join(
        f"      <category>{escape(c)}</category>\n" for c in paper.get("categories", ())
    )
    return (
        "    <item>\n"
        f"      <title>{escape(paper['title'])}</title>\n"
        f"      <link>https://arxiv.org/abs/{escape(arxiv_id)}</link>\n"
        f"      <description>{escape(description)}</description>\n"
        f'      <guid isPermaLink="false">oai:arXiv.org:{escape(arxiv_id)}v1</guid>\n'
        f"{categories}"
        f"      <pubDate>{_announce_stamp(day)}</pubDate>\n"
        f"      <arxiv:announce_type>{escape(kind)}</arxiv:announce_type>\n"
        f"      <dc:rights>{_LICENSE}</dc:rights>\n"
        f"      <dc:creator>{escape(', '.join(paper.get('authors', ())))}</dc:creator>\n"
        "    </item>\n"
    )


def _announce_stamp(day: date) -> str:
    """Midnight in New York, e.g. ``Thu, 24 Sep 2026 00:00:00 -0400``."""
    return format_datetime(datetime.combine(day, time(0), tzinfo=NEW_YORK))


# --- API (2026 format) ----------------------------------------------------------------------


def api_feed(
    papers: Iterable[Mapping[str, Any]],
    *,
    total_results: int | None = None,
    query: str = "",
    errors: Sequence[str] = (),
) -> bytes:
    """An API answer listing `papers`, then one error entry per message in `errors`."""
    listed = list(papers)
    total = len(listed) + len(errors) if total_results is None else total_results
    entries = "".join(_api_entry(p) for p in listed) + "".join(_error_entry(e) for e in errors)
    digest = hashlib.sha1(query.encode()).hexdigest()[:27]
    return _document(
        f"<feed {_API_NAMESPACES}>\n"
        f"  <id>https://arxiv.org/api/{digest}</id>\n"
        f"  <title>arXiv Query: {escape(query)}</title>\n"
        f"  <updated>{_iso(datetime.now(UTC))}</updated>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"{entries}</feed>\n"
    )


def _api_entry(paper: Mapping[str, Any]) -> str:
    arxiv_id = escape(paper["id"])
    comment = paper.get("comment")
    categories = "".join(
        f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>\n'
        for c in paper.get("categories", ())
    )
    authors = "".join(
        f"    <author>\n      <name>{escape(a)}</name>\n    </author>\n"
        for a in paper.get("authors", ())
    )
    stamp = _iso(_API_PUBLISHED)
    return (
        "  <entry>\n"
        f"    <id>http://arxiv.org/abs/{arxiv_id}v1</id>\n"
        f"    <title>{escape(paper['title'])}</title>\n"
        f"    <updated>{stamp}</updated>\n"
        f'    <link href="https://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>\n'
        f'    <link href="https://arxiv.org/pdf/{arxiv_id}v1" rel="related" '
        'type="application/pdf" title="pdf"/>\n'
        f"    <summary>{escape(paper['abstract'])}</summary>\n"
        f"{categories}"
        f"    <published>{stamp}</published>\n"
        + (f"    <arxiv:comment>{escape(comment)}</arxiv:comment>\n" if comment else "")
        + (
            f"    <arxiv:journal_ref>{escape(paper['journal_ref'])}</arxiv:journal_ref>\n"
            if paper.get("journal_ref")
            else ""
        )
        + f"    <arxiv:primary_category term={quoteattr(paper['primary_category'])}/>\n"
        f"{authors}  </entry>\n"
    )


def _error_entry(message: str) -> str:
    """arXiv's way of reporting a bad query: an entry whose id points at its error list."""
    anchor = escape(message.replace(" ", "_"))
    return (
        "  <entry>\n"
        f"    <id>https://arxiv.org/api/errors#{anchor}</id>\n"
        "    <title>Error</title>\n"
        f"    <summary>{escape(message)}</summary>\n"
        f"    <updated>{_iso(_API_PUBLISHED)}</updated>\n"
        f"    <published>{_iso(_API_PUBLISHED)}</published>\n"
        f'    <link href="https://arxiv.org/api/errors#{anchor}" rel="alternate" '
        'type="text/html"/>\n'
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def escape(text: str) -> str:
    """Text safe inside an XML element."""
    return saxutils.escape(_NOT_XML.sub("", text))


def quoteattr(text: str) -> str:
    """A quoted XML attribute value."""
    return saxutils.quoteattr(_NOT_XML.sub("", text))


def _document(body: str) -> bytes:
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + body).encode("utf-8")
