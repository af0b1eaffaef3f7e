"""Assembling a channel's digest of a day: one pure function over what was loaded.

It owns the values a build passes along (`DayContext`: what deciding needs, loaded once;
`BuildOutcome`: what deciding and scoring did; `DayRecord`: what the digest shows, loaded once
after the scoring) and turning a record and an outcome into a `Digest`: selection by
thresholds, the order of the cards (the order the day was first decided with, or the
channel's taste), the "more like" part, followed papers, counts, notes and the figures of the
share line.

This module must not read or write the store, fetch, score or rank: `bot.digest.stored` loads
a `DayRecord` and saves what this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.digest import following
from bot.digest.notes import BUDGET, UNSCORED, note
from bot.digest.options import DigestOptions
from bot.digest.selection import LOCAL_TOP
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    Follow,
    LLMShare,
    Note,
    Paper,
    Score,
    ScoreKey,
    StageCounts,
    Thresholds,
    Usage,
    digest_order,
)
from bot.store import Announcement, DigestFrame, RankingSet, Reaction
from scoring import ranking, share
from scoring.pricing import format_usd

TASTE_HALF = 2
"""Likes at which the channel's taste and the LLM's scores order the cards equally: a like is
a person saying "more like this, first", so a few of them already count."""
TASTE_MAX = 0.8
"""The LLM's scores always keep some say in the order."""


@dataclass(frozen=True, slots=True)
class DayContext:
    """What deciding a channel's day needs, loaded once: criteria, the day's announcements, the
    channel's candidates among them, its follows and the candidates they match, what its
    ranking learns from the channel (its reactions, when it learns and ever liked or disliked
    a paper), and the day's stored
    decision with the digest as first built (if any)."""

    channel_id: str
    day: date
    criteria: Criteria
    version: int
    key: ScoreKey
    announced: tuple[Announcement, ...]
    candidates: list[Paper]
    follows: tuple[Follow, ...] = ()
    frame: DigestFrame | None = None
    reactions: tuple[Reaction, ...] = ()
    matched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The candidates the channel's follows match, with what each matched."""
    decided: Digest | None = None
    """The digest as first built, when the day was decided under the current criteria: its
    order, its "more like" part and its share stay as they were."""

    @property
    def frozen(self) -> bool:
        """Whether the day was decided under the channel's current criteria."""
        return self.frame is not None and frozen(self.frame, self.criteria)


@dataclass(frozen=True, slots=True)
class DayRecord:
    """Everything assembling a channel's day reads, loaded at once after its scoring."""

    ctx: DayContext
    scores: Mapping[str, Score]
    usage: Usage
    """The day's scoring spend under the channel's criteria key, whoever paid it."""
    local: RankingSet | None = None
    """The local ranking of a day ranked locally only, whose best papers it shows."""


