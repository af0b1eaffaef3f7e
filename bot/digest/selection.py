"""A digest's parts as every rendering reads them, and its JSON form.

Pure functions only: the titles and notes of a digest's parts (followed papers, "more like",
a day ranked locally, the share line) and the (de)serialisation used by the store and by
`--format json`. Assembling a digest is `bot.digest.assembly`'s; rendering for people lives in
the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any

from bot.arxiv.links import code_links, venue
from bot.digest.following import reason_text

# re-exported: every rendering writes a digest's dollars and day the same way
from bot.digest.notes import cost_text as cost_text
from bot.digest.notes import day_text as day_text
from bot.digest.notes import note_text as note_text
from bot.digest.notes import notes_from_json, notes_to_json
from bot.i18n import N_, _, number, percent
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    FollowedEntry,
    LLMShare,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)
from scoring.share import LOCAL_ONLY

# marked constants: each rendering translates them where it shows them, `_(FOLLOWED_TITLE)`
MORE_LIKE_TITLE = N_("More like what you liked")
MORE_LIKE_NOTE = N_("just under the thresholds, ranked by what this channel liked")


FOLLOWED_TITLE = N_("Followed")
FOLLOWED_NOTE = N_("by authors or with keywords this channel follows, shown whatever their score")


def followed_reasons(digest: Digest, paper_id: str) -> tuple[str, ...]:
    """Why a paper of the digest is followed (nothing when it is not), in the active locale."""
    for f in digest.followed:
        if f.paper.id == paper_id:
            return tuple(reason_text(r) for r in f.reasons)
    return ()


def followed_part(digest: Digest) -> tuple[FollowedEntry, ...]:
    """The followed papers the digest's cards do not already show: its "Followed" part."""
    shown = {e.paper.id for e in digest.entries}
    return tuple(f for f in digest.followed if f.paper.id not in shown)


def followed_detail(entry: FollowedEntry) -> str:
    """Why a followed paper is shown and how it scored: `follows author Jane Doe · relevance 5,
    novelty 4` (or `not scored`)."""
    s = entry.score
    scored = (
        _("relevance {relevance}, novelty {novelty}").format(
            relevance=s.relevance, novelty=s.novelty
        )
        if s is not None
        else _("not scored")
    )
    return f"{'; '.join(reason_text(r) for r in entry.reasons)} · {scored}"


LOCAL_ONLY_NOTE = N_(
    "Ranked locally only, not scored by an LLM: this channel's LLM share is 0, so no paper was "
    "sent to the LLM (`settings llm-share 30%` sends the top 30% again)"
)


LOCAL_TOP = 15
"""Papers of the local ranking a day ranked locally only shows, as `arxiv-bot digest` does."""
LOCAL_TITLE = N_("Ranked locally")
LOCAL_TITLE_NOTE = N_("best by similarity to the criteria, not scored by an LLM")


def is_local_only(digest: Digest) -> bool:
    """Whether the day was ranked locally only (a share of 0): no paper could meet the
    thresholds, so the digest shows the local ranking instead of "nothing today"."""
    return digest.share is not None and digest.share.reason == LOCAL_ONLY


def local_line(rank: int, score: float) -> str:
    """A locally ranked paper's place, in words: `local rank 1 · similarity 0.42`."""
    return _("local rank {rank} · similarity {score}").format(rank=rank, score=number(score, 2))


