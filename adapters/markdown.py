"""Markdown and JSON renderings of a digest, for the terminal, files and scripts.

The markdown reproduces the layout of the daily reports of the tool arxiv-bot replaces (title with
date, token/cost table, counts, table of contents, one section per paper, the criteria sent),
with honest per-stage counts, a "Followed" part for the channel's followed authors and keywords,
and each card's venue and code links. Every text that came from a paper, the model or a user is
stripped of control and invisible characters (bidi overrides, zero-width characters, BOMs) and
bounded: an abstract is cut at ABSTRACT_CHARS. Pure functions: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from bot.arxiv.links import code_links, venue
from bot.digest.selection import (
    FOLLOWED_NOTE,
    FOLLOWED_TITLE,
    LOCAL_TITLE,
    LOCAL_TITLE_NOTE,
    MORE_LIKE_NOTE,
    MORE_LIKE_TITLE,
    digest_to_json,
    followed_detail,
    followed_part,
    followed_reasons,
    local_line,
    note_text,
    share_line,
)
from bot.i18n import _
from bot.models import Digest, DigestEntry, FollowedEntry, LocalView, Paper, Usage
from bot.safety import clip, excerpt, strip_controls
from scoring.pricing import format_usd

ABSTRACT_CHARS: Final = 3_000  # arXiv caps abstracts at 1,920; anything longer is not one
TITLE_CHARS: Final = 500
AUTHORS_CHARS: Final = 1_000
COMMENT_CHARS: Final = 2_000
CRITERIA_CHARS: Final = 20_000
FOLLOWED_SHOWN: Final = 50  # lines of the "Followed" part; the JSON form lists them all

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINK_TEXT = re.compile(r"([\[\]])")


def text(value: str, limit: int = COMMENT_CHARS) -> str:
    """Paper text made inert in markdown: no raw HTML tags, no invisible characters, one line
    of at most `limit` characters."""
    return _TAG_START.sub("&lt;", excerpt(value, limit))


def link_text(value: str) -> str:
    """Text safe inside `[...]` of a markdown link."""
    return _LINK_TEXT.sub(r"\\\1", text(value, TITLE_CHARS))


def usage_table(model: str, usage: Usage) -> str:
    """The token and cost table under the title."""
    return "\n".join(
        [
            f"| *[{model}]* | Prompt | Cached | Completion | Total |",
            "|:------------:|:--------:|:--------:|:------------:|:-------:|",
            f"| **Token** | {usage.prompt_tokens} | {usage.cached_tokens} | "
            f"{usage.completion_tokens} | {usage.total_tokens} |",
            f"| **Cost** | {format_usd(usage.prompt_cost_usd, usage.priced)} | (incl.) | "
            f"{format_usd(usage.completion_cost_usd, usage.priced)} | "
            f"{format_usd(usage.cost_usd, usage.priced)} |",
        ]
    )


def _counts(digest: Digest) -> list[str]:
    c = digest.counts
    lines = [
        f"Total arXiv papers: {c.announced}",
        f"Total considered papers: {c.considered}",
        f"Total sent to the LLM: {c.sent} ({c.ranked_out} ranked out locally)",
        f"Total scored papers: {c.scored}",
        f"Total relevant papers: {c.selected}",
    ]
    share = share_line(digest)
    notes = [f"*{text(note_text(note))}*" for note in digest.notes]
    return lines + notes + ([f"*{share}*"] if share else [])


def _more_like(digest: Digest) -> list[str]:
    """The "more like what you liked" part: papers just under the thresholds."""
    if not digest.more_like:
        return []
    items = [
        f"- [{link_text(e.paper.title)}]({e.paper.abs_url}) (arXiv:{e.paper.id}): relevance "
        f"{e.score.relevance}, novelty {e.score.novelty}"
        for e in digest.more_like
    ]
    return [f"## {_(MORE_LIKE_TITLE)}\n\n*{_(MORE_LIKE_NOTE)}*\n\n" + "\n".join(items), "---"]


def _followed(entries: tuple[FollowedEntry, ...]) -> list[str]:
    """The "Followed" part: followed papers the cards above do not show, with why."""
    if not entries:
        return []
    items = [
        f"- [{link_text(f.paper.title)}]({f.paper.abs_url}) (arXiv:{f.paper.id}): "
        f"{text(followed_detail(f))}"
        for f in entries[:FOLLOWED_SHOWN]
    ]
    if len(entries) > FOLLOWED_SHOWN:
        items.append(f"- … and {len(entries) - FOLLOWED_SHOWN} more followed papers")
    return [f"## {_(FOLLOWED_TITLE)}\n\n*{_(FOLLOWED_NOTE)}*\n\n" + "\n".join(items), "---"]


def _ranked_locally(digest: Digest) -> list[str]:
    """A day ranked locally only: the local ranking's best papers, labelled so."""
    items = [
        f"{n}. [{link_text(p.title)}]({p.abs_url}) (arXiv:{p.id}): {local_line(n, score)}"
        for n, (p, score) in enumerate(digest.ranked_locally, 1)
    ]
    return [f"## {_(LOCAL_TITLE)}\n\n*{_(LOCAL_TITLE_NOTE)}*\n\n" + "\n".join(items), "---"]