@dataclass(frozen=True, slots=True)
class Learning:
    """What a decision's ranking learned from: likes and LLM verdicts, and the recall of liked
    papers measured on an earlier day (None when nothing could be measured)."""

    liked: int
    verdicts: int
    recall: float | None = None
    measured: date | None = None


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What a build of the day did: the papers it sent (None: the day is not decided), the
    ranking it was decided on, its share decision, the channel's taste for a day not decided
    before, what the ranking learned from, this run's usage and whether the daily budget
    stopped the scoring."""

    sent: Sequence[str] | None = None
    ranked: str | None = None
    chosen: share.ShareDecision | None = None
    run_usage: Usage = field(default_factory=Usage)
    replaced: int = 0
    budget_reached: bool = False
    taste: Mapping[str, float] = field(default_factory=dict)
    likes: int = 0
    learning: Learning | None = None


def assemble(
    record: DayRecord, options: DigestOptions, outcome: BuildOutcome, budget: float | None
) -> Digest:
    """The digest of a day from what was loaded and what the build did."""
    ctx, scores, decided = record.ctx, record.scores, record.ctx.decided
    ids = [p.id for p in ctx.candidates]
    papers = {p.id: p for p in ctx.candidates}
    entries = select((papers[i] for i in ids), scores, options.thresholds)
    near = select((papers[i] for i in ids), scores, _just_under(options.thresholds))
    near = tuple(e for e in near if not options.thresholds.admits(e.score))
    if decided is not None:  # a decided day keeps its order and its "more like" part
        entries, more = _as_decided(entries, near, decided)
    else:
        weight = taste_weight(outcome.likes)
        entries = taste_order(entries, dict(outcome.taste), weight)
        more = more_like_liked(near, dict(outcome.taste)) if weight > 0 else ()
    announced = [a.paper.id for a in ctx.announced]
    counts = stage_counts(announced, ids, scores, len(entries), outcome.replaced, outcome.sent)
    notes: tuple[Note | str, ...] = ()
    # of the papers the ranking sent on: ranked-out papers were never meant to be scored
    if counts.unscored and outcome.budget_reached and budget is not None:
        notes = (budget_note(counts.unscored, counts.sent, budget),)
    elif counts.unscored:
        notes = (unscored_note(counts.unscored, counts.sent),)
    ranked = record.local  # loaded only for a day ranked locally only (`shares_local_only`)
    best = local_top(ranked.ids, ranked.scores, papers) if ranked else ()
    llm_share = decided.share if decided is not None else None
    if outcome.chosen is not None:
        shared = counts.sent - outcome.chosen.followed
        llm_share = _llm_share(outcome.chosen, shared, counts.considered, options, record.usage)
    # followed papers show whatever their score, on a decided day too (never re-scored)
    followed = following.followed_entries((papers[i] for i in ids), ctx.matched, scores)
    return Digest(
        day=ctx.day,
        channel_id=ctx.channel_id,
        model=ctx.key.model,
        criteria=ctx.criteria,
        criteria_version=ctx.version,
        thresholds=options.thresholds,
        counts=counts,
        entries=entries,
        usage=record.usage,
        run_usage=outcome.run_usage,
        notes=notes,
        more_like=more,
        share=llm_share,
        followed=followed,
        ranked_locally=best,
    )


def shares_local_only(outcome: BuildOutcome, decided: Digest | None) -> bool:
    """Whether the day was ranked locally only (so its digest shows the local ranking's best),
    known before assembling: from this build's share decision, else the decided digest's."""
    if outcome.chosen is not None:
        return outcome.chosen.reason == share.LOCAL_ONLY
    return decided is not None and local_only(decided.share)


def local_only(chosen: LLMShare | None) -> bool:
    """Whether a day's share says nothing went to the LLM: it was ranked locally only."""
    return chosen is not None and chosen.reason == share.LOCAL_ONLY


def taste_weight(likes: int) -> float:
    """How much the channel's taste weighs in the order of its cards."""
    return min(TASTE_MAX, likes / (likes + TASTE_HALF)) if likes > 0 else 0.0


def dollars(value: float | None) -> str:
    """A budget for messages: its amount, or "(none)"."""
    return format_usd(value) if value is not None else "(none)"


def frozen(frame: DigestFrame, criteria: Criteria) -> bool:
    """Whether a stored decision still holds: it was made under the current criteria."""
    return frame.sent_ids is not None and frame.criteria_id == criteria.id


def _just_under(thresholds: Thresholds) -> Thresholds:
    """One point under each threshold: the papers a "more like" part may show."""
    return Thresholds(max(1, thresholds.relevance - 1), max(1, thresholds.novelty - 1))


def _as_decided(
    entries: Sequence[DigestEntry], near: Sequence[DigestEntry], decided: Digest
) -> tuple[tuple[DigestEntry, ...], tuple[DigestEntry, ...]]:
    """Today's entries in the order the day was first decided (papers scored since, after an
    outage, follow in score order), and the "more like" papers it showed."""
    place = {e.paper.id: (n, e.moved) for n, e in enumerate(decided.entries)}
    known = sorted((e for e in entries if e.paper.id in place), key=lambda e: place[e.paper.id][0])
    kept = tuple(DigestEntry(e.paper, e.score, place[e.paper.id][1]) for e in known)
    late = tuple(e for e in entries if e.paper.id not in place)
    shown = {e.paper.id for e in decided.more_like}
    return kept + late, tuple(e for e in near if e.paper.id in shown)


def _llm_share(
    chosen: share.ShareDecision, sent: int, considered: int, options: DigestOptions, usage: Usage
) -> LLMShare:
    """What the day's share decision was and about what sending more than the channel's
    share cost (the day's scoring spend, pro rata over the papers sent beyond it)."""
    base_k = ranking.sent_count(considered, chosen.base, options.budget.min_papers)
    extra = max(0, sent - base_k)
    extra_usd = usage.cost_usd * extra / sent if sent else 0.0
    kept = extra or chosen.reason in (share.LOCAL_ONLY, share.CALIBRATED)
    expected = chosen.expected_recall
    return LLMShare(
        round(sent / considered, 4) if considered else chosen.share,
        chosen.base,
        chosen.reason if kept else "base",
        chosen.positives,
        round(extra_usd, 6),
        round(expected, 4) if expected is not None and chosen.reason == share.CALIBRATED else None,
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


def taste_order(
    entries: Sequence[DigestEntry], taste: Mapping[str, float], weight: float
) -> tuple[DigestEntry, ...]:
    """The selected papers in an order that blends the LLM's scores with the channel's taste:
    each paper's place in the score order and in the taste order (ranks in (0, 1], 1 best)
    are mixed with `weight` for the taste; ties keep the score order. Each entry records how
    many places the taste moved it. Without taste (`weight` 0 or no taste values), the score
    order as it is."""
    if weight <= 0 or not taste or len(entries) < 2:
        return tuple(entries)
    n = len(entries)
    by_taste = sorted(range(n), key=lambda i: (-taste.get(entries[i].paper.id, 0.0), i))
    taste_rank = {i: 1 - pos / n for pos, i in enumerate(by_taste)}
    blended = sorted(
        range(n), key=lambda i: (-((1 - weight) * (1 - i / n) + weight * taste_rank[i]), i)
    )
    return tuple(
        DigestEntry(entries[i].paper, entries[i].score, i - pos) for pos, i in enumerate(blended)
    )


def more_like_liked(
    near: Iterable[DigestEntry], taste: Mapping[str, float], limit: int = 3
) -> tuple[DigestEntry, ...]:
    """Up to `limit` papers just under the thresholds that the channel's taste ranks highest
    (only papers the taste ranks above the day's median: a weak match is not "more like")."""
    pool = [e for e in near if e.paper.id in taste]
    if not pool or not taste:
        return ()
    values = sorted(taste.values())
    median = values[len(values) // 2]
    liked = [e for e in pool if taste[e.paper.id] > median]
    liked.sort(key=lambda e: (-taste[e.paper.id], e.paper.id))
    return tuple(liked[:limit])


def local_top(
    ids: Sequence[str], scores: Sequence[float], papers: Mapping[str, Paper], top: int = LOCAL_TOP
) -> tuple[tuple[Paper, float], ...]:
    """The best `top` papers of a local ranking (ids best first) that are among `papers`."""
    ranked = ((papers[i], s) for i, s in zip(ids, scores, strict=True) if i in papers)
    return tuple(ranked)[:top]


def unscored_note(unscored: int, sent: int) -> Note:
    """The honest note a digest carries when some of the papers sent to the LLM could not be
    scored."""
    return note(UNSCORED, unscored=unscored, sent=sent)


def budget_note(unscored: int, sent: int, budget: float) -> Note:
    """The note of a digest whose scoring stopped at the daily LLM budget (in dollars): how many
    of the papers the ranking sent on wait for the budget (they are not shown until they are
    scored)."""
    return note(BUDGET, unscored=unscored, sent=sent, budget=budget)


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
