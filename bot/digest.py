"""Selecting a digest from scored papers, and its JSON form.

Pure functions only: selection by thresholds, deterministic order, honest stage counts, and the
(de)serialisation used by the store and by `--format json`. Rendering for people lives in the
adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
    digest_order,
)


def select(
    papers: Iterable[Paper], scores: Mapping[str, Score], thresholds: Thresholds
) -> tuple[DigestEntry, ...]:
    """The papers whose scores pass the thresholds, best first, in a deterministic order."""
    entries = [
        DigestEntry(p, scores[p.id])
        for p in papers
        if p.id in scores and thresholds.admits(scores[p.id])
    ]
    return tuple(sorted(entries, key=digest_order))


def unscored_note(unscored: int, sent: int) -> str:
    """The honest note a digest carries when some of the papers sent to the LLM could not be
    scored."""
    return f"{unscored} of {sent} papers could not be scored; they will be retried on the next run."


def budget_note(unscored: int, sent: int, budget: str) -> str:
    """The note of a digest whose scoring stopped at the daily LLM budget."""
    return (
        f"The daily LLM budget of {budget} was reached: {unscored} of {sent} papers sent to the "
        "LLM were not scored."
    )


def stage_counts(
    announced: Sequence[str],
    considered: Sequence[str],
    scores: Mapping[str, Score],
    selected: int,
    replaced: int = 0,
    sent: Sequence[str] | None = None,
) -> StageCounts:
    """Per-stage counts, each over distinct arXiv ids. `sent` is what the local ranking sent to
    the LLM (None: everything considered); only those count as unscored when they lack a score."""
    considered_ids = set(considered)
    sent_ids = considered_ids if sent is None else set(sent) & considered_ids
    return StageCounts(
        announced=len(set(announced)),
        considered=len(considered_ids),
        scored=len(considered_ids & scores.keys()),
        selected=selected,
        unscored=len(sent_ids - scores.keys()),
        replaced=replaced,
        ranked_out=len(considered_ids) - len(sent_ids),
    )


def digest_to_json(digest: Digest) -> dict[str, Any]:
    """A JSON-ready dict of a digest: stable keys for scripts."""
    return {
        "day": digest.day.isoformat(),
        "channel": digest.channel_id,
        "model": digest.model,
        "criteria": {
            "version": digest.criteria_version,
            "sha256": digest.criteria.sha256,
            "text": digest.criteria.text,
        },
        "thresholds": asdict(digest.thresholds),
        "counts": asdict(digest.counts),
        "usage": _usage_json(digest.usage),
        "run_usage": _usage_json(digest.run_usage),
        "notes": list(digest.notes),
        "papers": [_entry_json(e) for e in digest.entries],
    }


def digest_from_json(data: Mapping[str, Any]) -> Digest:
    """The inverse of `digest_to_json`."""
    crit = data["criteria"]
    return Digest(
        day=date.fromisoformat(data["day"]),
        channel_id=data["channel"],
        model=data["model"],
        criteria=Criteria(text=crit["text"]),
        criteria_version=int(crit["version"]),
        thresholds=Thresholds(**data["thresholds"]),
        counts=StageCounts(**data["counts"]),
        entries=tuple(_entry_from_json(e) for e in data["papers"]),
        usage=_usage_from_json(data["usage"]),
        run_usage=_usage_from_json(data["run_usage"]),
        notes=tuple(data["notes"]),
    )


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {**asdict(usage), "total_tokens": usage.total_tokens, "cost_usd": usage.cost_usd}


def _usage_from_json(data: Mapping[str, Any]) -> Usage:
    return Usage(**{k: v for k, v in data.items() if k not in ("total_tokens", "cost_usd")})


def _entry_json(entry: DigestEntry) -> dict[str, Any]:
    p, s = entry.paper, entry.score
    return {
        "id": p.id,
        "url": p.abs_url,
        "pdf_url": p.pdf_url,
        "title": p.title,
        "authors": list(p.authors),
        "abstract": p.abstract,
        "categories": list(p.categories),
        "primary_category": p.primary_category,
        "arxiv_comment": p.comment,
        "version": p.version,
        "relevance": s.relevance,
        "novelty": s.novelty,
        "comment": s.comment,
    }


def _entry_from_json(data: Mapping[str, Any]) -> DigestEntry:
    paper = Paper(
        id=data["id"],
        title=data["title"],
        abstract=data["abstract"],
        authors=tuple(data["authors"]),
        categories=tuple(data["categories"]),
        primary_category=data["primary_category"],
        comment=data["arxiv_comment"],
        version=int(data["version"]),
    )
    return DigestEntry(
        paper, Score(data["id"], data["relevance"], data["novelty"], data["comment"])
    )