def code_and_venue(p: Paper) -> list[str]:
    """A card's venue and code lines, when the paper has them."""
    lines = []
    where = venue(p)
    if where:
        lines.append(f"**Venue:** {text(where)}")
    links = code_links(p)
    if links:
        shown = ", ".join(f"[{link_text(u.removeprefix('https://'))}]({u})" for u in links)
        lines.append(f"**Code:** {shown}")
    return lines


def _toc_line(n: int, entry: DigestEntry) -> str:
    p = entry.paper
    return (
        f"{n}. [{link_text(p.title)}](#user-content-link{n})\n"
        f"**Authors:** {text(', '.join(p.authors), AUTHORS_CHARS)}"
    )


def _section(n: int, entry: DigestEntry, reasons: tuple[str, ...] = ()) -> str:
    p, s = entry.paper, entry.score
    lines = [
        f'## {n}. [{link_text(p.title)}]({p.abs_url}) <a id="link{n}"></a>',
        f"**ArXiv ID:** {p.id}",
        f"**Authors:** {text(', '.join(p.authors), AUTHORS_CHARS)}",
        f"**Abstract:** {text(p.abstract, ABSTRACT_CHARS)}",
    ]
    if reasons:
        lines.append(f"**Followed:** {text('; '.join(reasons))}")
    if p.comment:
        lines.append(f"**arXiv comment:** {text(p.comment)}")
    lines += code_and_venue(p)
    if s.tldr:
        lines.append(f"**TL;DR:** {text(s.tldr)}")
    lines.append(f"**Comment:** {text(s.comment)}")
    lines.append(f"**Relevance:** {s.relevance}\n**Novelty:** {s.novelty}")
    return "\n\n".join(lines)


def render_markdown(digest: Digest) -> str:
    """The digest as a markdown report."""
    parts = [
        f"# Personalized Daily ArXiv Papers {digest.day.isoformat()}",
        usage_table(digest.model, digest.usage),
        *_counts(digest),
    ]
    if digest.entries:
        toc = "\n\n".join(_toc_line(n, e) for n, e in enumerate(digest.entries, 1))
        parts += ["**Table of contents with paper titles:**", toc, "---"]
        for n, entry in enumerate(digest.entries, 1):
            parts += [_section(n, entry, followed_reasons(digest, entry.paper.id)), "---"]
    elif digest.ranked_locally:
        parts += _ranked_locally(digest)
    else:
        parts.append("No paper met the thresholds today.")
        parts.append("---")
    parts += _followed(followed_part(digest))
    parts += _more_like(digest)
    parts += [
        f"# Paper Selection Criteria (version {digest.criteria_version})",
        f"Thresholds: relevance ≥ {digest.thresholds.relevance}, "
        f"novelty ≥ {digest.thresholds.novelty}.",
        clip(strip_controls(digest.criteria.text).strip(), CRITERIA_CHARS),
    ]
    return "\n\n".join(parts) + "\n"


LOCAL_NOTE: Final = "ranked locally, not scored by an LLM: set OPENAI_API_KEY to score"


def render_local_markdown(view: LocalView) -> str:
    """A day ranked on this machine only, clearly labelled as such."""
    note = view.note or LOCAL_NOTE
    learned = (f" and {view.verdicts} earlier LLM verdicts" if view.verdicts else "") + (
        f" and {view.liked} likes" if view.liked else ""
    )
    parts = [
        f"# ArXiv Papers {view.day.isoformat()} ({note})",
        f"*{note[0].upper()}{note[1:]}.* {view.announced} papers announced, "
        f"{view.considered} considered; the {len(view.top)} below rank highest by similarity "
        f"to the criteria{learned}.",
        "---",
    ]
    for n, (p, score) in enumerate(view.top, 1):
        lines = [
            f"## {n}. [{link_text(p.title)}]({p.abs_url})",
            f"**ArXiv ID:** {p.id} · **local score:** {score:.2f}",
            f"**Authors:** {text(', '.join(p.authors), AUTHORS_CHARS)}",
            f"**Abstract:** {text(p.abstract, ABSTRACT_CHARS)}",
            *code_and_venue(p),
        ]
        parts += ["\n\n".join(lines), "---"]
    parts += _followed(view.followed)
    return "\n\n".join(parts) + "\n"


def render_local_json(view: LocalView) -> str:
    """The same for scripts: `"scored": false` says no LLM was asked."""
    data = {
        "day": view.day.isoformat(),
        "scored": False,
        "note": view.note or LOCAL_NOTE,
        "announced": view.announced,
        "considered": view.considered,
        "papers": [
            {
                "rank": n,
                "id": p.id,
                "title": strip_controls(p.title),
                "authors": [strip_controls(a) for a in p.authors],
                "abs_url": p.abs_url,
                "local_score": round(score, 4),
            }
            for n, (p, score) in enumerate(view.top, 1)
        ],
        "followed": [
            {
                "id": f.paper.id,
                "title": strip_controls(f.paper.title),
                "abs_url": f.paper.abs_url,
                "reasons": [strip_controls(r) for r in f.reasons],
            }
            for f in view.followed
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render_json(digest: Digest) -> str:
    """The digest as JSON for scripts (stable keys, UTF-8), without invisible characters in
    its texts; nothing is shortened."""
    return json.dumps(_visible(digest_to_json(digest)), ensure_ascii=False, indent=2) + "\n"


def _visible(value: Any) -> Any:
    """A JSON value with `strip_controls` applied to every string in it."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {key: _visible(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_visible(inner) for inner in value]
    return value