def share_line(digest: Digest) -> str | None:
    """The footer line that says what a warm-up cost, when there was one, how many of the
    likely picks a calibrated cut sent, or that the day was ranked locally only (a share of
    0)."""
    s = digest.share
    if s is None or s.reason == "base":
        return None
    if s.reason == LOCAL_ONLY:
        return _(LOCAL_ONLY_NOTE)
    if s.expected_recall is not None:
        return _(
            "about {recall} of likely picks sent: {share} of the day went to the LLM, down the "
            "local ranking (at most {base})"
        ).format(recall=percent(s.expected_recall), share=percent(s.share), base=percent(s.base))
    why = (
        _(
            "warm-up while the ranking learns the criteria ({positives} selected LLM verdicts "
            "so far)"
        ).format(positives=s.positives)
        if s.reason == "warm-up"
        # stored days
        else _("widened because yesterday's picks reached the bottom of what was sent")
    )
    return _(
        "{share} of the day went to the LLM instead of {base}: {why}; about {cost} of "
        "today's scoring"
    ).format(share=percent(s.share), base=percent(s.base), why=why, cost=cost_text(s.extra_usd))


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
        **notes_to_json(digest.notes),
        "papers": [_entry_json(e) for e in digest.entries],
        "more_like_liked": [_entry_json(e) for e in digest.more_like],
        "llm_share": asdict(digest.share) if digest.share is not None else None,
        "followed": [_followed_json(f) for f in digest.followed],
        **({"week": digest.week} if digest.week else {}),
        **(
            {
                "ranked_locally": [
                    {**_paper_json(p), "local_score": round(score, 4)}
                    for p, score in digest.ranked_locally
                ]
            }
            if digest.ranked_locally
            else {}
        ),
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
        notes=notes_from_json(data),
        more_like=tuple(_entry_from_json(e) for e in data.get("more_like_liked", ())),
        share=LLMShare(**data["llm_share"]) if data.get("llm_share") else None,
        followed=tuple(_followed_from_json(f) for f in data.get("followed", ())),
        week=str(data.get("week") or ""),
        ranked_locally=tuple(
            (_paper_from_json(p), float(p["local_score"])) for p in data.get("ranked_locally", ())
        ),
    )


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {**asdict(usage), "total_tokens": usage.total_tokens, "cost_usd": usage.cost_usd}


def _usage_from_json(data: Mapping[str, Any]) -> Usage:
    return Usage(**{k: v for k, v in data.items() if k not in ("total_tokens", "cost_usd")})


def _paper_json(p: Paper) -> dict[str, Any]:
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
        "journal_ref": p.journal_ref,
        "version": p.version,
        "code": list(code_links(p)),
        "venue": venue(p),
    }


def _entry_json(entry: DigestEntry) -> dict[str, Any]:
    s = entry.score
    return {
        **_paper_json(entry.paper),
        "relevance": s.relevance,
        "novelty": s.novelty,
        "comment": s.comment,
        "tldr": s.tldr,
        "taste_moved": entry.moved,
    }


def _followed_json(entry: FollowedEntry) -> dict[str, Any]:
    s = entry.score
    return {
        **_paper_json(entry.paper),
        "reasons": list(entry.reasons),
        "relevance": s.relevance if s is not None else None,
        "novelty": s.novelty if s is not None else None,
        "comment": s.comment if s is not None else None,
    }


def _followed_from_json(data: Mapping[str, Any]) -> FollowedEntry:
    score = (
        Score(data["id"], data["relevance"], data["novelty"], data["comment"] or "")
        if data.get("relevance") is not None
        else None
    )
    return FollowedEntry(_paper_from_json(data), tuple(data["reasons"]), score)


def _paper_from_json(data: Mapping[str, Any]) -> Paper:
    return Paper(
        id=data["id"],
        title=data["title"],
        abstract=data["abstract"],
        authors=tuple(data["authors"]),
        categories=tuple(data["categories"]),
        primary_category=data["primary_category"],
        comment=data["arxiv_comment"],
        version=int(data["version"]),
        journal_ref=data.get("journal_ref"),
    )


def _entry_from_json(data: Mapping[str, Any]) -> DigestEntry:
    paper = _paper_from_json(data)
    return DigestEntry(
        paper,
        Score(
            data["id"],
            data["relevance"],
            data["novelty"],
            data["comment"],
            str(data.get("tldr") or ""),  # digests stored before TL;DRs have none
        ),
        int(data.get("taste_moved", 0)),
    )
